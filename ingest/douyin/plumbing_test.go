package douyin

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/internal/responsefuzz"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/clock"
)

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
