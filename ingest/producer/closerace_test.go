package producer_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/ingest/producer"
	"github.com/tongxin/tongxin/internal/embeddedkafka"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
)

// Close while runners still call Produce: every snapshot Produce accepted
// is delivered (Close returns nil) or counted in Close's error; none is
// queued after delivery ended and left behind. Many rounds, since a
// Produce caught between its checks when Close comes is a matter of
// timing.
func TestCloseDuringProduceLeavesNothingBehind(t *testing.T) {
	b, err := embeddedkafka.Start(embeddedkafka.WithTopic("test.producer.closerace", 3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	// A goroutine per post, more than there are cores, so some are
	// descheduled anywhere in Produce.
	var streams [][]snapshot.Snapshot
	for _, post := range makePosts(64, 41) {
		streams = append(streams, runnerStreams([]testPost{post}, 20, 42)...)
	}
	for round := range 300 {
		reg := prometheus.NewRegistry()
		p := producer.New(producer.Config{Brokers: b.Addrs(), Topic: "test.producer.closerace", BatchSize: 10, Buffer: 20,
			Linger: time.Millisecond, Log: quietLog, Registerer: reg})
		p.Start()
		var accepted atomic.Int64
		var wg sync.WaitGroup
		for _, st := range streams {
			wg.Go(func() {
				for i := range st {
					if p.Produce(context.Background(), []snapshot.Snapshot{st[i]}) != nil {
						return
					}
					accepted.Add(1)
				}
			})
		}
		time.Sleep(time.Duration(round%7) * time.Millisecond)
		if err := p.Close(context.Background()); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		wg.Wait()
		if acked := int64(enginetest.MetricSum(t, reg, "tongxin_ingest_snapshots_produced_total")); acked != accepted.Load() {
			t.Fatalf("round %d: Produce accepted %d snapshots, Kafka acknowledged %d, and Close said nothing", round, accepted.Load(), acked)
		}
	}
}
