package scheduler

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/benchtest"
	"github.com/tongxin/tongxin/snapshot"
)

// BenchmarkPlannerAtScale sizes one ingest replica's planner for one
// platform at 100× the seed campaign: 1,700 accounts (5,000 accounts over
// three platforms) with 20 posts each, 34,000 tracked posts, every post
// observed once.
//
// It reports the planner's heap per tracked post (HeapAlloc after GC,
// before and after the accounts' first listings; bytes/post) and the cost
// of one planning decision at that size: Next, then Done with an answer
// carrying every asked post's counters (ns/op; decisions/s is how many one
// core makes). The campaign clock moves 100 ms per decision, 36,000
// requests a campaign hour, beyond the 100× budgets (Weibo's 60,000 an
// hour is 17 a second). Two planners in the same run: quiet=skip, as
// shipped, skips the posts of accounts with nothing due; quiet=scan-all
// scans every post on every decision (the planner before it skipped).
//
//	go test -run '^$' -bench PlannerAtScale -benchtime 5000x ./ingest/scheduler/
func BenchmarkPlannerAtScale(b *testing.B) {
	for _, scanAll := range []bool{false, true} {
		name := "quiet=skip"
		if scanAll {
			name = "quiet=scan-all"
		}
		b.Run(name, func(b *testing.B) { benchmarkPlannerAtScale(b, scanAll) })
	}
}

func benchmarkPlannerAtScale(b *testing.B, scanAll bool) {
	const accounts, perAccount = 1_700, 20
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	accts := make([]roster.Account, accounts)
	for i := range accts {
		accts[i] = roster.Account{Platform: snapshot.Weibo, AccountID: fmt.Sprintf("acct-%05d", i), AmbassadorID: fmt.Sprintf("amb-%05d", i)}
	}

	before := benchtest.HeapAfterGC()
	pl := NewPlanner(snapshot.Weibo, accts, Config{MaxBatch: 50, PageSize: 10, Seed: 1})
	pl.scanAll = scanAll
	now := start.Add(10 * 24 * time.Hour)
	for i, a := range accts {
		var l ingest.Listing
		for j := 0; j < perAccount; j++ {
			// Posts of the last ten days, so every age band is present.
			post := ingest.Post{Platform: a.Platform, PostID: fmt.Sprintf("%d%07d", 5_000_000_000+i, j), AccountID: a.AccountID,
				AmbassadorID: a.AmbassadorID, PublishedAt: now.Add(-time.Duration((i*perAccount+j)%240) * time.Hour)}
			l.Posts = append(l.Posts, post)
			l.Snapshots = append(l.Snapshots, benchSnapshot(post, now, int64(1000+j)))
		}
		pl.Done(Task{Kind: TaskList, Account: a}, Result{Listing: l}, now)
	}
	tracked := 0
	pl.Posts(func(*PostState) { tracked++ })
	if tracked != accounts*perAccount {
		b.Fatalf("planner tracks %d posts, want %d", tracked, accounts*perAccount)
	}
	after := benchtest.HeapAfterGC()
	perPost := float64(after-before) / float64(tracked)
	b.Logf("planner of %d accounts, %d posts: %.1f MB heap, %.0f bytes/post", accounts, tracked, float64(after-before)/1e6, perPost)

	b.ResetTimer()
	asked := 0
	for i := 0; i < b.N; i++ {
		now = now.Add(100 * time.Millisecond)
		t, ok, wake := pl.Next(now)
		if !ok {
			now = wake
			continue
		}
		var res Result
		switch t.Kind {
		case TaskList:
			res.Listing.Posts = nil // nothing new; the listing carries no counters here
		case TaskFetch:
			for j, p := range t.Posts {
				res.Fetched.Snapshots = append(res.Fetched.Snapshots, benchSnapshot(p, now, int64(2000+i+j)))
			}
			asked += len(t.Posts)
		}
		pl.Done(t, res, now)
	}
	b.StopTimer()
	b.ReportMetric(perPost, "bytes/post")
	b.ReportMetric(float64(after-before)/1e6, "heap-MB")
	b.ReportMetric(float64(asked)/float64(b.N), "posts/decision")
	if ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N); ns > 0 {
		b.ReportMetric(1e9/ns, "decisions/s")
	}
	runtime.KeepAlive(pl)
}

func benchSnapshot(p ingest.Post, at time.Time, plays int64) snapshot.Snapshot {
	return snapshot.Snapshot{Schema: snapshot.SchemaVersion, Platform: p.Platform, AmbassadorID: p.AmbassadorID, AccountID: p.AccountID,
		PostID: p.PostID, PublishedAt: p.PublishedAt, ObservedAt: at, Metrics: snapshot.Metrics{Plays: &plays}, Source: "bench"}
}
