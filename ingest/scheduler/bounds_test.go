package scheduler

import (
	"errors"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
)

// A post whose every answer is rejected by the snapshot rules backs off
// like a failing one and is finally parked, instead of staying the most
// urgent post and taking every request of the budget.
func TestRejectedPostBacksOff(t *testing.T) {
	acct := roster.Account{Platform: "douyin", AccountID: "o1", AmbassadorID: "a1"}
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	pl := NewPlanner("douyin", []roster.Account{acct}, Config{MaxBatch: 5, MaxFailures: 4, PageSize: 1})
	bad := ingest.Post{Platform: "douyin", PostID: "@bad", AccountID: "o1", AmbassadorID: "a1", PublishedAt: start.Add(-48 * time.Hour)}
	newest := bad
	newest.PostID, newest.PublishedAt = "@newest", start.Add(-time.Hour)
	listing := ingest.Listing{Posts: []ingest.Post{newest, bad}}
	task, _, _ := pl.Next(start)
	pl.Done(task, Result{Listing: listing}, start)

	now, fetches := start, 0
	var gaveUp []ingest.Post
	for i := 0; i < 500 && now.Before(start.Add(24*time.Hour)); i++ {
		task, ok, wake := pl.Next(now)
		if !ok {
			now = wake
			continue
		}
		if task.Kind == TaskList {
			pl.Done(task, Result{Listing: listing}, now)
			continue
		}
		if hasPost(task.Posts, "@bad") {
			fetches++
		}
		out := pl.Done(task, Result{Fetched: ingest.Fetched{Rejected: []ingest.Rejected{{PostID: "@bad", Err: errors.New("plays: absurd")}}}}, now)
		gaveUp = append(gaveUp, out.GaveUp...)
		now = now.Add(time.Second)
	}
	if len(gaveUp) != 1 || gaveUp[0].PostID != "@bad" {
		t.Errorf("gave up on %v, want the rejected post", gaveUp)
	}
	if fetches > 5 {
		t.Errorf("the rejected post was fetched %d times in a campaign day; it must back off and be parked after 4", fetches)
	}
}
