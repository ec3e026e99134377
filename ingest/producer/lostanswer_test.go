package producer_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/ingest/producer"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
)

// A write the broker stored but whose answer was lost is stored once, however
// long the broker then takes. This is what a leader killed mid-request does
// (the CI run that found it killed the active controller): the write reached
// the followers, the connection died before the answer, the retry met a
// broker that was not the leader yet, and by then the write was older than
// franz-go's delivery timeout, which we had set to 5 s. franz-go failed it
// (an answer had come, so it judged that safe), we sent it again, and Kafka
// stored it twice.
//
// kfake plays that broker exactly (enginetest.LoseFirstAnswer): the first
// request is stored and its answer lost; the writes of the next 8 s (the
// retry, and another post's snapshot on the same partition) are answered
// NOT_LEADER_OR_FOLLOWER. Meanwhile the producer must say Kafka is failing: 8 s
// with nothing answered is a stall, counted and logged.
func TestWriteWhoseAnswerWasLostIsStoredOnce(t *testing.T) {
	const topic = "test.producer.lostanswer"
	b, replayErr := enginetest.LostAnswerBroker(t, topic, 8*time.Second)

	var logged enginetest.Buffer
	reg := prometheus.NewRegistry()
	p := producer.New(producer.Config{Brokers: b.Addrs(), Topic: topic, DrainTimeout: 10 * time.Second,
		Log: logged.Logger(), Registerer: reg})
	p.Start()
	t.Cleanup(func() { p.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(31, 32))
	posts := makePosts(2, 31)
	a, b2 := snapshotOf(posts[0], 0, rng), snapshotOf(posts[1], 0, rng)
	if err := p.Produce(ctx, []snapshot.Snapshot{a}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-replayErr:
		if err != nil {
			t.Fatalf("the broker did not store the first write: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the producer never wrote")
	}
	// Another post's snapshot, on the same partition, while the first
	// waits for its answer.
	if err := p.Produce(ctx, []snapshot.Snapshot{b2}); err != nil {
		t.Fatal(err)
	}
	waitProduced(t, reg, 2, 30*time.Second, 20*time.Millisecond)
	if err := p.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	checkOncePerKeyInOrder(t, enginetest.ReadTopic(t, b.Addrs(), topic), [][]snapshot.Snapshot{{a, b2}})

	if got := enginetest.MetricSum(t, reg, "tongxin_ingest_producer_errors_total"); got < 1 {
		t.Errorf("tongxin_ingest_producer_errors_total = %v after 8 s without an answer, want at least 1", got)
	}
	if !strings.Contains(logged.String(), "no answer from Kafka") {
		t.Errorf("the log does not say Kafka stopped answering:\n%s", logged.String())
	}
}
