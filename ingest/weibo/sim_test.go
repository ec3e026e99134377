package weibo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

var simStart = time.Date(2024, 5, 20, 2, 0, 0, 0, time.UTC)

type simFixture struct {
	r     *roster.Roster
	sc    *simulator.Scenario
	srv   *simulator.Server
	ts    *httptest.Server
	clk   *clock.Manual
	store *token.MemoryStore
	c     *Client
	logs  *bytes.Buffer

	mu     sync.Mutex
	issued []string // every access token handed out, to check none leaks
}

func newSim(t *testing.T, faults simulator.Faults, cfg Config) *simFixture {
	t.Helper()
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	sc := simulator.New(r, 11, simStart)
	clk := clock.NewManual(sc.Start)
	srv := simulator.NewServer(sc, clk, faults, 11)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	f := &simFixture{r: r, sc: sc, srv: srv, ts: ts, clk: clk, store: token.NewMemoryStore(), logs: &bytes.Buffer{}}
	for _, a := range r.Accounts(snapshot.Weibo) {
		f.authorize(a.AccountID)
	}
	cfg.BaseURL, cfg.Clock, cfg.Tokens = ts.URL, clk, f.store
	if cfg.HTTP == nil {
		cfg.HTTP = ts.Client()
	}
	cfg.AppKey, cfg.AppSecret, cfg.RedirectURI = testAppKey, testSecret, "http://127.0.0.1:1/callback"
	cfg.Source = snapshot.SourceSim
	cfg.Log = slog.New(slog.NewTextHandler(f.logs, nil))
	f.c = New(cfg)
	return f
}

// authorize is the ambassador going through the consent page again.
func (f *simFixture) authorize(account string) {
	g := f.srv.IssueToken(snapshot.Weibo, account)
	f.mu.Lock()
	f.issued = append(f.issued, g.AccessToken)
	f.mu.Unlock()
	f.store.Put(token.Token{Platform: snapshot.Weibo, AccountID: account, AccessToken: g.AccessToken,
		ExpiresAt: f.clk.Now().Add(g.ExpiresIn), UpdatedAt: f.clk.Now()})
}

// expect is what the simulator says the platform shows for a post now.
func expect(c simulator.Counters) (likes, comments, shares int64) {
	return c.Likes, c.Comments, c.Shares
}

// checkAgainstTruth compares what the adapter found with the scenario:
// every visible post of every account, newest first, with the counters
// the simulator shows (no spam removal in these tests).
// checkAgainstTruth returns how many snapshots carried facts (a listing's
// do, statuses/count's do not).
func (f *simFixture) checkAgainstTruth(t *testing.T, listed map[string][]ingest.Post, snaps map[string]snapshot.Snapshot) (withFacts int) {
	t.Helper()
	now := f.clk.Now()
	total, privates := 0, 0
	for _, a := range f.r.Accounts(snapshot.Weibo) {
		truth := f.sc.PostsOf(snapshot.Weibo, a.AccountID, now)
		got := listed[a.AccountID]
		if len(got) != len(truth) {
			t.Errorf("%s: listed %d posts, the scenario has %d", a.AmbassadorID, len(got), len(truth))
			continue
		}
		for i, p := range truth {
			g := got[i]
			if g.PostID != p.PostID || !g.PublishedAt.Equal(p.PublishedAt) || g.AmbassadorID != p.AmbassadorID || g.AccountID != a.AccountID {
				t.Errorf("%s post %d: got %+v, want %s published %v", a.AmbassadorID, i, g, p.PostID, p.PublishedAt)
			}
			s, ok := snaps[p.PostID]
			if !ok {
				t.Errorf("%s: no snapshot of %s", a.AmbassadorID, p.PostID)
				continue
			}
			if p.PrivateAt(now) {
				// Made private: the state, no counters (never zeros), from
				// the listing and from Fetch alike.
				if s.State != snapshot.StatePrivate || s.HasCounters() {
					t.Errorf("%s is private: snapshot state %q with counters %v", p.PostID, s.State, s.HasCounters())
				}
				privates++
			} else {
				likes, comments, shares := expect(p.CountersAt(now))
				wantMetrics(t, s, likes, comments, shares)
				// A listed status carries its facts: text, link, #话题#s.
				if s.Facts != nil && (s.Facts.Title != p.Title || s.Facts.URL != p.URL() ||
					!slices.Equal(s.Facts.Topics, snapshot.Topics(snapshot.Weibo, p.Title)) || len(s.Facts.Topics) == 0) {
					t.Errorf("%s facts %+v, want text %q, url %s", p.PostID, s.Facts, p.Title, p.URL())
				}
				if s.Facts != nil {
					withFacts++
				}
				if s.State != "" {
					t.Errorf("%s: state %q, want live", p.PostID, s.State)
				}
			}
			if !s.ObservedAt.Equal(now) || s.Source != snapshot.SourceSim || !s.PublishedAt.Equal(p.PublishedAt) || s.AmbassadorID != a.AmbassadorID {
				t.Errorf("snapshot %+v", s)
			}
			total++
		}
	}
	if total < 100 {
		t.Errorf("only %d posts checked; the scenario should have hundreds", total)
	}
	if privates == 0 {
		t.Errorf("no private post checked; the scenario should have some")
	}
	return withFacts
}

