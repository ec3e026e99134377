package weibo

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
)

const (
	testToken  = "2.00TxQ8XHSIMULATEDxTOKENqFa9kE"
	testSecret = "9f1c2e3d4b5a69788796a5b4c3d2e1f0"
	testAppKey = "3960571234"
	testUID    = "4361396479"
)

var (
	replayNow = time.Date(2024, 5, 20, 2, 20, 0, 0, time.UTC)
	amb01     = roster.Account{Platform: snapshot.Weibo, AccountID: testUID, AmbassadorID: "amb01"}
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replay is an httptest server answering with recorded files; it counts
// requests and remembers the last one.
type replay struct {
	t      *testing.T
	srv    *httptest.Server
	n      atomic.Int64
	mu     sync.Mutex
	last   *http.Request
	form   map[string][]string
	answer func(w http.ResponseWriter, r *http.Request)
}

func newReplay(t *testing.T) *replay {
	rp := &replay{t: t}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rp.n.Add(1)
		r.ParseForm()
		rp.mu.Lock()
		rp.last, rp.form = r, r.Form
		answer := rp.answer
		rp.mu.Unlock()
		if answer == nil {
			http.Error(w, "no answer set", http.StatusTeapot)
			return
		}
		answer(w, r)
	}))
	t.Cleanup(rp.srv.Close)
	return rp
}

// file answers with a recorded file.
func (rp *replay) file(status int, name string, header ...string) {
	body := readTestdata(rp.t, name)
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.answer = func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if strings.HasSuffix(name, ".json") {
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		} else {
			w.Header().Set("Content-Type", "text/html")
		}
		w.WriteHeader(status)
		w.Write(body)
	}
}

func (rp *replay) lastRequest() (*http.Request, map[string][]string) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.last, rp.form
}

type fixture struct {
	c     *Client
	rp    *replay
	clk   *clock.Manual
	store *token.MemoryStore
	logs  *bytes.Buffer
}

func newFixture(t *testing.T, cfg Config) *fixture {
	rp := newReplay(t)
	clk := clock.NewManual(replayNow)
	store := token.NewMemoryStore()
	store.Put(token.Token{Platform: snapshot.Weibo, AccountID: testUID, AccessToken: testToken,
		ExpiresAt: replayNow.Add(10 * 24 * time.Hour), UpdatedAt: replayNow})
	logs := &bytes.Buffer{}
	cfg.BaseURL, cfg.HTTP, cfg.Clock, cfg.Tokens = rp.srv.URL, rp.srv.Client(), clk, store
	cfg.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.AppKey == "" {
		cfg.AppKey, cfg.AppSecret, cfg.RedirectURI = testAppKey, testSecret, "https://tongxin.example.org/auth/weibo/callback"
	}
	return &fixture{c: New(cfg), rp: rp, clk: clk, store: store, logs: logs}
}

func asError(t *testing.T, err error) *ingest.Error {
	t.Helper()
	var e *ingest.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *ingest.Error", err, err)
	}
	if e.Platform != snapshot.Weibo {
		t.Errorf("error platform %q, want weibo", e.Platform)
	}
	return e
}

