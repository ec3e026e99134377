// Package redirecttest gives the platform adapters' tests an API that
// redirects every call to a second server recording what reaches it.
package redirecttest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
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

// New starts both servers on 127.0.0.1; they stop when t ends.
func New(t testing.TB) *Trap {
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
