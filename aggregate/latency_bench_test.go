package aggregate_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/aggregate"
	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/ingest/producer"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
)

// BenchmarkEndToEnd measures, at 100× the seed campaign (5,000 accounts of
// 3 posts each), how long a snapshot takes from being observed to being
// queryable in ClickHouse: the ingest producer (default Config) writes to a
// 12-partition topic, an aggregator with the default Config (BatchSize
// 20000, FlushEvery 1s) writes into a fresh, migrated database, and a
// poller asks the engine every 250ms which snapshots it holds.
//
// Load (all wall time): every post is polled once a minute, spread evenly
// in waves 250ms apart (15,000 posts: 250 snapshots/s, 62-63 a wave); each
// wave's snapshots are observed at the wave's instant, to the millisecond,
// and produced then. A wave's latency is from that instant until a poll
// sees all its rows in snapshots (post_hourly is written in the same flush,
// right after); every snapshot of the wave counts with that latency. The
// poll period adds up to 250ms. Waves produced before any wave was seen whole
// (the group joining) are not counted.
//
// TONGXIN_BENCH_E2E_ACCOUNTS (default 5000) and TONGXIN_BENCH_E2E_SECONDS
// (measured wall seconds, default 60) override the size and the duration.
func BenchmarkEndToEnd(b *testing.B) {
	accounts := benchEnvInt("TONGXIN_BENCH_E2E_ACCOUNTS", 5000)
	seconds := benchEnvInt("TONGXIN_BENCH_E2E_SECONDS", 60)
	const postsPerAccount, partitions = 3, 12
	const wave, poll, round = 250 * time.Millisecond, 250 * time.Millisecond, time.Minute // wall time
	posts := accounts * postsPerAccount
	brokers := topics.Brokers(enginetest.Kafka(b))
	chDSN := enginetest.ClickHouse(b)
	topic := fmt.Sprintf("bench.e2e.%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds)*time.Second+5*time.Minute)
	defer cancel()
	if err := topics.Ensure(ctx, brokers, partitions, topic, topic+".dlq"); err != nil {
		b.Fatal(err)
	}
	dsn := enginetest.Database(b, chDSN)
	if _, err := warehouse.Migrate(ctx, dsn, benchQuiet); err != nil {
		b.Fatal(err)
	}
	conn, err := warehouse.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()

	// One snapshot per post as ingest would observe it; each wave re-observes
	// its share with counters moved on.
	var templates []*snapshot.Snapshot
	for _, m := range benchMessages(b, posts, 1) {
		s, err := snapshot.Unmarshal(m.Value)
		if err != nil {
			b.Fatal(err)
		}
		templates = append(templates, s)
	}

	reg := prometheus.NewRegistry()
	a := aggregate.New(aggregate.Config{Brokers: brokers, Group: fmt.Sprintf("bench-e2e-%d", time.Now().UnixNano()),
		Topic: topic, DeadLetterTopic: topic + ".dlq", Sink: sink.New(conn, reg), Registerer: reg, Log: benchQuiet})
	actx, stopAgg := context.WithCancel(ctx)
	aggDone := make(chan error, 1)
	go func() { aggDone <- a.Run(actx) }()
	defer func() {
		stopAgg()
		if err := <-aggDone; err != nil {
			b.Errorf("aggregator: %v", err)
		}
	}()
	p := producer.New(producer.Config{Brokers: brokers, Topic: topic, DeadLetterTopic: topic + ".dlq", Log: benchQuiet,
		Registerer: prometheus.NewRegistry()})
	p.Start()
	defer p.Close(context.Background())

	type sent struct {
		at time.Time // observed, to the millisecond
		n  int
	}
	perWave := posts / int(round/wave)
	var waves []sent
	next, counted := 0, -1 // next post to observe; first wave counted
	var lat []time.Duration
	seen := map[int64]uint64{}
	var since time.Time
	b.ResetTimer()
	start := time.Now()
	produce := time.NewTicker(wave)
	defer produce.Stop()
	check := time.NewTicker(poll)
	defer check.Stop()
	end := start.Add(time.Duration(seconds) * time.Second)
	// Active parts per table partition, sampled every 5 s (wall): what
	// ClickHouse's parts_to_delay_insert (1,000) would be measured against.
	peakParts, checks := map[string]uint64{}, 0
	sampleParts := func() {
		rows, err := conn.Query(ctx, "SELECT table, max(n) FROM (SELECT table, partition, count() AS n FROM system.parts "+
			"WHERE database = currentDatabase() AND active GROUP BY table, partition) GROUP BY table")
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var table string
			var n uint64
			if err := rows.Scan(&table, &n); err != nil {
				b.Fatal(err)
			}
			peakParts[table] = max(peakParts[table], n)
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
	}
	for done := 0; ; {
		select {
		case now := <-produce.C:
			if now.After(end) {
				break
			}
			at := now.UTC().Truncate(time.Millisecond)
			batch := make([]snapshot.Snapshot, 0, perWave)
			for range perWave {
				s := *templates[next%posts]
				s.ObservedAt = at
				if s.Likes != nil { // moved on since the last round
					likes := *s.Likes + int64(len(waves))
					s.Likes = &likes
				}
				batch = append(batch, s)
				next++
			}
			if since.IsZero() {
				since = at
			}
			if err := p.Produce(ctx, batch); err != nil {
				b.Fatal(err)
			}
			waves = append(waves, sent{at: at, n: len(batch)})
		case <-check.C:
			if checks++; checks%int(5*time.Second/poll) == 0 {
				sampleParts()
			}
			rows, err := conn.Query(ctx, "SELECT toUnixTimestamp64Milli(observed_at), count() FROM snapshots WHERE observed_at >= ? GROUP BY 1", since)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var ms int64
				var n uint64
				if err := rows.Scan(&ms, &n); err != nil {
					b.Fatal(err)
				}
				seen[ms] = n
			}
			if err := rows.Err(); err != nil {
				b.Fatal(err)
			}
			rows.Close()
			now := time.Now()
			for done < len(waves) && seen[waves[done].at.UnixMilli()] >= uint64(waves[done].n) {
				if counted < 0 {
					// The group has joined: count the waves produced from now on.
					counted = len(waves)
				}
				if done >= counted {
					for range waves[done].n {
						lat = append(lat, now.Sub(waves[done].at))
					}
				}
				done++
			}
			if now.After(end) && done == len(waves) {
				b.StopTimer()
				slices.Sort(lat)
				if len(lat) == 0 {
					b.Fatal("no wave was measured")
				}
				q := func(f float64) float64 { return lat[min(len(lat)-1, int(f*float64(len(lat))))].Seconds() }
				b.Logf("%d accounts, %d posts, %d snapshots/s for %ds: %d waves, %d counted (%d snapshots); latency p50 %.2fs, p99 %.2fs, max %.2fs",
					accounts, posts, perWave*int(time.Second/wave), seconds, len(waves), len(waves)-counted, len(lat), q(0.5), q(0.99), lat[len(lat)-1].Seconds())
				b.Logf("peak active parts in one partition, sampled every 5 s: snapshots %d, post_hourly %d, post_facts %d",
					peakParts["snapshots"], peakParts["post_hourly"], peakParts["post_facts"])
				b.ReportMetric(float64(max(peakParts["snapshots"], peakParts["post_hourly"])), "peak-parts")
				b.ReportMetric(q(0.5), "p50-s")
				b.ReportMetric(q(0.99), "p99-s")
				b.ReportMetric(float64(perWave*int(time.Second/wave)), "snapshots/s")
				return
			}
			if now.After(end.Add(3 * time.Minute)) {
				b.Fatalf("%d of %d waves queryable 3 minutes after the last was produced", done, len(waves))
			}
		}
	}
}
