// Package producer carries snapshots to Kafka: keyed <platform>:<post_id> so
// one post's snapshots stay in one partition and in order, batched, acked by
// all in-sync replicas, through franz-go's idempotent producer, so a write
// retried after a broker died is stored once. When Kafka is down, Produce
// blocks once the bounded buffer is full, so polling waits instead of
// anything being dropped. A snapshot Kafka refuses for good (too large) is
// counted, logged and sent to tongxin.deadletter.v1, and the rest flows on.
//
// Up to two batches' worth of snapshots are in flight at once: the next
// batch is on its way while one is acknowledged. Why a post's snapshots
// still arrive in order, once each, is argued at stream.
package producer

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tongxin/tongxin/internal/deadletter"
	"github.com/tongxin/tongxin/internal/kafkaconn"
	"github.com/tongxin/tongxin/internal/kafkawrite"
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
	// (default 10000); one batch is held besides. Two batches are written
	// at once (the second is on its way while the first is acknowledged),
	// so the queue in front of them holds Buffer less one batch.
	Buffer int
	// DrainTimeout bounds how long Close keeps delivering what is held
	// (default 10s), counted from Close: a write being retried when Close
	// comes goes on within it; Close's ctx may end delivery sooner.
	DrainTimeout time.Duration
	Log          *slog.Logger
	Registerer   prometheus.Registerer
}

// Producer delivers snapshots to Kafka in the background, between Start
// and Close.
type Producer struct {
	// Writes tracks failing Kafka writes, for /healthz.
	Writes    service.Trouble
	cfg       Config
	client    *kgo.Client // the idempotent producer; nil when clientErr is set
	clientErr error       // the client could not be made (bad broker addresses)
	queue     chan *kgo.Record
	answers   answers      // franz-go's answers for the records stream handed it
	window    int          // the most records stream holds: two batches, or less if Buffer is small
	held      atomic.Int64 // records stream holds (taken from the queue, not yet answered for good), for the buffered gauge
	answered  atomic.Int64 // records franz-go has answered, acknowledged or not: watch's sign of life
	log       *slog.Logger

	startOnce, closeOnce sync.Once
	abandon              context.CancelFunc // ends delivery: Close's context or DrainTimeout ran out
	closing              chan struct{}      // closed by Close: Produce takes no more
	queueing             sync.RWMutex       // held by each Produce (shared) while it queues; Close takes it to wait them out
	sealed               chan struct{}      // closed by Close once no Produce can queue more: delivery ends when all is delivered
	done                 chan struct{}      // closed when delivery has ended, with err set
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
		// Buffer and one batch in all, as before batches overlapped.
		queue:   make(chan *kgo.Record, cfg.Buffer-min(cfg.Buffer, cfg.BatchSize)),
		window:  cfg.BatchSize + min(cfg.Buffer, cfg.BatchSize),
		answers: answers{ready: make(chan struct{}, 1)},
		Writes:  service.Trouble{What: "writes to Kafka"},
		log:     cfg.Log,
		closing: make(chan struct{}),
		sealed:  make(chan struct{}),
		done:    make(chan struct{}),
	}
	p.client, p.clientErr = kafkawrite.Client(cfg.Kafka, cfg.Brokers, cfg.Log,
		// stream decides what goes together: it hands franz-go a batch
		// with ProduceSync, which sends it at once, and holds no more
		// than the window, so Produce never blocks on the buffer.
		kgo.MaxBufferedRecords(cfg.BatchSize+min(cfg.Buffer, cfg.BatchSize)),
		kgo.ProducerLinger(cfg.Linger),
		// Kafka's default message.max.bytes: a snapshot over it (a few
		// hundred bytes is usual) is refused here, before sending.
		kgo.ProducerBatchMaxBytes(1<<20),
		kgo.WithHooks(answerCounter{&p.answered}),
	)
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
	// The buffer is Buffer snapshots besides one batch being written, as
	// before batches overlapped: the queue and what stream holds beyond
	// one batch. Full (buffered = capacity) is when Produce blocks.
	p.metrics.buffered = f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tongxin_ingest_producer_buffered",
		Help: "Snapshots waiting for Kafka, besides one batch being written.",
	}, func() float64 { return float64(len(p.queue)) + max(0, float64(p.held.Load()-int64(cfg.BatchSize))) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tongxin_ingest_producer_buffer_capacity",
		Help: "How many snapshots the producer buffer holds (besides one batch being written) before polling blocks.",
	}, func() float64 { return float64(cfg.Buffer) })
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
	if p.clientErr != nil {
		return p.clientErr
	}
	p.queueing.RLock()
	defer p.queueing.RUnlock()
	for i := range snaps {
		// Key and value share one allocation: the key, then the JSON.
		key := snaps[i].Key()
		b := append(make([]byte, 0, len(key)+384), key...)
		r := &kgo.Record{Topic: p.cfg.Topic, Key: b[:len(key):len(key)], Value: snapshot.AppendJSON(b[len(key):], &snaps[i])}
		select {
		case <-p.closing:
			return fmt.Errorf("snapshot %s: %w", key, ErrClosed)
		default:
		}
		select {
		case p.queue <- r:
		case <-p.closing:
			return fmt.Errorf("snapshot %s: %w", key, ErrClosed)
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
		ctx, abandon := context.WithCancel(context.Background())
		p.abandon = abandon
		go func() {
			defer close(p.done)
			defer abandon()
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
		close(p.closing)
		// A Produce that saw the queue open may still be putting a
		// snapshot in (its select may pick the queue over closing);
		// once each has returned, the queue holds all there will be.
		p.queueing.Lock()
		close(p.sealed)
		p.queueing.Unlock()
		p.Start()
		// Delivery goes on until all is delivered; when ctx ends or
		// DrainTimeout (wall) passes first, it is abandoned.
		ctx, cancel := context.WithTimeout(ctx, p.cfg.DrainTimeout)
		defer cancel()
		defer context.AfterFunc(ctx, p.abandon)()
		<-p.done
	})
	<-p.done
	return p.err
}

