package douyin

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

var simStart = time.Date(2025, 5, 10, 2, 0, 0, 0, time.UTC)

type simFixture struct {
	roster *roster.Roster
	sc     *simulator.Scenario
	srv    *simulator.Server
	http   *httptest.Server
	clk    *clock.Manual
	store  *token.MemoryStore
	logs   *enginetest.Buffer
	client *Client
}

func newSimFixture(t *testing.T, faults simulator.Faults, timeout time.Duration) *simFixture {
	t.Helper()
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	f := &simFixture{roster: r, clk: clock.NewManual(simStart), store: token.NewMemoryStore(), logs: &enginetest.Buffer{}}
	f.sc = simulator.New(r, 42, simStart)
	f.srv = simulator.NewServer(f.sc, f.clk, faults, 42)
	f.http = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.http.Close)
	f.client = New(Config{
		ClientConfig: ingest.ClientConfig{BaseURL: f.http.URL, HTTP: &http.Client{Timeout: timeout}, Clock: f.clk, Log: f.logs.Logger()},
		Tokens:       f.store, ClientKey: "awsimclientkey", ClientSecret: testSecret,
	})
	return f
}

// authorizeAll gives every Douyin account of the roster a token, as the
// simulator issues them to `tongxin run`.
func (f *simFixture) authorizeAll(t *testing.T) []roster.Account {
	accts := f.roster.Accounts(snapshot.Douyin)
	if len(accts) == 0 {
		t.Fatal("the roster has no Douyin accounts")
	}
	now := f.clk.Now()
	for _, a := range accts {
		g := f.srv.IssueToken(snapshot.Douyin, a.AccountID)
		f.store.Put(token.Token{Platform: Platform, AccountID: a.AccountID, AccessToken: g.AccessToken, RefreshToken: g.RefreshToken,
			ExpiresAt: now.Add(g.ExpiresIn), RefreshExpiresAt: now.Add(g.RefreshIn), Scope: "user_info,video.list.bind,video.data.bind", UpdatedAt: now})
	}
	return accts
}

// want is the snapshot metrics the simulator's counters must map to.
func wantMetrics(c simulator.Counters) snapshot.Metrics {
	return snapshot.Metrics{
		Plays: i64(c.Plays), Likes: i64(c.Likes), Comments: i64(c.Comments), Shares: i64(c.Shares),
		Forwards: i64(c.Forwards), Downloads: i64(c.Downloads),
	}
}

func sameMetrics(a, b snapshot.Metrics) bool {
	return eqPtr(a.Plays, b.Plays) && eqPtr(a.Likes, b.Likes) && eqPtr(a.Comments, b.Comments) && eqPtr(a.Shares, b.Shares) &&
		eqPtr(a.Favorites, b.Favorites) && eqPtr(a.Forwards, b.Forwards) && eqPtr(a.Downloads, b.Downloads) && eqPtr(a.Recommends, b.Recommends) &&
		a.CompletionRate == nil && b.CompletionRate == nil && a.AvgWatchSeconds == nil && b.AvgWatchSeconds == nil
}

func metricsString(m snapshot.Metrics) string {
	return "plays=" + fmtPtr(m.Plays) + " likes=" + fmtPtr(m.Likes) + " comments=" + fmtPtr(m.Comments) + " shares=" + fmtPtr(m.Shares) +
		" favorites=" + fmtPtr(m.Favorites) + " forwards=" + fmtPtr(m.Forwards) + " downloads=" + fmtPtr(m.Downloads)
}

// retry repeats call until it succeeds, checking that every failure is a
// typed error of an expected kind; it records the kinds seen.
func retry(t *testing.T, what string, seen map[ingest.Kind]int, call func() error) {
	t.Helper()
	for attempt := 0; attempt < 60; attempt++ {
		err := call()
		if err == nil {
			return
		}
		var ie *ingest.Error
		if !errors.As(err, &ie) {
			t.Fatalf("%s: untyped error %v (%T)", what, err, err)
		}
		seen[ie.Kind]++
		switch ie.Kind {
		case ingest.KindRateLimited:
			if ie.RetryAfter <= 0 {
				t.Errorf("%s: rate limited without RetryAfter: %v", what, ie)
			}
		case ingest.KindUnavailable, ingest.KindMalformed, ingest.KindTokenExpired:
		default:
			t.Fatalf("%s: unexpected kind %s: %v", what, ie.Kind, ie)
		}
		if ie.Platform != "douyin" || ie.Op == "" {
			t.Errorf("%s: error without platform or op: %v", what, ie)
		}
		if ie.Kind == ingest.KindMalformed && ie.RequestID == "" {
			t.Errorf("%s: malformed answer without the request id: %v", what, ie)
		}
	}
	t.Fatalf("%s: still failing after 60 attempts", what)
}

