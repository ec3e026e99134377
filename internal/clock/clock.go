// Package clock is the campaign's notion of time. The simulator and the
// schedulers share one Clock, so `--speed 60` makes a simulated hour pass in a
// wall minute for both of them at once.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells campaign time and waits in it.
type Clock interface {
	Now() time.Time
	// Sleep waits d of campaign time, or until ctx ends.
	Sleep(ctx context.Context, d time.Duration) error
	// Speed is how many campaign seconds pass per wall second.
	Speed() float64
}

// Scaled runs campaign time Speed times faster than the wall clock, starting
// at Start when it was created.
type Scaled struct {
	start     time.Time
	wallStart time.Time
	speed     float64
}

// Real is the wall clock.
func Real() *Scaled { return NewScaled(time.Now(), 1) }

// NewScaled returns a clock that reads start now and runs speed times faster
// than the wall clock. speed <= 0 means 1.
func NewScaled(start time.Time, speed float64) *Scaled {
	if speed <= 0 {
		speed = 1
	}
	return &Scaled{start: start.UTC(), wallStart: time.Now(), speed: speed}
}

func (c *Scaled) Now() time.Time {
	wall := time.Since(c.wallStart)
	return c.start.Add(time.Duration(float64(wall) * c.speed)).UTC()
}

func (c *Scaled) Speed() float64 { return c.speed }

// Wall converts a campaign duration into the wall duration it takes.
func (c *Scaled) Wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.speed)
}

func (c *Scaled) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(c.Wall(d))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// WallEvery is the wall interval at which to do something meant to happen
// every d of campaign time, but never more often than once per floor of
// wall time: work whose meaning is campaign time (judging alerts, merging
// baselines) keeps pace with --speed without spinning at high speeds. On a
// clock without a speed (Manual) it is d itself.
func WallEvery(c Clock, d, floor time.Duration) time.Duration {
	if s := c.Speed(); s > 0 {
		d = time.Duration(float64(d) / s)
	}
	return max(d, floor)
}

// Manual is a clock that moves only when told: replays and tests run
// campaign days on it in milliseconds. Sleep advances it.
type Manual struct {
	mu  sync.Mutex
	now time.Time
}

// NewManual returns a manual clock reading t.
func NewManual(t time.Time) *Manual { return &Manual{now: t.UTC()} }

func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Set moves the clock to t.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = t.UTC()
}

func (m *Manual) Sleep(ctx context.Context, d time.Duration) error {
	if d > 0 {
		m.Set(m.Now().Add(d))
	}
	return ctx.Err()
}

func (m *Manual) Speed() float64 { return 0 }

// Advance moves the clock forward by d.
func (m *Manual) Advance(d time.Duration) { m.Set(m.Now().Add(d)) }