// run delivers queued snapshots until Close, and what is queued then.
func (p *Producer) run(ctx context.Context) error {
	if p.clientErr != nil {
		return p.clientErr
	}
	var (
		closeClient sync.Once
		ended       = make(chan struct{})
		watchers    sync.WaitGroup
	)
	defer func() {
		close(ended)
		watchers.Wait()
		closeClient.Do(p.client.Close)
	}()
	watchers.Go(func() { p.watch(ended) })
	watchers.Go(func() {
		// Abandoned: franz-go gives back at once what it can without
		// storing anything twice; after a grace the client is closed,
		// which gives back the rest (what we have not heard of).
		select {
		case <-ended:
			return
		case <-ctx.Done():
		}
		grace := time.NewTimer(kafkawrite.AbandonGrace)
		defer grace.Stop()
		select {
		case <-ended:
		case <-grace.C:
			closeClient.Do(p.client.Close)
		}
	})
	rest, err := p.stream(ctx)
	if err != nil {
		lost := len(rest) + len(p.queue)
		p.log.Error("kafka unreachable at shutdown: snapshots not delivered (their posts are polled again after a restart)", "snapshots", lost)
		return fmt.Errorf("kafka: %d snapshots not delivered at shutdown: %w", lost, err)
	}
	return nil
}

// watch says Kafka is failing while records sit in franz-go's hands and
// none is answered: each kafkawrite.StallAfter of that silence is a failed write,
// counted, logged and shown on /healthz (franz-go keeps retrying them).
func (p *Producer) watch(ended <-chan struct{}) {
	tick := time.NewTicker(kafkawrite.StallAfter / 5)
	defer tick.Stop()
	last, quietSince, told := p.answered.Load(), time.Now(), 0
	for {
		var now time.Time
		select {
		case <-ended:
			return
		case now = <-tick.C:
		}
		n, held := p.answered.Load(), p.client.BufferedProduceRecords()
		if n != last || held == 0 {
			last, quietSince, told = n, now, 0
			continue
		}
		if silent := now.Sub(quietSince); silent >= time.Duration(told+1)*kafkawrite.StallAfter {
			told++
			p.failed(fmt.Errorf("no answer from Kafka for %v to the %d snapshots sent; still trying", silent.Round(time.Second), held), int(held))
		}
	}
}