func TestSimulatorListAndFetch(t *testing.T) {
	f := newSim(t, simulator.Faults{}, Config{PageSize: 7})
	ctx := context.Background()
	listed := map[string][]ingest.Post{}
	fromList := map[string]snapshot.Snapshot{}
	multiPage := 0
	requests := 0
	for _, a := range f.r.Accounts(snapshot.Weibo) {
		cursor, pages := "", 0
		for {
			l, err := f.c.List(ctx, a, cursor)
			requests++
			if err != nil {
				t.Fatalf("%s: %v", a.AmbassadorID, err)
			}
			pages++
			listed[a.AccountID] = append(listed[a.AccountID], l.Posts...)
			for _, s := range l.Snapshots {
				fromList[s.PostID] = s
			}
			if !l.HasMore {
				break
			}
			cursor = l.Cursor
		}
		if pages > 1 {
			multiPage++
		}
	}
	if multiPage == 0 {
		t.Errorf("no account needed a second page; paging is untested")
	}
	if f.checkAgainstTruth(t, listed, fromList) == 0 {
		t.Errorf("no listed status carried its facts")
	}

	fetched := map[string]snapshot.Snapshot{}
	for _, a := range f.r.Accounts(snapshot.Weibo) {
		ps := listed[a.AccountID]
		for i := 0; i < len(ps); i += MaxBatch {
			got, err := f.c.Fetch(ctx, a, ps[i:min(i+MaxBatch, len(ps))])
			requests++
			if err != nil {
				t.Fatalf("%s: %v", a.AmbassadorID, err)
			}
			if len(got.Missing) != 0 {
				t.Errorf("%s: missing %v of visible posts", a.AmbassadorID, got.Missing)
			}
			for _, s := range got.Snapshots {
				fetched[s.PostID] = s
			}
		}
	}
	f.checkAgainstTruth(t, listed, fetched)
	if got := f.srv.Stats()["weibo ok"]; got != requests {
		t.Errorf("the simulator saw %d requests, the adapter made %d: one call must be one request", got, requests)
	}
}

