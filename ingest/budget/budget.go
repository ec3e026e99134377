// Package budget keeps each platform's request budget: a token bucket that
// refills on the campaign clock, so a budget of 600 requests an hour means
// 600 simulated hours' worth at any --speed. Several ingest replicas share a
// platform's budget by shards: a replica that owns k of the S shards (the
// Kafka consumer group decides which) polls their accounts at Share(rate, k,
// S), and changes its bucket's rate (SetRate) when its shards change. Owned
// shards never overlap, so the replicas' rates never add up to more than the
// app's.
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
	last    time.Time     // campaign time of the last refill
	changed chan struct{} // closed and replaced when the rate changes, to wake Take
	// OnWait, if set, is told how long (campaign time) each Take waited.
	OnWait func(time.Duration)
}

// New returns a full bucket of perHour tokens a campaign hour, at most burst
// at once.
func New(clk clock.Clock, perHour float64, burst int) *Bucket {
	if burst < 1 {
		burst = 1
	}
	return &Bucket{clk: clk, perHour: perHour, rate: perHour / 3600, burst: float64(burst), tokens: float64(burst), last: clk.Now(),
		changed: make(chan struct{})}
}

// MinuteBurst is the burst tongxin gives a rate: a campaign minute's worth
// of requests, at least one.
func MinuteBurst(perHour float64) int { return max(1, int(perHour/60)) }

// PerHour is the bucket's rate now: tokens per campaign hour.
func (b *Bucket) PerHour() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.perHour
}

// SetRate changes the bucket's rate and burst from now on. Tokens earned at
// the old rate are kept up to the new burst, never more: a bucket only ever
// gains tokens by refilling at its rate, so requests over any stretch of
// time stay within the tokens held at its start plus the rate's integral
// over it. A Take waiting for a token plans again at the new rate.
func (b *Bucket) SetRate(perHour float64, burst int) {
	if burst < 1 {
		burst = 1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	b.perHour, b.rate, b.burst = perHour, perHour/3600, float64(burst)
	b.tokens = min(b.tokens, b.burst)
	close(b.changed)
	b.changed = make(chan struct{})
}

// Share is the part of an app-wide rate that owning owned of shards shards
// gives: owned/shards of it, so replicas that own disjoint shards never
// spend more than the whole between them.
func Share(perHour float64, owned, shards int) float64 {
	if shards < 1 || owned <= 0 {
		return 0
	}
	return perHour * float64(min(owned, shards)) / float64(shards)
}

// Take waits, on the campaign clock, until a token is available and takes
// it, or returns ctx's error. A change of rate (SetRate) ends a wait early:
// the time to the next token is worked out again.
func (b *Bucket) Take(ctx context.Context) error {
	var waited time.Duration // campaign time
	for {
		need, changed := b.try()
		if need == 0 {
			if b.OnWait != nil {
				b.OnWait(waited)
			}
			return nil
		}
		start := b.clk.Now()
		if err := b.sleep(ctx, need, changed); err != nil {
			return err
		}
		waited += max(0, b.clk.Now().Sub(start))
	}
}

// sleep waits d of campaign time, or until the rate changes (changed is
// closed), or ctx ends; only the last is an error. A zero rate waits for a
// change alone.
func (b *Bucket) sleep(ctx context.Context, d time.Duration, changed <-chan struct{}) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // ends with sctx, which ends when sleep returns
		select {
		case <-changed:
			cancel()
		case <-sctx.Done():
		}
	}()
	if d <= 0 {
		<-sctx.Done()
	} else {
		b.clk.Sleep(sctx, d)
	}
	return ctx.Err()
}

// TryTake takes a token if one is available now, without waiting.
func (b *Bucket) TryTake() bool {
	need, _ := b.try()
	return need == 0
}

// try takes a token and returns 0, or returns how much campaign time
// until one is available (-1 when the rate is zero: only a change of rate
// can bring one) and the channel closed on the next change of rate.
func (b *Bucket) try() (time.Duration, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	if b.tokens >= 1 {
		b.tokens--
		return 0, nil
	}
	if b.rate <= 0 {
		return -1, b.changed
	}
	return max(time.Duration((1-b.tokens)/b.rate*float64(time.Second)), time.Millisecond), b.changed
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