// collect lists every account page by page and fetches every post in
// batches, retrying failures; it returns the listings' and the fetches'
// snapshots by post id.
func (f *simFixture) collect(t *testing.T, accts []roster.Account, seen map[ingest.Kind]int) (posts map[string][]ingest.Post, listed, fetched map[string]snapshot.Snapshot) {
	ctx := context.Background()
	posts, listed, fetched = map[string][]ingest.Post{}, map[string]snapshot.Snapshot{}, map[string]snapshot.Snapshot{}
	for _, a := range accts {
		cursor := ""
		for page := 0; ; page++ {
			if page > 100 {
				t.Fatalf("%s: listing does not end", a.AmbassadorID)
			}
			var l ingest.Listing
			retry(t, "list "+a.AmbassadorID, seen, func() (err error) { l, err = f.client.List(ctx, a, cursor); return })
			posts[a.AccountID] = append(posts[a.AccountID], l.Posts...)
			for _, s := range l.Snapshots {
				listed[s.PostID] = s
			}
			if !l.HasMore {
				break
			}
			cursor = l.Cursor
		}
		ps := posts[a.AccountID]
		for i := 0; i < len(ps); i += f.client.MaxBatch() {
			batch := ps[i:min(i+f.client.MaxBatch(), len(ps))]
			var got ingest.Fetched
			retry(t, "fetch "+a.AmbassadorID, seen, func() (err error) { got, err = f.client.Fetch(ctx, a, batch); return })
			if len(got.Missing) > 0 {
				t.Errorf("%s: posts the listing just showed are missing: %v", a.AmbassadorID, got.Missing)
			}
			for _, s := range got.Snapshots {
				fetched[s.PostID] = s
			}
		}
	}
	return posts, listed, fetched
}

func (f *simFixture) check(t *testing.T, accts []roster.Account, posts map[string][]ingest.Post, listed, fetched map[string]snapshot.Snapshot) {
	t.Helper()
	now := f.clk.Now()
	total := 0
	for _, a := range accts {
		var want []*simulator.Post
		for _, sp := range f.sc.PostsOf(snapshot.Douyin, a.AccountID, now) {
			if !sp.PrivateAt(now) { // the listing cannot place a private video (create_time 0)
				want = append(want, sp)
			}
		}
		got := posts[a.AccountID]
		if len(got) != len(want) {
			t.Errorf("%s: listed %d posts, the simulator shows %d", a.AmbassadorID, len(got), len(want))
			continue
		}
		for i, sp := range want {
			p := got[i]
			if p.PostID != sp.PostID || !p.PublishedAt.Equal(sp.PublishedAt) || p.Title != sp.Title || p.AmbassadorID != sp.AmbassadorID || p.AccountID != a.AccountID {
				t.Errorf("%s post %d = %+v, want %s %s (newest first)", a.AmbassadorID, i, p, sp.PostID, sp.PublishedAt)
				continue
			}
			wm := wantMetrics(f.srv.Observe(sp, now))
			for name, s := range map[string]snapshot.Snapshot{"listed": listed[sp.PostID], "fetched": fetched[sp.PostID]} {
				if s.PostID != sp.PostID {
					t.Errorf("%s: no %s snapshot", sp.PostID, name)
					continue
				}
				if !sameMetrics(s.Metrics, wm) {
					t.Errorf("%s %s snapshot: %s\nwant %s", sp.PostID, name, metricsString(s.Metrics), metricsString(wm))
				}
				if !s.ObservedAt.Equal(now) || !s.PublishedAt.Equal(sp.PublishedAt) || s.Source != "api" || s.AmbassadorID != sp.AmbassadorID {
					t.Errorf("%s %s snapshot identity: %+v", sp.PostID, name, s)
				}
				if err := s.Validate(); err != nil {
					t.Errorf("%s: %v", sp.PostID, err)
				}
				// The facts: the video's title, share_url and topics.
				if f := s.Facts; f == nil || f.Title != sp.Title || f.URL != sp.URL() || !slices.Equal(f.Topics, snapshot.Topics(snapshot.Douyin, sp.Title)) || s.FactsProblem() != nil {
					t.Errorf("%s %s snapshot facts %+v, want title %q, url %s", sp.PostID, name, f, sp.Title, sp.URL())
				} else if !slices.Contains(f.Topics, "寻美西山") {
					t.Errorf("%s: topics %q lack the campaign's 寻美西山 (title %q)", sp.PostID, f.Topics, sp.Title)
				}
			}
			total++
		}
	}
	if total < 100 {
		t.Errorf("only %d Douyin posts checked; the scenario should have hundreds", total)
	}
}

