package aggregate_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/aggregate"
	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
)

// Absurd values at the aggregator, judged on the campaign clock: a
// snapshot from 2099 does not freeze its post, a snapshot ahead of the
// campaign clock (though long past on the wall clock) is refused, a
// counter near MaxInt64 does not corrupt the totals, and a 300-byte id
// does not land in ClickHouse. Each goes to the dead-letter topic with a
// short reason; everything else is applied.
func TestAbsurdValuesDeadLetteredOnCampaignClock(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Kafka and ClickHouse")
	}
	s := setup(t)
	campaignNow := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) // the simulated campaign's clock, a month behind the wall
	snap := func(post string, observed time.Time, plays int64) *snapshot.Snapshot {
		return &snapshot.Snapshot{Schema: 1, Platform: snapshot.Douyin, AmbassadorID: "amb07", AccountID: "_000b92FFEF590F63E7aEc82CACD026c",
			PostID: post, PublishedAt: campaignNow.Add(-48 * time.Hour), ObservedAt: observed, Source: snapshot.SourceSim,
			Metrics: snapshot.Metrics{Plays: snapshot.Counter(plays)}}
	}
	const a, b, c = "@9VwKzuAAAA==", "@9VwKzuBBBB==", "@9VwKzuCCCC=="
	long := "@9VwKzu" + strings.Repeat("D", 293)
	msgs := []kafka.Message{
		message(t, snap(a, campaignNow.Add(-2*time.Hour), 100)),
		message(t, snap(a, time.Date(2099, 5, 10, 6, 30, 0, 0, time.UTC), 999_999)), // an export named 2099
		message(t, snap(a, campaignNow.Add(-time.Hour), 200)),                       // must still apply
		message(t, snap(b, campaignNow.Add(30*time.Minute), 50)),                    // ahead of the campaign clock
		message(t, snap(c, campaignNow.Add(-time.Hour), math.MaxInt64)),
		message(t, snap(c, campaignNow.Add(-30*time.Minute), 5)),
		message(t, snap(long, campaignNow.Add(-time.Hour), 7)),
	}
	produce(t, s, msgs)

	ctx, cancel := context.WithCancel(context.Background())
	reg := prometheus.NewRegistry()
	agg := aggregate.New(aggregate.Config{
		Brokers: s.brokers, Group: "g-" + s.topic, Topic: s.topic, DeadLetterTopic: s.dlq,
		Sink: sink.New(s.conn, reg), Registerer: reg, Log: quiet, Clock: clock.NewManual(campaignNow),
		BatchSize: 700, FlushEvery: 100 * time.Millisecond, SessionTimeout: 6 * time.Second,
	})
	var runErr error
	stopped := make(chan struct{})
	go func() { runErr = agg.Run(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
	enginetest.WaitCommitted(t, s.brokers, "g-"+s.topic, s.topic, 2*time.Minute)
	cancel()
	<-stopped
	if runErr != nil {
		t.Errorf("aggregator: %v", runErr)
	}

	verify(t, s, 2) // a and c
	var plays int64
	if err := s.conn.QueryRow(context.Background(), "SELECT sum(plays) FROM post_hourly").Scan(&plays); err != nil {
		t.Fatal(err)
	}
	if plays != 205 {
		t.Errorf("sum(plays) over post_hourly is %d, want 205 (a's 200 and c's 5)", plays)
	}

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: s.brokers, Topic: s.dlq, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	var reasons []string
	for len(reasons) < 4 {
		m, err := r.ReadMessage(rctx)
		if err != nil {
			t.Fatalf("dead letters read so far %q: %v", reasons, err)
		}
		for _, h := range m.Headers {
			if h.Key == "tongxin-error" {
				reasons = append(reasons, string(h.Value))
				if len(h.Value) > 1024 {
					t.Errorf("a %d-byte reason: %.120s…", len(h.Value), h.Value)
				}
			}
		}
	}
	all := strings.Join(reasons, "\n")
	for _, want := range []string{
		"observed_at: 2099-05-10T06:30:00Z is after 2026-11-01T00:10:00Z",
		"observed_at: 2026-11-01T00:30:00Z is after 2026-11-01T00:10:00Z",
		"plays: 9223372036854775807 is beyond the plausible 1000000000000 for douyin",
		"post_id: \"@9VwKzuDDDD",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no dead letter says %q; reasons:\n%s", want, all)
		}
	}
}
