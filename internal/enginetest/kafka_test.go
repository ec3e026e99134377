package enginetest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/internal/enginetest"
)

// A private Apache Kafka broker keeps a produced message across a restart on
// the same address, and a consumer group reads it afterwards.
func TestKafkaKeepsMessagesAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real Kafka broker")
	}
	begin := time.Now()
	e := enginetest.Start(t, "kafka")
	t.Logf("started in %v", time.Since(begin).Round(time.Millisecond))
	if !strings.HasPrefix(e.Addr, "127.0.0.1:") {
		t.Fatalf("engines up printed KAFKA=%s, want 127.0.0.1:<port>", e.Addr)
	}
	addr := e.Addr
	topic := fmt.Sprintf("tongxin.enginetest.%d", time.Now().UnixNano())
	key := "douyin:7301234567890"
	value := fmt.Sprintf(`{"schema":1,"plays":12300000,"nonce":%d}`, time.Now().UnixNano())

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 20 * time.Second}
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: 3, ReplicationFactor: 1}},
	})
	if err != nil {
		t.Fatalf("creating %s: %v", topic, err)
	}
	if err := res.Errors[topic]; err != nil {
		t.Fatalf("creating %s: %v", topic, err)
	}

	w := &kafka.Writer{
		Addr:         kafka.TCP(addr),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 10 * time.Millisecond,
	}
	// Metadata of a new topic can lag a moment behind its creation.
	for {
		err = w.WriteMessages(ctx, kafka.Message{Key: []byte(key), Value: []byte(value)})
		if err == nil || ctx.Err() != nil {
			break
		}
		t.Logf("writing (will retry): %v", err)
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("writing: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("closing the writer: %v", err)
	}

	begin = time.Now()
	e.Restart(t)
	t.Logf("restarted in %v", time.Since(begin).Round(time.Millisecond))
	if e.Addr != addr {
		t.Fatalf("after a restart the broker is at %s, before at %s", e.Addr, addr)
	}

	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     []string{e.Addr},
		GroupID:     "tongxin-enginetest",
		Topic:       topic,
		StartOffset: kafka.FirstOffset,
		MaxWait:     500 * time.Millisecond,
		// The group coordinator is not available until __consumer_offsets
		// exists; retry sooner than kafka-go's default 5 s.
		JoinGroupBackoff: 200 * time.Millisecond,
	})
	defer r.Close()
	// A broker that just restarted answers "not coordinator" or "group load
	// in progress" for a moment; a client retries those.
	m, err := r.ReadMessage(ctx)
	for err != nil && ctx.Err() == nil && temporary(err) {
		t.Logf("reading after the restart: %v (retrying)", err)
		time.Sleep(200 * time.Millisecond)
		m, err = r.ReadMessage(ctx)
	}
	if err != nil {
		t.Fatalf("reading after the restart: %v", err)
	}
	if string(m.Key) != key || string(m.Value) != value {
		t.Fatalf("read key %q value %q, want key %q value %q", m.Key, m.Value, key, value)
	}
	t.Logf("consumed after the restart in %v", time.Since(begin).Round(time.Millisecond))
	if m.Offset != 0 {
		t.Errorf("read offset %d, want 0 (the only message)", m.Offset)
	}
}

// temporary reports whether err is a Kafka error the protocol says to retry.
func temporary(err error) bool {
	var ke kafka.Error
	return errors.As(err, &ke) && ke.Temporary()
}
