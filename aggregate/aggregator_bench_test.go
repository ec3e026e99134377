package aggregate_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/aggregate"
	"github.com/tongxin/tongxin/aggregate/rollup"
	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
)

// BenchmarkAggregate compares the aggregator with the raw kafka-go consume
// rate of the same topic, on the same engines in the same run.
//
// A 12-partition topic (the `tongxin` default) is filled beforehand with N
// snapshots (default 200000) of N/10 posts, polled in rounds as ingest does
// (ten snapshots per post, about 17 minutes apart, ~300-byte values). Then,
// alternating, each on a fresh consumer group:
//
//   - ours (snapshots/s): an Aggregator into a fresh, migrated ClickHouse
//     database, with BatchSize 50000 and FlushEvery 200ms (the best found
//     here; 100000 is about as fast, 20000 and below slower); the clock runs
//     from Run until the group has committed every partition to its end
//     (polled every 50ms). The same with the default Config (BatchSize 20000,
//     FlushEvery 1s) gives default-config-snapshots/s.
//   - raw (raw-snapshots/s): a kafka-go consumer-group Reader (the library's
//     own group member) that fetches every message and commits every
//     BatchSize messages and at the end, as the aggregator does; the clock
//     stops when its last commit returns. ratio is ours/raw.
//   - for reference, the same raw reader also decoding every message with
//     snapshot.Unmarshal (raw-decoding-snapshots/s), and decoding alone, in
//     one goroutine, before the runs (decode-us/snapshot).
//
// All include joining the group. Each is run reps times (TONGXIN_BENCH_AGG_REPS,
// default 2); the figures are medians, ratio the median of each repetition's
// ours/raw. After each aggregator run the warehouse invariant is checked
// (warehouse.Verify) and every snapshot must have been applied.
//
// The breakdown of the (tuned) aggregator's time comes from its own metrics:
// flush-s is the total time in flush (ledger load from ClickHouse, deltas,
// the INSERTs; the partition readers decode before), insert-snapshots-s and
// insert-hourly-s the time of the INSERTs; the rest of the wall time is
// waiting for Kafka.
//
// TONGXIN_BENCH_AGG_N, TONGXIN_BENCH_AGG_BATCH and TONGXIN_BENCH_AGG_FLUSH
// (a duration) override N, Config.BatchSize and Config.FlushEvery.
func BenchmarkAggregate(b *testing.B) {
	n := benchEnvInt("TONGXIN_BENCH_AGG_N", 200000)
	reps := benchEnvInt("TONGXIN_BENCH_AGG_REPS", 2)
	// tuned is what this benchmark found best on the local engines; the
	// aggregator's defaults (BatchSize 20000, FlushEvery 1s) run beside it.
	cfg := aggregate.Config{BatchSize: benchEnvInt("TONGXIN_BENCH_AGG_BATCH", 50000), FlushEvery: 200 * time.Millisecond}
	if d, err := time.ParseDuration(os.Getenv("TONGXIN_BENCH_AGG_FLUSH")); err == nil && d > 0 {
		cfg.FlushEvery = d
	}
	var defaults aggregate.Config
	const partitions, perPost = 12, 10
	brokers := topics.Brokers(enginetest.Kafka(b))
	chDSN := enginetest.ClickHouse(b)
	topic := fmt.Sprintf("bench.aggregate.%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := topics.Ensure(ctx, brokers, partitions, topic, topic+".dlq"); err != nil {
		b.Fatal(err)
	}
	msgs := benchMessages(b, n/perPost, perPost)
	var bytes int
	for _, m := range msgs {
		bytes += len(m.Value)
	}
	benchFill(b, brokers, topic, msgs)
	b.Logf("%d snapshots of %d posts (values %d bytes on average) in %d partitions; BatchSize %d, FlushEvery %v",
		n, n/perPost, bytes/len(msgs), partitions, cfg.BatchSize, cfg.FlushEvery)

	// Decoding alone, one goroutine: the floor of the aggregator's CPU per snapshot.
	runtime.GC()
	decStart := time.Now()
	for _, m := range msgs {
		if _, err := snapshot.Unmarshal(m.Value); err != nil {
			b.Fatal(err)
		}
	}
	decodeUS := float64(time.Since(decStart).Microseconds()) / float64(len(msgs))

	var ours, oursDef, raw, rawDec, ratio, ratioDef, flushS, insSnapS, insHourlyS []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for rep := 1; rep <= reps; rep++ {
			var o, od, r, rd float64
			var br, brd benchBreakdown
			runs := []func(){
				func() { r = benchConsumeRaw(b, brokers, topic, n, cfg.BatchSize, false) },
				func() { o, br = benchAggregate(b, brokers, chDSN, topic, n, cfg) },
				func() { rd = benchConsumeRaw(b, brokers, topic, n, cfg.BatchSize, true) },
				func() { od, brd = benchAggregate(b, brokers, chDSN, topic, n, defaults) },
			}
			for k := range runs {
				runs[(k+rep)%len(runs)]()
			}
			b.Logf("run %d: aggregator %.0f snapshots/s (%.1fs: flush %.1fs, of which INSERT snapshots %.1fs, INSERT post_hourly %.1fs; %d flushes); raw kafka-go group reader %.0f snapshots/s (%.0f decoding too); ratio %.2f",
				rep, o, br.wall, br.flush, br.insertSnapshots, br.insertHourly, br.flushes, r, rd, o/r)
			b.Logf("run %d: aggregator with the default Config %.0f snapshots/s (%.1fs: flush %.1fs, of which INSERT snapshots %.1fs, INSERT post_hourly %.1fs; %d flushes); ratio %.2f",
				rep, od, brd.wall, brd.flush, brd.insertSnapshots, brd.insertHourly, brd.flushes, od/r)
			ours, raw, rawDec, ratio = append(ours, o), append(raw, r), append(rawDec, rd), append(ratio, o/r)
			oursDef, ratioDef = append(oursDef, od), append(ratioDef, od/r)
			flushS, insSnapS, insHourlyS = append(flushS, br.flush), append(insSnapS, br.insertSnapshots), append(insHourlyS, br.insertHourly)
		}
	}
	b.StopTimer()
	b.ReportMetric(benchMedian(ours), "snapshots/s")
	b.ReportMetric(benchMedian(raw), "raw-snapshots/s")
	b.ReportMetric(benchMedian(ratio), "ratio")
	b.ReportMetric(benchMedian(oursDef), "default-config-snapshots/s")
	b.ReportMetric(benchMedian(ratioDef), "default-config-ratio")
	b.ReportMetric(benchMedian(rawDec), "raw-decoding-snapshots/s")
	b.ReportMetric(decodeUS, "decode-us/snapshot")
	b.ReportMetric(benchMedian(flushS), "flush-s")
	b.ReportMetric(benchMedian(insSnapS), "insert-snapshots-s")
	b.ReportMetric(benchMedian(insHourlyS), "insert-hourly-s")
}

