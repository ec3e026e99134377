package douyin

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/internal/enginetest"
)

// canned is one recorded answer the replay server gives.
type canned struct {
	file   string // in testdata/
	status int    // default 200
	header map[string]string
	delay  time.Duration
}

type recorded struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         string
}

// replay serves recorded answers, in order, per "METHOD /path".
type replay struct {
	t     *testing.T
	mu    sync.Mutex
	queue map[string][]canned
	reqs  []recorded
	srv   *httptest.Server
	hook  func() // runs before each answer
}

func newReplay(t *testing.T) *replay {
	rp := &replay{t: t, queue: map[string][]canned{}}
	rp.srv = httptest.NewServer(http.HandlerFunc(rp.serve)) // 127.0.0.1
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *replay) on(key string, answers ...canned) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.queue[key] = append(rp.queue[key], answers...)
}

func (rp *replay) requests() []recorded {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]recorded(nil), rp.reqs...)
}

func (rp *replay) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if rp.hook != nil {
		rp.hook()
	}
	key := r.Method + " " + r.URL.Path
	rp.mu.Lock()
	rp.reqs = append(rp.reqs, recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: string(body)})
	q := rp.queue[key]
	var a canned
	ok := len(q) > 0
	if ok {
		a, rp.queue[key] = q[0], q[1:]
	}
	rp.mu.Unlock()
	if !ok {
		rp.t.Errorf("replay: unexpected request %s", key)
		http.Error(w, "no recorded answer", http.StatusNotFound)
		return
	}
	if a.delay > 0 {
		select {
		case <-time.After(a.delay):
		case <-r.Context().Done():
			return
		}
	}
	b, err := os.ReadFile(filepath.Join("testdata", a.file))
	if err != nil {
		rp.t.Fatalf("replay: %v", err)
	}
	ct := "application/json; charset=utf-8"
	if strings.HasSuffix(a.file, ".html") {
		ct = "text/html"
	}
	w.Header().Set("Content-Type", ct)
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	if a.status == 0 {
		a.status = http.StatusOK
	}
	w.WriteHeader(a.status)
	w.Write(b)
}

const (
	testOpenID     = "_000b92FFEF590F63E7aEc82CACD026c"
	testSecret     = "client-secret-7d41c0ffee0ddba11"
	seededAccess   = "act.seeded0access0token0aaaa1111"
	seededRefresh  = "rft.seeded0refresh0token0bbbb2222"
	replayedAccess = "act.2b6c1e0e5f6a4b7c8d9e0f1a2b3c4d5eRefreshedTokenValue0002"
)

var testAcct = roster.Account{Platform: Platform, AccountID: testOpenID, AmbassadorID: "amb01"}

var testStart = time.Date(2025, 5, 6, 12, 0, 0, 0, time.UTC)

type fixture struct {
	rp     *replay
	clk    *clock.Manual
	store  *token.MemoryStore
	logs   *enginetest.Buffer
	client *Client
}

// newFixture is a client against a replay server with a seeded token
// (access 10 days, refresh 25 days left).
func newFixture(t *testing.T) *fixture {
	f := &fixture{rp: newReplay(t), clk: clock.NewManual(testStart), store: token.NewMemoryStore(), logs: &enginetest.Buffer{}}
	f.store.Put(token.Token{
		Platform: Platform, AccountID: testOpenID, AccessToken: seededAccess, RefreshToken: seededRefresh,
		ExpiresAt: testStart.Add(10 * 24 * time.Hour), RefreshExpiresAt: testStart.Add(25 * 24 * time.Hour),
		Scope: "user_info,video.list.bind,video.data.bind", UpdatedAt: testStart,
	})
	f.client = New(Config{
		ClientConfig: ingest.ClientConfig{BaseURL: f.rp.srv.URL, HTTP: &http.Client{Timeout: 2 * time.Second}, Clock: f.clk,
			Log: f.logs.Logger()},
		Tokens: f.store, ClientKey: "awtestclientkey01", ClientSecret: testSecret,
	})
	return f
}

// assertNoSecrets fails if text shows a token or the app secret.
func assertNoSecrets(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range append(secrets, testSecret, seededAccess, seededRefresh, replayedAccess) {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s leaks a secret (%.8s…): %s", what, s, text)
		}
	}
}

func asIngestError(t *testing.T, err error) *ingest.Error {
	t.Helper()
	var ie *ingest.Error
	if !errors.As(err, &ie) {
		t.Fatalf("error %v (%T) is not an *ingest.Error", err, err)
	}
	return ie
}
