package weibo

import (
	"context"
	"testing"
	"time"

	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

// An official account's timeline becomes one snapshot per repost, with
// repost_of naming the ambassador's post (ids above 2^53 intact), the
// repost's own counters, and nothing for its other statuses; an
// ambassador's own reposts stay plain posts.
func TestOfficialTimelineYieldsReposts(t *testing.T) {
	f := newSim(t, simulator.Faults{}, Config{OriginalsOnly: true})
	f.clk.Set(simStart.Add(6 * 24 * time.Hour))
	now := f.clk.Now()
	offs := f.r.OfficialAccounts(snapshot.Weibo)
	if len(offs) == 0 {
		t.Fatal("no official Weibo account in the built-in roster")
	}
	total := 0
	for _, acct := range offs {
		f.authorize(acct.AccountID)
		l, err := f.c.List(context.Background(), acct, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Rejected) != 0 {
			t.Fatalf("rejected %v", l.Rejected)
		}
		var want []*simulator.Repost
		for _, rp := range f.sc.Reposts {
			if rp.AccountID == acct.AccountID && !rp.RepostedAt.After(now) {
				want = append([]*simulator.Repost{rp}, want...) // newest first
			}
		}
		if len(l.Snapshots) != len(want) || len(l.Posts) != len(want) {
			t.Fatalf("%s: %d snapshots, %d posts; the scenario has %d reposts", acct.AmbassadorID, len(l.Snapshots), len(l.Posts), len(want))
		}
		for i, s := range l.Snapshots {
			rp := want[i]
			if s.RepostOf == nil || s.RepostOf.Platform != snapshot.Weibo || s.RepostOf.PostID != rp.Of {
				t.Errorf("%s: snapshot %s repost_of %+v, want %s", acct.AmbassadorID, s.PostID, s.RepostOf, rp.Of)
			}
			if s.PostID != rp.PostID || s.AmbassadorID != acct.AmbassadorID || !s.PublishedAt.Equal(rp.RepostedAt) {
				t.Errorf("snapshot %+v, want the repost %s by %s at %s", s, rp.PostID, acct.AmbassadorID, rp.RepostedAt)
			}
			likes, comments, shares := expect(rp.Status.CountersAt(now))
			wantMetrics(t, s, likes, comments, shares)
			if err := s.ValidateAt(now); err != nil {
				t.Error(err)
			}
		}
		total += len(want)
	}
	if total == 0 {
		t.Fatal("no official repost in the first six days: the test proves nothing")
	}
	// An ambassador's timeline, reposts and all, carries no repost_of.
	for _, acct := range f.r.Accounts(snapshot.Weibo)[:10] {
		l, err := f.c.List(context.Background(), acct, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range l.Snapshots {
			if s.RepostOf != nil {
				t.Fatalf("ambassador %s's post %s carries repost_of", acct.AmbassadorID, s.PostID)
			}
		}
	}
}
