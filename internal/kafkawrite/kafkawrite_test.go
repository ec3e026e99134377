package kafkawrite_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tongxin/tongxin/internal/embeddedkafka"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/kafkawrite"
)

var quiet = slog.New(slog.DiscardHandler)

// A record the broker stored but whose answer was lost (a leader killed
// mid-request, then the retry answered "not the leader" for 8 s) is on the
// topic once, with its neighbour, and Deliver said meanwhile that Kafka was
// silent. A writer that sends such a record again as a new write (kafka-go's
// writer, which the aggregator's dead letters and the alerts used) stores it
// twice.
func TestDeliverStoresARecordWhoseAnswerWasLostOnce(t *testing.T) {
	const topic = "test.kafkawrite.lostanswer"
	b, stored := enginetest.LostAnswerBroker(t, topic, 8*time.Second)
	c, err := kafkawrite.Client(nil, b.Addrs(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var acked, stalls atomic.Int64
	hooks := kafkawrite.Hooks{
		Acked:   func(recs []*kgo.Record) { acked.Add(int64(len(recs))) },
		Refused: func(r *kgo.Record, err error) { t.Errorf("%s refused: %v", r.Key, err) },
		Failed: func(err error, pending int, _ time.Duration) bool {
			t.Logf("given back: %d records: %v", pending, err)
			return true
		},
		Stalled: func(int) { stalls.Add(1) },
	}
	first := make(chan error, 1)
	go func() {
		pending, err := kafkawrite.Deliver(ctx, c, []*kgo.Record{{Topic: topic, Key: []byte("a"), Value: []byte("1")}}, nil, hooks)
		if len(pending) > 0 {
			err = errors.Join(err, errors.New("records pending"))
		}
		first <- err
	}()
	select {
	case err := <-stored:
		if err != nil {
			t.Fatalf("the broker did not store the first write: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Deliver never wrote")
	}
	// A second record on the same partition while the first waits.
	if pending, err := kafkawrite.Deliver(ctx, c, []*kgo.Record{{Topic: topic, Key: []byte("b"), Value: []byte("2")}}, nil, hooks); err != nil || len(pending) > 0 {
		t.Errorf("Deliver of the second record = %d pending, %v", len(pending), err)
	}
	if err := <-first; err != nil {
		t.Errorf("Deliver of the first record: %v", err)
	}

	var got []string
	for _, msgs := range enginetest.ReadTopic(t, b.Addrs(), topic) {
		for _, m := range msgs {
			got = append(got, string(m.Key)+"="+string(m.Value))
		}
	}
	if len(got) != 2 || got[0] != "a=1" || got[1] != "b=2" {
		t.Errorf("the topic holds %q, want [a=1 b=2]: each record once, in order", got)
	}
	if acked.Load() != 2 {
		t.Errorf("Acked was told of %d records, want 2", acked.Load())
	}
	if stalls.Load() == 0 {
		t.Error("8 s without an answer and Stalled was never called")
	}
}

// A write Kafka reads and never answers holds Deliver only until its
// context ends and AbandonGrace has passed: the record comes back pending,
// with the context's error, for the caller to count as not delivered.
func TestDeliverEndsSoonAfterItsContextWhenKafkaNeverAnswers(t *testing.T) {
	const topic = "test.kafkawrite.silent"
	b, err := embeddedkafka.Start(embeddedkafka.WithTopic(topic, 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cl := b.Cluster()
	sent := make(chan struct{}, 1)
	cl.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		cl.KeepControl()
		select {
		case sent <- struct{}{}:
		default:
		}
		return nil, nil, true // read, never answered
	})
	c, err := kafkawrite.Client(nil, b.Addrs(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-sent:
			cancel()
		case <-time.After(30 * time.Second):
		}
	}()
	done := make(chan struct{})
	var pending []*kgo.Record
	go func() {
		defer close(done)
		pending, err = kafkawrite.Deliver(ctx, c, []*kgo.Record{{Topic: topic, Key: []byte("a"), Value: []byte("1")}}, nil, kafkawrite.Hooks{})
	}()
	select {
	case <-done:
	case <-time.After(45 * time.Second):
		t.Fatal("Deliver has not returned 45 s after a write Kafka never answers (its context ended at the write)")
	}
	if !errors.Is(err, context.Canceled) || len(pending) != 1 {
		t.Errorf("Deliver = %d pending, %v; want the record pending with context.Canceled", len(pending), err)
	}
}