func TestSimulatorMatchesObserve(t *testing.T) {
	f := newSimFixture(t, simulator.Faults{}, 5*time.Second)
	accts := f.authorizeAll(t)
	seen := map[ingest.Kind]int{}
	posts, listed, fetched := f.collect(t, accts, seen)
	if len(seen) > 0 {
		t.Errorf("errors without faults: %v", seen)
	}
	f.check(t, accts, posts, listed, fetched)

	// Deleted and unknown videos are reported missing.
	var deleted *simulator.Post
	for _, p := range f.sc.Posts {
		if p.Platform == snapshot.Douyin && !p.DeletedAt.IsZero() && p.DeletedAt.Before(f.clk.Now()) {
			deleted = p
			break
		}
	}
	a := accts[0]
	batch := []ingest.Post{posts[a.AccountID][0], {PostID: "@9VwKzuNoSuchVideoAAAAAAAAAAAAAA==", AccountID: a.AccountID, PublishedAt: posts[a.AccountID][0].PublishedAt}}
	if deleted != nil {
		var owner roster.Account
		for _, x := range accts {
			if x.AccountID == deleted.AccountID {
				owner = x
			}
		}
		got, err := f.client.Fetch(context.Background(), owner, []ingest.Post{{PostID: deleted.PostID, AccountID: owner.AccountID, PublishedAt: deleted.PublishedAt}})
		if err != nil || len(got.Snapshots) != 1 || got.Snapshots[0].State != snapshot.StateDeleted || got.Snapshots[0].HasCounters() {
			t.Errorf("deleted post: %+v %v", got, err)
		}
	}
	got, err := f.client.Fetch(context.Background(), a, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Snapshots) != 2 || got.Snapshots[0].State != "" || got.Snapshots[1].PostID != batch[1].PostID || got.Snapshots[1].State != snapshot.StateDeleted {
		t.Errorf("fetch with an unknown id: %+v", got)
	}
	// Another account's video is not this token's to read: absent, as a deleted one.
	b := accts[1]
	got, err = f.client.Fetch(context.Background(), b, []ingest.Post{{PostID: posts[a.AccountID][0].PostID, PublishedAt: posts[a.AccountID][0].PublishedAt}})
	if err != nil || len(got.Snapshots) != 1 || got.Snapshots[0].State != snapshot.StateDeleted {
		t.Errorf("fetching another account's video: %+v %v", got, err)
	}
}

