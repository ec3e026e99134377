package embeddedkafka_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tongxin/tongxin/internal/embeddedkafka"
)

func start(t *testing.T, opts ...embeddedkafka.Option) *embeddedkafka.Broker {
	t.Helper()
	b, err := embeddedkafka.Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	for _, a := range b.Addrs() {
		if !strings.HasPrefix(a, "127.0.0.1:") {
			t.Fatalf("broker listens on %s, want 127.0.0.1", a)
		}
	}
	return b
}

func writer(b *embeddedkafka.Broker, topic string) *kafka.Writer {
	return &kafka.Writer{
		Addr:            kafka.TCP(b.Addrs()...),
		Topic:           topic,
		Balancer:        &kafka.Hash{},
		RequiredAcks:    kafka.RequireAll,
		BatchSize:       500,
		BatchTimeout:    5 * time.Millisecond,
		WriteBackoffMin: 10 * time.Millisecond,
		WriteBackoffMax: 100 * time.Millisecond,
	}
}

func reader(b *embeddedkafka.Broker, topic, group string) *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:        b.Addrs(),
		GroupID:        group,
		Topic:          topic,
		MinBytes:       1,
		MaxBytes:       10 << 20,
		MaxWait:        100 * time.Millisecond,
		CommitInterval: 100 * time.Millisecond,
		ReadBackoffMin: 10 * time.Millisecond,
		ReadBackoffMax: 100 * time.Millisecond,
	})
}

// expectNoMore fails if r delivers anything within d.
func expectNoMore(ctx context.Context, t *testing.T, r *kafka.Reader, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if m, err := r.FetchMessage(ctx); err == nil {
		t.Errorf("unexpected extra message: partition %d offset %d key %s value %s", m.Partition, m.Offset, m.Key, m.Value)
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("reading after the last message: %v", err)
	}
}

// 20,000 messages over 6 partitions and 200 keys, produced with acks=all and
// consumed by a consumer group: every message arrives exactly once, each
// partition's offsets are contiguous and each key's messages come in the
// order they were produced, always from the same partition.
func TestProduceConsumeExactlyOnceInOrder(t *testing.T) {
	const (
		total      = 20000
		keys       = 200
		partitions = 6
		topic      = "tongxin.test.bulk"
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := start(t, embeddedkafka.WithPartitions(partitions))
	if err := b.CreateTopic(topic, partitions); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic(topic, partitions); err != nil {
		t.Fatalf("creating an existing topic again: %v", err)
	}

	w := writer(b, topic)
	defer w.Close()
	begin := time.Now()
	msgs := make([]kafka.Message, 0, 2000)
	for i := 0; i < total; i++ {
		k := i % keys
		msgs = append(msgs, kafka.Message{
			Key:   fmt.Appendf(nil, "douyin:post-%03d", k),
			Value: fmt.Appendf(nil, "%d", i/keys), // the key's sequence number
		})
		if len(msgs) == cap(msgs) || i == total-1 {
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				t.Fatalf("writing: %v", err)
			}
			msgs = msgs[:0]
		}
	}
	t.Logf("produced %d messages in %v", total, time.Since(begin))

	r := reader(b, topic, "tongxin-test-bulk")
	defer r.Close()
	begin = time.Now()
	nextSeq := map[string]int{}   // key -> next expected sequence
	keyPart := map[string]int{}   // key -> partition it came from
	nextOffset := map[int]int64{} // partition -> next expected offset
	for n := 0; n < total; n++ {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", n, total, err)
		}
		key := string(m.Key)
		seq, err := strconv.Atoi(string(m.Value))
		if err != nil {
			t.Fatalf("value %q: %v", m.Value, err)
		}
		if seq != nextSeq[key] {
			t.Fatalf("key %s: got sequence %d, want %d (duplicate, loss or reordering)", key, seq, nextSeq[key])
		}
		nextSeq[key]++
		if p, ok := keyPart[key]; ok && p != m.Partition {
			t.Fatalf("key %s in partitions %d and %d", key, p, m.Partition)
		}
		keyPart[key] = m.Partition
		if m.Offset != nextOffset[m.Partition] {
			t.Fatalf("partition %d: got offset %d, want %d", m.Partition, m.Offset, nextOffset[m.Partition])
		}
		nextOffset[m.Partition]++
	}
	t.Logf("consumed %d messages in %v", total, time.Since(begin))
	if len(nextSeq) != keys {
		t.Errorf("got %d keys, want %d", len(nextSeq), keys)
	}
	for k, n := range nextSeq {
		if n != total/keys {
			t.Errorf("key %s: %d messages, want %d", k, n, total/keys)
		}
	}
	if len(nextOffset) != partitions {
		t.Errorf("messages in %d partitions, want all %d: %v", len(nextOffset), partitions, nextOffset)
	}
	expectNoMore(ctx, t, r, 500*time.Millisecond)
}

