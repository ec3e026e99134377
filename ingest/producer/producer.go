// Package producer carries snapshots to Kafka: keyed <platform>:<post_id> so
// one post's snapshots stay in one partition and in order, batched, acked by
// all in-sync replicas. When Kafka is down, Produce blocks once the bounded
// buffer is full, so polling waits instead of anything being dropped. A
// snapshot Kafka refuses for good (too large) is counted, logged and sent
// to tongxin.deadletter.v1, and the rest flows on.
package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/internal/deadletter"
	"github.com/tongxin/tongxin/internal/kafkaconn"
	"github.com/tongxin/tongxin/internal/service"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
)

// Config tunes a Producer.
type Config struct {
	Brokers []string
	Topic   string // default tongxin.snapshots.v1
	// DeadLetterTopic takes snapshots Kafka refuses for good (default
	// tongxin.deadletter.v1).
	DeadLetterTopic string
	// Kafka is how to connect: TLS and SASL (nil: plaintext).
	Kafka *kafkaconn.Settings
	// BatchSize is the most messages one write carries (default 1000);
	// Linger is how long a batch waits to fill (default 20ms). Linger and
	// DrainTimeout are wall time, as are the Kafka timeouts and backoffs:
	// Kafka answers in real seconds whatever --speed.
	BatchSize int
	Linger    time.Duration
	// Buffer is how many snapshots may wait for Kafka before Produce blocks
	// (default 10000); one batch being retried is held besides.
	Buffer int
	// DrainTimeout bounds how long Close keeps delivering the buffer (default
	// 10s).
	DrainTimeout time.Duration
	Log          *slog.Logger
	Registerer   prometheus.Registerer
}

// Producer delivers snapshots to Kafka in the background, between Start
// and Close.
type Producer struct {
	// Writes tracks failing Kafka writes, for /healthz.
	Writes service.Trouble
	cfg    Config
	w      *kafka.Writer
	dead   *kafka.Writer
	queue  chan kafka.Message
	log    *slog.Logger

	startOnce, closeOnce sync.Once
	stop                 context.CancelFunc // ends delivery: Close
	closing              chan struct{}      // closed by Close: Produce takes no more
	mu                   sync.Mutex
	drainCtx             context.Context // Close's context (Background before Close)
	done                 chan struct{}   // closed when delivery has ended, with err set
	err                  error

	metrics struct {
		produced *prometheus.CounterVec
		errors   prometheus.Counter
		dead     prometheus.Counter
		lost     prometheus.Counter
		buffered prometheus.GaugeFunc
		batch    prometheus.Histogram
	}
}

