package scheduler

import (
	"context"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/internal/clock"
)

// Replay drives a planner against a source on a manual clock, one request
// every hour/perHour of campaign time, until end: what the Runner does, on
// virtual time and without a budget bucket, so benchmarks and evaluations
// run campaign days in a moment. tick, if set, is called before each
// request with the time; done after each with the task and its result.
func Replay(ctx context.Context, pl *Planner, src ingest.Source, clk *clock.Manual, perHour float64, end time.Time,
	tick func(now time.Time), done func(t Task, r Result, now time.Time)) (requests int) {
	step := time.Duration(float64(time.Hour) / perHour)
	for now := clk.Now(); now.Before(end) && ctx.Err() == nil; now = clk.Now() {
		if tick != nil {
			tick(now)
		}
		t, ok, wake := pl.Next(now)
		if !ok {
			clk.Set(maxTime(wake, now.Add(time.Second)))
			continue
		}
		var r Result
		if t.Kind == TaskList {
			r.Listing, r.Err = src.List(ctx, t.Account, t.Cursor)
		} else {
			r.Fetched, r.Err = src.Fetch(ctx, t.Account, t.Posts)
		}
		pl.Done(t, r, now)
		if done != nil {
			done(t, r, now)
		}
		requests++
		clk.Set(now.Add(step))
	}
	return requests
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
