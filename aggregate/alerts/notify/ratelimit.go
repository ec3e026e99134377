package notify

import (
	"context"
	"sync"
	"time"
)

// bucket is a token bucket: rate tokens a second, at most burst saved. A
// nil bucket never waits.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

// newBucket returns a bucket allowing perMinute requests a minute with the
// given burst; perMinute <= 0 means no limit (nil).
func newBucket(perMinute float64, burst int) *bucket {
	if perMinute <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return &bucket{rate: perMinute / 60, burst: float64(burst), tokens: float64(burst), now: time.Now, last: time.Now()}
}

// reserve takes a token if one is there, or says how long until one is.
func (b *bucket) reserve() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.tokens += now.Sub(b.last).Seconds() * b.rate
	if b.tokens > b.burst {
		b.tokens = b.burst
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// wait blocks until a token is taken or ctx ends.
func (b *bucket) wait(ctx context.Context) error {
	if b == nil {
		return ctx.Err()
	}
	for {
		d := b.reserve()
		if d <= 0 {
			return nil
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
