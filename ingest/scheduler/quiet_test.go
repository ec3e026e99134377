package scheduler

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

// Skipping the posts of quiet accounts changes no decision: over three
// campaign days on each platform, with the budget sometimes short and
// sometimes ample, the planner that skips asks for exactly the tasks (kind,
// account, cursor, posts in order) a planner scanning every post asks for,
// at the same moments. The tight budget holds the floor rule to it too:
// listings overdue past ListFloor, which the reference finds by scanning.
func TestQuietAccountsChangeNoDecision(t *testing.T) {
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, platform := range snapshot.Platforms {
		for _, perHour := range []float64{40, 600} {
			start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
			sc := simulator.New(r, 7, start)
			clk := clock.NewManual(start)
			src := &simulator.Direct{Scenario: sc, Clock: clk, Name: platform}
			cfg := Config{MaxBatch: 20, PageSize: 10, Seed: 1}
			fast := NewPlanner(platform, r.Accounts(platform), cfg)
			ref := NewPlanner(platform, r.Accounts(platform), cfg)
			ref.scanAll = true

			var want Task
			var wantOK bool
			decisions, skipped, floored := 0, 0, 0
			tick := func(now time.Time) {
				if wantOK {
					t.Fatalf("%s at %.0f/h, %v: the skipping planner asked for nothing; the reference asked for %s", platform, perHour, now, describe(want))
				}
				want, wantOK, _ = ref.Next(now)
				if wantOK && want.Kind == TaskList && want.Cursor == "" {
					if _, over := ref.floor(ref.account(want.Account), now); over {
						floored++
					}
				}
				for _, a := range fast.accounts {
					if now.Before(a.nextList) && now.Before(a.quietUntil) {
						skipped++
					}
				}
			}
			done := func(got Task, res Result, now time.Time) {
				decisions++
				if !wantOK || !sameTask(got, want) {
					t.Fatalf("%s at %.0f/h, %v, decision %d: skipping planner asked for %s, the reference for %s (ok=%v)",
						platform, perHour, now, decisions, describe(got), describe(want), wantOK)
				}
				wantOK = false
				ref.Done(got, res, now)
			}
			Replay(context.Background(), fast, src, clk, perHour, start.Add(3*24*time.Hour), tick, done)
			if decisions < 100 || skipped == 0 {
				t.Errorf("%s at %.0f/h: %d decisions, %d account skips: the comparison saw too little", platform, perHour, decisions, skipped)
			}
			if perHour == 40 && floored == 0 {
				t.Errorf("%s at %.0f/h: no listing overdue past the floor: the comparison did not see the floor rule", platform, perHour)
			}
			t.Logf("%s at %.0f/h: %d decisions, %d account skips, %d listings past the floor", platform, perHour, decisions, skipped, floored)
		}
	}
}

func sameTask(a, b Task) bool {
	return a.Kind == b.Kind && a.Account == b.Account && a.Cursor == b.Cursor &&
		slices.EqualFunc(a.Posts, b.Posts, func(x, y ingest.Post) bool { return x.PostID == y.PostID })
}

func describe(t Task) string {
	kind := "list"
	if t.Kind == TaskFetch {
		kind = "fetch"
	}
	ids := make([]string, len(t.Posts))
	for i, p := range t.Posts {
		ids[i] = p.PostID
	}
	return fmt.Sprintf("%s of %s (cursor %q, posts %v)", kind, t.Account.AccountID, t.Cursor, ids)
}
