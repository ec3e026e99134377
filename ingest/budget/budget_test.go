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

// However the shards are split among replicas, the replicas' shares add up
// to the app's rate and never more; a replica's share is proportional to
// the shards it owns, and owning none gives nothing.
func TestShareOfShardsNeverExceedsTheRate(t *testing.T) {
	const perHour = 600.0
	for _, shards := range []int{1, 12, 24} {
		for replicas := 1; replicas <= shards; replicas++ {
			// Kafka's assignors give each replica shards/replicas shards,
			// the first shards%replicas one more.
			total, shares := 0.0, 0
			for r := range replicas {
				owned := shards / replicas
				if r < shards%replicas {
					owned++
				}
				shares += owned
				total += Share(perHour, owned, shards)
			}
			if shares != shards {
				t.Fatalf("test split %d shards among %d replicas into %d", shards, replicas, shares)
			}
			if total > perHour*(1+1e-12) || total < perHour*(1-1e-12) {
				t.Errorf("%d shards over %d replicas: shares add up to %v, want %v", shards, replicas, total, perHour)
			}
		}
	}
	for _, c := range []struct {
		owned, shards int
		want          float64
	}{{4, 12, 200}, {6, 12, 300}, {12, 12, 600}, {0, 12, 0}, {1, 24, 25}, {13, 12, 600}, {3, 0, 0}} {
		if got := Share(perHour, c.owned, c.shards); got != c.want {
			t.Errorf("Share(%v, %d, %d) = %v, want %v", perHour, c.owned, c.shards, got, c.want)
		}
	}
	for _, c := range []struct {
		perHour float64
		want    int
	}{{40, 1}, {600, 10}, {200, 3}, {0, 1}} {
		if got := MinuteBurst(c.perHour); got != c.want {
			t.Errorf("MinuteBurst(%v) = %d, want %d", c.perHour, got, c.want)
		}
	}
}

// SetRate takes effect at once: a bucket at rate zero gives nothing until
// its rate is raised, and a Take waiting on it then gets its token at the
// new rate; lowering the rate drops the tokens above the new burst, so a
// replica that loses shards cannot spend the old share's savings.
func TestSetRateChangesTheBudgetAtRunTime(t *testing.T) {
	clk := clock.NewScaled(time.Now(), 3600) // a campaign hour a wall second
	b := New(clk, 0, 1)
	b.TryTake() // the one token a new bucket holds
	got := make(chan error, 1)
	go func() { got <- b.Take(context.Background()) }()
	select {
	case err := <-got:
		t.Fatalf("Take at rate zero returned %v, want it to wait", err)
	case <-time.After(200 * time.Millisecond): // 200 campaign seconds
	}
	if b.Available() != 0 || b.PerHour() != 0 {
		t.Fatalf("rate zero: %d tokens, %v an hour", b.Available(), b.PerHour())
	}
	b.SetRate(36000, 600) // ten a campaign second
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Take still waits after the rate was raised")
	}
	if b.PerHour() != 36000 {
		t.Errorf("PerHour = %v after SetRate(36000)", b.PerHour())
	}
	time.Sleep(100 * time.Millisecond) // 100 campaign seconds: the burst fills
	if n := b.Available(); n < 500 {
		t.Fatalf("%d tokens after 100 campaign seconds at 10/s with a burst of 600", n)
	}
	b.SetRate(3600, 60)
	if n := b.Available(); n > 60 {
		t.Errorf("%d tokens kept after lowering the burst to 60", n)
	}
	b.SetRate(0, 1)
	for b.TryTake() {
	}
	time.Sleep(50 * time.Millisecond)
	if b.TryTake() {
		t.Error("a bucket at rate zero refilled")
	}
	// A cancelled wait at rate zero ends.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.Take(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Take at rate zero with a context that ends = %v", err)
	}
}