type benchBreakdown struct {
	wall, flush, insertSnapshots, insertHourly float64
	flushes                                    uint64
}

// benchAggregate runs an aggregator over topic into a fresh database until
// its group has committed to the end, and returns its rate.
func benchAggregate(b *testing.B, brokers []string, chDSN, topic string, n int, cfg aggregate.Config) (float64, benchBreakdown) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dsn := enginetest.Database(b, chDSN)
	if _, err := warehouse.Migrate(ctx, dsn, benchQuiet); err != nil {
		b.Fatal(err)
	}
	conn, err := warehouse.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	group := fmt.Sprintf("bench-agg-%d", time.Now().UnixNano())
	reg := prometheus.NewRegistry()
	cfg.Brokers, cfg.Group, cfg.Topic, cfg.DeadLetterTopic = brokers, group, topic, topic+".dlq"
	cfg.Sink, cfg.Registerer, cfg.Log = sink.New(conn, reg), reg, benchQuiet
	rate, br := benchRunAggregator(b, aggregate.New(cfg), reg, brokers, group, topic, n)
	benchVerify(b, conn, n/10)
	return rate, br
}

// benchRunAggregator runs a until its group has committed topic to its end,
// checks every snapshot was applied, and returns its rate and breakdown.
func benchRunAggregator(b *testing.B, a *aggregate.Aggregator, reg *prometheus.Registry, brokers []string, group, topic string, n int) (float64, benchBreakdown) {
	b.Helper()
	ends := enginetest.EndOffsets(b, brokers, topic)
	runtime.GC()

	start := time.Now()
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(rctx) }()
	for !enginetest.Committed(brokers, group, topic, ends) {
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("group %s did not commit %s to its end within 10 minutes", group, topic)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wall := time.Since(start).Seconds()
	stop()
	if err := <-done; err != nil {
		b.Fatalf("aggregator: %v", err)
	}

	br := benchBreakdown{wall: wall}
	applied := 0.0
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			label := ""
			for _, l := range m.GetLabel() {
				label = l.GetValue()
			}
			switch mf.GetName() {
			case "tongxin_aggregate_flush_seconds":
				br.flush, br.flushes = m.GetHistogram().GetSampleSum(), m.GetHistogram().GetSampleCount()
			case "tongxin_aggregate_write_seconds":
				switch label {
				case "snapshots":
					br.insertSnapshots = m.GetHistogram().GetSampleSum()
				case "post_hourly":
					br.insertHourly = m.GetHistogram().GetSampleSum()
				}
			case "tongxin_aggregate_snapshots_total":
				if label == "applied" {
					applied = m.GetCounter().GetValue()
				}
			}
		}
	}
	if int(applied) != n {
		b.Fatalf("aggregator applied %v snapshots, want %d", applied, n)
	}
	return float64(n) / wall, br
}