// A video its author made private answers with zeroed statistics: the
// adapter makes it a private snapshot without counters, never a drop to 0;
// made public again, its counters come back.
func TestSimulatorPrivateVideo(t *testing.T) {
	f := newSimFixture(t, simulator.Faults{}, 5*time.Second)
	accts := f.authorizeAll(t)
	var hidden *simulator.Post
	for _, p := range f.sc.Posts {
		if p.Platform == snapshot.Douyin && !p.PrivateFrom.IsZero() && !p.PrivateUntil.IsZero() && p.PrivateFrom.After(f.clk.Now()) {
			hidden = p
			break
		}
	}
	if hidden == nil {
		t.Fatal("the scenario has no Douyin video made private and public again")
	}
	var owner roster.Account
	for _, a := range accts {
		if a.AccountID == hidden.AccountID {
			owner = a
		}
	}
	post := ingest.Post{Platform: Platform, PostID: hidden.PostID, AccountID: owner.AccountID, AmbassadorID: owner.AmbassadorID, PublishedAt: hidden.PublishedAt}
	for _, step := range []struct {
		at    time.Time
		state string
	}{
		{hidden.PrivateFrom.Add(-time.Minute), ""},
		{hidden.PrivateFrom.Add(time.Minute), snapshot.StatePrivate},
		{hidden.PrivateUntil.Add(time.Minute), ""},
	} {
		f.clk.Set(step.at)
		got, err := f.client.Fetch(context.Background(), owner, []ingest.Post{post})
		if err != nil || len(got.Snapshots) != 1 {
			t.Fatalf("at %v: %+v %v", step.at, got, err)
		}
		s := got.Snapshots[0]
		if s.State != step.state || s.HasCounters() == (step.state != "") || !s.PublishedAt.Equal(hidden.PublishedAt) {
			t.Errorf("at %v: state %q, counters %v (plays %v); want state %q and counters only when live", step.at, s.State, s.HasCounters(), s.Plays, step.state)
		}
		if step.state == "" && (s.Plays == nil || *s.Plays == 0) {
			t.Errorf("at %v: live video without plays", step.at)
		}
	}
}

func TestSimulatorWithFaults(t *testing.T) {
	faults, err := simulator.ParseFaults("429=0.2,5xx=0.1,malformed=0.1,expire=0.1,timeout=0.01")
	if err != nil {
		t.Fatal(err)
	}
	f := newSimFixture(t, faults, 300*time.Millisecond)
	accts := f.authorizeAll(t)
	before := map[string]string{}
	for _, a := range accts {
		tok, _ := f.store.Get(Platform, a.AccountID)
		before[a.AccountID] = tok.AccessToken
	}
	seen := map[ingest.Kind]int{}
	posts, listed, fetched := f.collect(t, accts, seen)
	f.check(t, accts, posts, listed, fetched)

	for _, k := range []ingest.Kind{ingest.KindRateLimited, ingest.KindUnavailable, ingest.KindMalformed} {
		if seen[k] == 0 {
			t.Errorf("no %s error seen with faults on (seen %v)", k, seen)
		}
	}
	stats := f.srv.Stats()
	if stats["douyin expire"] == 0 {
		t.Fatalf("the simulator injected no expiry: %v", stats)
	}
	refreshed := 0
	for _, a := range accts {
		tok, _ := f.store.Get(Platform, a.AccountID)
		if tok.AccessToken != before[a.AccountID] {
			refreshed++
		}
	}
	if refreshed == 0 {
		t.Errorf("expired tokens were never refreshed")
	}
	t.Logf("errors by kind %v; simulator %v; %d accounts refreshed", seen, stats, refreshed)
	assertNoSecrets(t, "log", f.logs.String(), allTokens(f, accts)...)
}

func allTokens(f *simFixture, accts []roster.Account) []string {
	var out []string
	for _, a := range accts {
		tok, _ := f.store.Get(Platform, a.AccountID)
		out = append(out, tok.AccessToken, tok.RefreshToken)
	}
	return out
}