// answerCounter counts franz-go's answers, acknowledgements or not, for
// watch.
type answerCounter struct{ n *atomic.Int64 }

func (a answerCounter) OnProduceRecordUnbuffered(*kgo.Record, error) { a.n.Add(1) }

// outcome is franz-go's answer for one record stream handed it.
type outcome struct {
	r   *kgo.Record
	err error
}

// answers collects franz-go's answers for the batches stream sent; stream
// takes them in bursts.
type answers struct {
	mu    sync.Mutex
	list  []outcome
	ready chan struct{} // holds a token when list may not be empty
}

func (a *answers) addAll(res kgo.ProduceResults) {
	a.mu.Lock()
	for _, r := range res {
		a.list = append(a.list, outcome{r.Record, r.Err})
	}
	a.mu.Unlock()
	select {
	case a.ready <- struct{}{}:
	default:
	}
}

// take swaps out what has come, handing back spare (emptied) for reuse.
func (a *answers) take(spare []outcome) []outcome {
	a.mu.Lock()
	got := a.list
	a.list = spare[:0]
	a.mu.Unlock()
	return got
}

// stream delivers queued snapshots until Close was called and all is
// delivered, or until ctx ends (delivery abandoned); then it returns what
// was taken from the queue and not delivered, in order, with ctx's error.
//
// It gathers batches as before (BatchSize, or what came within Linger) but
// does not wait for one to be acknowledged before sending the next: up to
// two are in franz-go's hands, each handed with ProduceSync, which sends it
// at once, in one request when it can. The broker takes a connection's
// requests one at a time, so the second waits there, ready, while the
// first is written, and the next batch is gathered meanwhile. Why the
// guarantees still hold:
//
//   - A post's snapshots stay in order. They share a key, so a partition,
//     and franz-go's idempotent producer writes a partition's records in
//     the order handed to it, retries included. What it cannot order is a
//     record it gives back: when a partition's batch fails (refused,
//     cancelled), it fails every record it holds for that partition,
//     and a record handed to it a moment later goes out in a
//     fresh batch, ahead of the failed ones we send again. So stream never
//     has two records of one key in franz-go's hands or in the batch being
//     gathered: a record whose post's previous snapshot is unanswered
//     waits for that answer (and what is queued behind it waits too).
//     Nothing can then overtake a failed record of its post; acknowledged
//     ones were written in order. (The rule also keeps the two batches,
//     handed over from two goroutines, from interleaving a post's records.)
//   - A record given back stops the stream: nothing more is handed over
//     until every record in flight has answered; then the ones given back
//     go to deliver, alone in the client, so a batch refused as a whole is
//     split until the culprit stands alone, only the culprit is
//     dead-lettered, and failures that may pass are retried with backoff,
//     counted and logged. Then the stream resumes. deliver judges the
//     answers stream already has as a first attempt: a record that alone
//     came back refused for good is the culprit, since franz-go fails a
//     refused batch's partition whole, culprit included.
//   - Nothing lost, nothing stored twice: each record taken is
//     acknowledged, dead-lettered or returned. franz-go retries a record
//     without a time limit (package kafkawrite says why) and gives it back only
//     when the broker answered that it was not stored, or when delivery
//     is abandoned (then nothing is sent again), so sending a record given
//     back stores it once.
//   - Memory: the queue holds Buffer less one batch, stream the window of
//     two batches (in flight, being gathered, being sent again): Buffer
//     and one batch in all, as before.
func (p *Producer) stream(ctx context.Context) ([]*kgo.Record, error) {
	var (
		// How many records of each key (by hash) are in franz-go's
		// hands or in the batch: 0 or 1, or more when keys share a
		// hash, which only makes a record wait longer than it needs to.
		unanswered = map[uint64]int32{}
		seed       = maphash.MakeSeed()
		inClient   int           // how many records are in franz-go's hands
		batch      []*kgo.Record // being gathered
		waiting    []*kgo.Record // taken from the queue, in order; the first waits for its key
		got        []outcome     // answers taken, being looked at
		acked      []*kgo.Record // acknowledged, not yet counted
		failed     []*kgo.Record // given back by franz-go, to send again
		why        []error       // franz-go's error for each of failed
		sealed     = p.sealed    // nil once seen closed
		linger     = time.NewTimer(time.Hour)
		lingering  <-chan time.Time // linger's channel while batch is not empty
		writers    sync.WaitGroup   // the ProduceSync of each batch in flight
	)
	linger.Stop()
	defer linger.Stop()
	defer writers.Wait()
	// take looks at the answers that have come, counting the acknowledged
	// together.
	take := func() {
		got = p.answers.take(got)
		for i, o := range got {
			h := maphash.Bytes(seed, o.r.Key)
			if unanswered[h]--; unanswered[h] == 0 {
				delete(unanswered, h)
			}
			inClient--
			if o.err == nil {
				acked = append(acked, o.r)
			} else {
				failed, why = append(failed, o.r), append(why, o.err)
			}
			got[i] = outcome{}
		}
		if len(acked) > 0 {
			p.Writes.OK()
			p.count(acked)
			clear(acked)
			acked = acked[:0]
		}
	}
	// send hands the batch to franz-go, which sends it at once.
	send := func() {
		if len(batch) == 0 {
			return
		}
		b := batch
		batch, lingering = make([]*kgo.Record, 0, p.cfg.BatchSize), nil
		linger.Stop()
		inClient += len(b)
		writers.Go(func() {
			res := p.client.ProduceSync(ctx, b...)
			ok := 0
			for _, r := range res {
				if r.Err == nil {
					ok++
				}
			}
			if ok > 0 {
				p.metrics.batch.Observe(float64(ok))
			}
			p.answers.addAll(res)
		})
	}
	// unsent is what stream holds that franz-go does not, in order.
	unsent := func(rest []*kgo.Record) []*kgo.Record {
		return append(append(rest, batch...), waiting...)
	}
	batch = make([]*kgo.Record, 0, p.cfg.BatchSize)
	for {
		take()
		p.held.Store(int64(inClient + len(batch) + len(waiting) + len(failed)))
		switch {
		case len(failed) > 0 && inClient > 0:
			// Something came back: nothing more goes out, and nothing
			// is judged, until every record in flight has answered
			// (franz-go fails a refused batch's partition whole, and
			// the other batch's share of it may still be on its way).
			<-p.answers.ready
			continue
		case ctx.Err() != nil && inClient > 0:
			// Delivery is abandoned: what is in flight answers first.
			<-p.answers.ready
			continue
		case len(failed) > 0:
			rest, err := p.write(ctx, failed, why)
			clear(failed)
			failed, why = failed[:0], why[:0]
			if err != nil {
				return unsent(rest), err
			}
			continue
		case ctx.Err() != nil:
			return unsent(nil), ctx.Err()
		}
		// Into the batch, in order, until a record's post has a snapshot
		// unanswered (in flight or in this batch): that one waits.
		for len(waiting) > 0 && len(batch) < p.cfg.BatchSize {
			h := maphash.Bytes(seed, waiting[0].Key)
			if unanswered[h] > 0 {
				break
			}
			unanswered[h]++
			if len(batch) == 0 {
				linger.Reset(p.cfg.Linger)
				lingering = linger.C
			}
			batch = append(batch, waiting[0])
			waiting[0] = nil
			waiting = waiting[1:]
		}
		if len(batch) >= p.cfg.BatchSize || len(waiting) > 0 {
			// Full, or a record waits for an answer that may depend on it.
			send()
		}
		room := inClient+len(batch)+len(waiting) < p.window
		if room {
			select {
			case r := <-p.queue:
				waiting = append(waiting, r)
				continue
			default:
			}
		}
		if sealed == nil && len(waiting) == 0 && len(p.queue) == 0 {
			// Closed: what was queued is all there is.
			send()
			if inClient == 0 {
				return nil, nil // all delivered
			}
		}
		queue := p.queue
		if !room {
			queue = nil
		}
		select {
		case r := <-queue:
			waiting = append(waiting, r)
		case <-p.answers.ready:
		case <-lingering:
			send()
		case <-sealed:
			sealed = nil
		case <-ctx.Done():
		}
	}
}