// Fault injection through kfake: produce requests fail with retriable errors
// (once through a control function, twice through a Fault) and a fetch fails
// once; the kafka-go writer retries and delivers every message exactly once,
// and the consumer group still reads them all.
func TestRetriableFaultsAreRetried(t *testing.T) {
	const topic = "tongxin.test.faults"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := start(t, embeddedkafka.WithTopic(topic, 1))
	c := b.Cluster()

	// The first produce request is answered NOT_LEADER_OR_FOLLOWER for
	// every partition, without being appended.
	var controlled atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req := kreq.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.NotLeaderForPartition.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		controlled.Add(1)
		return resp, nil, true // handled: this control function is dropped
	})
	// The next two are rejected with NOT_ENOUGH_REPLICAS.
	produceFault := c.Fault(kfake.Fault{
		Keys:  []kmsg.Key{kmsg.Produce},
		Topic: topic,
		Err:   kerr.NotEnoughReplicas,
		Count: 2,
	})

	w := writer(b, topic)
	defer w.Close()
	const total = 10
	for i := 0; i < total; i++ {
		if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("weibo:1"), Value: fmt.Appendf(nil, "%d", i)}); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if n := controlled.Load(); n != 1 {
		t.Errorf("control function answered %d produce requests, want 1", n)
	}
	if n := produceFault.Hits(); n != 2 {
		t.Errorf("produce fault hit %d times, want 2", n)
	}
	if retries := w.Stats().Retries; retries < 3 {
		t.Errorf("writer retried %d times, want at least 3", retries)
	}
	if hw := c.PartitionInfo(topic, 0).HighWatermark; hw != total {
		t.Errorf("high watermark %d, want %d (a failed request was appended)", hw, total)
	}

	fetchFault := c.Fault(kfake.Fault{
		Keys:  []kmsg.Key{kmsg.Fetch},
		Topic: topic,
		Err:   kerr.NotLeaderForPartition,
	})
	r := reader(b, topic, "tongxin-test-faults")
	defer r.Close()
	for i := 0; i < total; i++ {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("reading message %d: %v", i, err)
		}
		if got := string(m.Value); got != strconv.Itoa(i) || m.Offset != int64(i) {
			t.Fatalf("message %d: offset %d value %q", i, m.Offset, got)
		}
	}
	if n := fetchFault.Hits(); n != 1 {
		t.Errorf("fetch fault hit %d times, want 1", n)
	}
	expectNoMore(ctx, t, r, 300*time.Millisecond)
}

func TestAutoCreateAndFixedAddrs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Two free ports, then a cluster fixed on them.
	var addrs []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, ln.Addr().String())
		ln.Close()
	}
	b := start(t, embeddedkafka.WithAddrs(addrs...), embeddedkafka.WithPartitions(4))
	if got := b.Addrs(); strings.Join(got, ",") != strings.Join(addrs, ",") || b.Bootstrap() != strings.Join(addrs, ",") {
		t.Fatalf("Addrs() = %v, want %v", got, addrs)
	}
	if _, err := embeddedkafka.Start(embeddedkafka.WithAddrs(addrs[0])); err == nil {
		t.Fatal("a second cluster on a taken address started")
	}
	if _, err := embeddedkafka.Start(embeddedkafka.WithAddrs("0.0.0.0:0")); err == nil {
		t.Fatal("a cluster on an unspecified address started")
	}

	const topic = "tongxin.test.auto"
	w := writer(b, topic)
	w.AllowAutoTopicCreation = true
	defer w.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := w.WriteMessages(ctx, kafka.Message{Key: []byte("k"), Value: []byte("v")})
		if err == nil {
			break
		}
		// The first metadata request creates the topic; the writer may see
		// it unknown until then.
		if !errors.Is(err, kafka.UnknownTopicOrPartition) || time.Now().After(deadline) {
			t.Fatalf("writing to an auto-created topic: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(b.Cluster().PartitionInfos(topic)); n != 4 {
		t.Fatalf("auto-created topic has %d partitions, want 4", n)
	}

	b.Close()
	b.Close() // twice is fine
	conn, err := net.DialTimeout("tcp", addrs[0], time.Second)
	if err == nil {
		conn.Close()
		t.Fatalf("%s still accepts connections after Close", addrs[0])
	}
}
