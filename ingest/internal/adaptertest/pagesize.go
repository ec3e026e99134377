package adaptertest

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/internal/responsefuzz"
	"github.com/tongxin/tongxin/ingest/roster"
)

// AssertPageSizeAsked asserts that the page size a Source reports — the
// one the scheduler plans listings with — is want, and is what its listing
// asks the platform for in the query parameter param. newSource builds the
// Source on the given HTTP client, which answers every request with a 503;
// acct is the account listed.
func AssertPageSizeAsked(t testing.TB, param string, want int, acct roster.Account, newSource func(*http.Client) ingest.Source) {
	t.Helper()
	var asked string
	src := newSource(responsefuzz.Canned{Status: http.StatusServiceUnavailable,
		Asked: func(r *http.Request) { asked = r.URL.Query().Get(param) }}.Client())
	_, _ = src.List(context.Background(), acct, "") // the 503 is the point: only the request counts
	if src.PageSize() != want || asked != strconv.Itoa(want) {
		t.Errorf("PageSize() = %d and the listing asked %s=%q; want %d and the same", src.PageSize(), param, asked, want)
	}
}
