package enginetest

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// WaitCommitted waits until group has committed every partition of topic
// to its end: everything produced so far has been consumed and acknowledged.
func WaitCommitted(t testing.TB, brokers []string, group, topic string, within time.Duration) {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(brokers...)}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if committedToEnd(client, group, topic) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("group %s did not commit %s to its end within %v", group, topic, within)
}

func committedToEnd(client *kafka.Client, group, topic string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil || len(meta.Topics) != 1 {
		return false
	}
	var req []kafka.OffsetRequest
	var ids []int
	for _, p := range meta.Topics[0].Partitions {
		req = append(req, kafka.LastOffsetOf(p.ID))
		ids = append(ids, p.ID)
	}
	ends, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: req}})
	if err != nil {
		return false
	}
	got, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
	if err != nil {
		return false
	}
	committed := map[int]int64{}
	for _, p := range got.Topics[topic] {
		committed[p.Partition] = p.CommittedOffset
	}
	for _, p := range ends.Topics[topic] {
		if p.LastOffset > 0 && committed[p.Partition] < p.LastOffset {
			return false
		}
	}
	return true
}
