package aggregate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tongxin/tongxin/aggregate"
	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/internal/embeddedkafka"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/kafkawrite"
)

// Kafka reads the aggregator's dead letter and never answers. franz-go does
// not give such a write back (sent again as a new one it could be stored
// twice), so the flush waits, and says so: each 5 s of silence is a failed
// flush, shown by /healthz. Stopped, the aggregator gives the flush up
// FlushGrace later, commits nothing (the poison message is read again by
// the next owner) and Run returns: a silent Kafka does not hold shutdown.
func TestSilentDeadLetterTopicDoesNotHoldTheAggregator(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the ClickHouse engine")
	}
	const topic, dlq = "test.snapshots.silent", "test.snapshots.silent.dlq"
	b, err := embeddedkafka.Start(embeddedkafka.WithTopic(topic, 1), embeddedkafka.WithTopic(dlq, 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	s := &stage{brokers: b.Addrs(), topic: topic, dlq: dlq}
	s.dsn, s.conn = enginetest.MigratedDatabase(t)
	produce(t, s, []kafka.Message{{Key: []byte("douyin:7301"), Value: []byte("{not json")}})
	c := b.Cluster()
	sent := make(chan struct{}, 1)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		select {
		case sent <- struct{}{}:
		default:
		}
		return nil, nil, true // read, never answered
	})

	reg := prometheus.NewRegistry()
	var logged enginetest.Buffer
	const grace = 2 * time.Second
	a := aggregate.New(aggregate.Config{
		Brokers: s.brokers, Group: "g-silent", Topic: topic, DeadLetterTopic: dlq,
		Sink: sink.New(s.conn, reg), Registerer: reg, Log: logged.Logger(),
		FlushEvery: 100 * time.Millisecond, SessionTimeout: 6 * time.Second, FlushGrace: grace,
	})
	a.Writes.After = time.Second // the default minute is for people
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = a.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(time.Minute):
		}
	})
	select {
	case <-sent:
	case <-time.After(time.Minute):
		t.Fatal("the aggregator never wrote the dead letter")
	}
	time.Sleep(kafkawrite.StallAfter + 2*time.Second)
	if got := enginetest.MetricSum(t, reg, "tongxin_aggregate_flush_errors_total"); got < 1 {
		t.Errorf("tongxin_aggregate_flush_errors_total = %v after %v of silence, want at least 1", got, kafkawrite.StallAfter+2*time.Second)
	}
	if err := a.Writes.Err(); err == nil || !strings.Contains(err.Error(), "no answer from Kafka") {
		t.Errorf("/healthz's flush trouble = %v, want Kafka's silence to the dead letters", err)
	}

	stopped := time.Now()
	cancel()
	select {
	case <-done:
		if runErr != nil {
			t.Errorf("Run: %v", runErr)
		}
		if took := time.Since(stopped); took < grace {
			t.Errorf("Run returned %v after the stop, before FlushGrace (%v) was over", took, grace)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("Run has not returned 30 s after the stop, with a FlushGrace of %v", grace)
	}
	if enginetest.Committed(s.brokers, "g-silent", topic, enginetest.EndOffsets(t, s.brokers, topic)) {
		t.Error("the group committed past the poison message whose dead letter Kafka never took")
	}
	if got := enginetest.MetricSum(t, reg, "tongxin_aggregate_dead_letters_total"); got != 0 {
		t.Errorf("tongxin_aggregate_dead_letters_total = %v for a letter Kafka never took, want 0", got)
	}
	if !strings.Contains(logged.String(), "partitions will be read again") {
		t.Errorf("the log does not say the batch will be read again:\n%s", logged.String())
	}
}
