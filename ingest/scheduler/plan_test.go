package scheduler

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

// freshness replays days of campaign at perHour requests an hour and
// returns the median age of the newest snapshot of posts under 24 h old,
// sampled every 10 minutes after the first day.
func freshness(t testing.TB, policy Policy, perHour float64, days int) (median time.Duration, requests int) {
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	sc := simulator.New(r, 1, start)
	clk := clock.NewManual(start)
	src := &simulator.Direct{Scenario: sc, Clock: clk, Name: snapshot.Douyin}
	pl := NewPlanner(snapshot.Douyin, r.Accounts(snapshot.Douyin), Config{Policy: policy, MaxBatch: 10, PageSize: 10, Seed: 1})
	var ages []time.Duration
	next := start.Add(24 * time.Hour) // sample after the first day, every 10 minutes
	sample := func(now time.Time) {
		for ; !now.Before(next); next = next.Add(10 * time.Minute) {
			pl.Posts(func(ps *PostState) {
				if age := next.Sub(ps.Post.PublishedAt); age >= 0 && age < 24*time.Hour {
					seen := ps.LastObserved
					if seen.IsZero() {
						seen = ps.Post.PublishedAt
					}
					ages = append(ages, next.Sub(seen))
				}
			})
			// Posts published but not yet discovered are the stalest of all.
			for _, p := range sc.Posts {
				if p.Platform == snapshot.Douyin && p.VisibleAt(next) && next.Sub(p.PublishedAt) < 24*time.Hour && !known(pl, p.PostID) {
					ages = append(ages, next.Sub(p.PublishedAt))
				}
			}
		}
	}
	requests = Replay(context.Background(), pl, src, clk, perHour, start.Add(time.Duration(days)*24*time.Hour), sample, nil)
	sort.Slice(ages, func(i, j int) bool { return ages[i] < ages[j] })
	return ages[len(ages)/2], requests
}

func known(pl *Planner, id string) bool {
	for _, a := range pl.accounts {
		if _, ok := a.posts[id]; ok {
			return true
		}
	}
	return false
}

// BenchmarkFreshness compares the adaptive policy with plain round-robin at
// the same request budget: the median age of the newest snapshot of posts
// under 24 hours old (lower is fresher).
func BenchmarkFreshness(b *testing.B) {
	for _, perHour := range []float64{42, 100} {
		b.Run(fmt.Sprintf("budget=%.0f/h", perHour), func(b *testing.B) {
			var ad, rr time.Duration
			for i := 0; i < b.N; i++ {
				ad, _ = freshness(b, DefaultAdaptive(), perHour, 4)
				rr, _ = freshness(b, RoundRobin{}, perHour, 4)
			}
			b.ReportMetric(ad.Minutes(), "adaptive-median-min")
			b.ReportMetric(rr.Minutes(), "roundrobin-median-min")
			b.ReportMetric(float64(rr)/float64(ad), "times-fresher")
		})
	}
}

func TestAdaptiveIsFresherThanRoundRobin(t *testing.T) {
	ad, n1 := freshness(t, DefaultAdaptive(), 100, 3)
	rr, n2 := freshness(t, RoundRobin{}, 100, 3)
	t.Logf("median age of posts under 24h: adaptive %v (%d requests), round-robin %v (%d requests)", ad, n1, rr, n2)
	if n1 > n2+5 {
		t.Errorf("adaptive made %d requests, round-robin %d: same budget expected", n1, n2)
	}
	if !(2*ad < rr) {
		t.Errorf("adaptive (%v) is not twice as fresh as round-robin (%v)", ad, rr)
	}
}

func TestPlannerDiscoversEveryPostAndPages(t *testing.T) {
	r, _ := roster.Load("")
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	sc := simulator.New(r, 3, start)
	clk := clock.NewManual(start)
	src := &simulator.Direct{Scenario: sc, Clock: clk, Name: snapshot.Weibo}
	pl := NewPlanner(snapshot.Weibo, r.Accounts(snapshot.Weibo), Config{MaxBatch: 20, Seed: 1})
	Replay(context.Background(), pl, src, clk, 3600, start.Add(40*time.Minute), nil, nil)
	now := clk.Now()
	want := 0
	for _, p := range sc.Posts {
		// Everything published before the last round of discovery listings.
		if p.Platform == snapshot.Weibo && p.VisibleAt(now) && p.PublishedAt.Before(now.Add(-time.Hour-time.Minute)) {
			want++
			if !known(pl, p.PostID) {
				t.Errorf("post %s of %s published %v never discovered", p.PostID, p.AmbassadorID, p.PublishedAt)
			}
		}
	}
	if want == 0 {
		t.Fatal("scenario has no Weibo posts")
	}
}

func TestFailuresBackOffAndGiveUp(t *testing.T) {
	acct := roster.Account{Platform: "douyin", AccountID: "o1", AmbassadorID: "a1"}
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	pl := NewPlanner("douyin", []roster.Account{acct}, Config{MaxBatch: 5, MaxFailures: 4, PageSize: 1})
	post := ingest.Post{Platform: "douyin", PostID: "p1", AccountID: "o1", AmbassadorID: "a1", PublishedAt: start.Add(-48 * time.Hour)}
	post2 := post
	post2.PostID, post2.PublishedAt = "p2", start.Add(-72*time.Hour)
	task, _, _ := pl.Next(start)
	pl.Done(task, Result{Listing: ingest.Listing{Posts: []ingest.Post{post, post2}}}, start)

	now := start
	var gaveUp []ingest.Post
	var gaps []time.Duration
	last := now
	for i := 0; i < 200 && len(gaveUp) == 0; i++ {
		task, ok, wake := pl.Next(now)
		if !ok {
			now = wake
			continue
		}
		if task.Kind != TaskFetch {
			pl.Done(task, Result{Listing: ingest.Listing{Posts: []ingest.Post{post, post2}}}, now)
			continue
		}
		if hasPost(task.Posts, "p2") {
			gaps = append(gaps, now.Sub(last))
			last = now
		}
		out := pl.Done(task, Result{Err: &ingest.Error{Platform: "douyin", Op: "fetch", Kind: ingest.KindUnavailable}}, now)
		gaveUp = out.GaveUp
	}
	if len(gaveUp) == 0 {
		t.Fatal("a post failing every time was never given up")
	}
	for i := 2; i < len(gaps); i++ {
		if gaps[i] < gaps[i-1] {
			t.Errorf("retry gaps %v do not grow", gaps)
			break
		}
	}
	// A rate limit pauses the platform for at least Retry-After.
	pl2 := NewPlanner("douyin", []roster.Account{acct}, Config{})
	task, _, _ = pl2.Next(start)
	out := pl2.Done(task, Result{Err: &ingest.Error{Kind: ingest.KindRateLimited, RetryAfter: 90 * time.Second}}, start)
	if out.PausedFor < 90*time.Second {
		t.Errorf("paused %v after Retry-After 90s", out.PausedFor)
	}
	if _, ok, wake := pl2.Next(start.Add(time.Minute)); ok || wake.Before(start.Add(90*time.Second)) {
		t.Errorf("planned a request during the pause (ok=%v wake=%v)", ok, wake)
	}
}

func hasPost(posts []ingest.Post, id string) bool {
	for _, p := range posts {
		if p.PostID == id {
			return true
		}
	}
	return false
}
