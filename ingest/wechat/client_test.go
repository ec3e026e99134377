package wechat_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/internal/adaptertest"
	"github.com/tongxin/tongxin/ingest/internal/responsefuzz"
	"github.com/tongxin/tongxin/ingest/wechat"
	"github.com/tongxin/tongxin/internal/clock"
)

// A redirect from the feed must not take the API key to another host.
func TestFeedRedirectsAreNotFollowed(t *testing.T) {
	trap := adaptertest.NewTrap(t)
	c := wechat.New(wechat.Config{ClientConfig: ingest.ClientConfig{BaseURL: trap.API, HTTP: &http.Client{Timeout: 2 * time.Second}}, APIKey: testKey})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.List(ctx, amb01, "")
	trap.AssertRefused(t, map[string]error{"list": err}, testKey)
}

// The scheduler plans listings with the page size the Source reports; it
// must be the limit the feed is asked for (20 by default).
func TestPageSizeIsTheLimitAsked(t *testing.T) {
	adaptertest.AssertPageSizeAsked(t, "limit", 20, amb01, func(h *http.Client) ingest.Source {
		return wechat.New(wechat.Config{ClientConfig: ingest.ClientConfig{BaseURL: "http://feed.invalid", HTTP: h}, APIKey: testKey})
	})
}

// A Retry-After date counts from the campaign clock the feed runs on (the
// simulator's at any --speed), not from the machine's.
func TestRetryAfterDateOnTheCampaignClock(t *testing.T) {
	now := time.Date(2026, 6, 25, 10, 0, 0, 0, time.UTC)
	c := wechat.New(wechat.Config{ClientConfig: ingest.ClientConfig{BaseURL: "http://feed.invalid", Clock: clock.NewManual(now),
		HTTP: responsefuzz.Canned{Status: http.StatusTooManyRequests, Body: []byte(`{"error":{"code":"rate_limited","message":"slow down"}}`),
			Header: http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}}.Client()},
		APIKey: testKey})
	_, err := c.List(context.Background(), amb01, "")
	var e *ingest.Error
	if !errors.As(err, &e) || e.Kind != ingest.KindRateLimited {
		t.Fatalf("got %v, want rate_limited", err)
	}
	if e.RetryAfter != 90*time.Second {
		t.Errorf("RetryAfter %v, want 1m30s (the date 90 s after the campaign clock's now)", e.RetryAfter)
	}
}
