// Package adaptertest holds what the platform adapters' client tests share:
// an API that redirects every call to a second server recording what
// reaches it, and the checks every adapter must pass (redirects refused,
// the page size it reports is the one it asks for).
package adaptertest

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/tongxin/tongxin/ingest"
)

// Trap is a redirecting API and the host it redirects to.
type Trap struct {
	// API answers every request with a 307 to the same path on TrapHost.
	API string
	// TrapHost is the host:port the redirects name.
	TrapHost string

	mu      sync.Mutex
	reached []string
}

// NewTrap starts both servers on 127.0.0.1; they stop when t ends.
func NewTrap(t testing.TB) *Trap {
	t.Helper()
	tr := &Trap{}
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var hs []string
		for k, v := range r.Header {
			hs = append(hs, k+"="+strings.Join(v, ","))
		}
		sort.Strings(hs)
		tr.mu.Lock()
		tr.reached = append(tr.reached, r.Method+" "+r.URL.String()+" "+strings.Join(hs, " ")+" "+string(b))
		tr.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(trap.Close)
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, trap.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redir.Close)
	u, _ := url.Parse(trap.URL)
	tr.API, tr.TrapHost = redir.URL, u.Host
	return tr
}

// Reached lists every request that reached the trap: method, URL, headers, body.
func (tr *Trap) Reached() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.reached...)
}

// AssertRefused asserts that no request reached the trap and that each
// error, by the op that returned it, is what an adapter returns for a
// redirect it did not follow: an *ingest.Error of that op, kind invalid,
// wrapping ingest.ErrRedirect, naming the status 307 and the trap's host,
// and showing none of secrets (the token, key or code the request carried).
func (tr *Trap) AssertRefused(t testing.TB, errs map[string]error, secrets ...string) {
	t.Helper()
	for _, r := range tr.Reached() {
		t.Errorf("a request followed the redirect to the other host: %s", r)
	}
	for op, err := range errs {
		var e *ingest.Error
		if !errors.As(err, &e) || e.Op != op || e.Kind != ingest.KindInvalid || !errors.Is(err, ingest.ErrRedirect) {
			t.Errorf("%s: got %v, want an *ingest.Error of op %s, kind invalid, ErrRedirect", op, err, op)
			continue
		}
		if !strings.Contains(err.Error(), "307") || !strings.Contains(err.Error(), tr.TrapHost) {
			t.Errorf("%s: error %q does not name the status 307 and the host %s", op, err, tr.TrapHost)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q shows a secret (%.8s…)", op, err, s)
			}
		}
	}
}
