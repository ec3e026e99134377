package aggregate_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
)

// tongxin_aggregate_post_facts_total counts the facts of what was written,
// once: not those of a batch that ClickHouse never took (given up when the
// partitions moved, and read again by the next member), nor once per retry
// of a failing flush. ClickHouse fails for real here: the database the
// aggregators write to does not exist until the test migrates it.
func TestPostFactsCountedOnceWhenWritten(t *testing.T) {
	s := setupTopics(t)
	s.dsn = enginetest.Database(t, enginetest.ClickHouse(t)) // not created yet
	opts, err := warehouse.Options(s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts) // no ping: the database is missing
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	s.conn = conn

	// Facts on every snapshot: a title too long on every fifth, good ones
	// on the rest.
	snaps, _ := stream(12, 5, 11)
	var wantAccepted, wantRejected int
	goodPosts := map[string]bool{}
	var msgs []kafka.Message
	for i, sn := range snaps {
		if i%5 == 0 {
			sn.Facts = &snapshot.Facts{Title: strings.Repeat("山", snapshot.MaxTitleRunes+1)}
			wantRejected++
		} else {
			sn.Facts = snapshot.NewFacts(sn.Platform, fmt.Sprintf("西山的秋 %d #寻美西山", i), "https://weibo.com/1/2")
			wantAccepted++
			goodPosts[sn.Key()] = true
		}
		msgs = append(msgs, message(t, sn))
	}
	produce(t, s, msgs)
	group := "g-" + s.topic
	facts := func(reg *prometheus.Registry) float64 {
		return enginetest.MetricSum(t, reg, "tongxin_aggregate_post_facts_total")
	}
	waitFlushErrors := func(reg *prometheus.Registry) {
		t.Helper()
		deadline := time.Now().Add(time.Minute) // wall
		for enginetest.MetricSum(t, reg, "tongxin_aggregate_flush_errors_total") == 0 {
			if time.Now().After(deadline) {
				t.Fatal("no flush attempted within a minute")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// The first member reads the snapshots, fails to write them, and gives
	// the batch up when it stops: nothing of it is written or committed.
	first := prometheus.NewRegistry()
	stop := runAggregatorOn(t, s, group, first, conn, time.Second)
	waitFlushErrors(first)
	stop()
	if n := facts(first); n != 0 {
		t.Errorf("a member that wrote nothing counted %v post facts", n)
	}

	// The next member reads them again; its flush fails and is retried
	// until the database is there.
	second := prometheus.NewRegistry()
	stop = runAggregatorOn(t, s, group, second, conn, 0)
	waitFlushErrors(second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // wall
	defer cancel()
	if _, err := warehouse.Migrate(ctx, s.dsn, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitCommitted(t, s.brokers, group, s.topic, 2*time.Minute)
	stop()
	verify(t, s, 12)

	accepted := outcomeOf(t, first, "tongxin_aggregate_post_facts_total", "accepted") + outcomeOf(t, second, "tongxin_aggregate_post_facts_total", "accepted")
	rejected := outcomeOf(t, first, "tongxin_aggregate_post_facts_total", "rejected") + outcomeOf(t, second, "tongxin_aggregate_post_facts_total", "rejected")
	if accepted != float64(wantAccepted) || rejected != float64(wantRejected) {
		t.Errorf("tongxin_aggregate_post_facts_total over both members: %v accepted, %v rejected; want %d and %d (each snapshot's facts once)",
			accepted, rejected, wantAccepted, wantRejected)
	}
	var posts uint64
	if err := s.conn.QueryRow(ctx, "SELECT uniqExact(platform, post_id) FROM post_facts").Scan(&posts); err != nil {
		t.Fatal(err)
	}
	if posts != uint64(len(goodPosts)) {
		t.Errorf("post_facts holds facts of %d posts, want %d", posts, len(goodPosts))
	}
}

// outcomeOf reads counter name{outcome=want} from reg.
func outcomeOf(t *testing.T, reg *prometheus.Registry, name, want string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == want {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
