package producer_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tongxin/tongxin/ingest/producer"
	"github.com/tongxin/tongxin/internal/embeddedkafka"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
)

// A record franz-go gives back is judged only once every record in flight
// has answered. Two batches are in flight: A holds X alone, a snapshot of
// post P too large for the topic; B holds Y, of post Q on X's partition,
// and W, of post R on the other partition (on the other broker). The
// broker refuses X's batch, so franz-go fails the partition whole, Y
// included, and A answers while B still waits for W. Judged on A's answer
// alone, X is rightly the culprit, but then Y comes back alone refused as
// well and would be dead-lettered as a culprit too: lost from the topic. X
// must be dead-lettered once and nothing else; Y, W and P's and Q's next
// snapshots must each arrive once, each post's in order.
//
// kfake (franz-go's in-process broker, as `tongxin run` embeds it) is used
// here rather than the Kafka engine because the test must order the
// broker's answers exactly: X's request waits until B is on its way, and
// W's until the producer writes to the dead-letter topic (which a producer
// judging A alone does at once) or 3 s have passed.
func TestGivenBackJudgedOnlyWhenEverythingInFlightAnswered(t *testing.T) {
	b, err := embeddedkafka.Start(embeddedkafka.WithBrokers(2), embeddedkafka.WithoutAutoCreate())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	c := b.Cluster()
	const topic, dlq = "test.producer.giveback", "test.producer.giveback.dlq"
	if err := c.CreateTopic(topic, 2, map[string]string{"max.message.bytes": "32768"}); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTopic(dlq, 1, nil); err != nil {
		t.Fatal(err)
	}

	// P and Q on one partition, R on the other, as the producer's client
	// places keys (franz-go's default partitioner).
	part := kgo.StickyKeyPartitioner(nil).ForTopic(topic)
	partOf := func(p testPost) int32 {
		s := snapshot.Snapshot{Platform: p.platform, PostID: p.id}
		return int32(part.Partition(&kgo.Record{Key: []byte(s.Key())}, 2))
	}
	posts := makePosts(40, 21)
	P := posts[0]
	var Q, R *testPost
	for i := 1; i < len(posts) && (Q == nil || R == nil); i++ {
		switch {
		case partOf(posts[i]) == partOf(P) && Q == nil:
			Q = &posts[i]
		case partOf(posts[i]) != partOf(P) && R == nil:
			R = &posts[i]
		}
	}
	if Q == nil || R == nil {
		t.Fatal("no posts to fill both partitions")
	}
	// X's partition and the dead-letter topic on one broker, W's partition
	// on the other: W's held request holds up no other.
	xPart, wPart := partOf(P), partOf(*R)
	xNode := c.LeaderFor(topic, xPart)
	wNode := 1 - xNode
	for _, m := range []struct {
		topic     string
		partition int32
		node      int32
	}{{topic, wPart, wNode}, {dlq, 0, xNode}} {
		if err := c.MoveTopicPartition(m.topic, m.partition, m.node); err != nil {
			t.Fatal(err)
		}
	}
	dlqID := c.TopicInfo(dlq).TopicID

	rng := rand.New(rand.NewPCG(21, 22))
	X := snapshotOf(P, 0, rng)
	X.AmbassadorID = strings.Repeat("x", 40<<10)
	Y, W := snapshotOf(*Q, 0, rng), snapshotOf(*R, 0, rng)
	P2, Q2 := snapshotOf(P, 1, rng), snapshotOf(*Q, 1, rng)

	var (
		xSeen, wSeen, dlqSeen = make(chan struct{}), make(chan struct{}), make(chan struct{})
		once                  [3]sync.Once
		xHeld, wHeld          atomic.Bool // a control sleeping lets the next run
	)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		for _, rt := range req.(*kmsg.ProduceRequest).Topics {
			if rt.Topic == dlq || rt.TopicID == dlqID {
				once[2].Do(func() { close(dlqSeen) })
			}
		}
		switch node := c.CurrentNode(); {
		case node == xNode && xHeld.CompareAndSwap(false, true):
			// A, X alone: answered (refused) once B is on its way.
			once[0].Do(func() { close(xSeen) })
			c.SleepControl(func() { <-wSeen })
		case node == wNode && wHeld.CompareAndSwap(false, true):
			// B's share on the other broker: answered once the
			// producer dead-letters something, or after 3 s.
			once[1].Do(func() { close(wSeen) })
			c.SleepControl(func() {
				select {
				case <-dlqSeen:
				case <-time.After(3 * time.Second):
				}
			})
		}
		return nil, nil, false // the broker answers as it would
	})

	reg := prometheus.NewRegistry()
	p := producer.New(producer.Config{Brokers: b.Addrs(), Topic: topic, DeadLetterTopic: dlq,
		BatchSize: 2, Buffer: 2, DrainTimeout: 10 * time.Second, Log: quietLog, Registerer: reg})
	p.Start()
	t.Cleanup(func() { p.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.Produce(ctx, []snapshot.Snapshot{X}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-xSeen: // A is on its way, alone
	case <-ctx.Done():
		t.Fatal("the producer never sent X")
	}
	if err := p.Produce(ctx, []snapshot.Snapshot{Y, W}); err != nil { // B: a full batch, sent at once
		t.Fatal(err)
	}
	if err := p.Produce(ctx, []snapshot.Snapshot{P2, Q2}); err != nil { // they wait for X's and Y's answers
		t.Fatal(err)
	}
	// Five snapshots, each acknowledged or dead-lettered in the end.
	for answered := 0.0; answered < 5; time.Sleep(10 * time.Millisecond) {
		if ctx.Err() != nil {
			t.Fatalf("%v of 5 snapshots acknowledged or dead-lettered within a minute", answered)
		}
		answered = enginetest.MetricSum(t, reg, "tongxin_ingest_snapshots_produced_total") +
			enginetest.MetricSum(t, reg, "tongxin_ingest_producer_dead_letters_total")
	}
	if err := p.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}

	checkOncePerKeyInOrder(t, enginetest.ReadTopic(t, b.Addrs(), topic), [][]snapshot.Snapshot{{Y, W, P2, Q2}})
	dead := deadLetters(t, b.Addrs(), dlq)
	xValue, err := snapshot.Marshal(&X)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || string(dead[0].Value) != string(xValue) {
		keys := make([]string, len(dead))
		for i, d := range dead {
			keys[i] = string(d.Key)
		}
		t.Errorf("dead letters for %q, want X's alone (%s)", keys, X.Key())
	}
	if got := enginetest.MetricSum(t, reg, "tongxin_ingest_producer_dead_letters_total"); got != 1 {
		t.Errorf("tongxin_ingest_producer_dead_letters_total = %v, want 1", got)
	}
}
