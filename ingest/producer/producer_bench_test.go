package producer_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tongxin/tongxin/ingest/producer"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/kafkaconn"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
)

// BenchmarkProduce compares producer.Producer with the raw client libraries on
// the same broker in the same run, as rates of snapshots acknowledged by
// Kafka (acks=all), N snapshots (default 200000, of 20000 posts) each:
//
//   - ours (snapshots/s): three goroutines, one per platform runner, call
//     Produce a page of 20 snapshots at a time; the clock stops when the
//     producer's tongxin_ingest_snapshots_produced_total reaches N.
//   - raw franz-go (raw-franz-snapshots/s), the fair baseline since the
//     producer runs on franz-go: one goroutine sends the same keys and
//     values, encoded beforehand, in batches of the producer's BatchSize
//     (1000), each with a synchronous ProduceSync on a kgo.Client with the
//     producer's settings (idempotent, acks=all, uncompressed, 1 MiB record
//     batches, BatchSize records buffered, the default key partitioner).
//     ratio-vs-franz is ours/that.
//   - raw kafka-go (raw-snapshots/s), the baseline before the producer moved
//     to franz-go: one goroutine writes the same keys and values,
//     encoded beforehand, in batches of the producer's BatchSize (1000), each
//     with a synchronous WriteMessages on a Writer configured like the
//     producer's (RequireAll, Murmur2Balancer, same batch limits; not
//     idempotent: kafka-go cannot be). ratio is ours/raw.
//   - raw encoding in the loop (raw-encoding-snapshots/s): the same, but
//     encoding each batch with snapshot.Marshal before writing it, the work
//     Produce does; ratio-vs-encoding is ours/that.
//
// Each topic is fresh, with 12 partitions (the `tongxin` default), has a
// leader for each partition before the clock starts (else the first run
// to write waits out the election, which raw runs hide behind encoding
// beforehand), and is checked to hold exactly N messages afterwards. The four run one after the
// other, in a rotating order, five times; the reported figures are medians,
// the ratios medians of each repetition's own ratios (its runs saw much the
// same machine load).
//
// TONGXIN_BENCH_PRODUCE_N overrides N.
func BenchmarkProduce(b *testing.B) {
	n := 200000
	if v, err := strconv.Atoi(os.Getenv("TONGXIN_BENCH_PRODUCE_N")); err == nil && v > 0 {
		n = v
	}
	const partitions, batchSize, rounds, page, reps = 12, 1000, 10, 20, 5
	brokers := topics.Brokers(enginetest.Kafka(b))
	streams := runnerStreams(makePosts(n/rounds, 42), rounds, 43)
	var keyBytes, valueBytes, sampled int
	for _, st := range streams {
		for i := range st[:min(len(st), 1000)] {
			v, _ := snapshot.Marshal(&st[i])
			keyBytes, valueBytes, sampled = keyBytes+len(st[i].Key()), valueBytes+len(v), sampled+1
		}
	}
	b.Logf("%d snapshots of %d posts (values %d bytes, keys %d bytes on average), %d partitions, batches of %d",
		n, n/rounds, valueBytes/sampled, keyBytes/sampled, partitions, batchSize)

	var ours, raw, rawEnc, franz, ratio, ratioEnc, ratioFranz []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for rep := 1; rep <= reps; rep++ {
			// Rotate the order, so that no one of them always runs first.
			var o, r, re, f float64
			runs := []func(){
				func() { o = produceOurs(b, brokers, partitions, batchSize, page, streams, n) },
				func() { f = produceRawFranz(b, brokers, partitions, batchSize, streams, n) },
				func() { r = produceRaw(b, brokers, partitions, batchSize, streams, n, true) },
				func() { re = produceRaw(b, brokers, partitions, batchSize, streams, n, false) },
			}
			for k := range runs {
				runs[(k+rep)%len(runs)]()
			}
			b.Logf("run %d: producer %.0f snapshots/s; raw franz-go %.0f (same settings, pre-encoded), ratio %.2f; raw kafka-go %.0f (pre-encoded), %.0f (encoding in the loop), ratios %.2f, %.2f",
				rep, o, f, o/f, r, re, o/r, o/re)
			ours, raw, rawEnc, franz = append(ours, o), append(raw, r), append(rawEnc, re), append(franz, f)
			ratio, ratioEnc, ratioFranz = append(ratio, o/r), append(ratioEnc, o/re), append(ratioFranz, o/f)
		}
	}
	b.StopTimer()
	b.ReportMetric(median(ours), "snapshots/s")
	b.ReportMetric(median(franz), "raw-franz-snapshots/s")
	b.ReportMetric(median(ratioFranz), "ratio-vs-franz")
	b.ReportMetric(median(raw), "raw-snapshots/s")
	b.ReportMetric(median(ratio), "ratio")
	b.ReportMetric(median(rawEnc), "raw-encoding-snapshots/s")
	b.ReportMetric(median(ratioEnc), "ratio-vs-encoding")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// produceOurs returns the rate at which producer.Producer had N snapshots
