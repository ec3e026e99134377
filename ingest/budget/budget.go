// Package budget keeps each platform's request budget: a token bucket that
// refills on the campaign clock, so a budget of 600 requests an hour means
// 600 simulated hours' worth at any --speed. Several ingest replicas share a
// platform's budget by each taking its share (Share) of the app's rate, and
// polling only the accounts of its shard; no coordination is needed to stay
// within the platform's limit.
package budget

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/tongxin/tongxin/internal/clock"
)

// Bucket is a token bucket: Rate tokens per hour of campaign time, holding
// at most Burst.
type Bucket struct {
	clk    clock.Clock
	rate   float64 // tokens per campaign second
	burst  float64
	mu     sync.Mutex
	tokens float64
	last   time.Time
	// OnWait, if set, is told how long (campaign time) each Take waited.
	OnWait func(time.Duration)
}

// New returns a full bucket of perHour tokens an hour, at most burst at once.
func New(clk clock.Clock, perHour float64, burst int) *Bucket {
	if burst < 1 {
		burst = 1
	}
	return &Bucket{clk: clk, rate: perHour / 3600, burst: float64(burst), tokens: float64(burst), last: clk.Now()}
}

// Share is one replica's part of an app-wide rate: replicas split it evenly.
func Share(perHour float64, replicas int) float64 {
	if replicas < 1 {
		replicas = 1
	}
	return perHour / float64(replicas)
}

// Take waits until a token is available and takes it, or returns ctx's error.
func (b *Bucket) Take(ctx context.Context) error {
	var waited time.Duration
	for {
		b.mu.Lock()
		now := b.clk.Now()
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
		if b.tokens >= 1 {
			b.tokens--
			b.mu.Unlock()
			if b.OnWait != nil {
				b.OnWait(waited)
			}
			return nil
		}
		need := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
		b.mu.Unlock()
		if b.rate <= 0 {
			<-ctx.Done()
			return ctx.Err()
		}
		if err := b.clk.Sleep(ctx, need); err != nil {
			return err
		}
		waited += need
	}
}

// Available is how many whole tokens the bucket holds now.
func (b *Bucket) Available() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clk.Now()
	return int(min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate))
}

// Transport charges one token per HTTP request before sending it.
type Transport struct {
	Base   http.RoundTripper
	Bucket *Bucket
}

func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.Bucket.Take(req.Context()); err != nil {
		return nil, fmt.Errorf("request budget: %w", err)
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}
