package wechat_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/internal/redirecttest"
	"github.com/tongxin/tongxin/ingest/wechat"
)

// A redirect from the feed must not take the API key to another host.
func TestFeedRedirectsAreNotFollowed(t *testing.T) {
	trap := redirecttest.New(t)
	c := wechat.New(wechat.Config{ClientConfig: ingest.ClientConfig{BaseURL: trap.API, HTTP: &http.Client{Timeout: 2 * time.Second}}, APIKey: testKey})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.List(ctx, amb01, "")
	for _, r := range trap.Reached() {
		t.Errorf("a request followed the redirect to the other host: %s", r)
	}
	var e *ingest.Error
	if !errors.As(err, &e) || e.Op != "list" || e.Kind != ingest.KindInvalid || !errors.Is(err, ingest.ErrRedirect) {
		t.Fatalf("got %v, want an *ingest.Error of op list, kind invalid, ErrRedirect", err)
	}
	if !strings.Contains(err.Error(), "307") || !strings.Contains(err.Error(), trap.TrapHost) || strings.Contains(err.Error(), testKey) {
		t.Errorf("error %q should name 307 and host %s, and not the key", err, trap.TrapHost)
	}
}