// acknowledged.
func produceOurs(b *testing.B, brokers []string, partitions, batchSize, page int, streams [][]snapshot.Snapshot, n int) float64 {
	b.Helper()
	topic := benchTopic(b, brokers, partitions, "bench.producer.ours")
	reg := prometheus.NewRegistry()
	p := producer.New(producer.Config{Brokers: brokers, Topic: topic, BatchSize: batchSize, Log: quietLog, Registerer: reg})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runtime.GC()

	start := time.Now()
	p.Start()
	defer p.Close(ctx)
	produced := make(chan error, 1)
	go func() { produced <- produceStreams(ctx, p, streams, page) }()
	waitProduced(b, reg, int64(n), 5*time.Minute, 5*time.Millisecond)
	elapsed := time.Since(start)

	if err := <-produced; err != nil {
		b.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		b.Fatalf("Close: %v", err)
	}
	checkEnd(b, brokers, topic, n)
	return float64(n) / elapsed.Seconds()
}

// produceRaw returns the rate of the raw kafka-go Writer on the same work.
func produceRaw(b *testing.B, brokers []string, partitions, batchSize int, streams [][]snapshot.Snapshot, n int, preEncoded bool) float64 {
	b.Helper()
	topic := benchTopic(b, brokers, partitions, "bench.producer.raw")
	w := &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: topic,
		Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll,
		BatchSize: batchSize, BatchBytes: 16 << 20, BatchTimeout: time.Millisecond,
		WriteTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	order := interleave(streams, n)
	encode := func(s *snapshot.Snapshot) kafka.Message {
		v, err := snapshot.Marshal(s)
		if err != nil {
			b.Fatal(err)
		}
		return kafka.Message{Key: []byte(s.Key()), Value: v}
	}
	var encoded []kafka.Message
	if preEncoded {
		encoded = make([]kafka.Message, len(order))
		for i, s := range order {
			encoded[i] = encode(s)
		}
	}
	batch := make([]kafka.Message, 0, batchSize)
	runtime.GC()

	start := time.Now()
	for i := 0; i < len(order); i += batchSize {
		j := min(i+batchSize, len(order))
		if preEncoded {
			batch = encoded[i:j]
		} else {
			batch = batch[:0]
			for _, s := range order[i:j] {
				batch = append(batch, encode(s))
			}
		}
		if err := w.WriteMessages(ctx, batch...); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	checkEnd(b, brokers, topic, n)
	return float64(n) / elapsed.Seconds()
}

// produceRawFranz returns the rate of a raw franz-go client with the
// producer's settings on the same work, sent in order as produceRaw does.
func produceRawFranz(b *testing.B, brokers []string, partitions, batchSize int, streams [][]snapshot.Snapshot, n int) float64 {
	b.Helper()
	topic := benchTopic(b, brokers, partitions, "bench.producer.franz")
	var plain *kafkaconn.Settings // plaintext, as the producer's Config.Kafka nil
	client, err := plain.Client(brokers,
		kgo.MaxBufferedRecords(batchSize),
		kgo.ProducerBatchMaxBytes(1<<20),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	)
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	recs := make([]*kgo.Record, 0, n)
	for _, s := range interleave(streams, n) {
		v, err := snapshot.Marshal(s)
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(s.Key()), Value: v})
	}
	runtime.GC()

	start := time.Now()
	for i := 0; i < len(recs); i += batchSize {
		if err := client.ProduceSync(ctx, recs[i:min(i+batchSize, len(recs))]...).FirstErr(); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	checkEnd(b, brokers, topic, n)
	return float64(n) / elapsed.Seconds()
}

// benchTopic creates a private topic and waits until each of its
// partitions has a leader.
func benchTopic(b *testing.B, brokers []string, partitions int, prefix string) string {
	b.Helper()
	topic := newTopic(b, brokers, partitions, prefix)
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for {
		meta, err := client.Metadata(context.Background(), &kafka.MetadataRequest{Topics: []string{topic}})
		led := 0
		if err == nil {
			for _, t := range meta.Topics {
				for _, p := range t.Partitions {
					if t.Error == nil && p.Error == nil && p.Leader.ID >= 0 {
						led++
					}
				}
			}
		}
		if led == partitions {
			return topic
		}
		if time.Now().After(deadline) {
			b.Fatalf("topic %s: %d of %d partitions have a leader after a minute (%v)", topic, led, partitions, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// interleave returns the first n snapshots of streams in the order the
// three runners' pages reach Kafka: one of each in turn.
func interleave(streams [][]snapshot.Snapshot, n int) []*snapshot.Snapshot {
	order := make([]*snapshot.Snapshot, 0, n)
	for i := 0; len(order) < n; i++ {
		for _, st := range streams {
			if i < len(st) && len(order) < n {
				order = append(order, &st[i])
			}
		}
	}
	return order
}

// checkEnd fails unless topic holds exactly n messages.
func checkEnd(b *testing.B, brokers []string, topic string, n int) {
	b.Helper()
	var sum int64
	for _, end := range enginetest.EndOffsets(b, brokers, topic) {
		sum += end
	}
	if sum != int64(n) {
		b.Fatalf("topic %s holds %d messages, want %d", topic, sum, n)
	}
}
