package scheduler

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

// With a budget below what the young posts want, ranking by value alone
// left accounts unlisted for 3.6 to 4.2 campaign hours at a time at these
// budgets (and up to 12 hours at tighter ones): every request went to
// listings of busy accounts, which refresh their young posts, and an
// account with only old posts lost to them. The floor lists every account
// of the roster at most ListFloor + N/B after its last listing (N
// accounts, B requests an hour), over three campaign days on each
// platform, and the planner asks for no more requests than the budget
// pays for.
func TestEveryAccountIsListedWithinTheFloorOnATightBudget(t *testing.T) {
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	// Tight: a third to a half of what the roster's posts want.
	budgets := map[string]float64{snapshot.Douyin: 90, snapshot.Weibo: 90, snapshot.WeChatChannels: 45}
	const days = 3
	for _, platform := range snapshot.Platforms {
		perHour := budgets[platform]
		start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
		end := start.Add(days * 24 * time.Hour)
		sc := simulator.New(r, 7, start)
		clk := clock.NewManual(start)
		src := &simulator.Direct{Scenario: sc, Clock: clk, Name: platform}
		accts := r.Accounts(platform)
		cfg := Config{MaxBatch: src.MaxBatch(), PageSize: src.PageSize(), Seed: 1}
		pl := NewPlanner(platform, accts, cfg)

		listed := map[roster.Account][]time.Time{}
		requests, fetched := 0, 0
		Replay(context.Background(), pl, src, clk, perHour, end, nil, func(task Task, res Result, now time.Time) {
			requests++
			if res.Err != nil {
				t.Fatalf("%s: %v", platform, res.Err)
			}
			if task.Kind == TaskList {
				listed[task.Account] = append(listed[task.Account], now)
			} else {
				fetched++
			}
		})

		// The documented bound: the floor, then at most one listing of
		// every account ahead, a budget token each.
		bound := cfg.ListFloor() + time.Duration(float64(len(accts))/perHour*float64(time.Hour))
		worst, worstOf := time.Duration(0), roster.Account{}
		for _, a := range accts {
			times := listed[a]
			if len(times) == 0 {
				t.Errorf("%s: %s's account never listed in %d campaign days at %g/h", platform, a.AmbassadorID, days, perHour)
				continue
			}
			// The account's longest stretch unlisted; the last runs to the end.
			longest, from := time.Duration(0), times[0]
			prev := times[0]
			for _, at := range append(times[1:], end) {
				if gap := at.Sub(prev); gap > longest {
					longest, from = gap, prev
				}
				prev = at
			}
			if longest > worst {
				worst, worstOf = longest, a
			}
			if longest > bound {
				t.Errorf("%s at %g/h: %s's account unlisted for %v from %v, beyond the floor's bound %v (ListFloor %v + %d accounts / budget)",
					platform, perHour, a.AmbassadorID, longest, from.Format(time.DateTime), bound, cfg.ListFloor(), len(accts))
			}
		}
		// Within the budget: no more requests than it pays for in the time.
		if allowed := perHour*end.Sub(start).Hours() + 1; float64(requests) > allowed {
			t.Errorf("%s: %d requests in %d campaign days, the budget of %g/h pays for %.0f", platform, requests, days, perHour, allowed)
		}
		t.Logf("%s at %g/h, %d accounts: %d requests (%d fetches); longest unlisted stretch %v (%s), bound %v",
			platform, perHour, len(accts), requests, fetched, worst, worstOf.AmbassadorID, bound)
	}
}

