package scheduler

import (
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/snapshot"
)

// A post reported private is asked about again only every PrivateProbe; a
// deleted one is reported once and never polled again; a private one made
// public again is polled as before.
func TestPrivateAndDeletedPostsPolling(t *testing.T) {
	acct := roster.Account{Platform: "douyin", AccountID: "o1", AmbassadorID: "a1"}
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	pl := NewPlanner("douyin", []roster.Account{acct}, Config{MaxBatch: 5, PageSize: 1, ListEvery: 24 * time.Hour})
	mk := func(id string) ingest.Post {
		return ingest.Post{Platform: "douyin", PostID: id, AccountID: "o1", AmbassadorID: "a1", PublishedAt: start.Add(-2 * time.Hour)}
	}
	// p0 is the newest (refreshed by the listing); p1 and p2 are fetched.
	p0, p1, p2 := mk("p0"), mk("p1"), mk("p2")
	p0.PublishedAt = start.Add(-time.Hour)
	task, _, _ := pl.Next(start)
	pl.Done(task, Result{Listing: ingest.Listing{Posts: []ingest.Post{p0, p1, p2}}}, start)

	live := func(p ingest.Post, at time.Time) snapshot.Snapshot {
		return snapshot.Snapshot{Schema: 1, Platform: "douyin", PostID: p.PostID, AmbassadorID: "a1", ObservedAt: at, Metrics: snapshot.Metrics{Plays: snapshot.Counter(int64(at.Sub(start).Minutes()))}}
	}
	polled := map[string][]time.Time{}
	var deleted []string
	now := start
	for now.Before(start.Add(24 * time.Hour)) {
		task, ok, wake := pl.Next(now)
		if !ok {
			now = wake
			continue
		}
		var res Result
		if task.Kind == TaskList {
			res.Listing.Posts = []ingest.Post{p0}
			res.Listing.Snapshots = []snapshot.Snapshot{live(p0, now)}
		}
		for _, p := range task.Posts {
			polled[p.PostID] = append(polled[p.PostID], now)
			s := live(p, now)
			switch {
			case p.PostID == "p2" && now.After(start.Add(30*time.Minute)):
				s = ingest.StateSnapshot(p, snapshot.StateDeleted, now, snapshot.SourceSim)
			case p.PostID == "p1" && now.After(start.Add(30*time.Minute)) && now.Before(start.Add(12*time.Hour)):
				s = ingest.StateSnapshot(p, snapshot.StatePrivate, now, snapshot.SourceSim)
			}
			res.Fetched.Snapshots = append(res.Fetched.Snapshots, s)
		}
		out := pl.Done(task, res, now)
		for _, p := range out.Deleted {
			deleted = append(deleted, p.PostID)
		}
		now = now.Add(time.Minute)
	}
	if len(deleted) != 1 || deleted[0] != "p2" {
		t.Errorf("reported deleted %v, want p2 once", deleted)
	}
	for _, at := range polled["p2"] {
		if at.After(start.Add(time.Hour)) {
			t.Errorf("the deleted post was polled again at %v", at.Sub(start))
		}
	}
	// p1: private from 0:30 to 12:00. While private, one probe per 6 h.
	var whilePrivate, after int
	for _, at := range polled["p1"] {
		switch {
		case at.After(start.Add(time.Hour)) && at.Before(start.Add(12*time.Hour)):
			whilePrivate++
		case !at.Before(start.Add(12 * time.Hour)):
			after++
		}
	}
	if whilePrivate > 2 {
		t.Errorf("the private post was polled %d times in 11 h; want a probe every 6 h", whilePrivate)
	}
	if after < 10 {
		t.Errorf("made public again, the post was polled %d times in the next 12 h; want it polled as before", after)
	}
}