// benchConsumeRaw reads topic to its end with kafka-go's own consumer-group
// Reader, committing every batch messages, and returns its rate; with decode
// it also decodes each message with snapshot.Unmarshal, in the same goroutine.
func benchConsumeRaw(b *testing.B, brokers []string, topic string, n, batch int, decode bool) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	group := fmt.Sprintf("bench-raw-%d", time.Now().UnixNano())
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: brokers, GroupID: group, Topic: topic, StartOffset: kafka.FirstOffset,
		MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 100 * time.Millisecond, QueueCapacity: 1000,
		HeartbeatInterval: time.Second, JoinGroupBackoff: time.Second,
	})
	defer r.Close()
	runtime.GC()

	start := time.Now()
	last := map[int]kafka.Message{} // per partition, the last fetched
	commit := func() {
		ms := make([]kafka.Message, 0, len(last))
		for _, m := range last {
			ms = append(ms, m)
		}
		if err := r.CommitMessages(ctx, ms...); err != nil {
			b.Fatal(err)
		}
		clear(last)
	}
	for got := 1; got <= n; got++ {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			b.Fatalf("raw group reader at %d of %d: %v", got-1, n, err)
		}
		if decode {
			if _, err := snapshot.Unmarshal(m.Value); err != nil {
				b.Fatal(err)
			}
		}
		last[m.Partition] = m
		if got%batch == 0 || got == n {
			commit()
		}
	}
	elapsed := time.Since(start).Seconds()
	if !enginetest.Committed(brokers, group, topic, enginetest.EndOffsets(b, brokers, topic)) {
		b.Fatalf("raw group %s did not commit to the end", group)
	}
	return float64(n) / elapsed
}

