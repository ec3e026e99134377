package producer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tongxin/tongxin/ingest/producer"
	"github.com/tongxin/tongxin/internal/embeddedkafka"
	"github.com/tongxin/tongxin/internal/enginetest"
)

// Close with Kafka unreachable keeps trying no longer than its context
// allows, and says how many snapshots were not delivered; after Close,
// Produce refuses rather than queue what nobody will deliver.
func TestCloseIsBoundedAndCountsWhatKafkaDidNotTake(t *testing.T) {
	p := producer.New(producer.Config{Brokers: []string{enginetest.FreeAddr(t)}, Topic: "test.close", Log: quietLog,
		DrainTimeout: time.Minute})
	p.Start()
	snaps := runnerStreams(makePosts(3, 1), 1, 1)[0]
	if err := p.Produce(context.Background(), snaps); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := p.Close(ctx)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Close took %v with a context of 500ms", took)
	}
	if err == nil || !strings.Contains(err.Error(), "not delivered") {
		t.Errorf("Close = %v, want an error saying snapshots were not delivered", err)
	}
	if again := p.Close(context.Background()); again == nil || again.Error() != err.Error() {
		t.Errorf("second Close = %v, want the first one's %v", again, err)
	}
	if err := p.Produce(context.Background(), snaps); !errors.Is(err, producer.ErrClosed) {
		t.Errorf("Produce after Close = %v, want ErrClosed", err)
	}
}

// Close is bounded also when a write was sent and Kafka never answers it:
// franz-go would wait for that answer forever rather than risk storing the
// write twice, so once delivery is abandoned the client is closed, and the
// snapshot is counted as not delivered.
func TestCloseIsBoundedWhenKafkaNeverAnswers(t *testing.T) {
	b, err := embeddedkafka.Start(embeddedkafka.WithTopic("test.close.silent", 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
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
	p := producer.New(producer.Config{Brokers: b.Addrs(), Topic: "test.close.silent", Log: quietLog,
		DrainTimeout: time.Second})
	p.Start()
	if err := p.Produce(context.Background(), runnerStreams(makePosts(1, 1), 1, 1)[0]); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sent:
	case <-time.After(30 * time.Second):
		t.Fatal("the producer never wrote")
	}
	closed := make(chan error, 1)
	go func() { closed <- p.Close(context.Background()) }()
	select {
	case err := <-closed:
		if err == nil || !strings.Contains(err.Error(), "1 snapshots not delivered") {
			t.Errorf("Close = %v, want an error saying 1 snapshot was not delivered", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close with a DrainTimeout of 1s has not returned after 30s")
	}
}