// New returns a Producer; Start it to deliver, and Close it.
func New(cfg Config) *Producer {
	if cfg.Topic == "" {
		cfg.Topic = topics.Snapshots
	}
	if cfg.DeadLetterTopic == "" {
		cfg.DeadLetterTopic = topics.DeadLetter
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
			Transport:    cfg.Kafka.Transport(),
			Topic:        cfg.Topic,
			Balancer:     &kafka.Murmur2Balancer{}, // partitions like the Java client
			RequiredAcks: kafka.RequireAll,
			BatchSize:    cfg.BatchSize,
			// Kafka's default message.max.bytes: a snapshot over it (a
			// few hundred bytes is usual) is refused here, before sending.
			BatchBytes:   1 << 20,
			BatchTimeout: time.Millisecond, // our own batching decides; don't wait again
			MaxAttempts:  3,
			WriteTimeout: 10 * time.Second,
			ReadTimeout:  10 * time.Second,
		},
		dead: &kafka.Writer{
			Addr: kafka.TCP(cfg.Brokers...), Transport: cfg.Kafka.Transport(), Topic: cfg.DeadLetterTopic,
			RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond,
			WriteTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
		},
		queue:    make(chan kafka.Message, cfg.Buffer),
		Writes:   service.Trouble{What: "writes to Kafka"},
		log:      cfg.Log,
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		drainCtx: context.Background(),
	}
	f := promauto.With(cfg.Registerer)
	p.metrics.produced = f.NewCounterVec(prometheus.CounterOpts{
		Name: "tongxin_ingest_snapshots_produced_total",
		Help: "Snapshots acknowledged by Kafka, by platform.",
	}, []string{"platform"})
	p.metrics.errors = f.NewCounter(prometheus.CounterOpts{
		Name: "tongxin_ingest_producer_errors_total",
		Help: "Failed Kafka writes for reasons that may pass (each is retried; nothing is dropped while running).",
	})
	p.metrics.dead = f.NewCounter(prometheus.CounterOpts{
		Name: "tongxin_ingest_producer_dead_letters_total",
		Help: "Snapshots Kafka refused for good (too large), sent to tongxin.deadletter.v1 instead.",
	})
	p.metrics.lost = f.NewCounter(prometheus.CounterOpts{
		Name: "tongxin_ingest_producer_dead_letters_lost_total",
		Help: "Dead letters Kafka refused for good too: not on tongxin.deadletter.v1, each logged with its key and reason.",
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

// ErrClosed is Produce's answer once Close was called: nothing more is
// queued, so nothing is queued and then left behind.
var ErrClosed = errors.New("producer: closed")

// Produce queues snapshots for Kafka, blocking while the buffer is full.
func (p *Producer) Produce(ctx context.Context, snaps []snapshot.Snapshot) error {
	for i := range snaps {
		b, err := snapshot.Marshal(&snaps[i])
		if err != nil {
			return fmt.Errorf("encoding snapshot %s: %w", snaps[i].Key(), err)
		}
		m := kafka.Message{Key: []byte(snaps[i].Key()), Value: b}
		select {
		case <-p.closing:
			return fmt.Errorf("snapshot %s: %w", snaps[i].Key(), ErrClosed)
		default:
		}
		select {
		case p.queue <- m:
		case <-p.closing:
			return fmt.Errorf("snapshot %s: %w", snaps[i].Key(), ErrClosed)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Start begins delivering queued snapshots in the background, until Close.
// A second Start does nothing.
func (p *Producer) Start() {
	p.startOnce.Do(func() {
		ctx, stop := context.WithCancel(context.Background())
		p.stop = stop
		go func() {
			defer close(p.done)
			p.err = p.run(ctx)
		}()
	})
}

// Close stops taking snapshots, delivers what is queued — for up to
// DrainTimeout, or until ctx ends — and stops. Its error says how many
// snapshots Kafka did not take then (the scheduler polls those posts again
// after a restart). Close without Start delivers too; a second Close
// returns the first one's answer.
func (p *Producer) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.drainCtx = ctx
		p.mu.Unlock()
		close(p.closing)
		p.Start()
		p.stop()
	})
	<-p.done
	return p.err
}

// run delivers queued snapshots until ctx ends, then drains.
func (p *Producer) run(ctx context.Context) error {
	defer p.w.Close()
	defer p.dead.Close()
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
		if pending, err := p.write(ctx, batch); err != nil {
			// ctx ended while Kafka was failing: keep trying a little longer.
			return p.drainWith(pending)
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

// write delivers batch, retrying what failed with backoff until each
// snapshot is acknowledged or refused for good (then dead-lettered), or ctx
// ends; it returns what was not delivered then.
func (p *Producer) write(ctx context.Context, batch []kafka.Message) ([]kafka.Message, error) {
	var refused []kafka.Message
	pending, err := deadletter.Deliver(ctx, p.w, batch, deadletter.Hooks{
		Acked: func(msgs []kafka.Message) {
			p.Writes.OK()
			p.count(msgs)
			p.metrics.batch.Observe(float64(len(msgs)))
		},
		Refused: func(m kafka.Message, err error) {
			p.log.Warn("snapshot refused by Kafka for good; sending it to the dead-letter topic",
				"key", string(deadletter.Key(m.Key)), "bytes", len(m.Key)+len(m.Value), "err", err)
			refused = append(refused, deadletter.Letter(m, "ingest:"+p.cfg.Topic,
				fmt.Errorf("snapshot of %d bytes refused by Kafka for good: %w", len(m.Key)+len(m.Value), err)))
		},
		Failed: p.failed,
	})
	if len(refused) > 0 {
		if derr := p.deadLetter(ctx, refused); err == nil {
			err = derr
		}
	}
	return pending, err
}

// deadLetter delivers the dead letters of refused snapshots; one Kafka
// refuses for good too (they are bounded, so it should not happen) is
// counted and logged, never silently dropped.
func (p *Producer) deadLetter(ctx context.Context, letters []kafka.Message) error {
	pending, err := deadletter.Deliver(ctx, p.dead, letters, deadletter.Hooks{
		Acked: func(msgs []kafka.Message) {
			p.metrics.dead.Add(float64(len(msgs)))
			for _, m := range msgs {
				p.log.Warn("snapshot sent to the dead-letter topic", "key", string(m.Key),
					"reason", deadletter.HeaderValue(m.Headers, deadletter.ReasonHeader))
			}
		},
		Refused: func(m kafka.Message, err error) {
			p.metrics.lost.Inc()
			p.log.Error("dead letter refused by Kafka for good: the snapshot is not on any topic", "key", string(m.Key),
				"reason", deadletter.HeaderValue(m.Headers, deadletter.ReasonHeader), "err", err)
		},
		Failed: p.failed,
	})
	if err != nil {
		p.log.Error("kafka failing at shutdown: dead letters not delivered (their posts are polled again after a restart)", "dead_letters", len(pending))
		return fmt.Errorf("kafka: %d dead letters not delivered: %w", len(pending), err)
	}
	return nil
}

// failed notes a write that failed for a reason that may pass; it is retried.
func (p *Producer) failed(err error, pending int, backoff time.Duration) bool {
	p.metrics.errors.Inc()
	p.Writes.Fail(err)
	p.log.Warn("kafka write failed; retrying", "messages", pending, "err", err, "backoff", backoff)
	return true
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
	p.mu.Lock()
	dctx := p.drainCtx
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(dctx, p.cfg.DrainTimeout)
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
		rest, err := p.write(ctx, pending)
		if err != nil {
			lost := len(rest) + len(p.queue)
			p.log.Error("kafka unreachable at shutdown: snapshots not delivered (their posts are polled again after a restart)", "snapshots", lost)
			return fmt.Errorf("kafka: %d snapshots not delivered at shutdown: %w", lost, err)
		}
		pending = pending[:0]
	}
}