func TestSimulatorDeletedAndUnknown(t *testing.T) {
	f := newSim(t, simulator.Faults{}, Config{})
	var del *simulator.Post
	for _, p := range f.sc.Posts {
		if p.Platform == snapshot.Weibo && !p.DeletedAt.IsZero() {
			del = p
			break
		}
	}
	if del == nil {
		t.Fatal("the scenario deletes no Weibo post")
	}
	if at := del.DeletedAt.Add(time.Minute); at.After(f.sc.Start) {
		f.clk.Set(at)
	}
	acct := roster.Account{Platform: snapshot.Weibo, AccountID: del.AccountID, AmbassadorID: del.AmbassadorID}
	visible := f.sc.PostsOf(snapshot.Weibo, del.AccountID, f.clk.Now())
	if len(visible) == 0 {
		t.Fatal("no visible post beside the deleted one")
	}
	in := []ingest.Post{
		{PostID: del.PostID, PublishedAt: del.PublishedAt},
		{PostID: visible[0].PostID, PublishedAt: visible[0].PublishedAt},
		{PostID: "5099999999999999", PublishedAt: visible[0].PublishedAt},
	}
	got, err := f.c.Fetch(context.Background(), acct, in)
	if err != nil {
		t.Fatal(err)
	}
	// statuses/count leaves the deleted and the unknown id out: both become
	// deleted snapshots without counters.
	if len(got.Missing) != 0 || len(got.Snapshots) != 3 {
		t.Fatalf("missing %v, snapshots %+v; want a snapshot for each post", got.Missing, got.Snapshots)
	}
	for i, want := range []string{snapshot.StateDeleted, "", snapshot.StateDeleted} {
		g := got.Snapshots[i]
		if g.PostID != in[i].PostID || g.State != want || g.AmbassadorID != del.AmbassadorID || (want != "") == g.HasCounters() {
			t.Errorf("snapshot %d: %s state %q counters %v; want %s state %q", i, g.PostID, g.State, g.HasCounters(), in[i].PostID, want)
		}
	}
	likes, comments, shares := expect(visible[0].CountersAt(f.clk.Now()))
	wantMetrics(t, got.Snapshots[1], likes, comments, shares)

	// The listing no longer shows it either.
	l, err := f.c.List(context.Background(), acct, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range l.Posts {
		if p.PostID == del.PostID {
			t.Errorf("the deleted post is still listed")
		}
	}
}

func TestSimulatorTimelineOfAnotherUser(t *testing.T) {
	f := newSim(t, simulator.Faults{}, Config{})
	accts := f.r.Accounts(snapshot.Weibo)
	a, b := accts[0], accts[1]
	// b's token is stored as a's: the wrong ambassador logged in.
	tb, _ := f.store.Get(snapshot.Weibo, b.AccountID)
	tb.AccountID = a.AccountID
	f.store.Put(tb)
	_, err := f.c.List(context.Background(), a, "")
	if e := asError(t, err); e.Kind != ingest.KindUnauthorized || e.Code != "21335" {
		t.Errorf("got %v, want 21335 unauthorized", err)
	}
	if st := f.c.TokenStatus(a); st.State != TokenRefused {
		t.Errorf("status %+v", st)
	}
}

func TestSimulatorAuthorization(t *testing.T) {
	f := newSim(t, simulator.Faults{}, Config{})
	acct := f.r.Accounts(snapshot.Weibo)[3]
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// Without a hint the consent page lists the accounts.
	resp, err := noFollow.Get(f.c.AuthURL("", "s1"))
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	page.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(page.String(), acct.AccountID) {
		t.Errorf("consent page %d lacks account %s", resp.StatusCode, acct.AccountID)
	}

	resp, err = noFollow.Get(f.c.AuthURL("", "s2") + "&account=" + acct.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), "http://127.0.0.1:1/callback?") {
		t.Fatalf("authorize answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if loc.Query().Get("state") != "s2" || loc.Query().Get("code") == "" {
		t.Fatalf("redirect %s lacks code or state", loc)
	}
	code := loc.Query().Get("code")
	tok, err := f.c.Exchange(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccountID != acct.AccountID || tok.RefreshToken != "" || !tok.ExpiresAt.Equal(f.clk.Now().Add(f.srv.TokenTTL[snapshot.Weibo])) {
		t.Errorf("token %v", tok)
	}
	f.store.Put(tok)
	if _, err := f.c.List(context.Background(), acct, ""); err != nil {
		t.Errorf("the new token does not work: %v", err)
	}
	info, err := f.c.TokenInfo(context.Background(), acct)
	if err != nil || info.UID != acct.AccountID || !info.ExpiresAt.Equal(tok.ExpiresAt) {
		t.Errorf("token info %+v %v", info, err)
	}

	// A code works once.
	if _, err := f.c.Exchange(context.Background(), code); asError(t, err).Code != "21325" {
		t.Errorf("second exchange: %v", err)
	}
	// An account the simulator does not know is refused on the redirect.
	resp, err = noFollow.Get(f.c.AuthURL("", "s3") + "&account=1000000001")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "s3" {
		t.Errorf("unknown account: Location %q", resp.Header.Get("Location"))
	}
}

// TestSimulatorWithFaults lists and fetches everything through injected
// faults: every error must be typed with the Kind its fault calls for, and
// retrying (after the ambassador authorizes again, for an expired token)
// must get every post with the right counters.
func TestSimulatorWithFaults(t *testing.T) {
	faults, err := simulator.ParseFaults("429=0.2,5xx=0.1,malformed=0.1,expire=0.1,timeout=0.02")
	if err != nil {
		t.Fatal(err)
	}
	f := newSim(t, faults, Config{PageSize: 10, ClientConfig: ingest.ClientConfig{HTTP: &http.Client{Timeout: 200 * time.Millisecond}}})
	ctx := context.Background()
	seen := map[ingest.Kind]int{}
	const maxAttempts = 60

	// retry runs call until it succeeds, checking each error on the way.
	retry := func(a roster.Account, what string, call func() error) {
		t.Helper()
		for i := 0; i < maxAttempts; i++ {
			err := call()
			if err == nil {
				return
			}
			e := asError(t, err)
			seen[e.Kind]++
			switch e.Kind {
			case ingest.KindRateLimited:
				if e.Code != "10023" || e.RetryAfter < time.Second || e.RetryAfter > 5*time.Second {
					t.Errorf("rate limit %v: want code 10023 and the simulator's Retry-After", err)
				}
			case ingest.KindUnavailable, ingest.KindMalformed:
			case ingest.KindUnauthorized:
				if e.Code != "21327" || !strings.Contains(err.Error(), "tongxin auth weibo "+a.AmbassadorID) {
					t.Errorf("expired token %v: want 21327 and what to do", err)
				}
				if st := f.c.TokenStatus(a); !st.NeedsReauthorization() {
					t.Errorf("token status %+v after an expiry", st)
				}
				f.authorize(a.AccountID)
			default:
				t.Fatalf("%s %s: unexpected %v", a.AmbassadorID, what, err)
			}
			f.mu.Lock()
			for _, tok := range f.issued {
				if strings.Contains(err.Error(), tok) {
					t.Errorf("error %q holds a token", err)
				}
			}
			f.mu.Unlock()
		}
		t.Fatalf("%s %s: no success in %d attempts", a.AmbassadorID, what, maxAttempts)
	}

	listed := map[string][]ingest.Post{}
	fromList := map[string]snapshot.Snapshot{}
	for _, a := range f.r.Accounts(snapshot.Weibo) {
		cursor := ""
		for {
			var l ingest.Listing
			retry(a, "list page "+cursor, func() (err error) { l, err = f.c.List(ctx, a, cursor); return })
			listed[a.AccountID] = append(listed[a.AccountID], l.Posts...)
			for _, s := range l.Snapshots {
				fromList[s.PostID] = s
			}
			if !l.HasMore {
				break
			}
			cursor = l.Cursor
		}
	}
	f.checkAgainstTruth(t, listed, fromList)

	fetched := map[string]snapshot.Snapshot{}
	for _, a := range f.r.Accounts(snapshot.Weibo) {
		ps := listed[a.AccountID]
		for i := 0; i < len(ps); i += 25 {
			var got ingest.Fetched
			retry(a, "fetch", func() (err error) { got, err = f.c.Fetch(ctx, a, ps[i:min(i+25, len(ps))]); return })
			if len(got.Missing) != 0 {
				t.Errorf("missing %v", got.Missing)
			}
			for _, s := range got.Snapshots {
				fetched[s.PostID] = s
			}
		}
	}
	f.checkAgainstTruth(t, listed, fetched)

	for _, k := range []ingest.Kind{ingest.KindRateLimited, ingest.KindUnavailable, ingest.KindMalformed, ingest.KindUnauthorized} {
		if seen[k] == 0 {
			t.Errorf("no %s error came up; the fault is not exercised (seen %v)", k, seen)
		}
	}
	t.Logf("errors by kind: %v; simulator: %v", seen, f.srv.Stats())
	f.mu.Lock()
	for _, tok := range f.issued {
		if strings.Contains(f.logs.String(), tok) {
			t.Errorf("the logs hold a token")
		}
	}
	f.mu.Unlock()
}

// The simulated timeline answers as Weibo's does: ids above 2^53, given as
// JSON numbers a float64 cannot hold, and reposts carrying another
// account's original as retweeted_status. The adapter keeps every id digit
// for digit and takes a repost's own counters, never its original's.
func TestSimulatorBigIDsAndReposts(t *testing.T) {
	f := newSim(t, simulator.Faults{}, Config{})
	ctx := context.Background()
	reposts, big := 0, 0
	for _, a := range f.r.Accounts(snapshot.Weibo) {
		tok, _ := f.store.Get(snapshot.Weibo, a.AccountID)
		req, _ := http.NewRequest(http.MethodGet, f.ts.URL+"/2/statuses/user_timeline.json?trim_user=1&count=100&uid="+a.AccountID, nil)
		req.Header.Set("Authorization", "OAuth2 "+tok.AccessToken)
		resp, err := f.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var tl struct {
			Statuses []struct {
				ID        json.Number     `json:"id"`
				IDStr     string          `json:"idstr"`
				Retweeted json.RawMessage `json:"retweeted_status"`
			} `json:"statuses"`
		}
		dec := json.NewDecoder(resp.Body)
		dec.UseNumber()
		err = dec.Decode(&tl)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		originals := map[string]bool{}
		for _, st := range tl.Statuses {
			n, err := strconv.ParseUint(string(st.ID), 10, 64)
			if err != nil || string(st.ID) != st.IDStr {
				t.Errorf("id %s / idstr %s", st.ID, st.IDStr)
			}
			if n > 1<<53 {
				big++
			}
			if len(st.Retweeted) > 0 {
				reposts++
				var o struct {
					IDStr string `json:"idstr"`
				}
				json.Unmarshal(st.Retweeted, &o)
				originals[o.IDStr] = true
			}
		}
		l, err := f.c.List(ctx, a, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range l.Posts {
			if originals[p.PostID] {
				t.Errorf("%s: the reposted original %s is listed as the ambassador's post", a.AmbassadorID, p.PostID)
			}
			if sp, ok := f.sc.Post(snapshot.Weibo, p.PostID); !ok || sp.AccountID != a.AccountID {
				t.Errorf("%s: listed %s, not a status of the account's", a.AmbassadorID, p.PostID)
			}
		}
	}
	if reposts == 0 || big == 0 {
		t.Errorf("%d reposts and %d ids above 2^53 in the timelines; want both", reposts, big)
	}
	t.Logf("%d reposts, %d ids above 2^53", reposts, big)
}

// Weibo access tokens last 1 day for an app that has not passed review and
// 7 days for a reviewed one (the simulator's --weibo-app-reviewed, true by
// default); web apps get no refresh token, so the adapter then reports the
// ambassador must authorize again.
func TestSimulatorTokenLifetime(t *testing.T) {
	for _, c := range []struct {
		reviewed bool
		lasts    time.Duration
	}{{false, 24 * time.Hour}, {true, 7 * 24 * time.Hour}} {
		f := newSim(t, simulator.Faults{}, Config{})
		f.srv.TokenTTL[snapshot.Weibo] = simulator.WeiboTokenTTL(c.reviewed)
		a := f.r.Accounts(snapshot.Weibo)[0]
		f.authorize(a.AccountID)
		tok, _ := f.store.Get(snapshot.Weibo, a.AccountID)
		if got := tok.ExpiresAt.Sub(f.clk.Now()); got != c.lasts {
			t.Errorf("reviewed=%v: token lasts %v, want %v", c.reviewed, got, c.lasts)
		}
		f.clk.Set(f.sc.Start.Add(c.lasts - time.Minute))
		if _, err := f.c.List(context.Background(), a, ""); err != nil {
			t.Errorf("reviewed=%v: a minute before expiry: %v", c.reviewed, err)
		}
		// The platform refuses it once it has run out (the adapter is told
		// nothing in advance: the store says it lasts longer).
		f.store.Put(token.Token{Platform: snapshot.Weibo, AccountID: a.AccountID, AccessToken: tok.AccessToken, UpdatedAt: f.clk.Now()})
		f.clk.Set(f.sc.Start.Add(c.lasts + time.Minute))
		_, err := f.c.List(context.Background(), a, "")
		if e := (*ingest.Error)(nil); !errors.As(err, &e) || e.Kind != ingest.KindUnauthorized || e.Code != "21327" {
			t.Errorf("reviewed=%v: a minute after expiry: %v, want unauthorized 21327 expired_token", c.reviewed, err)
		}
	}
	if got := simulator.NewServer(simulator.New(mustRoster(t), 1, simStart), clock.NewManual(simStart), simulator.Faults{}, 1).TokenTTL[snapshot.Weibo]; got != 7*24*time.Hour {
		t.Errorf("default Weibo token lifetime %v, want 7 days (a reviewed app)", got)
	}
}

func mustRoster(t *testing.T) *roster.Roster {
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return r
}
