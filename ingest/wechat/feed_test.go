package wechat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/wechat"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

const testKey = "vk_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0"

var amb01 = roster.Account{Platform: snapshot.WeChatChannels, AccountID: "sphNME8PNY4FS9", AmbassadorID: "amb01"}

// replay answers with recorded files: route → (status, headers, file).
type recorded struct {
	status  int
	header  map[string]string
	file    string
	hang    bool
	checkFn func(r *http.Request) string // returns a complaint about the request
}

func replayServer(t *testing.T, routes map[string]recorded) (*httptest.Server, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var complaints []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		if c := r.URL.Query().Get("cursor"); c != "" {
			key += "?cursor=" + c
		}
		rec, ok := routes[key]
		if !ok {
			http.Error(w, "no recording for "+key, http.StatusTeapot)
			return
		}
		mu.Lock()
		if r.Header.Get("X-Api-Key") != testKey {
			complaints = append(complaints, key+": wrong or no X-Api-Key")
		}
		if rec.checkFn != nil {
			if c := rec.checkFn(r); c != "" {
				complaints = append(complaints, key+": "+c)
			}
		}
		mu.Unlock()
		if rec.hang {
			<-r.Context().Done()
			return
		}
		b, err := os.ReadFile("testdata/feed/" + rec.file)
		if err != nil {
			t.Error(err)
		}
		for k, v := range rec.header {
			w.Header().Set(k, v)
		}
		if strings.HasSuffix(rec.file, ".json") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(rec.status)
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv, &complaints
}

