package weibo

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/internal/responsefuzz"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
)

// The scheduler plans listings with the page size the Source reports; it
// must be the count user_timeline is asked for: 100, the most it gives.
func TestPageSizeIsTheCountAsked(t *testing.T) {
	store := token.NewMemoryStore()
	store.Put(token.Token{Platform: snapshot.Weibo, AccountID: testUID, AccessToken: testToken,
		ExpiresAt: replayNow.Add(10 * 24 * time.Hour), UpdatedAt: replayNow})
	var count string
	c := New(Config{ClientConfig: ingest.ClientConfig{BaseURL: "http://weibo.invalid", Clock: clock.NewManual(replayNow),
		HTTP: responsefuzz.Canned{Status: http.StatusServiceUnavailable, Asked: func(r *http.Request) { count = r.URL.Query().Get("count") }}.Client()},
		Tokens: store})
	c.List(context.Background(), amb01, "")
	if c.PageSize() != 100 || count != "100" {
		t.Errorf("PageSize() = %d and user_timeline asked count=%q; want 100 and the same", c.PageSize(), count)
	}
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
