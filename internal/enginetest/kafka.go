package enginetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// EndOffsets returns the end offset (the next offset to be written) of
// every partition of topic.
func EndOffsets(tb testing.TB, brokers []string, topic string) map[int]int64 {
	tb.Helper()
	// A broker restarted moments ago answers ListOffsets with transient
	// errors (unknown server error, not available) while it loads its
	// partitions: ask again for a while before calling it a failure.
	deadline := time.Now().Add(45 * time.Second) // wall
	for {
		ends, err := endOffsetsAt(&kafka.Client{Addr: kafka.TCP(brokers...)}, topic)
		if err == nil {
			return ends
		}
		if time.Now().After(deadline) {
			tb.Fatalf("end offsets of %s: %v", topic, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func endOffsetsAt(client *kafka.Client, topic string) (map[int]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	if len(meta.Topics) != 1 || meta.Topics[0].Error != nil {
		return nil, fmt.Errorf("no topic %s (%v)", topic, meta.Topics)
	}
	var req []kafka.OffsetRequest
	for _, p := range meta.Topics[0].Partitions {
		req = append(req, kafka.LastOffsetOf(p.ID))
	}
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: req}})
	if err != nil {
		return nil, err
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("partition %d: %w", p.Partition, p.Error)
		}
		out[p.Partition] = p.LastOffset
	}
	return out, nil
}

// ReadTopic reads every partition of topic from its start to its end.
func ReadTopic(tb testing.TB, brokers []string, topic string) map[int][]kafka.Message {
	tb.Helper()
	out := map[int][]kafka.Message{}
	for part, end := range EndOffsets(tb, brokers, topic) {
		if end == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: part, MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 100 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				cancel()
				r.Close()
				tb.Fatalf("reading %s/%d at %d of %d: %v", topic, part, len(out[part]), end, err)
			}
			out[part] = append(out[part], m)
			if m.Offset >= end-1 {
				break
			}
		}
		cancel()
		r.Close()
	}
	return out
}

// Committed reports whether group has committed every partition of topic
// up to ends (from EndOffsets).
func Committed(brokers []string, group, topic string, ends map[int]int64) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokers...)}
	ids := make([]int, 0, len(ends))
	for id := range ends {
		ids = append(ids, id)
	}
	got, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
	if err != nil {
		return false
	}
	committed := map[int]int64{}
	for _, p := range got.Topics[topic] {
		committed[p.Partition] = p.CommittedOffset
	}
	for id, end := range ends {
		if end > 0 && committed[id] < end {
			return false
		}
	}
	return true
}

// WaitCommitted waits until group has committed every partition of topic
// to its end: everything produced so far has been consumed and acknowledged.
func WaitCommitted(t testing.TB, brokers []string, group, topic string, within time.Duration) {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(brokers...)}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if ends, err := endOffsetsAt(client, topic); err == nil && Committed(brokers, group, topic, ends) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("group %s did not commit %s to its end within %v", group, topic, within)
}