// benchMessages makes posts×perPost snapshots as ingest polls them: round
// after round, a snapshot of every post, ids in each platform's style.
func benchMessages(b *testing.B, posts, perPost int) []kafka.Message {
	b.Helper()
	rng := rand.New(rand.NewPCG(5, 8))
	t0 := time.Date(2026, 5, 10, 8, 0, 0, 0, time.UTC)
	type post struct {
		platform, id, account, amb string
		published                  time.Time
	}
	ps := make([]post, posts)
	for i := range ps {
		var k [16]byte
		binary.BigEndian.PutUint64(k[:8], 0x7a6f6e6778696e)
		binary.BigEndian.PutUint64(k[8:], uint64(i+1)*0x9E3779B97F4A7C15)
		p := post{platform: snapshot.Platforms[i%3], amb: fmt.Sprintf("amb%02d", 1+i%60),
			published: t0.Add(time.Duration(rng.IntN(5*24*3600)) * time.Second)}
		switch p.platform {
		case snapshot.Douyin:
			p.id, p.account = "@9VwKzu"+base64.StdEncoding.EncodeToString(k[:]), fmt.Sprintf("_000%028x", rng.Uint64())[:32]
		case snapshot.Weibo:
			p.id, p.account = fmt.Sprintf("50%014d", binary.BigEndian.Uint64(k[8:])%1e14), fmt.Sprintf("%010d", 4e9+rng.IntN(1e9))
		default:
			p.id, p.account = "export/UzFfAgtgekIEAQAAAAAA"+base64.RawURLEncoding.EncodeToString(k[:]), fmt.Sprintf("sph%011x", rng.Uint64()>>20)
		}
		ps[i] = p
	}
	out := make([]kafka.Message, 0, posts*perPost)
	c := snapshot.Counter
	for r := 0; r < perPost; r++ {
		for _, p := range ps {
			plays := int64(r)*int64(500+rng.IntN(5000)) + int64(rng.IntN(100))
			likes, comments, shares := plays/30, plays/400, plays/900
			s := snapshot.Snapshot{
				Schema: snapshot.SchemaVersion, Platform: p.platform, AmbassadorID: p.amb, AccountID: p.account,
				PostID: p.id, PublishedAt: p.published, Source: snapshot.SourceAPI,
				ObservedAt: p.published.Add(time.Duration(r+1)*17*time.Minute + time.Duration(rng.IntN(60000))*time.Millisecond),
			}
			switch p.platform {
			case snapshot.Douyin:
				s.Plays, s.Likes, s.Comments, s.Shares, s.Forwards, s.Downloads = c(plays), c(likes), c(comments), c(shares), c(shares/2), c(shares/5)
			case snapshot.Weibo:
				s.Likes, s.Comments, s.Shares = c(likes), c(comments), c(shares)
			default:
				s.Plays, s.Likes, s.Comments, s.Shares, s.Forwards, s.Recommends = c(plays), c(likes), c(comments), c(shares), c(shares/3), c(likes/4)
				cr, aw := 0.2+rng.Float64()*0.6, 3+rng.Float64()*40
				s.CompletionRate, s.AvgWatchSeconds = &cr, &aw
			}
			v, err := snapshot.Marshal(&s)
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, kafka.Message{Key: []byte(s.Key()), Value: v})
		}
	}
	return out
}

// benchFill writes msgs to topic (acks=all, keyed like the producer).
func benchFill(b *testing.B, brokers []string, topic string, msgs []kafka.Message) {
	b.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchSize: 1000, BatchBytes: 16 << 20, BatchTimeout: time.Millisecond}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i := 0; i < len(msgs); i += 5000 {
		if err := w.WriteMessages(ctx, msgs[i:min(i+5000, len(msgs))]...); err != nil {
			b.Fatal(err)
		}
	}
	var sum int64
	for _, e := range enginetest.EndOffsets(b, brokers, topic) {
		sum += e
	}
	if sum != int64(len(msgs)) {
		b.Fatalf("topic %s holds %d messages, want %d", topic, sum, len(msgs))
	}
}

// benchVerify checks the warehouse invariant for every post.
func benchVerify(b *testing.B, conn driver.Conn, posts int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n, bad, err := warehouse.Verify(ctx, conn)
	if err != nil {
		b.Fatal(err)
	}
	if len(bad) > 0 {
		b.Fatalf("invariant broken for %d post metrics, e.g. %v", len(bad), bad[0])
	}
	if n != posts {
		b.Fatalf("verified %d posts, want %d", n, posts)
	}
}

var benchQuiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func benchEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkAggregateVsPipeline compares the aggregator with the naive raw
// pipeline it replaces, on the same topic and engines in one run: a kafka-go
// consumer-group Reader, snapshot.Unmarshal, and a clickhouse-go batch
// INSERT of the raw snapshots (one Append per row) into raw_snapshots, a
// table made AS snapshots (same columns and engine, no views hanging off
// it), in batches of the aggregator's BatchSize, committing offsets after
// each INSERT. Both clocks run from the start until everything is committed.
//
// The aggregator does more for its rate: the ledger, exact hourly deltas
// (INSERT post_hourly), post facts (INSERT post_facts) and deduplication
// tokens; the pipeline only copies. ratio is the median of each round's
// aggregator/pipeline; rounds alternate their order. Profile it with
// -cpuprofile (both sides share the profile; pprof -focus separates them).
//
// Environment as BenchmarkAggregate (TONGXIN_BENCH_AGG_N, _BATCH, _FLUSH),
// rounds TONGXIN_BENCH_AGG_REPS (default 3).
func BenchmarkAggregateVsPipeline(b *testing.B) {
	benchHonest(b, false)
}

