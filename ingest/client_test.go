package ingest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A request that times out is unavailable (retried), keeps its cause for
// errors.Is, and does not name the URL (its query may hold what an error
// should not).
func TestTransportErrorOfATimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/feed?key=hush-hush-1234", nil)
	_, err := NoRedirects("weibo", srv.Client()).Do(req)
	e := TransportError(ctx, "weibo", "list", err)
	if e.Kind != KindUnavailable || e.Platform != "weibo" || e.Op != "list" || !errors.Is(e, context.DeadlineExceeded) {
		t.Errorf("got %v (kind %s), want weibo list unavailable wrapping the deadline", e, e.Kind)
	}
	if strings.Contains(e.Error(), "hush-hush") || strings.Contains(e.Error(), srv.URL) {
		t.Errorf("error names the URL: %v", e)
	}
}

// Retry-After: seconds, or a date counted from the given (campaign) time.
func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 6, 25, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"", 0, false}, {"soon", 0, false}, {"120", 2 * time.Minute, true}, {" 0 ", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Retry-After", tc.header)
		}
		if d, ok := RetryAfter(h, now); d != tc.want || ok != tc.ok {
			t.Errorf("Retry-After %q: %v %v, want %v %v", tc.header, d, ok, tc.want, tc.ok)
		}
	}
}
