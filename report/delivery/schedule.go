package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/report"
)

// ParseAt reads a Beijing time of day, "08:30".
func ParseAt(at string) (time.Duration, error) {
	t, err := time.Parse("15:04", at)
	if err != nil {
		return 0, fmt.Errorf("report_delivery at %q: want a Beijing time of day as HH:MM", at)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// NextRun is the first Beijing time of day at after now (wall clock).
func NextRun(now time.Time, at time.Duration) time.Time {
	b := now.In(report.Beijing)
	day := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, report.Beijing)
	next := day.Add(at)
	if !next.After(now) {
		next = day.AddDate(0, 0, 1).Add(at)
	}
	return next
}

// Schedule calls run for the Beijing day before each day's time at (wall
// clock: c is clock.Real() in production), until ctx ends. When started after today's time it first runs for
// yesterday at once: a restart late in the morning still sends the report,
// and the delivery ledger keeps a report that went out from going twice.
// A failed run is logged by run's caller and tried again at the next time.
func Schedule(ctx context.Context, at time.Duration, c clock.Clock, run func(ctx context.Context, day time.Time)) error {
	t := c.Now()
	if b := t.In(report.Beijing); b.Sub(time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, report.Beijing)) >= at {
		run(ctx, report.Yesterday(t))
	}
	for {
		t := c.Now()
		next := NextRun(t, at)
		if err := c.Sleep(ctx, next.Sub(t)); err != nil {
			return nil
		}
		run(ctx, report.Yesterday(next))
	}
}
