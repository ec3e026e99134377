package clock

import (
	"testing"
	"time"
)

// Something meant every campaign minute runs every wall minute at speed 1,
// every 0.1 s at speed 600 but floored, and on a manual clock every d.
func TestWallEvery(t *testing.T) {
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		clk   Clock
		floor time.Duration
		want  time.Duration
	}{
		{NewScaled(start, 1), time.Second, time.Minute},
		{NewScaled(start, 600), time.Millisecond, 100 * time.Millisecond},
		{NewScaled(start, 600), time.Second, time.Second},
		{NewManual(start), time.Second, time.Minute},
	} {
		if got := WallEvery(c.clk, time.Minute, c.floor); got != c.want {
			t.Errorf("WallEvery(speed %v, 1m, floor %v) = %v, want %v", c.clk.Speed(), c.floor, got, c.want)
		}
	}
}
