package producer_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/ingest/producer"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
)

// Snapshots the broker refuses for good, each carrying an ordinary post's
// key, arrive while many others are in flight: few posts on few partitions,
// so the refused one's partition holds other posts' snapshots in flight and
// its own post's next snapshot is right behind it. Each refused snapshot is
// dead-lettered once; every other snapshot arrives once, each post's in the
// order produced (none overtakes a refused neighbour that was sent again),
// and nothing else is dead-lettered.
func TestRefusalWhileOthersInFlightKeepsOrderAndLosesNothing(t *testing.T) {
	brokers, topic, dlq := refusingTopics(t, 2, "test.producer.inflight")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// 30 posts, 400 rounds: 12000 snapshots; a post comes again every 10
	// snapshots of its runner, well within the 400 the producer keeps in
	// flight.
	streams := runnerStreams(makePosts(30, 8), 400, 9)
	var want int64
	hostile := make([][]snapshot.Snapshot, len(streams))
	poisons := map[string]int{} // value → how many
	for i, st := range streams {
		want += int64(len(st))
		for j := range st {
			if j > 0 && j%50 == 0 {
				// A 40 KB twin of the snapshot it precedes: same post,
				// so same key and partition, over the topic's limit.
				bad := st[j]
				bad.AmbassadorID = strings.Repeat(fmt.Sprint(j%10), 40<<10)
				hostile[i] = append(hostile[i], bad)
				v, err := snapshot.Marshal(&bad)
				if err != nil {
					t.Fatal(err)
				}
				poisons[string(v)]++
			}
			hostile[i] = append(hostile[i], st[j])
		}
	}

	reg := prometheus.NewRegistry()
	p := producer.New(producer.Config{Brokers: brokers, Topic: topic, DeadLetterTopic: dlq, BatchSize: 400, Buffer: 2000,
		DrainTimeout: 2 * time.Second, Log: quietLog, Registerer: reg})
	p.Start()
	t.Cleanup(func() { p.Close(context.Background()) })
	if err := produceStreams(ctx, p, hostile, 10); err != nil {
		t.Fatal(err)
	}
	waitProduced(t, reg, want, 2*time.Minute, 20*time.Millisecond)
	if err := p.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	checkOncePerKeyInOrder(t, enginetest.ReadTopic(t, brokers, topic), streams)

	dead := deadLetters(t, brokers, dlq)
	if len(dead) != len(poisons) {
		t.Errorf("%d dead letters, want the %d refused snapshots", len(dead), len(poisons))
	}
	for _, d := range dead {
		if poisons[string(d.Value)]--; poisons[string(d.Value)] < 0 {
			t.Errorf("dead letter %q (%d bytes) is not one of the refused snapshots, or came twice", d.Key, len(d.Value))
		}
	}
	if got := enginetest.MetricSum(t, reg, "tongxin_ingest_producer_dead_letters_total"); got != float64(len(dead)) || len(dead) == 0 {
		t.Errorf("tongxin_ingest_producer_dead_letters_total = %v, want the %d dead letters", got, len(dead))
	}
}
