package producer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/producer"
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