// write delivers batch until each snapshot is acknowledged or refused for
// good (then dead-lettered), or ctx ends; it returns what was not delivered
// then. errs, when not nil, are franz-go's answers to a first attempt.
func (p *Producer) write(ctx context.Context, batch []*kgo.Record, errs []error) ([]*kgo.Record, error) {
	var refused []*kgo.Record
	pending, err := p.deliver(ctx, batch, errs,
		func(recs []*kgo.Record) {
			p.Writes.OK()
			p.count(recs)
			p.metrics.batch.Observe(float64(len(recs)))
		},
		func(r *kgo.Record, err error) {
			p.log.Warn("snapshot refused by Kafka for good; sending it to the dead-letter topic",
				"key", string(deadletter.Key(r.Key)), "bytes", len(r.Key)+len(r.Value), "err", err)
			why := "refused by Kafka for good"
			if errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge) {
				why = "too large for Kafka"
			}
			letter := deadletter.Letter(kafka.Message{Key: r.Key, Value: r.Value}, "ingest:"+p.cfg.Topic,
				fmt.Errorf("snapshot of %d bytes %s: %w", len(r.Key)+len(r.Value), why, err))
			refused = append(refused, deadletter.Record(p.cfg.DeadLetterTopic, letter))
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
func (p *Producer) deadLetter(ctx context.Context, letters []*kgo.Record) error {
	pending, err := p.deliver(ctx, letters, nil,
		func(recs []*kgo.Record) {
			p.metrics.dead.Add(float64(len(recs)))
			for _, r := range recs {
				p.log.Warn("snapshot sent to the dead-letter topic", "key", string(r.Key), "reason", kafkawrite.Header(r, deadletter.ReasonHeader))
			}
		},
		func(r *kgo.Record, err error) {
			p.metrics.lost.Inc()
			p.log.Error("dead letter refused by Kafka for good: the snapshot is not on any topic", "key", string(r.Key),
				"reason", kafkawrite.Header(r, deadletter.ReasonHeader), "err", err)
		})
	if err != nil {
		p.log.Error("kafka failing at shutdown: dead letters not delivered (their posts are polled again after a restart)", "dead_letters", len(pending))
		return fmt.Errorf("kafka: %d dead letters not delivered: %w", len(pending), err)
	}
	return nil
}

// deliver writes recs until each is acknowledged (acked) or refused for
// good (refused), retrying the others until ctx ends (kafkawrite.Deliver);
// a retry is logged and counted as a failed write. Records of one post stay
// in order, for nothing else is in the client meanwhile (stream waits for
// its records before calling).
func (p *Producer) deliver(ctx context.Context, recs []*kgo.Record, first []error, acked func([]*kgo.Record), refused func(*kgo.Record, error)) ([]*kgo.Record, error) {
	return kafkawrite.Deliver(ctx, p.client, recs, first, kafkawrite.Hooks{
		Acked: acked, Refused: refused,
		Failed: func(err error, pending int, backoff time.Duration) bool {
			p.failed(err, pending, "backoff", backoff)
			return true
		},
		// Stalls are watch's to report: it sees stream's records too.
	})
}

// failed notes a write that failed for a reason that may pass; it is retried.
func (p *Producer) failed(err error, pending int, attrs ...any) {
	err = kafkaconn.Explain(err)
	p.metrics.errors.Inc()
	p.Writes.Fail(err)
	p.log.Warn("kafka write failed; retrying", append([]any{"messages", pending, "err", err}, attrs...)...)
}

func (p *Producer) count(recs []*kgo.Record) {
	n := map[string]int{}
	for _, r := range recs {
		platform, _, _ := strings.Cut(string(r.Key), ":")
		n[platform]++
	}
	for platform, c := range n {
		p.metrics.produced.WithLabelValues(platform).Add(float64(c))
	}
}
