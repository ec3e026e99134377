package simulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
)

// The official accounts repost ambassadors' Weibo posts at seeded times:
// the same seed plants the same reposts, the ambassadors' scenario is the
// one without officials but for the reposted posts' bump, and each
// reposted post grows faster after its repost than its own curve would.
func TestOfficialRepostsAreSeededAndBumpThePost(t *testing.T) {
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	a, b := New(r, 7, start), New(r, 7, start)
	if len(a.Reposts) < 20 {
		t.Fatalf("%d official reposts over the campaign, want about one per official every two days", len(a.Reposts))
	}
	if len(a.Reposts) != len(b.Reposts) {
		t.Fatalf("same seed, %d then %d reposts", len(a.Reposts), len(b.Reposts))
	}
	for i := range a.Reposts {
		x, y := a.Reposts[i], b.Reposts[i]
		if x.PostID != y.PostID || !x.RepostedAt.Equal(y.RepostedAt) || x.Of != y.Of {
			t.Fatalf("same seed, repost %d differs: %+v vs %+v", i, x, y)
		}
	}
	noOfficials := *r
	noOfficials.Officials = nil
	plain := New(&noOfficials, 7, start)
	if len(plain.Posts) != len(a.Posts) || len(plain.Reposts) != 0 {
		t.Fatalf("officials changed the ambassadors' posts: %d vs %d", len(plain.Posts), len(a.Posts))
	}
	for _, rp := range a.Reposts {
		if rp.Status.AccountID != rp.AccountID || !rp.Status.Official || rp.Original.Platform != snapshot.Weibo {
			t.Fatalf("repost %+v: status %+v", rp, rp.Status)
		}
		if _, inTruth := a.Post(snapshot.Weibo, rp.PostID); !inTruth {
			t.Fatalf("repost %s not served", rp.PostID)
		}
		age := rp.RepostedAt.Sub(rp.Original.PublishedAt)
		if age < RepostMinAge || age > RepostMaxAge {
			t.Errorf("repost of %s at age %s", rp.Of, age)
		}
		q, _ := plain.Post(snapshot.Weibo, rp.Of)
		before, after := rp.RepostedAt.Add(-time.Minute), rp.RepostedAt.Add(12*time.Hour)
		if rp.Original.CountersAt(before) != q.CountersAt(before) {
			t.Errorf("post %s differs before its repost", rp.Of)
		}
		bumped := rp.Original.CountersAt(after).Likes - rp.Original.CountersAt(before).Likes
		own := q.CountersAt(after).Likes - q.CountersAt(before).Likes
		if bumped <= own {
			t.Errorf("post %s gained %d likes in 12 h after its repost, %d without it", rp.Of, bumped, own)
		}
	}
	for _, p := range a.Posts {
		if p.Official {
			t.Fatalf("official status %s among the ambassadors' posts", p.PostID)
		}
	}
}

// An official account's user_timeline answers as Weibo's does: its own
// statuses, each a repost whose retweeted_status is the ambassador's post
// (id above 2^53, as text and as a number no float64 holds), with that
// post's counters at the time of the request.
func TestOfficialTimelineCarriesRetweetedStatus(t *testing.T) {
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	srv := NewServer(New(r, 7, start), clock.NewManual(start.Add(5*24*time.Hour)), Faults{}, 1)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	off := r.OfficialAccounts(snapshot.Weibo)[0]
	tok := srv.IssueToken(snapshot.Weibo, off.AccountID).AccessToken
	q := url.Values{"uid": {off.AccountID}, "count": {"100"}, "trim_user": {"1"}}
	req, _ := http.NewRequest("GET", hs.URL+"/2/statuses/user_timeline.json?"+q.Encode(), nil)
	req.Header.Set("Authorization", "OAuth2 "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Statuses []struct {
			IDStr     string `json:"idstr"`
			ID        json.Number
			CreatedAt string `json:"created_at"`
			Retweeted *struct {
				ID        json.Number `json:"id"`
				IDStr     string      `json:"idstr"`
				Attitudes int64       `json:"attitudes_count"`
				User      struct {
					IDStr string `json:"idstr"`
				} `json:"user"`
			} `json:"retweeted_status"`
		} `json:"statuses"`
	}
	d := json.NewDecoder(resp.Body)
	d.UseNumber()
	if err := d.Decode(&body); err != nil {
		t.Fatal(err)
	}
	now := srv.Clock.Now()
	var want []*Repost
	for _, rp := range srv.Scenario.Reposts {
		if rp.AccountID == off.AccountID && !rp.RepostedAt.After(now) {
			want = append(want, rp)
		}
	}
	if len(want) == 0 || len(body.Statuses) != len(want) {
		t.Fatalf("timeline holds %d statuses, the scenario %d reposts by %s before %s", len(body.Statuses), len(want), off.AmbassadorID, now)
	}
	for i, st := range body.Statuses {
		rp := want[len(want)-1-i] // newest first
		if st.IDStr != rp.PostID || st.Retweeted == nil || st.Retweeted.IDStr != rp.Of || string(st.Retweeted.ID) != rp.Of {
			t.Fatalf("status %d: %+v, want repost %s of %s", i, st, rp.PostID, rp.Of)
		}
		if n, _ := strconv.ParseUint(rp.Of, 10, 64); n <= 1<<53 {
			t.Errorf("reposted id %s is not above 2^53", rp.Of)
		}
		if st.Retweeted.User.IDStr != rp.Original.AccountID {
			t.Errorf("retweeted_status.user %s, want the ambassador %s", st.Retweeted.User.IDStr, rp.Original.AccountID)
		}
		if got, want := st.Retweeted.Attitudes, rp.Original.CountersAt(now).Likes; got != want {
			t.Errorf("retweeted_status.attitudes_count %d, the post has %d likes now", got, want)
		}
		created, err := time.Parse(WeiboTimeLayout, st.CreatedAt)
		if err != nil || !created.Equal(rp.RepostedAt) {
			t.Errorf("created_at %q, reposted at %s", st.CreatedAt, rp.RepostedAt)
		}
	}
}
