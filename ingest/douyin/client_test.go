package douyin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/internal/redirecttest"
	"github.com/tongxin/tongxin/ingest/internal/responsefuzz"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/clock"
)

// A 307 from the API must not carry the access-token header, nor re-post the
// OAuth form with the client secret and the code, to another host.
func TestRedirectsAreNotFollowed(t *testing.T) {
	trap := redirecttest.New(t)
	f := newFixture(t)
	f.client = New(Config{ClientConfig: ingest.ClientConfig{BaseURL: trap.API, HTTP: &http.Client{Timeout: 2 * time.Second}, Clock: clock.NewManual(testStart)},
		Tokens: f.store, ClientKey: "awtestclientkey01", ClientSecret: testSecret})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	_, listErr := f.client.List(ctx, testAcct, "")
	const code = "authcode0123456789abcdef"
	_, exErr := f.client.Exchange(ctx, code)

	for _, r := range trap.Reached() {
		t.Errorf("a request followed the redirect to the other host: %s", r)
	}
	for op, err := range map[string]error{"list": listErr, "access_token": exErr} {
		e := asIngestError(t, err)
		if e.Op != op || e.Kind != ingest.KindInvalid || !errors.Is(err, ingest.ErrRedirect) {
			t.Errorf("%s: got %+v, want op %s, kind invalid, ErrRedirect", op, e, op)
		}
		if !strings.Contains(err.Error(), "307") || !strings.Contains(err.Error(), trap.TrapHost) {
			t.Errorf("%s: error %q does not name the status 307 and the host %s", op, err, trap.TrapHost)
		}
		assertNoSecrets(t, op+" error", err.Error(), code)
	}
}

// The scheduler plans listings with the page size the Source reports; it
// must be the count video_list is asked for (the docs' 10).
func TestPageSizeIsTheCountAsked(t *testing.T) {
	store := token.NewMemoryStore()
	store.Put(token.Token{Platform: Platform, AccountID: testOpenID, AccessToken: seededAccess, RefreshToken: seededRefresh,
		ExpiresAt: testStart.Add(10 * 24 * time.Hour), RefreshExpiresAt: testStart.Add(25 * 24 * time.Hour), UpdatedAt: testStart})
	var count string
	c := New(Config{ClientConfig: ingest.ClientConfig{BaseURL: "http://douyin.invalid", Clock: clock.NewManual(testStart),
		HTTP: responsefuzz.Canned{Status: http.StatusServiceUnavailable, Asked: func(r *http.Request) { count = r.URL.Query().Get("count") }}.Client()},
		Tokens: store})
	c.List(context.Background(), testAcct, "")
	if c.PageSize() != DefaultPageSize || count != "10" {
		t.Errorf("PageSize() = %d and video_list asked count=%q; want %d and the same", c.PageSize(), count, DefaultPageSize)
	}
}
