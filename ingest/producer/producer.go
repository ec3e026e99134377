// Package producer carries snapshots to Kafka: keyed <platform>:<post_id> so
// one post's snapshots stay in one partition and in order, batched, acked by
// all in-sync replicas. When Kafka is down, Produce blocks once the bounded
// buffer is full, so polling waits instead of anything being dropped.
package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/internal/service"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
)

// Config tunes a Producer.
type Config struct {
	Brokers []string
	Topic   string // default tongxin.snapshots.v1
	// BatchSize is the most messages one write carries (default 1000);
	// Linger is how long a batch waits to fill (default 20ms). Linger and
	// DrainTimeout are wall time, as are the Kafka timeouts and backoffs:
	// Kafka answers in real seconds whatever --speed.
	BatchSize int
	Linger    time.Duration
	// Buffer is how many snapshots may wait for Kafka before Produce blocks
	// (default 10000); one batch being retried is held besides.
	Buffer int
	// DrainTimeout bounds how long Run keeps delivering the buffer after its
	// context ends (default 10s).
	DrainTimeout time.Duration
	Log          *slog.Logger
	Registerer   prometheus.Registerer
}

// Producer delivers snapshots to Kafka in the background of Run.
type Producer struct {
	// Writes tracks failing Kafka writes, for /healthz.
	Writes  service.Trouble
	cfg     Config
	w       *kafka.Writer
	queue   chan kafka.Message
	log     *slog.Logger
	metrics struct {
		produced *prometheus.CounterVec
		errors   prometheus.Counter
		buffered prometheus.GaugeFunc
		batch    prometheus.Histogram
	}
}

// New returns a Producer; call Run to deliver.
func New(cfg Config) *Producer {
	if cfg.Topic == "" {
		cfg.Topic = topics.Snapshots
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1000
	}
	if cfg.Linger <= 0 {
		cfg.Linger = 20 * time.Millisecond
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 10000
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	p := &Producer{
		cfg: cfg,
		w: &kafka.Writer{
			Addr:         kafka.TCP(cfg.Brokers...),
			Topic:        cfg.Topic,
			Balancer:     &kafka.Murmur2Balancer{}, // partitions like the Java client
			RequiredAcks: kafka.RequireAll,
			BatchSize:    cfg.BatchSize,
			BatchBytes:   16 << 20,
			BatchTimeout: time.Millisecond, // our own batching decides; don't wait again
			MaxAttempts:  3,
			WriteTimeout: 10 * time.Second,
			ReadTimeout:  10 * time.Second,
		},
		queue:  make(chan kafka.Message, cfg.Buffer),
		Writes: service.Trouble{What: "writes to Kafka"},
		log:    cfg.Log,
	}
	f := promauto.With(cfg.Registerer)
	p.metrics.produced = f.NewCounterVec(prometheus.CounterOpts{
		Name: "tongxin_ingest_snapshots_produced_total",
		Help: "Snapshots acknowledged by Kafka, by platform.",
	}, []string{"platform"})
	p.metrics.errors = f.NewCounter(prometheus.CounterOpts{
		Name: "tongxin_ingest_producer_errors_total",
		Help: "Failed Kafka writes (each is retried; nothing is dropped while running).",
	})
	p.metrics.buffered = f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tongxin_ingest_producer_buffered",
		Help: "Snapshots waiting for Kafka.",
	}, func() float64 { return float64(len(p.queue)) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tongxin_ingest_producer_buffer_capacity",
		Help: "How many snapshots the producer buffer holds before polling blocks.",
	}, func() float64 { return float64(cap(p.queue)) })
	p.metrics.batch = f.NewHistogram(prometheus.HistogramOpts{
		Name:    "tongxin_ingest_producer_batch_size",
		Help:    "Messages per Kafka write.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 8),
	})
	return p
}

// Produce queues snapshots for Kafka, blocking while the buffer is full.
func (p *Producer) Produce(ctx context.Context, snaps []snapshot.Snapshot) error {
	for i := range snaps {
		b, err := snapshot.Marshal(&snaps[i])
		if err != nil {
			return fmt.Errorf("encoding snapshot %s: %w", snaps[i].Key(), err)
		}
		m := kafka.Message{Key: []byte(snaps[i].Key()), Value: b}
		select {
		case p.queue <- m:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Run delivers queued snapshots until ctx ends, then keeps delivering what
// is queued for up to DrainTimeout; whatever Kafka still refuses then is
// reported (the scheduler polls those posts again after a restart).
func (p *Producer) Run(ctx context.Context) error {
	defer p.w.Close()
	batch := make([]kafka.Message, 0, p.cfg.BatchSize)
	for {
		batch = batch[:0]
		select {
		case m := <-p.queue:
			batch = append(batch, m)
		case <-ctx.Done():
			return p.drain()
		}
		batch = p.fill(ctx, batch)
		if err := p.write(ctx, batch); err != nil {
			// ctx ended while Kafka was failing: keep trying a little longer.
			return p.drainWith(batch)
		}
	}
}

// fill adds queued messages to batch until it is full or Linger passes.
func (p *Producer) fill(ctx context.Context, batch []kafka.Message) []kafka.Message {
	t := time.NewTimer(p.cfg.Linger)
	defer t.Stop()
	for len(batch) < p.cfg.BatchSize {
		select {
		case m := <-p.queue:
			batch = append(batch, m)
		case <-t.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// write delivers batch, retrying what failed with backoff until it is all
// acknowledged or ctx ends.
func (p *Producer) write(ctx context.Context, batch []kafka.Message) error {
	backoff := 100 * time.Millisecond // wall
	for len(batch) > 0 {
		err := p.w.WriteMessages(ctx, batch...)
		if err == nil {
			p.Writes.OK()
			p.count(batch)
			p.metrics.batch.Observe(float64(len(batch)))
			return nil
		}
		p.metrics.errors.Inc()
		p.Writes.Fail(err)
		var werrs kafka.WriteErrors
		if errors.As(err, &werrs) && len(werrs) == len(batch) {
			// Keep only the failed messages, in their order.
			failed := batch[:0:0]
			var ok []kafka.Message
			for i, e := range werrs {
				if e != nil {
					failed = append(failed, batch[i])
				} else {
					ok = append(ok, batch[i])
				}
			}
			p.count(ok)
			batch = failed
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.log.Warn("kafka write failed; retrying", "messages", len(batch), "err", err, "backoff", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	return nil
}

func (p *Producer) count(msgs []kafka.Message) {
	n := map[string]int{}
	for _, m := range msgs {
		platform, _, _ := strings.Cut(string(m.Key), ":")
		n[platform]++
	}
	for platform, c := range n {
		p.metrics.produced.WithLabelValues(platform).Add(float64(c))
	}
}

func (p *Producer) drain() error { return p.drainWith(nil) }

func (p *Producer) drainWith(pending []kafka.Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.DrainTimeout)
	defer cancel()
	for {
		if len(pending) == 0 {
			select {
			case m := <-p.queue:
				pending = append(pending, m)
			default:
				return nil
			}
		}
		pending = p.fill(ctx, pending)
		if err := p.write(ctx, pending); err != nil {
			lost := len(pending) + len(p.queue)
			p.log.Error("kafka unreachable at shutdown: snapshots not delivered (their posts are polled again after a restart)", "snapshots", lost)
			return fmt.Errorf("kafka: %d snapshots not delivered at shutdown: %w", lost, err)
		}
		pending = pending[:0]
	}
}
