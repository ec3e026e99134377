package douyin

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/internal/adaptertest"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/clock"
)

// A 307 from the API must not carry the access-token header, nor re-post the
// OAuth form with the client secret and the code, to another host.
func TestRedirectsAreNotFollowed(t *testing.T) {
	trap := adaptertest.NewTrap(t)
	f := newFixture(t)
	f.client = New(Config{ClientConfig: ingest.ClientConfig{BaseURL: trap.API, HTTP: &http.Client{Timeout: 2 * time.Second}, Clock: clock.NewManual(testStart)},
		Tokens: f.store, ClientKey: "awtestclientkey01", ClientSecret: testSecret})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	_, listErr := f.client.List(ctx, testAcct, "")
	const code = "authcode0123456789abcdef"
	_, exErr := f.client.Exchange(ctx, code)

	trap.AssertRefused(t, map[string]error{"list": listErr, "access_token": exErr},
		code, testSecret, seededAccess, seededRefresh, replayedAccess)
}

// The scheduler plans listings with the page size the Source reports; it
// must be the count video_list is asked for (the docs' 10).
func TestPageSizeIsTheCountAsked(t *testing.T) {
	store := token.NewMemoryStore()
	store.Put(token.Token{Platform: Platform, AccountID: testOpenID, AccessToken: seededAccess, RefreshToken: seededRefresh,
		ExpiresAt: testStart.Add(10 * 24 * time.Hour), RefreshExpiresAt: testStart.Add(25 * 24 * time.Hour), UpdatedAt: testStart})
	adaptertest.AssertPageSizeAsked(t, "count", 10, testAcct, func(h *http.Client) ingest.Source {
		return New(Config{ClientConfig: ingest.ClientConfig{BaseURL: "http://douyin.invalid", Clock: clock.NewManual(testStart), HTTP: h},
			Tokens: store})
	})
}
