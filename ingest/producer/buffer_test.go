package producer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/ingest/producer"
	"github.com/tongxin/tongxin/internal/enginetest"
)

// With Kafka unreachable, Produce accepts Buffer snapshots and one batch,
// then blocks; the buffer gauges then say full: buffered equals capacity,
// and capacity is Buffer, what the operator configured, also when Buffer is
// smaller than a batch. (The alert TongxinProducerBufferFilling divides
// one by the other.)
func TestBufferGaugesSayFullWhenProduceBlocks(t *testing.T) {
	for _, c := range []struct{ buffer, batch int }{{50, 20}, {10, 20}} {
		t.Run(fmt.Sprintf("buffer %d batch %d", c.buffer, c.batch), func(t *testing.T) {
			reg := prometheus.NewRegistry()
			p := producer.New(producer.Config{Brokers: []string{enginetest.FreeAddr(t)}, Topic: "test.buffer",
				BatchSize: c.batch, Buffer: c.buffer, Log: quietLog, Registerer: reg})
			p.Start()
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				defer cancel()
				p.Close(ctx)
			})
			snaps := runnerStreams(makePosts(c.buffer+c.batch+1, 31), 1, 32)
			var all = append(append(snaps[0], snaps[1]...), snaps[2]...)
			accepted := 0
			for i := range all {
				// Produce returns at once while there is room; blocked
				// for 2 s, it is full.
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				err := p.Produce(ctx, all[i:i+1])
				cancel()
				if errors.Is(err, context.DeadlineExceeded) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				accepted++
			}
			if want := c.buffer + c.batch; accepted != want {
				t.Errorf("Produce accepted %d snapshots with Kafka unreachable, want the buffer and one batch, %d", accepted, want)
			}
			capacity := enginetest.MetricSum(t, reg, "tongxin_ingest_producer_buffer_capacity")
			buffered := enginetest.MetricSum(t, reg, "tongxin_ingest_producer_buffered")
			if capacity != float64(c.buffer) || buffered != capacity {
				t.Errorf("blocked: buffered %v, capacity %v; want both the buffer, %d", buffered, capacity, c.buffer)
			}
		})
	}
}
