package weibo

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/internal/adaptertest"
	"github.com/tongxin/tongxin/ingest/internal/responsefuzz"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
)

// A 307 on the OAuth POST must not re-post the app secret and the code to
// another host; a listing must not take the token there either.
func TestRedirectsAreNotFollowed(t *testing.T) {
	trap := adaptertest.NewTrap(t)
	store := token.NewMemoryStore()
	store.Put(token.Token{Platform: snapshot.Weibo, AccountID: testUID, AccessToken: testToken,
		ExpiresAt: replayNow.Add(10 * 24 * time.Hour), UpdatedAt: replayNow})
	c := New(Config{ClientConfig: ingest.ClientConfig{BaseURL: trap.API, HTTP: &http.Client{Timeout: 2 * time.Second}, Clock: clock.NewManual(replayNow)},
		Tokens: store, AppKey: testAppKey, AppSecret: testSecret})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	const code = "weibocode0123456789abcdef"
	_, exErr := c.ExchangeRedirect(ctx, code, "http://127.0.0.1:8765/callback")
	_, listErr := c.List(ctx, amb01, "")

	trap.AssertRefused(t, map[string]error{"exchange_code": exErr, "list": listErr}, testSecret, testToken, code)
}

// The scheduler plans listings with the page size the Source reports; it
// must be the count user_timeline is asked for: 100, the most it gives.
func TestPageSizeIsTheCountAsked(t *testing.T) {
	store := token.NewMemoryStore()
	store.Put(token.Token{Platform: snapshot.Weibo, AccountID: testUID, AccessToken: testToken,
		ExpiresAt: replayNow.Add(10 * 24 * time.Hour), UpdatedAt: replayNow})
	adaptertest.AssertPageSizeAsked(t, "count", 100, amb01, func(h *http.Client) ingest.Source {
		return New(Config{ClientConfig: ingest.ClientConfig{BaseURL: "http://weibo.invalid", Clock: clock.NewManual(replayNow), HTTP: h},
			Tokens: store})
	})
}

// An error answer quoted in an error must not show any part of the token
// it echoes, also where the quote is cut in the middle of it.
func TestSnippetCutsNoTokenInHalf(t *testing.T) {
	store := token.NewMemoryStore()
	store.Put(token.Token{Platform: snapshot.Weibo, AccountID: testUID, AccessToken: testToken,
		ExpiresAt: replayNow.Add(10 * 24 * time.Hour), UpdatedAt: replayNow})
	body := strings.Repeat("x", 110) + " " + testToken + " was refused"
	c := New(Config{ClientConfig: ingest.ClientConfig{BaseURL: "http://weibo.invalid", Clock: clock.NewManual(replayNow),
		HTTP: responsefuzz.Canned{Status: http.StatusBadRequest, Body: []byte(body)}.Client()}, Tokens: store})
	_, err := c.List(context.Background(), amb01, "")
	if err == nil || strings.Contains(err.Error(), testToken[:8]) {
		t.Errorf("error %v shows the start of the token", err)
	}
}