// BenchmarkAggregateNullSink compares the aggregator writing through a null
// sink (no ClickHouse: Load knows no post, writes are dropped) with the raw
// kafka-go consumer-group Reader decoding every message (snapshot.Unmarshal)
// and committing every BatchSize messages, on the same topic in one run:
// what the aggregator's own Kafka handling, decoding, validation and ledger
// cost against the least a consumer must do.
func BenchmarkAggregateNullSink(b *testing.B) {
	benchHonest(b, true)
}

func benchHonest(b *testing.B, null bool) {
	n := benchEnvInt("TONGXIN_BENCH_AGG_N", 200000)
	reps := benchEnvInt("TONGXIN_BENCH_AGG_REPS", 3)
	cfg := aggregate.Config{BatchSize: benchEnvInt("TONGXIN_BENCH_AGG_BATCH", 50000), FlushEvery: 200 * time.Millisecond}
	if d, err := time.ParseDuration(os.Getenv("TONGXIN_BENCH_AGG_FLUSH")); err == nil && d > 0 {
		cfg.FlushEvery = d
	}
	const partitions, perPost = 12, 10
	brokers := topics.Brokers(enginetest.Kafka(b))
	chDSN := enginetest.ClickHouse(b)
	topic := fmt.Sprintf("bench.honest.%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := topics.Ensure(ctx, brokers, partitions, topic, topic+".dlq"); err != nil {
		b.Fatal(err)
	}
	benchFill(b, brokers, topic, benchMessages(b, n/perPost, perPost))
	b.Logf("%d snapshots of %d posts in %d partitions; BatchSize %d, FlushEvery %v; null sink %v",
		n, n/perPost, partitions, cfg.BatchSize, cfg.FlushEvery, null)

	var ours, raw, ratio []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for rep := 1; rep <= reps; rep++ {
			var o, r float64
			var br benchBreakdown
			runs := []func(){
				func() {
					if null {
						o, br = benchAggregateNull(b, brokers, topic, n, cfg)
					} else {
						o, br = benchAggregate(b, brokers, chDSN, topic, n, cfg)
					}
				},
				func() {
					if null {
						r = benchConsumeRaw(b, brokers, topic, n, cfg.BatchSize, true)
					} else {
						r = benchPipeline(b, brokers, chDSN, topic, n, cfg.BatchSize)
					}
				},
			}
			for k := range runs {
				runs[(k+rep)%len(runs)]()
			}
			b.Logf("round %d: aggregator %.0f snapshots/s (%.1fs: flush %.1fs, of which INSERT snapshots %.1fs, INSERT post_hourly %.1fs; %d flushes); raw %.0f snapshots/s; ratio %.2f",
				rep, o, br.wall, br.flush, br.insertSnapshots, br.insertHourly, br.flushes, r, o/r)
			ours, raw, ratio = append(ours, o), append(raw, r), append(ratio, o/r)
		}
	}
	b.StopTimer()
	b.ReportMetric(benchMedian(ours), "snapshots/s")
	b.ReportMetric(benchMedian(raw), "raw-snapshots/s")
	b.ReportMetric(benchMedian(ratio), "ratio")
	b.ReportMetric(slices.Min(ratio), "ratio-min")
	b.ReportMetric(slices.Max(ratio), "ratio-max")
}

// nullSink is an aggregate.Warehouse that knows no post and keeps nothing.
type nullSink struct{}

func (nullSink) Load(context.Context, []string) (map[string]rollup.Applied, error) { return nil, nil }
func (nullSink) LoadPartitions(context.Context, []int, int) (map[string]rollup.Applied, error) {
	return nil, nil
}
func (nullSink) WriteSnapshots(context.Context, []*snapshot.Snapshot) error { return nil }
func (nullSink) WriteRollup(context.Context, []*rollup.HourRow) error       { return nil }
func (nullSink) WritePostFacts(context.Context, []*snapshot.Snapshot) error { return nil }

