package scheduler

import (
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/snapshot"
)

// When more is due than the budget allows, each token goes to the most
// valuable due post, not to the one that has been due longest: young posts
// (the office acts on them) first, then old ones by how overdue they are
// against their interval.
func TestScarceTokensGoToTheMostValuablePostNotTheFirstDue(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	acct := roster.Account{Platform: snapshot.Douyin, AccountID: "o1", AmbassadorID: "amb01"}
	post := func(id string, age time.Duration) ingest.Post {
		return ingest.Post{Platform: snapshot.Douyin, PostID: id, AccountID: "o1", AmbassadorID: "amb01", PublishedAt: now.Add(-age)}
	}
	type seen struct {
		post ingest.Post
		ago  time.Duration // last snapshot this long before now
	}
	// Due since (FIFO order): old-1 14 h, dormant 6 h, old-2 3 h, young-2
	// 8 min, young-1 2 min. Worth (staleness / interval × weight):
	// young-2 2.0×4, young-1 1.25×4, old-1 3.3, old-2 1.5, dormant 1.25.
	posts := []seen{
		{post("young-1", 2*time.Hour), 10 * time.Minute},   // 8 min interval
		{post("young-2", 3*time.Hour), 16 * time.Minute},   // 8 min interval
		{post("old-1", 5*24*time.Hour), 20 * time.Hour},    // 6 h interval
		{post("old-2", 4*24*time.Hour), 9 * time.Hour},     // 6 h interval
		{post("dormant", 10*24*time.Hour), 30 * time.Hour}, // 24 h interval
	}
	// The listing's page is one post (the newest, young-1): it refreshes
	// that one; fetches carry one post each.
	pl := NewPlanner(snapshot.Douyin, []roster.Account{acct}, Config{MaxBatch: 1, PageSize: 1, Seed: 1})
	var all []ingest.Post
	for _, s := range posts {
		all = append(all, s.post)
	}
	pl.Done(Task{Kind: TaskList, Account: acct}, Result{Listing: ingest.Listing{Posts: all}}, now.Add(-40*time.Minute))
	for _, s := range posts {
		at := now.Add(-s.ago)
		pl.Done(Task{Kind: TaskFetch, Account: acct, Posts: []ingest.Post{s.post}},
			Result{Fetched: ingest.Fetched{Snapshots: []snapshot.Snapshot{{Platform: snapshot.Douyin, PostID: s.post.PostID, ObservedAt: at, Metrics: snapshot.Metrics{Plays: snapshot.Counter(1)}}}}}, at)
	}

	// Five tokens, all spent at the same moment.
	var order []string
	for i := 0; i < len(posts); i++ {
		task, ok, _ := pl.Next(now)
		if !ok {
			t.Fatalf("token %d: nothing due, polled so far %v", i+1, order)
		}
		refreshed := task.Posts
		if task.Kind == TaskList {
			refreshed = all[:1] // the page carries the newest post's counters
		}
		var snaps []snapshot.Snapshot
		for _, p := range refreshed {
			order = append(order, p.PostID)
			snaps = append(snaps, snapshot.Snapshot{Platform: snapshot.Douyin, PostID: p.PostID, ObservedAt: now, Metrics: snapshot.Metrics{Plays: snapshot.Counter(2)}})
		}
		res := Result{Fetched: ingest.Fetched{Snapshots: snaps}}
		if task.Kind == TaskList {
			res = Result{Listing: ingest.Listing{Posts: all, Snapshots: snaps}}
		}
		pl.Done(task, res, now)
	}
	want := []string{"young-2", "young-1", "old-1", "old-2", "dormant"}
	if len(order) != len(want) {
		t.Fatalf("polled %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("polled %v, want %v (by value, not by how long each was due)", order, want)
		}
	}
}