func val(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func wantMetrics(t *testing.T, s snapshot.Snapshot, likes, comments, shares int64) {
	t.Helper()
	if val(s.Likes) != likes || val(s.Comments) != comments || val(s.Shares) != shares {
		t.Errorf("%s: likes/comments/shares = %v/%v/%v, want %d/%d/%d", s.PostID, val(s.Likes), val(s.Comments), val(s.Shares), likes, comments, shares)
	}
	for name, p := range map[string]*int64{"plays": s.Plays, "favorites": s.Favorites, "forwards": s.Forwards, "downloads": s.Downloads, "recommends": s.Recommends} {
		if p != nil {
			t.Errorf("%s: %s = %d, want absent (Weibo does not give it)", s.PostID, name, *p)
		}
	}
	if s.CompletionRate != nil || s.AvgWatchSeconds != nil {
		t.Errorf("%s: completion rate / watch time set, want absent", s.PostID)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("%s: invalid snapshot: %v", s.PostID, err)
	}
}

func TestListReplay(t *testing.T) {
	f := newFixture(t, Config{PageSize: 3})
	f.rp.file(200, "user_timeline_page1.json")
	l, err := f.c.List(context.Background(), amb01, "")
	if err != nil {
		t.Fatal(err)
	}
	r, form := f.rp.lastRequest()
	if r.URL.Path != "/2/statuses/user_timeline.json" || r.Method != http.MethodGet {
		t.Errorf("request %s %s", r.Method, r.URL.Path)
	}
	for k, v := range map[string]string{"uid": testUID, "count": "3", "page": "1", "trim_user": "1"} {
		if got := strings.Join(form[k], ","); got != v {
			t.Errorf("param %s = %q, want %q", k, got, v)
		}
	}
	if got := r.Header.Get("Authorization"); got != "OAuth2 "+testToken {
		t.Errorf("Authorization header %q", got)
	}
	if strings.Contains(r.URL.String(), testToken) {
		t.Errorf("the token is in the URL: %s", r.URL)
	}

	// The deleted stub is skipped; the repost (whose original was deleted) is the ambassador's own status.
	if len(l.Posts) != 2 || len(l.Snapshots) != 2 {
		t.Fatalf("got %d posts and %d snapshots, want 2 and 2: %+v", len(l.Posts), len(l.Snapshots), l.Posts)
	}
	p := l.Posts[0]
	if p.PostID != "5034312412120301" || p.AccountID != testUID || p.AmbassadorID != "amb01" || p.Platform != snapshot.Weibo {
		t.Errorf("post %+v", p)
	}
	if want := time.Date(2024, 5, 19, 13, 5, 12, 0, time.UTC); !p.PublishedAt.Equal(want) || p.PublishedAt.Location() != time.UTC {
		t.Errorf("published_at %v, want %v (created_at is +0800)", p.PublishedAt, want)
	}
	if !strings.HasPrefix(p.Title, "西山的清晨") {
		t.Errorf("title %q", p.Title)
	}
	s := l.Snapshots[0]
	wantMetrics(t, s, 418, 52, 37)
	if !s.ObservedAt.Equal(replayNow) || s.Source != snapshot.SourceAPI || !s.PublishedAt.Equal(p.PublishedAt) {
		t.Errorf("snapshot %+v", s)
	}
	// "reposts_count":"0" (a string) is a zero, not an absent counter.
	wantMetrics(t, l.Snapshots[1], 12, 3, 0)
	if !l.HasMore || l.Cursor != "2" {
		t.Errorf("HasMore %v cursor %q, want more at page 2", l.HasMore, l.Cursor)
	}

	f.rp.file(200, "user_timeline_page2.json")
	l, err = f.c.List(context.Background(), amb01, l.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if _, form := f.rp.lastRequest(); strings.Join(form["page"], "") != "2" {
		t.Errorf("page param %v", form["page"])
	}
	if len(l.Posts) != 2 || l.HasMore || l.Cursor != "" {
		t.Fatalf("page 2: %d posts, HasMore %v, cursor %q; want 2, false, \"\"", len(l.Posts), l.HasMore, l.Cursor)
	}
	if l.Posts[0].Title != "凌晨五点的湖边，等一场日出。" {
		t.Errorf("title %q: want the first line", l.Posts[0].Title)
	}
	wantMetrics(t, l.Snapshots[0], 10931, 366, 1204)
	wantMetrics(t, l.Snapshots[1], 0, 0, 0)
	if n := f.rp.n.Load(); n != 2 {
		t.Errorf("%d requests for two pages", n)
	}

	if _, err := f.c.List(context.Background(), amb01, "next"); asError(t, err).Kind != ingest.KindInvalid {
		t.Errorf("bad cursor: %v", err)
	}
	if n := f.rp.n.Load(); n != 2 {
		t.Errorf("a bad cursor made a request")
	}
}

func TestListOriginalsOnly(t *testing.T) {
	f := newFixture(t, Config{PageSize: 3, OriginalsOnly: true, ClientConfig: ingest.ClientConfig{Source: snapshot.SourceSim}})
	f.rp.file(200, "user_timeline_page2.json")
	l, err := f.c.List(context.Background(), amb01, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, form := f.rp.lastRequest(); strings.Join(form["feature"], "") != "1" {
		t.Errorf("feature = %v, want 1", form["feature"])
	}
	if l.Snapshots[0].Source != snapshot.SourceSim {
		t.Errorf("source %q", l.Snapshots[0].Source)
	}
}

func posts(ids ...string) []ingest.Post {
	var out []ingest.Post
	for _, id := range ids {
		out = append(out, ingest.Post{Platform: snapshot.Weibo, PostID: id, AccountID: testUID, AmbassadorID: "amb01",
			PublishedAt: time.Date(2024, 5, 15, 0, 0, 0, 0, time.UTC)})
	}
	return out
}

func TestFetchReplay(t *testing.T) {
	f := newFixture(t, Config{})
	f.rp.file(200, "count.json")
	in := posts("5034312412120301", "5033776512020544", "5032654230847211", "5034312412120301")
	got, err := f.c.Fetch(context.Background(), amb01, in)
	if err != nil {
		t.Fatal(err)
	}
	r, form := f.rp.lastRequest()
	if r.URL.Path != "/2/statuses/count.json" || strings.Join(form["ids"], "") != "5034312412120301,5033776512020544,5032654230847211" {
		t.Errorf("request %s ids=%v (want the three ids once each)", r.URL.Path, form["ids"])
	}
	if len(got.Missing) != 0 || len(got.Snapshots) != 3 {
		t.Fatalf("missing %v, %d snapshots; want 3 snapshots", got.Missing, len(got.Snapshots))
	}
	wantMetrics(t, got.Snapshots[0], 431, 53, 38)
	// Left out of the answer: deleted, a snapshot with that state and no counters.
	if d := got.Snapshots[1]; d.PostID != "5033776512020544" || d.State != snapshot.StateDeleted || d.HasCounters() || !d.PublishedAt.Equal(in[1].PublishedAt) {
		t.Errorf("deleted status: %+v", d)
	}
	wantMetrics(t, got.Snapshots[2], 10925, 366, 1207)
	s := got.Snapshots[0]
	if s.PostID != "5034312412120301" || s.AmbassadorID != "amb01" || s.AccountID != testUID ||
		!s.ObservedAt.Equal(replayNow) || !s.PublishedAt.Equal(in[0].PublishedAt) {
		t.Errorf("snapshot %+v", s)
	}

	f.rp.file(200, "count_string_numbers.json")
	got, err = f.c.Fetch(context.Background(), amb01, posts("5034312412120301"))
	if err != nil {
		t.Fatal(err)
	}
	wantMetrics(t, got.Snapshots[0], 431, 53, 38)

	n := f.rp.n.Load()
	if got, err := f.c.Fetch(context.Background(), amb01, nil); err != nil || len(got.Snapshots)+len(got.Missing) != 0 {
		t.Errorf("empty fetch: %+v %v", got, err)
	}
	var many []string
	for i := 0; i < MaxBatch+1; i++ {
		many = append(many, "50000000000000"+string(rune('0'+i/10%10))+string(rune('0'+i%10)))
	}
	if _, err := f.c.Fetch(context.Background(), amb01, posts(many...)); asError(t, err).Kind != ingest.KindInvalid {
		t.Errorf("101 posts: %v", err)
	}
	if _, err := f.c.Fetch(context.Background(), amb01, posts("OfQk0bH3T")); asError(t, err).Kind != ingest.KindInvalid {
		t.Errorf("a base62 mblogid instead of the numeric id: %v", err)
	}
	if f.rp.n.Load() != n {
		t.Errorf("requests were made for fetches that cannot be sent")
	}
}

func TestErrorEnvelopes(t *testing.T) {
	cases := []struct {
		name, file string
		status     int
		header     []string
		op         string // list or fetch
		kind       ingest.Kind
		code       string
		retryAfter time.Duration
	}{
		{"expired token", "error_21327_expired_token.json", 401, nil, "list", ingest.KindUnauthorized, "21327", 0},
		{"invalid token", "error_21332_invalid_access_token.json", 401, nil, "fetch", ingest.KindUnauthorized, "21332", 0},
		{"uid of another user", "error_21335_uid_not_current_user.json", 400, nil, "list", ingest.KindUnauthorized, "21335", 0},
		{"user rate limit, no Retry-After: wait for the top of the hour", "error_10023_user_rate_limit.json", 403, nil, "list", ingest.KindRateLimited, "10023", 40 * time.Minute},
		{"user rate limit with Retry-After", "error_10023_user_rate_limit.json", 403, []string{"Retry-After", "3"}, "list", ingest.KindRateLimited, "10023", 3 * time.Second},
		{"ip rate limit", "error_10022_ip_rate_limit.json", 403, nil, "fetch", ingest.KindRateLimited, "10022", 40 * time.Minute},
		{"api rate limit", "error_10024_api_rate_limit.json", 403, nil, "fetch", ingest.KindRateLimited, "10024", 40 * time.Minute},
		{"insufficient app permissions", "error_10014_app_permissions.json", 403, nil, "list", ingest.KindWithdrawn, "10014", 0},
		{"source missing", "error_10006_source_missing.json", 400, nil, "fetch", ingest.KindUnauthorized, "10006", 0},
		{"system error", "error_10001_system.json", 500, nil, "fetch", ingest.KindUnavailable, "10001", 0},
		{"user does not exist", "error_20003_user_not_exist.json", 400, nil, "list", ingest.KindAccountBlocked, "20003", 0},
		{"string error_code", "error_10017_string_code.json", 400, nil, "fetch", ingest.KindInvalid, "10017", 0},
		{"envelope with status 200", "error_10023_user_rate_limit.json", 200, nil, "list", ingest.KindRateLimited, "10023", 40 * time.Minute},
		{"nginx 502", "nginx_502.html", 502, nil, "fetch", ingest.KindUnavailable, "", 0},
		{"bare 429", "nginx_502.html", 429, []string{"Retry-After", "7"}, "fetch", ingest.KindRateLimited, "", 7 * time.Second},
		{"truncated body", "malformed_truncated.json", 200, nil, "fetch", ingest.KindMalformed, "", 0},
		{"display strings as counters", "malformed_display_counts.json", 200, nil, "fetch", ingest.KindMalformed, "", 0},
		{"html with 200", "malformed_html_200.html", 200, nil, "list", ingest.KindMalformed, "", 0},
		{"timeline where a count is expected", "user_timeline_page2.json", 200, nil, "fetch", ingest.KindMalformed, "", 0},
		{"count where a timeline is expected", "count.json", 200, nil, "list", ingest.KindMalformed, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			f.rp.file(tc.status, tc.file, tc.header...)
			var err error
			if tc.op == "list" {
				_, err = f.c.List(context.Background(), amb01, "")
			} else {
				_, err = f.c.Fetch(context.Background(), amb01, posts("5034312412120301"))
			}
			e := asError(t, err)
			if e.Kind != tc.kind || e.Code != tc.code || e.Op != tc.op {
				t.Errorf("got kind %s code %q op %s, want %s %q %s (%v)", e.Kind, e.Code, e.Op, tc.kind, tc.code, tc.op, err)
			}
			if e.RetryAfter != tc.retryAfter {
				t.Errorf("RetryAfter %v, want %v", e.RetryAfter, tc.retryAfter)
			}
			if e.Code != "" && !strings.Contains(e.Message, "(request /") {
				t.Errorf("message %q lacks the envelope's request path", e.Message)
			}
			switch {
			case e.Code == "10014":
				if !strings.Contains(err.Error(), "app itself") || strings.Contains(err.Error(), "tongxin auth") {
					t.Errorf("an app permission error should blame the app, not the ambassador: %v", err)
				}
			case e.Code == "21327" || e.Code == "21332" || e.Code == "21335":
				if !strings.Contains(err.Error(), "tongxin auth weibo amb01") {
					t.Errorf("a refused token should say what to do: %v", err)
				}
				if st := f.c.TokenStatus(amb01); st.State != TokenRefused {
					t.Errorf("token status %s after a refusal", st.State)
				}
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(f.logs.String(), testToken) {
				t.Errorf("the token leaked")
			}
		})
	}
}

func TestRefusedTokenIsNotUsedAgain(t *testing.T) {
	f := newFixture(t, Config{})
	f.rp.file(401, "error_21327_expired_token.json")
	_, err := f.c.List(context.Background(), amb01, "")
	if e := asError(t, err); e.Kind != ingest.KindUnauthorized || e.Code != "21327" {
		t.Fatalf("got %v", err)
	}
	if st := f.c.TokenStatus(amb01); st.State != TokenRefused || !st.NeedsReauthorization() || !strings.Contains(st.Reason, "amb01") {
		t.Errorf("status %+v", st)
	}
	// The same token is refused again without a request.
	_, err = f.c.Fetch(context.Background(), amb01, posts("5034312412120301"))
	if e := asError(t, err); e.Kind != ingest.KindUnauthorized || e.Code != "21327" {
		t.Errorf("second call: %v", err)
	}
	if n := f.rp.n.Load(); n != 1 {
		t.Errorf("%d requests; a refused token must not be sent again", n)
	}
	if c := strings.Count(f.logs.String(), "must authorize the app again"); c != 1 {
		t.Errorf("logged the refusal %d times, want once:\n%s", c, f.logs)
	}
	// The ambassador authorizes again: the new token is used.
	f.store.Put(token.Token{Platform: snapshot.Weibo, AccountID: testUID, AccessToken: "2.00NEWxTOKENxAFTERxREAUTH",
		ExpiresAt: replayNow.Add(7 * 24 * time.Hour)})
	f.rp.file(200, "count.json")
	if _, err := f.c.Fetch(context.Background(), amb01, posts("5034312412120301")); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.rp.lastRequest(); r.Header.Get("Authorization") != "OAuth2 2.00NEWxTOKENxAFTERxREAUTH" {
		t.Errorf("the new token was not used")
	}
	if st := f.c.TokenStatus(amb01); st.State != TokenOK {
		t.Errorf("status after reauthorization %+v", st)
	}
	if strings.Contains(f.logs.String(), testToken) {
		t.Errorf("the token is in the logs")
	}
}

func TestExpiryByClockAndWarning(t *testing.T) {
	f := newFixture(t, Config{})
	f.rp.file(200, "count.json")
	put := func(tok string, left time.Duration) {
		f.store.Put(token.Token{Platform: snapshot.Weibo, AccountID: testUID, AccessToken: tok, ExpiresAt: f.clk.Now().Add(left)})
	}

	// Ten days left: no warning.
	if _, err := f.c.Fetch(context.Background(), amb01, posts("5034312412120301")); err != nil {
		t.Fatal(err)
	}
	if st := f.c.TokenStatus(amb01); st.State != TokenOK || st.Remaining != 10*24*time.Hour || st.NeedsReauthorization() {
		t.Errorf("status %+v", st)
	}
	if strings.Contains(f.logs.String(), "expires soon") {
		t.Errorf("warned ten days ahead")
	}

	// Two days left: one warning, naming the ambassador, however many calls.
	f.clk.Set(replayNow.Add(8 * 24 * time.Hour))
	for i := 0; i < 3; i++ {
		if _, err := f.c.Fetch(context.Background(), amb01, posts("5034312412120301")); err != nil {
			t.Fatal(err)
		}
	}
	logs := f.logs.String()
	if c := strings.Count(logs, "expires soon"); c != 1 {
		t.Errorf("%d warnings, want 1:\n%s", c, logs)
	}
	if !strings.Contains(logs, "ambassador=amb01") || !strings.Contains(logs, "tongxin auth weibo amb01") || strings.Contains(logs, testToken) {
		t.Errorf("warning should name the ambassador and the command, never the token:\n%s", logs)
	}
	if st := f.c.TokenStatus(amb01); st.State != TokenExpiring || !st.NeedsReauthorization() || st.Remaining != 48*time.Hour {
		t.Errorf("status %+v", st)
	}

	// A new token that also expires soon is warned about once more.
	put("2.00SECONDxTOKEN", 24*time.Hour)
	f.c.Fetch(context.Background(), amb01, posts("5034312412120301"))
	f.c.Fetch(context.Background(), amb01, posts("5034312412120301"))
	if c := strings.Count(f.logs.String(), "expires soon"); c != 2 {
		t.Errorf("%d warnings after a new short token, want 2", c)
	}

	// Past expiry: refused without a request.
	n := f.rp.n.Load()
	f.clk.Set(f.clk.Now().Add(25 * time.Hour))
	_, err := f.c.List(context.Background(), amb01, "")
	if e := asError(t, err); e.Kind != ingest.KindUnauthorized || !strings.Contains(err.Error(), "expired") || !strings.Contains(err.Error(), "tongxin auth weibo amb01") {
		t.Errorf("expired token: %v", err)
	}
	if f.rp.n.Load() != n {
		t.Errorf("an expired token was sent")
	}
	if st := f.c.TokenStatus(amb01); st.State != TokenExpired || st.Remaining != 0 {
		t.Errorf("status %+v", st)
	}

	// Warnings off.
	g := newFixture(t, Config{WarnBefore: -1})
	g.rp.file(200, "count.json")
	g.clk.Set(replayNow.Add(9 * 24 * time.Hour))
	g.c.Fetch(context.Background(), amb01, posts("5034312412120301"))
	if strings.Contains(g.logs.String(), "expires soon") || g.c.TokenStatus(amb01).State != TokenOK {
		t.Errorf("WarnBefore -1 still warns")
	}
}

func TestMissingToken(t *testing.T) {
	f := newFixture(t, Config{})
	other := roster.Account{Platform: snapshot.Weibo, AccountID: "5566366131", AmbassadorID: "amb02"}
	_, err := f.c.List(context.Background(), other, "")
	if e := asError(t, err); e.Kind != ingest.KindUnauthorized || !strings.Contains(err.Error(), "tongxin auth weibo amb02") {
		t.Errorf("got %v", err)
	}
	if st := f.c.TokenStatus(other); st.State != TokenMissing || !st.NeedsReauthorization() {
		t.Errorf("status %+v", st)
	}
	if f.rp.n.Load() != 0 {
		t.Errorf("a request was made without a token")
	}
}

func TestAuthURLAndExchange(t *testing.T) {
	f := newFixture(t, Config{})
	u := f.c.AuthURL("", "st4te")
	for _, want := range []string{f.rp.srv.URL + "/oauth2/authorize?", "client_id=" + testAppKey, "response_type=code", "state=st4te",
		"redirect_uri=https%3A%2F%2Ftongxin.example.org%2Fauth%2Fweibo%2Fcallback"} {
		if !strings.Contains(u, want) {
			t.Errorf("AuthURL %s lacks %s", u, want)
		}
	}
	if strings.Contains(u, testSecret) {
		t.Errorf("AuthURL holds the app secret")
	}

	f.rp.file(200, "oauth2_access_token.json")
	tok, err := f.c.Exchange(context.Background(), "8f2c1e0c5d3b4a6e")
	if err != nil {
		t.Fatal(err)
	}
	r, form := f.rp.lastRequest()
	if r.Method != http.MethodPost || r.URL.Path != "/oauth2/access_token" || r.URL.RawQuery != "" {
		t.Errorf("request %s %s?%s (the secret must be in the body, not the URL)", r.Method, r.URL.Path, r.URL.RawQuery)
	}
	for k, v := range map[string]string{"client_id": testAppKey, "client_secret": testSecret, "grant_type": "authorization_code",
		"code": "8f2c1e0c5d3b4a6e", "redirect_uri": "https://tongxin.example.org/auth/weibo/callback"} {
		if got := strings.Join(form[k], ""); got != v {
			t.Errorf("form %s = %q, want %q", k, got, v)
		}
	}
	if tok.Platform != snapshot.Weibo || tok.AccountID != testUID || tok.AccessToken != testToken || tok.RefreshToken != "" ||
		!tok.ExpiresAt.Equal(replayNow.Add(604799*time.Second)) || !tok.UpdatedAt.Equal(replayNow) {
		t.Errorf("token %v", tok)
	}

	f.rp.file(400, "error_21325_invalid_grant.json")
	_, err = f.c.Exchange(context.Background(), "8f2c1e0c5d3b4a6e9f7a1b2c3d4e5f60")
	if e := asError(t, err); e.Kind != ingest.KindUnauthorized || e.Code != "21325" || e.Op != "exchange_code" {
		t.Errorf("invalid grant: %v", err)
	}
	if strings.Contains(err.Error(), "8f2c1e0c5d3b4a6e9f7a1b2c3d4e5f60") || strings.Contains(err.Error(), testSecret) {
		t.Errorf("the code or secret is in the error: %v", err)
	}

	n := f.rp.n.Load()
	bare := New(Config{ClientConfig: ingest.ClientConfig{BaseURL: f.rp.srv.URL, HTTP: f.rp.srv.Client(), Clock: f.clk}})
	if _, err := bare.Exchange(context.Background(), "x"); asError(t, err).Kind != ingest.KindInvalid {
		t.Errorf("no app key: %v", err)
	}
	if f.rp.n.Load() != n {
		t.Errorf("an exchange without app credentials made a request")
	}
}

func TestTokenInfo(t *testing.T) {
	f := newFixture(t, Config{})
	f.rp.file(200, "oauth2_get_token_info.json")
	info, err := f.c.TokenInfo(context.Background(), amb01)
	if err != nil {
		t.Fatal(err)
	}
	r, form := f.rp.lastRequest()
	if r.Method != http.MethodPost || r.URL.Path != "/oauth2/get_token_info" || strings.Join(form["access_token"], "") != testToken {
		t.Errorf("request %s %s", r.Method, r.URL.Path)
	}
	if info.UID != testUID || info.AppKey != testAppKey || info.Scope != "" || !info.ExpiresAt.Equal(replayNow.Add(24*time.Hour)) ||
		!info.CreatedAt.Equal(time.Unix(1716134400, 0)) {
		t.Errorf("info %+v", info)
	}
	// The platform's expiry (1 day) replaces the stored guess (10 days).
	if tok, _ := f.store.Get(snapshot.Weibo, testUID); !tok.ExpiresAt.Equal(replayNow.Add(24 * time.Hour)) {
		t.Errorf("stored expiry %v not updated", tok.ExpiresAt)
	}
	if st := f.c.TokenStatus(amb01); st.State != TokenExpiring {
		t.Errorf("status %+v after learning the token has a day left", st)
	}

	other := roster.Account{Platform: snapshot.Weibo, AccountID: "5566366131", AmbassadorID: "amb02"}
	f.store.Put(token.Token{Platform: snapshot.Weibo, AccountID: other.AccountID, AccessToken: "2.00AMB02xTOKEN", ExpiresAt: replayNow.Add(time.Hour * 100)})
	if _, err := f.c.TokenInfo(context.Background(), other); asError(t, err).Kind != ingest.KindUnauthorized {
		t.Errorf("a token of another uid: %v", err)
	}
}

func TestSecretsStayOut(t *testing.T) {
	f := newFixture(t, Config{})
	// A server that echoes what it got.
	f.rp.mu.Lock()
	f.rp.answer = func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		w.Write([]byte(`{"error":"bad token ` + strings.TrimPrefix(r.Header.Get("Authorization"), "OAuth2 ") + " secret " + r.Form.Get("client_secret") +
			` code ` + r.Form.Get("code") + `","error_code":21332,"request":"/x"}`))
	}
	f.rp.mu.Unlock()
	var errs []error
	_, err := f.c.List(context.Background(), amb01, "")
	errs = append(errs, err)
	_, err = f.c.Exchange(context.Background(), "c0de5ecret")
	errs = append(errs, err)
	f.rp.srv.Close() // transport failure
	f.store.Put(token.Token{Platform: snapshot.Weibo, AccountID: testUID, AccessToken: "2.00THIRDxTOKEN", ExpiresAt: replayNow.Add(time.Hour)})
	_, err = f.c.Fetch(context.Background(), amb01, posts("5034312412120301"))
	if asError(t, err).Kind != ingest.KindUnavailable {
		t.Errorf("transport failure: %v", err)
	}
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("want an error")
		}
		for _, secret := range []string{testToken, testSecret, "c0de5ecret", "2.00THIRDxTOKEN"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q holds a secret", err)
			}
		}
	}
	for _, secret := range []string{testToken, testSecret, "c0de5ecret", "2.00THIRDxTOKEN"} {
		if strings.Contains(f.logs.String(), secret) {
			t.Errorf("logs hold a secret:\n%s", f.logs)
		}
	}
}