// benchAggregateNull runs an aggregator over topic into a null sink until its
// group has committed to the end, and returns its rate.
func benchAggregateNull(b *testing.B, brokers []string, topic string, n int, cfg aggregate.Config) (float64, benchBreakdown) {
	b.Helper()
	group := fmt.Sprintf("bench-null-%d", time.Now().UnixNano())
	reg := prometheus.NewRegistry()
	cfg.Brokers, cfg.Group, cfg.Topic, cfg.DeadLetterTopic = brokers, group, topic, topic+".dlq"
	cfg.Sink, cfg.Registerer, cfg.Log = nullSink{}, reg, benchQuiet
	return benchRunAggregator(b, aggregate.New(cfg), reg, brokers, group, topic, n)
}

// benchPipeline is the naive raw pipeline: consume with kafka-go's group
// Reader, decode, INSERT every batch messages into a table of the width of
// snapshots, then commit them. It returns its rate.
func benchPipeline(b *testing.B, brokers []string, chDSN, topic string, n, batch int) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dsn := enginetest.Database(b, chDSN)
	if _, err := warehouse.Migrate(ctx, dsn, benchQuiet); err != nil {
		b.Fatal(err)
	}
	conn, err := warehouse.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "CREATE TABLE raw_snapshots AS snapshots"); err != nil {
		b.Fatal(err)
	}
	insert := "INSERT INTO raw_snapshots (platform, ambassador_id, account_id, post_id, published_at, observed_at, state, " +
		strings.Join(snapshot.CounterNames(), ", ") + ", " + strings.Join(snapshot.GaugeNames(), ", ") + ", source)"
	group := fmt.Sprintf("bench-pipe-%d", time.Now().UnixNano())
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: brokers, GroupID: group, Topic: topic, StartOffset: kafka.FirstOffset,
		MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 100 * time.Millisecond, QueueCapacity: 1000,
		HeartbeatInterval: time.Second, JoinGroupBackoff: time.Second,
	})
	defer r.Close()
	runtime.GC()

	start := time.Now()
	last := map[int]kafka.Message{} // per partition, the last fetched
	var rows []*snapshot.Snapshot
	flush := func() {
		bt, err := conn.PrepareBatch(ctx, insert)
		if err != nil {
			b.Fatal(err)
		}
		row := make([]any, 0, 8+snapshot.NumCounters+len(snapshot.Gauges))
		for _, s := range rows {
			row = append(row[:0], s.Platform, s.AmbassadorID, s.AccountID, s.PostID, s.PublishedAt, s.ObservedAt, s.PostState())
			for c := range snapshot.Counters {
				row = append(row, snapshot.Counters[c].Get(&s.Metrics))
			}
			for g := range snapshot.Gauges {
				row = append(row, snapshot.Gauges[g].Get(&s.Metrics))
			}
			if err := bt.Append(append(row, s.Source)...); err != nil {
				b.Fatal(err)
			}
		}
		if err := bt.Send(); err != nil {
			b.Fatal(err)
		}
		ms := make([]kafka.Message, 0, len(last))
		for _, m := range last {
			ms = append(ms, m)
		}
		if err := r.CommitMessages(ctx, ms...); err != nil {
			b.Fatal(err)
		}
		clear(last)
		rows = rows[:0]
	}
	for got := 1; got <= n; got++ {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			b.Fatalf("pipeline at %d of %d: %v", got-1, n, err)
		}
		s, err := snapshot.Unmarshal(m.Value)
		if err != nil {
			b.Fatal(err)
		}
		rows = append(rows, s)
		last[m.Partition] = m
		if got%batch == 0 || got == n {
			flush()
		}
	}
	elapsed := time.Since(start).Seconds()
	if !enginetest.Committed(brokers, group, topic, enginetest.EndOffsets(b, brokers, topic)) {
		b.Fatalf("pipeline group %s did not commit to the end", group)
	}
	var count uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM raw_snapshots").Scan(&count); err != nil {
		b.Fatal(err)
	}
	if count != uint64(n) {
		b.Fatalf("raw_snapshots holds %d rows, want %d", count, n)
	}
	return float64(n) / elapsed
}
