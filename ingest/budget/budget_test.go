package budget

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tongxin/tongxin/internal/clock"
)

// At 3600x speed a budget of 360 requests an hour allows 360 requests per
// wall second (plus the burst); a caller trying to take 2000 is held back.
func TestTakeKeepsToTheBudget(t *testing.T) {
	clk := clock.NewScaled(time.Now(), 3600)
	b := New(clk, 360, 10)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := clk.Now()
	taken := 0
	for i := 0; i < 2000 && b.Take(ctx) == nil; i++ {
		taken++
	}
	elapsed := clk.Now().Sub(start).Hours()
	if allowed := 10 + 360*elapsed; float64(taken) > allowed+1 {
		t.Fatalf("%d tokens in %.2f campaign hours, budget allows %.0f", taken, elapsed, allowed)
	}
	if taken < 100 {
		t.Fatalf("only %d tokens taken in a second at a budget of 360/s wall", taken)
	}
}

// Take waits on the campaign clock, reports the wait, and gives up when
// its context ends; TryTake never waits.
func TestTakeWaitsOnTheCampaignClock(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	b := New(clk, 120, 1) // one token every 30 campaign seconds
	var waited time.Duration
	b.OnWait = func(d time.Duration) { waited += d }
	if !b.TryTake() {
		t.Fatal("a full bucket refused TryTake")
	}
	if b.TryTake() {
		t.Fatal("an empty bucket gave a token")
	}
	before := clk.Now()
	if err := b.Take(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := clk.Now().Sub(before); got < 29*time.Second || got > 31*time.Second {
		t.Errorf("Take advanced the campaign clock by %v, want 30s", got)
	}
	if waited < 29*time.Second {
		t.Errorf("OnWait reported %v, want about 30s", waited)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := New(clock.NewScaled(time.Now(), 1), 1, 1).Take(ctx); err != nil {
		t.Errorf("a full bucket failed Take on a cancelled context: %v", err)
	}
	empty := New(clock.NewScaled(time.Now(), 1), 1, 1)
	empty.TryTake()
	if err := empty.Take(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Take on an empty bucket with a cancelled context = %v", err)
	}
}

func TestShare(t *testing.T) {
	if got := Share(600, 3); got != 200 {
		t.Fatalf("Share(600, 3) = %v", got)
	}
}