// Ids above 2^53 come through digit for digit (a float64 would round
// 9907199254740993 to …992); a private status is a private snapshot without
// counters, from the listing and from statuses/count alike (which still
// answers its author); a repost is the ambassador's own status with its own
// counters, and the original it carries is not one of their posts.
func TestPrivateRepostAndBigIDs(t *testing.T) {
	f := newFixture(t, Config{PageSize: 3})
	f.rp.file(200, "user_timeline_private_repost.json")
	l, err := f.c.List(context.Background(), amb01, "")
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"9907199254740993", "9907199254740995", "9907199254740999"}
	if len(l.Posts) != 3 || len(l.Snapshots) != 3 {
		t.Fatalf("%d posts, %d snapshots: %+v", len(l.Posts), len(l.Snapshots), l.Posts)
	}
	for i, id := range ids {
		if l.Posts[i].PostID != id || l.Snapshots[i].PostID != id {
			t.Errorf("post %d: %s (snapshot %s), want %s exactly", i, l.Posts[i].PostID, l.Snapshots[i].PostID, id)
		}
	}
	if s := l.Snapshots[0]; s.State != snapshot.StatePrivate || s.HasCounters() || s.Validate() != nil {
		t.Errorf("private status: %+v, want state private and no counters", s)
	}
	// The repost's own counters (31/5/2), not its original's (98765/2210/15320).
	wantMetrics(t, l.Snapshots[1], 31, 5, 2)
	wantMetrics(t, l.Snapshots[2], 3, 2, 1)
	if l.Snapshots[1].State != "" || l.Snapshots[2].State != "" {
		t.Errorf("public statuses with a state: %q %q", l.Snapshots[1].State, l.Snapshots[2].State)
	}

	f.rp.file(200, "count_private.json")
	got, err := f.c.Fetch(context.Background(), amb01, posts(ids...))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Snapshots) != 3 {
		t.Fatalf("%d snapshots, want 3", len(got.Snapshots))
	}
	for i, want := range []string{snapshot.StatePrivate, "", snapshot.StateDeleted} {
		s := got.Snapshots[i]
		if s.PostID != ids[i] || s.State != want || (want != "") == s.HasCounters() {
			t.Errorf("fetched %d: %s state %q counters %v; want %s state %q", i, s.PostID, s.State, s.HasCounters(), ids[i], want)
		}
	}
	wantMetrics(t, got.Snapshots[1], 33, 6, 2)
}

// A status's text reaches the facts without its markup: topic links and
// mentions as their text, line breaks as line breaks, entities decoded.
func TestPlainTextStripsMarkup(t *testing.T) {
	in := `<a href="https://s.weibo.com/weibo?q=%23寻美西山%23">#寻美西山#</a> 西山&amp;香山<br />第二行 <a href="/n/西山文旅">@西山文旅</a>`
	want := "#寻美西山# 西山&香山\n第二行 @西山文旅"
	if got := plainText(in); got != want {
		t.Errorf("plainText = %q, want %q", got, want)
	}
	if got := snapshot.Topics(snapshot.Weibo, plainText(in)); !slices.Equal(got, []string{"寻美西山"}) {
		t.Errorf("topics %q, want [寻美西山]", got)
	}
}
