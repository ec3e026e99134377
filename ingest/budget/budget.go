// Package budget keeps each platform's request budget: a token bucket that
// refills on the campaign clock, so a budget of 600 requests an hour means
// 600 simulated hours' worth at any --speed. Several ingest replicas share a
// platform's budget by each taking its share (Share) of the app's rate, and
// polling only the accounts of its shard; no coordination is needed to stay
// within the platform's limit.
//
// The scheduler's Runner pays one token per platform request before it
// plans the request and before the request's timeout starts: waiting for the
// budget is never part of a request, so it can never fail one.
package budget

import (
	"context"
	"sync"
	"time"

	"github.com/tongxin/tongxin/internal/clock"
)

// Bucket is a token bucket: Rate tokens per hour of campaign time, holding
// at most Burst.
type Bucket struct {
	clk     clock.Clock
	perHour float64 // tokens per campaign hour, as given
	rate    float64 // tokens per campaign second
	burst   float64
	mu      sync.Mutex
	tokens  float64
	last    time.Time // campaign time of the last refill
	// OnWait, if set, is told how long (campaign time) each Take waited.
	OnWait func(time.Duration)
}

// New returns a full bucket of perHour tokens a campaign hour, at most burst
// at once.
func New(clk clock.Clock, perHour float64, burst int) *Bucket {
	if burst < 1 {
		burst = 1
	}
	return &Bucket{clk: clk, perHour: perHour, rate: perHour / 3600, burst: float64(burst), tokens: float64(burst), last: clk.Now()}
}

// PerHour is the bucket's rate: tokens per campaign hour.
func (b *Bucket) PerHour() float64 { return b.perHour }

// Share is one replica's part of an app-wide rate: replicas split it evenly.
func Share(perHour float64, replicas int) float64 {
	if replicas < 1 {
		replicas = 1
	}
	return perHour / float64(replicas)
}

// Take waits, on the campaign clock, until a token is available and takes
// it, or returns ctx's error.
func (b *Bucket) Take(ctx context.Context) error {
	var waited time.Duration // campaign time
	for {
		need := b.try()
		if need == 0 {
			if b.OnWait != nil {
				b.OnWait(waited)
			}
			return nil
		}
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

// TryTake takes a token if one is available now, without waiting.
func (b *Bucket) TryTake() bool { return b.try() == 0 }

// try takes a token and returns 0, or returns how much campaign time
// until one is available.
func (b *Bucket) try() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	if b.rate <= 0 {
		return time.Hour
	}
	return max(time.Duration((1-b.tokens)/b.rate*float64(time.Second)), time.Millisecond)
}

func (b *Bucket) refill() {
	now := b.clk.Now()
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}

// Available is how many whole tokens the bucket holds now.
func (b *Bucket) Available() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	return int(b.tokens)
}
