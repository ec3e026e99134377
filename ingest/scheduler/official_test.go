package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

// The official accounts are listed, newest page only, about every
// ListEvery, never fetched by id and never counted among the polled posts;
// every repost they made in the window reaches ingest with its repost_of,
// while the ambassadors' polling goes on as before.
func TestPlannerListsOfficialAccountsHourly(t *testing.T) {
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	end := start.Add(72 * time.Hour)
	sc := simulator.New(r, 7, start)
	clk := clock.NewManual(start)
	src := &simulator.Direct{Scenario: sc, Clock: clk, Name: snapshot.Weibo, Page: 100, Batch: 100}
	pl := NewPlanner(snapshot.Weibo, r.Watched(snapshot.Weibo), Config{MaxBatch: 100, PageSize: 100, Seed: 1})
	lists := map[string]int{}
	seen := map[string]snapshot.PostRef{} // repost id → what it reposted
	ambassadorSnaps := 0
	Replay(context.Background(), pl, src, clk, 600, end, nil, func(task Task, res Result, now time.Time) {
		if !task.Account.Official {
			ambassadorSnaps += len(res.Listing.Snapshots) + len(res.Fetched.Snapshots)
			for _, s := range append(res.Listing.Snapshots, res.Fetched.Snapshots...) {
				if s.RepostOf != nil {
					t.Errorf("ambassador snapshot %s carries repost_of", s.PostID)
				}
			}
			return
		}
		if task.Kind != TaskList || task.Cursor != "" {
			t.Fatalf("official account %s got task %+v: only its newest page is listed", task.Account.AmbassadorID, task)
		}
		lists[task.Account.AmbassadorID]++
		for _, s := range res.Listing.Snapshots {
			if s.RepostOf == nil {
				t.Fatalf("official snapshot %s without repost_of", s.PostID)
			}
			seen[s.PostID] = *s.RepostOf
		}
	})
	for _, o := range r.OfficialAccounts(snapshot.Weibo) {
		if n := lists[o.AmbassadorID]; n < 70 || n > 74 {
			t.Errorf("official %s listed %d times in 72 campaign hours, want about hourly", o.AmbassadorID, n)
		}
	}
	want := 0
	for _, rp := range sc.Reposts {
		if rp.RepostedAt.Before(end.Add(-time.Hour)) {
			want++
			if got, ok := seen[rp.PostID]; !ok || got.PostID != rp.Of {
				t.Errorf("repost %s of %s by %s at %s: ingest saw %+v", rp.PostID, rp.Of, rp.OfficialID, rp.RepostedAt, got)
			}
		}
	}
	if want == 0 || ambassadorSnaps == 0 {
		t.Fatalf("%d reposts, %d ambassador snapshots: the test proves nothing", want, ambassadorSnaps)
	}
	pl.Posts(func(ps *PostState) {
		if _, isRepost := seen[ps.Post.PostID]; isRepost {
			t.Errorf("official repost %s counted among the polled posts", ps.Post.PostID)
		}
	})
}