// The starvation in its plainest form: one account with 30 young posts,
// more than its listing page holds, whose fetches alone want several times
// the budget, and one account with only old posts. By value alone, the
// young posts' fetches (weight 4) beat the quiet account's listing (weight
// 2) for hours on end: the quiet account was listed 3 times in 12 campaign
// hours, 5 to 6 hours apart. With the floor
// it is listed at least every ListFloor + N/B, the budget spent is the
// same, and the young posts still get most of it.
func TestYoungPostsCannotKeepAnAccountUnlisted(t *testing.T) {
	start := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	end := start.Add(12 * time.Hour)
	const perHour = 12
	busy := roster.Account{Platform: snapshot.Douyin, AccountID: "busy", AmbassadorID: "amb-busy"}
	quiet := roster.Account{Platform: snapshot.Douyin, AccountID: "quiet", AmbassadorID: "amb-quiet"}
	posts := map[roster.Account][]ingest.Post{} // newest first
	for i := range 30 {
		posts[busy] = append(posts[busy], ingest.Post{Platform: snapshot.Douyin, PostID: fmt.Sprintf("busy-%02d", i), AccountID: busy.AccountID,
			AmbassadorID: busy.AmbassadorID, PublishedAt: start.Add(-time.Duration(i) * time.Minute)})
	}
	for i := range 3 {
		posts[quiet] = append(posts[quiet], ingest.Post{Platform: snapshot.Douyin, PostID: fmt.Sprintf("quiet-%d", i), AccountID: quiet.AccountID,
			AmbassadorID: quiet.AmbassadorID, PublishedAt: start.Add(-time.Duration(10+i) * 24 * time.Hour)})
	}
	const pageSize = 10
	cfg := Config{MaxBatch: 5, PageSize: pageSize, Seed: 1}
	pl := NewPlanner(snapshot.Douyin, []roster.Account{busy, quiet}, cfg)
	clk := clock.NewManual(start)
	src := &pagedSource{posts: posts, pageSize: pageSize, maxBatch: cfg.MaxBatch, clk: clk}

	listed := map[roster.Account][]time.Time{}
	fetchedYoung := 0
	requests := Replay(context.Background(), pl, src, clk, perHour, end, nil, func(task Task, _ Result, now time.Time) {
		if task.Kind == TaskList {
			listed[task.Account] = append(listed[task.Account], now)
		} else if task.Account == busy {
			fetchedYoung++
		}
	})

	bound := cfg.ListFloor() + 2*time.Hour/perHour // two accounts, a token each
	for _, a := range []roster.Account{busy, quiet} {
		times := append(listed[a], end)
		for i := 1; i < len(times); i++ {
			if gap := times[i].Sub(times[i-1]); gap > bound {
				t.Errorf("%s unlisted from %s to %s (%v), beyond ListFloor %v plus two tokens (%v); listed %d times in 12 campaign hours",
					a.AccountID, times[i-1].Format(time.TimeOnly), times[i].Format(time.TimeOnly), gap, cfg.ListFloor(), bound, len(listed[a]))
			}
		}
	}
	if allowed := perHour*end.Sub(start).Hours() + 1; float64(requests) > allowed {
		t.Errorf("%d requests in 12 campaign hours, the budget of %d/h pays for %.0f", requests, perHour, allowed)
	}
	// The setting is the tight one: the young posts' fetches took most of
	// the budget (else nothing competed with the quiet account's listing).
	if fetchedYoung < requests/2 {
		t.Errorf("only %d of %d requests fetched young posts: the budget was not tight", fetchedYoung, requests)
	}
	t.Logf("%d requests: %d fetches of young posts; quiet listed %d times, busy %d", requests, fetchedYoung, len(listed[quiet]), len(listed[busy]))
}

// pagedSource answers from fixed posts, newest first, PageSize to a page;
// every post keeps gaining plays (10 a minute since it was published), so
// none slows down as a still one.
type pagedSource struct {
	posts              map[roster.Account][]ingest.Post
	pageSize, maxBatch int
	clk                *clock.Manual
}

func (s *pagedSource) Platform() string { return snapshot.Douyin }
func (s *pagedSource) MaxBatch() int    { return s.maxBatch }
func (s *pagedSource) PageSize() int    { return s.pageSize }

func (s *pagedSource) snap(p ingest.Post) snapshot.Snapshot {
	at := s.clk.Now()
	return benchSnapshot(p, at, int64(at.Sub(p.PublishedAt).Minutes()*10))
}

func (s *pagedSource) List(_ context.Context, acct roster.Account, cursor string) (ingest.Listing, error) {
	all := s.posts[acct]
	from, _ := strconv.Atoi(cursor) // "" is the newest page
	var l ingest.Listing
	l.Posts = all[from:min(from+s.pageSize, len(all))]
	for _, p := range l.Posts {
		l.Snapshots = append(l.Snapshots, s.snap(p))
	}
	if from+s.pageSize < len(all) {
		l.Cursor, l.HasMore = fmt.Sprint(from+s.pageSize), true
	}
	return l, nil
}

func (s *pagedSource) Fetch(_ context.Context, _ roster.Account, posts []ingest.Post) (ingest.Fetched, error) {
	var f ingest.Fetched
	for _, p := range posts {
		f.Snapshots = append(f.Snapshots, s.snap(p))
	}
	return f, nil
}