func logTo(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestFeedRecorded(t *testing.T) {
	const page2 = "djF8MTc3ODAyOTIwMHxleHBvcnQvVXpGZkJnQUF5VjJDaFdQSC1SWGE3MzFUVjAyVktuNjBsMXZwVHlUOQ"
	askedFor := func(ids ...string) func(r *http.Request) string {
		return func(r *http.Request) string {
			var body struct {
				FinderID  string   `json:"finder_id"`
				ExportIDs []string `json:"export_ids"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				return "body: " + err.Error()
			}
			if body.FinderID != amb01.AccountID || strings.Join(body.ExportIDs, ",") != strings.Join(ids, ",") {
				return "asked for " + strings.Join(body.ExportIDs, ",") + " of " + body.FinderID
			}
			return ""
		}
	}
	id1 := "export/UzFfBgAAxNGhNBNHFw_vjMzT4DCaEaEJczQJgMiJs56loh2HDQ"
	id2 := "export/UzFfBgAAxOCgVFMYICCIjMzT4DCa9AF28D7jb3ffdoaXQiOFsw"
	srv, complaints := replayServer(t, map[string]recorded{
		"GET /wechat_channels/v1/accounts/sphNME8PNY4FS9/posts": {status: 200, file: "list_page1.json", header: map[string]string{"X-Request-Id": "vnd-3f9a0c1e-0001"},
			checkFn: func(r *http.Request) string {
				if r.URL.Query().Get("limit") != "20" {
					return "limit " + r.URL.Query().Get("limit")
				}
				return ""
			}},
		"GET /wechat_channels/v1/accounts/sphNME8PNY4FS9/posts?cursor=" + page2: {status: 200, file: "list_page2.json"},
		"POST /wechat_channels/v1/stats":                                        {status: 200, file: "stats.json", checkFn: askedFor(id1, id2)},
	})
	var logs bytes.Buffer
	clk := clock.NewManual(time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC))
	c := wechat.New(wechat.Config{ClientConfig: ingest.ClientConfig{BaseURL: srv.URL + "/", HTTP: srv.Client(), Clock: clk, Log: logTo(&logs)}, APIKey: testKey})
	ctx := context.Background()

	if c.Platform() != snapshot.WeChatChannels || c.MaxBatch() != 50 {
		t.Errorf("platform %q, batch %d", c.Platform(), c.MaxBatch())
	}
	l, err := c.List(ctx, amb01, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Posts) != 3 || len(l.Snapshots) != 3 || !l.HasMore || l.Cursor != page2 {
		t.Fatalf("page 1: %d posts, %d snapshots, more %v, cursor %q", len(l.Posts), len(l.Snapshots), l.HasMore, l.Cursor)
	}
	if p := l.Posts[1]; p.PostID != id2 || !p.PublishedAt.Equal(utc("2026-05-07T02:20:01Z")) || p.Title != "海埂大坝的红嘴鸥又回来了" || p.AmbassadorID != "amb01" || p.AccountID != amb01.AccountID {
		t.Errorf("post 2: %+v", p)
	}
	for i, w := range []want{
		{id: id1, published: "2026-05-09T23:40:01Z", plays: 2270, likes: 41, comments: 6, shares: 9, forwards: 18, recommends: 25, rate: 0.04405286343612335, avg: 14.734030837004406},
		{id: id2, published: "2026-05-07T02:20:01Z", plays: 625, likes: 7, comments: 1, shares: 0, forwards: 2, recommends: 8, rate: 0.21994134897360704, avg: 8.45},
		{id: "export/UzFfBgAAyV2ChWPH-RXa731TV02VKn60l1vpTyT9", published: "2026-05-06T01:00:00Z", plays: 0, likes: 0, comments: 0, shares: 0, forwards: 0, recommends: 0, rate: nil, avg: nil},
	} {
		s := l.Snapshots[i]
		checkFeedSnap(t, "page 1", s, w)
		if !s.ObservedAt.Equal(clk.Now()) {
			t.Errorf("observed at %v, want the clock's %v", s.ObservedAt, clk.Now())
		}
	}
	l2, err := c.List(ctx, amb01, page2)
	if err != nil {
		t.Fatal(err)
	}
	if len(l2.Posts) != 1 || l2.HasMore || l2.Cursor != "" {
		t.Errorf("page 2: %+v", l2)
	}
	f, err := c.Fetch(ctx, amb01, l.Posts[:2])
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Snapshots) != 2 || len(f.Missing) != 0 || f.Snapshots[1].PostID != id2 || f.Snapshots[1].State != snapshot.StateDeleted || f.Snapshots[1].HasCounters() {
		t.Fatalf("fetch: %+v; want %s live and %s deleted without counters", f, id1, id2)
	}
	checkFeedSnap(t, "fetch", f.Snapshots[0], want{id: id1, published: "2026-05-09T23:40:01Z", plays: 2301, likes: 40, comments: 6, shares: 9, forwards: 18, recommends: 25, rate: 0.0439, avg: 14.7})
	for _, c := range *complaints {
		t.Error(c)
	}
	if strings.Contains(logs.String(), testKey) {
		t.Error("the API key is in the log")
	}
	if !strings.Contains(logs.String(), "vnd-3f9a0c1e-0001") {
		t.Errorf("the debug log does not name the request id:\n%s", logs.String())
	}
}

func checkFeedSnap(t *testing.T, where string, s snapshot.Snapshot, w want) {
	t.Helper()
	if s.Source != snapshot.SourceAPI {
		t.Errorf("%s: source %q, want api", where, s.Source)
	}
	s.Source = snapshot.SourceExport // checkSnap checks the rest
	checkSnap(t, where, s, w)
}

func TestFeedErrors(t *testing.T) {
	for _, c := range []struct {
		name       string
		rec        recorded
		kind       ingest.Kind
		code, rid  string
		retryAfter time.Duration
		msg        string
	}{
		{"429", recorded{status: 429, file: "error_rate_limited.json", header: map[string]string{"Retry-After": "7", "X-Request-Id": "vnd-3f9a0c1e-0005"}}, ingest.KindRateLimited, "rate_limited", "vnd-3f9a0c1e-0005", 7 * time.Second, "slow down"},
		{"quota", recorded{status: 429, file: "error_quota_exhausted.json", header: map[string]string{"Retry-After": "3600"}}, ingest.KindQuotaExhausted, "quota_exhausted", "vnd-3f9a0c1e-0006", time.Hour, "quota resets"},
		{"session expired", recorded{status: 401, file: "error_session_expired.json", header: map[string]string{"Retry-After": "5"}}, ingest.KindTokenExpired, "session_expired", "vnd-3f9a0c1e-0007", 5 * time.Second, "being renewed"},
		{"bad key", recorded{status: 401, file: "error_invalid_api_key.json"}, ingest.KindUnauthorized, "invalid_api_key", "vnd-3f9a0c1e-0008", 0, "not valid"},
		{"not authorized", recorded{status: 403, file: "error_account_not_authorized.json"}, ingest.KindUnauthorized, "account_not_authorized", "vnd-3f9a0c1e-0009", 0, "not granted"},
		{"no account", recorded{status: 404, file: "error_account_not_found.json"}, ingest.KindNotFound, "account_not_found", "vnd-3f9a0c1e-0010", 0, "sphNOSUCHACCT"},
		{"bad cursor", recorded{status: 400, file: "error_invalid_cursor.json"}, ingest.KindInvalid, "invalid_cursor", "vnd-3f9a0c1e-0011", 0, "cursor"},
		{"500", recorded{status: 500, file: "error_internal.json"}, ingest.KindUnavailable, "internal_error", "vnd-3f9a0c1e-0012", 0, "internal error"},
		{"502 html", recorded{status: 502, file: "error_502.html", header: map[string]string{"X-Request-Id": "gw-1"}}, ingest.KindUnavailable, "", "gw-1", 0, "HTTP 502"},
		{"cut off", recorded{status: 200, file: "malformed_truncated.json", header: map[string]string{"X-Request-Id": "vnd-cut"}}, ingest.KindMalformed, "", "vnd-cut", 0, "unexpected end of JSON"},
		{"wrong types", recorded{status: 200, file: "malformed_types.json"}, ingest.KindMalformed, "", "vnd-3f9a0c1e-0013", 0, "cannot unmarshal object"},
		{"display number", recorded{status: 200, file: "malformed_display_number.json"}, ingest.KindMalformed, "", "vnd-3f9a0c1e-0014", 0, `want an integer, got "1.2万"`},
		{"login page", recorded{status: 200, file: "malformed_login_page.html", header: map[string]string{"X-Request-Id": "vnd-login"}}, ingest.KindMalformed, "", "vnd-login", 0, "invalid character"},
		{"timeout", recorded{hang: true}, ingest.KindUnavailable, "", "", 0, "request failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, _ := replayServer(t, map[string]recorded{"GET /wechat_channels/v1/accounts/sphNME8PNY4FS9/posts": c.rec})
			var logs bytes.Buffer
			hc := srv.Client()
			hc.Timeout = 200 * time.Millisecond
			cl := wechat.New(wechat.Config{ClientConfig: ingest.ClientConfig{BaseURL: srv.URL, HTTP: hc, Log: logTo(&logs)}, APIKey: testKey})
			_, err := cl.List(context.Background(), amb01, "")
			var e *ingest.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *ingest.Error", err, err)
			}
			if e.Kind != c.kind || e.Code != c.code || e.RequestID != c.rid || e.RetryAfter != c.retryAfter || e.Platform != snapshot.WeChatChannels || e.Op != "list" {
				t.Errorf("got kind %s code %q request %q retry %v; want %s %q %q %v", e.Kind, e.Code, e.RequestID, e.RetryAfter, c.kind, c.code, c.rid, c.retryAfter)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not say %q", err, c.msg)
			}
			if strings.Contains(err.Error(), testKey) || strings.Contains(logs.String(), testKey) {
				t.Error("the API key leaked into the error or the log")
			}
		})
	}
	// A stats answer that leaves asked-for posts out is malformed, not "deleted".
	srv, _ := replayServer(t, map[string]recorded{"POST /wechat_channels/v1/stats": {status: 200, file: "stats_unanswered.json"}})
	cl := wechat.New(wechat.Config{ClientConfig: ingest.ClientConfig{BaseURL: srv.URL, HTTP: srv.Client()}, APIKey: testKey})
	_, err := cl.Fetch(context.Background(), amb01, []ingest.Post{{PostID: "export/a", PublishedAt: simStart}})
	if ingest.KindOf(err) != ingest.KindMalformed || !strings.Contains(err.Error(), "says nothing about 1 of the 1 posts") {
		t.Errorf("unanswered posts: %v", err)
	}
	// Too big a batch, no URL, no key: refused without a request.
	if _, err := cl.Fetch(context.Background(), amb01, make([]ingest.Post, 51)); ingest.KindOf(err) != ingest.KindInvalid {
		t.Errorf("51 posts: %v", err)
	}
	if _, err := wechat.New(wechat.Config{APIKey: testKey}).List(context.Background(), amb01, ""); ingest.KindOf(err) != ingest.KindInvalid {
		t.Errorf("no URL: %v", err)
	}
	if _, err := wechat.New(wechat.Config{ClientConfig: ingest.ClientConfig{BaseURL: srv.URL}}).List(context.Background(), amb01, ""); ingest.KindOf(err) != ingest.KindUnauthorized {
		t.Errorf("no key: %v", err)
	}
}

// listAll walks an account's pages, retrying what may be retried.
func listAll(t *testing.T, c *wechat.Client, acct roster.Account, seen map[ingest.Kind]int) ([]ingest.Post, []snapshot.Snapshot) {
	t.Helper()
	var posts []ingest.Post
	var snaps []snapshot.Snapshot
	cursor := ""
	for tries := 0; ; tries++ {
		if tries > 200 {
			t.Fatalf("%s: listing never finished", acct.AmbassadorID)
		}
		l, err := c.List(context.Background(), acct, cursor)
		if err != nil {
			seen[ingest.KindOf(err)]++
			checkRetryable(t, err)
			continue
		}
		posts = append(posts, l.Posts...)
		snaps = append(snaps, l.Snapshots...)
		if !l.HasMore {
			return posts, snaps
		}
		cursor = l.Cursor
	}
}

func checkRetryable(t *testing.T, err error) {
	t.Helper()
	var e *ingest.Error
	if !errors.As(err, &e) {
		t.Fatalf("untyped error %v", err)
	}
	switch e.Kind {
	case ingest.KindRateLimited, ingest.KindTokenExpired:
		if e.RetryAfter <= 0 || e.RequestID == "" || e.Code == "" {
			t.Errorf("%s without Retry-After, request id or code: %v", e.Kind, err)
		}
	case ingest.KindUnavailable:
	case ingest.KindMalformed:
		if e.RequestID == "" {
			t.Errorf("malformed answer without a request id: %v", err)
		}
	default:
		t.Fatalf("unexpected %s: %v", e.Kind, err)
	}
	if strings.Contains(err.Error(), simulator.WeChatFeedKey) {
		t.Errorf("the key is in the error: %v", err)
	}
}

func TestFeedAgainstSimulator(t *testing.T) {
	for _, faults := range []string{"", "429=0.2,5xx=0.1,malformed=0.1,expire=0.1,timeout=0.03"} {
		t.Run("faults="+faults, func(t *testing.T) {
			f, err := simulator.ParseFaults(faults)
			if err != nil {
				t.Fatal(err)
			}
			r, sc, sim, clk := newSim(t, f)
			clk.Set(simStart.Add(50 * time.Hour))
			hs := httptest.NewServer(sim.Handler())
			defer hs.Close()
			hc := hs.Client()
			hc.Timeout = 300 * time.Millisecond
			var logs bytes.Buffer
			c := wechat.New(wechat.Config{ClientConfig: ingest.ClientConfig{BaseURL: hs.URL, HTTP: hc, Clock: clk, Log: logTo(&logs)}, APIKey: simulator.WeChatFeedKey, PageSize: 7})
			seen := map[ingest.Kind]int{}
			total := 0
			for _, acct := range r.Accounts(snapshot.WeChatChannels) {
				want := sc.PostsOf(snapshot.WeChatChannels, acct.AccountID, clk.Now())
				posts, snaps := listAll(t, c, acct, seen)
				if len(posts) != len(want) || len(snaps) != len(want) {
					t.Fatalf("%s: listed %d posts (%d snapshots), the scenario has %d", acct.AmbassadorID, len(posts), len(snaps), len(want))
				}
				for i, p := range want {
					if posts[i].PostID != p.PostID || !posts[i].PublishedAt.Equal(p.PublishedAt) || posts[i].Title != p.Title || posts[i].AmbassadorID != acct.AmbassadorID {
						t.Errorf("%s: post %d is %+v, want %s", acct.AmbassadorID, i, posts[i], p.PostID)
					}
					if d := sameMetrics(snaps[i].Metrics, expected(sim.Observe(p, clk.Now())), 1e-12); d != "" {
						t.Errorf("%s %s listed: %s", acct.AmbassadorID, p.PostID, d)
					}
				}
				// Fetch them all in batches, plus one post that is not there.
				asked := append(posts, ingest.Post{Platform: snapshot.WeChatChannels, PostID: "export/UzFfAgtgekIEAQAAAAAAgone", PublishedAt: simStart})
				got := map[string]snapshot.Snapshot{}
				var missing []string
				for start := 0; start < len(asked); start += c.MaxBatch() {
					batch := asked[start:min(start+c.MaxBatch(), len(asked))]
					for tries := 0; ; tries++ {
						if tries > 200 {
							t.Fatal("fetch never succeeded")
						}
						fe, err := c.Fetch(context.Background(), acct, batch)
						if err != nil {
							seen[ingest.KindOf(err)]++
							checkRetryable(t, err)
							continue
						}
						for _, s := range fe.Snapshots {
							if s.State == snapshot.StateDeleted {
								missing = append(missing, s.PostID)
								continue
							}
							got[s.PostID] = s
						}
						missing = append(missing, fe.Missing...)
						break
					}
				}
				if len(missing) != 1 || missing[0] != "export/UzFfAgtgekIEAQAAAAAAgone" {
					t.Errorf("%s: missing %v", acct.AmbassadorID, missing)
				}
				for _, p := range want {
					s, ok := got[p.PostID]
					if !ok {
						t.Errorf("%s: %s not fetched", acct.AmbassadorID, p.PostID)
						continue
					}
					total++
					if s.Source != snapshot.SourceAPI || !s.ObservedAt.Equal(clk.Now()) || !s.PublishedAt.Equal(p.PublishedAt) || s.AmbassadorID != acct.AmbassadorID || s.AccountID != acct.AccountID {
						t.Errorf("%s: %+v", p.PostID, s)
					}
					if err := s.Validate(); err != nil {
						t.Error(err)
					}
					if d := sameMetrics(s.Metrics, expected(sim.Observe(p, clk.Now())), 1e-12); d != "" {
						t.Errorf("%s %s fetched: %s", acct.AmbassadorID, p.PostID, d)
					}
				}
			}
			if total < 100 {
				t.Errorf("only %d posts fetched", total)
			}
			if faults == "" && len(seen) > 0 {
				t.Errorf("errors without faults: %v", seen)
			}
			if faults != "" {
				for _, k := range []ingest.Kind{ingest.KindRateLimited, ingest.KindUnavailable, ingest.KindMalformed, ingest.KindTokenExpired} {
					if seen[k] == 0 {
						t.Errorf("no %s error seen under faults (%v)", k, seen)
					}
				}
			}
			if strings.Contains(logs.String(), simulator.WeChatFeedKey) {
				t.Error("the API key is in the log")
			}
		})
	}
}

func TestFeedSimulatorAuthAndRequests(t *testing.T) {
	_, _, sim, clk := newSim(t, simulator.Faults{})
	clk.Set(simStart.Add(24 * time.Hour))
	hs := httptest.NewServer(sim.Handler())
	defer hs.Close()
	var logs bytes.Buffer
	bad := wechat.New(wechat.Config{ClientConfig: ingest.ClientConfig{BaseURL: hs.URL, HTTP: hs.Client(), Clock: clk, Log: logTo(&logs)}, APIKey: "wrong-secret-key-123"})
	_, err := bad.List(context.Background(), amb01, "")
	var e *ingest.Error
	if !errors.As(err, &e) || e.Kind != ingest.KindUnauthorized || e.Code != "invalid_api_key" || e.RequestID == "" {
		t.Errorf("wrong key: %v", err)
	}
	if strings.Contains(err.Error(), "wrong-secret-key-123") || strings.Contains(logs.String(), "wrong-secret-key-123") {
		t.Error("the key leaked")
	}
	good := wechat.New(wechat.Config{ClientConfig: ingest.ClientConfig{BaseURL: hs.URL, HTTP: hs.Client(), Clock: clk}, APIKey: simulator.WeChatFeedKey})
	if _, err := good.List(context.Background(), roster.Account{Platform: snapshot.WeChatChannels, AccountID: "sphNOSUCHACCT", AmbassadorID: "x"}, ""); ingest.KindOf(err) != ingest.KindNotFound {
		t.Errorf("unknown account: %v", err)
	}
	if _, err := good.List(context.Background(), amb01, "not-a-cursor"); ingest.KindOf(err) != ingest.KindInvalid {
		t.Errorf("bad cursor: %v", err)
	}
	// No key at all, straight to the simulator.
	resp, err := http.Get(hs.URL + "/wechat_channels/v1/accounts/sphNME8PNY4FS9/posts")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !bytes.Contains(b, []byte(`"missing_api_key"`)) || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("no key: %d %s", resp.StatusCode, b)
	}
	// A post deleted since: listed before, missing after.
	r, sc := builtinRoster(t), sim.Scenario
	_ = r
	for _, p := range sc.Posts {
		if p.Platform != snapshot.WeChatChannels || p.DeletedAt.IsZero() {
			continue
		}
		acct := roster.Account{Platform: p.Platform, AccountID: p.AccountID, AmbassadorID: p.AmbassadorID}
		clk.Set(p.DeletedAt.Add(-time.Minute))
		fe, err := good.Fetch(context.Background(), acct, []ingest.Post{{PostID: p.PostID, PublishedAt: p.PublishedAt}})
		if err != nil || len(fe.Snapshots) != 1 {
			t.Fatalf("before deletion: %+v, %v", fe, err)
		}
		clk.Set(p.DeletedAt.Add(time.Minute))
		fe, err = good.Fetch(context.Background(), acct, []ingest.Post{{PostID: p.PostID, PublishedAt: p.PublishedAt}})
		if err != nil || len(fe.Missing) != 0 || len(fe.Snapshots) != 1 {
			t.Fatalf("after deletion: %+v, %v", fe, err)
		}
		// Deleted: a snapshot with that state and no counters, never zeros.
		if s := fe.Snapshots[0]; s.State != snapshot.StateDeleted || s.HasCounters() || s.PostID != p.PostID || !s.PublishedAt.Equal(p.PublishedAt) || s.AmbassadorID != p.AmbassadorID || s.Validate() != nil {
			t.Fatalf("after deletion: %+v", s)
		}
		return
	}
	t.Log("no deleted WeChat Channels post in this scenario")
}