// TestSimulatorTokenLifecycle walks one account through half a year of
// campaign time: access tokens refreshed ahead of expiry, the refresh token
// renewed five times, one warning when renewals run out, then unauthorized.
func TestSimulatorTokenLifecycle(t *testing.T) {
	f := newSimFixture(t, simulator.Faults{}, 5*time.Second)
	a := f.roster.Accounts(snapshot.Douyin)[2]
	g := f.srv.IssueToken(snapshot.Douyin, a.AccountID)
	f.store.Put(token.Token{Platform: Platform, AccountID: a.AccountID, AccessToken: g.AccessToken, RefreshToken: g.RefreshToken,
		ExpiresAt: simStart.Add(g.ExpiresIn), RefreshExpiresAt: simStart.Add(g.RefreshIn), Scope: "video.list.bind,video.data.bind"})
	ctx := context.Background()
	var firstFailure time.Time
	var lastRenewals int
	secrets := map[string]bool{}
	for day := 0; day < 200; day++ {
		f.clk.Set(simStart.Add(time.Duration(day) * 24 * time.Hour))
		tok, _ := f.store.Get(Platform, a.AccountID)
		secrets[tok.AccessToken], secrets[tok.RefreshToken] = true, true
		_, err := f.client.List(ctx, a, "")
		if err != nil {
			ie := asIngestError(t, err)
			if ie.Kind != ingest.KindUnauthorized {
				t.Fatalf("day %d: %v", day, err)
			}
			if firstFailure.IsZero() {
				firstFailure = f.clk.Now()
			}
			continue
		}
		if !firstFailure.IsZero() {
			t.Fatalf("day %d: worked again after failing on %s", day, firstFailure)
		}
		tok, _ = f.store.Get(Platform, a.AccountID)
		if left := tok.ExpiresAt.Sub(f.clk.Now()); left < 0 {
			t.Fatalf("day %d: a call succeeded with an expired token", day)
		}
		if tok.RefreshRenewals < lastRenewals {
			t.Fatalf("renewals went down")
		}
		lastRenewals = tok.RefreshRenewals
	}
	tok, _ := f.store.Get(Platform, a.AccountID)
	secrets[tok.AccessToken], secrets[tok.RefreshToken] = true, true
	if tok.RefreshRenewals != MaxRefreshRenewals {
		t.Errorf("renewals = %d, want %d", tok.RefreshRenewals, MaxRefreshRenewals)
	}
	// Renewals at days 24, 48, 72, 96, 120 push the refresh token to day
	// 150; the last access token refreshed before then lasts ≤15 days more.
	if firstFailure.IsZero() || firstFailure.Before(simStart.Add(150*24*time.Hour)) || firstFailure.After(simStart.Add(166*24*time.Hour)) {
		t.Errorf("calls failed from %s; want between day 150 and 166", firstFailure)
	}
	logs := f.logs.String()
	if n := strings.Count(logs, "renewals used up"); n != 1 {
		t.Errorf("warned %d times about used-up renewals, want once", n)
	}
	if !strings.Contains(logs, "ambassador="+a.AmbassadorID) {
		t.Errorf("warning does not name the ambassador %s", a.AmbassadorID)
	}
	var list []string
	for s := range secrets {
		list = append(list, s)
	}
	sort.Strings(list)
	assertNoSecrets(t, "log", logs, list...)
	st, err := f.client.TokenStatus(a)
	if err != nil || !st.Expired || !st.NeedsReauth || st.RenewalsLeft != 0 {
		t.Errorf("status after expiry = %+v %v", st, err)
	}
}

// TestSimulatorConsentPage runs `tongxin auth`'s flow against the
// simulator: the consent page auto-approves and redirects with a code.
func TestSimulatorConsentPage(t *testing.T) {
	f := newSimFixture(t, simulator.Faults{}, 5*time.Second)
	a := f.roster.Accounts(snapshot.Douyin)[4]
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(f.client.AuthURL("http://127.0.0.1:1/callback", "state-xyz") + "&account=" + url.QueryEscape(a.AmbassadorID))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("consent page answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if loc.Query().Get("state") != "state-xyz" || loc.Query().Get("code") == "" || loc.Host != "127.0.0.1:1" {
		t.Fatalf("redirect = %s", loc)
	}
	tok, err := f.client.Authorize(context.Background(), a, loc.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if !tok.ExpiresAt.Equal(simStart.Add(AccessTokenTTL)) || !tok.RefreshExpiresAt.Equal(simStart.Add(RefreshTokenTTL)) {
		t.Errorf("token lifetimes %s / %s", tok.ExpiresAt, tok.RefreshExpiresAt)
	}
	if _, err := f.client.Authorize(context.Background(), a, loc.Query().Get("code")); asIngestError(t, err).Kind != ingest.KindUnauthorized {
		t.Errorf("a used code should be refused as unauthorized: %v", err)
	}
	if _, err := f.client.List(context.Background(), a, ""); err != nil {
		t.Errorf("list after authorizing: %v", err)
	}
	st, _ := f.client.TokenStatus(a)
	if !st.Authorized || st.NeedsReauth || len(st.MissingScopes) != 0 {
		t.Errorf("status = %+v", st)
	}
}
