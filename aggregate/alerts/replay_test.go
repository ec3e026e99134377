package alerts

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/scheduler"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

// The evaluation replays the seeded scenario through the real adaptive
// planner at `tongxin ingest`'s default budgets, feeding every snapshot the
// planner's requests bring back to one Detector, and judges the alerts
// against the planted truth.

// budgets are `tongxin ingest --budget`'s defaults, requests per campaign hour.
var budgets = map[string]float64{snapshot.Douyin: 40, snapshot.Weibo: 600, snapshot.WeChatChannels: 600}

var replayStart = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// replayRun is one replay's record: what one Detector made of it.
type replayRun struct {
	seed       int64
	sc         *simulator.Scenario
	start, end time.Time
	det        *Detector
	events     []Event
	// obs is every snapshot time of every planted viral post (by key), in
	// order: what the evaluation's timeliness is judged against.
	obs      map[string][]time.Time
	requests map[string]int
}

// wrapFunc lets a test stand between the planner and the platform.
type wrapFunc func(platform string, src ingest.Source, clk *clock.Manual) ingest.Source

// replay runs days of campaign from the scenario's start (the first
// listings discover the 21 days of history), all three platforms
// interleaved in 5-minute slices, and evaluates the Detector after every
// request.
func replay(t testing.TB, seed int64, days float64, cfg Config, wrap wrapFunc) *replayRun {
	t.Helper()
	return replayEach(t, seed, days, wrap, cfg)[0]
}

// replayEach is replay with one Detector per configuration, all fed the
// same requests' snapshots and evaluated at the same moments. Ingest does
// not depend on the detector, so each run is what replay gives for its
// configuration, for the price of one ingest.
func replayEach(t testing.TB, seed int64, days float64, wrap wrapFunc, cfgs ...Config) []*replayRun {
	t.Helper()
	r, err := roster.Load("")
	if err != nil {
		panic(err) // the built-in roster; replays run in goroutines
	}
	sc := simulator.New(r, seed, replayStart)
	viral := map[string]bool{}
	for _, p := range sc.Posts {
		if p.Planted == simulator.PlantedViral {
			viral[p.Platform+":"+p.PostID] = true
		}
	}
	requests := map[string]int{}
	var runs []*replayRun
	for _, cfg := range cfgs {
		runs = append(runs, &replayRun{seed: seed, sc: sc, start: sc.Start, end: sc.Start.Add(time.Duration(days * float64(24*time.Hour))),
			det: NewDetector(cfg), obs: map[string][]time.Time{}, requests: requests})
	}
	type lane struct {
		platform string
		pl       *scheduler.Planner
		src      ingest.Source
		clk      *clock.Manual
	}
	var lanes []lane
	for _, platform := range snapshot.Platforms {
		clk := clock.NewManual(sc.Start)
		var src ingest.Source = &simulator.Direct{Scenario: sc, Clock: clk, Name: platform}
		if wrap != nil {
			src = wrap(platform, src, clk)
		}
		pl := scheduler.NewPlanner(platform, r.Accounts(platform),
			scheduler.Config{MaxBatch: src.MaxBatch(), PageSize: 10, Seed: uint64(seed)})
		lanes = append(lanes, lane{platform, pl, src, clk})
	}
	ctx := context.Background()
	feed := func(snaps []snapshot.Snapshot) {
		for i := range snaps {
			s := &snaps[i]
			for _, run := range runs {
				run.det.Observe(s)
			}
			if k := s.Key(); viral[k] {
				runs[0].obs[k] = append(runs[0].obs[k], s.ObservedAt)
			}
		}
	}
	end := runs[0].end
	for seg := sc.Start; seg.Before(end); {
		next := seg.Add(5 * time.Minute)
		for _, l := range lanes {
			requests[l.platform] += scheduler.Replay(ctx, l.pl, l.src, l.clk, budgets[l.platform], next, nil,
				func(task scheduler.Task, res scheduler.Result, now time.Time) {
					if res.Err == nil {
						feed(res.Listing.Snapshots)
						feed(res.Fetched.Snapshots)
					}
					for _, run := range runs {
						run.events = append(run.events, run.det.Evaluate(now)...)
					}
				})
		}
		seg = next
	}
	for _, run := range runs[1:] {
		run.obs = runs[0].obs // the same snapshots reached every run
	}
	return runs
}

// pollInterval is the adaptive policy's interval for a post at its age at
// t, before the policy's slow-down and speed-up adjustments.
func pollInterval(p *simulator.Post, t time.Time) time.Duration {
	ps := &scheduler.PostState{Post: ingest.Post{Platform: p.Platform, PostID: p.PostID, PublishedAt: p.PublishedAt}}
	return scheduler.DefaultAdaptive().Interval(ps, t)
}

// firstObsAfter is the first snapshot of the post observed after t.
func (r *replayRun) firstObsAfter(key string, t time.Time) (time.Time, bool) {
	for _, at := range r.obs[key] {
		if at.After(t) {
			return at, true
		}
	}
	return time.Time{}, false
}

// replays caches the replays at the default configuration, so the tests
// that judge the same seeds share them.
var replays struct {
	sync.Mutex
	m map[int64]*cachedReplay
}

type cachedReplay struct {
	once sync.Once
	run  *replayRun
}

// defaultReplay is the replay of seed for evalDays at the default configuration.
func defaultReplay(t testing.TB, seed int64) *replayRun {
	replays.Lock()
	if replays.m == nil {
		replays.m = map[int64]*cachedReplay{}
	}
	c := replays.m[seed]
	if c == nil {
		c = &cachedReplay{}
		replays.m[seed] = c
	}
	replays.Unlock()
	c.once.Do(func() { c.run = replay(t, seed, evalDays, Config{}, nil) })
	return c.run
}
