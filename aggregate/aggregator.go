// Package aggregate consumes tongxin.snapshots.v1 as a consumer group and
// writes CONTRACT.md's tables to ClickHouse exactly once, in the sense
// analysts rely on: the plain sum() of a post's post_hourly deltas equals its
// latest observed counter, however often a snapshot was delivered.
//
// How: each partition's reader decodes what it fetches; a flush takes a
// batch of them, loads from post_hourly the applied state of posts it does
// not know yet (rollup.Ledger), turns the snapshots into
// deltas, writes them (sink: per-partition INSERTs in time order with
// deduplication tokens), and only then commits the Kafka offsets. A crash
// anywhere replays snapshots that the rebuilt ledger recognises as applied.
// On a rebalance the ledger is dropped and rebuilt for the new assignment,
// and a generation does not end while its flush is still unsure of its
// outcome (see flush), so two aggregators never apply the same snapshot.
package aggregate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/tongxin/tongxin/aggregate/rollup"
	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/internal/deadletter"
	"github.com/tongxin/tongxin/internal/kafkaconn"
	"github.com/tongxin/tongxin/internal/kafkawrite"
	"github.com/tongxin/tongxin/internal/service"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
)

// Config tunes an Aggregator.
type Config struct {
	Brokers []string
	Group   string // consumer group, default "tongxin-aggregate"
	Topic   string // default tongxin.snapshots.v1
	// Kafka is how to connect: TLS and SASL (nil: plaintext).
	Kafka *kafkaconn.Settings
	// DeadLetterTopic takes what cannot be processed (default tongxin.deadletter.v1).
	DeadLetterTopic string
	// Sink is where flushes go: a *sink.Sink writing to ClickHouse (the
	// interface lets the benchmark measure the aggregator without it).
	Sink Warehouse
	// BatchSize bounds a flush in messages (default 20000); FlushEvery in
	// time (default 1s). This and every duration below are wall time: they
	// pace Kafka and ClickHouse, which run in real seconds whatever --speed.
	BatchSize  int
	FlushEvery time.Duration
	// FlushGrace is how long a flush in doubt keeps retrying after its
	// generation ended, before the aggregator gives up the batch (default 20s,
	// below the group's rebalance timeout).
	FlushGrace time.Duration
	// SessionTimeout of the consumer group (default 10s).
	SessionTimeout time.Duration
	Log            *slog.Logger
	Registerer     prometheus.Registerer
	// OnFlush, if set, is called after each flush with the snapshots it
	// applied, in order (the alerts evaluate them).
	OnFlush func(ctx context.Context, applied []*snapshot.Snapshot)
	// OnAssign, if set, is called when the member's partitions change,
	// before they are read, with a test of which posts (keys) it now owns
	// (nil: it owns them all).
	OnAssign func(ctx context.Context, owns func(key string) bool) error
	// Clock judges whether a snapshot's times lie in the future: the
	// campaign clock when the campaign is simulated (the one ingest
	// observes with), else the wall clock (default).
	Clock clock.Clock
}

// Warehouse is what the aggregator needs from its store; *sink.Sink is the
// one implementation outside benchmarks.
type Warehouse interface {
	// Load returns the applied state of posts (keys) the store knows.
	Load(ctx context.Context, keys []string) (map[string]rollup.Applied, error)
	// LoadPartitions returns the applied state of every post the store
	// knows whose key Kafka's default partitioner (murmur2) puts in one of
	// partitions of `of` (nil: every post).
	LoadPartitions(ctx context.Context, partitions []int, of int) (map[string]rollup.Applied, error)
	WriteSnapshots(ctx context.Context, snaps []*snapshot.Snapshot) error
	WriteRollup(ctx context.Context, rows []*rollup.HourRow) error
	WritePostFacts(ctx context.Context, snaps []*snapshot.Snapshot) error
}

var _ Warehouse = (*sink.Sink)(nil)

// Aggregator is one member of the aggregating consumer group.
type Aggregator struct {
	// Writes tracks failing flushes, for /healthz.
	Writes        service.Trouble
	cfg           Config
	log           *slog.Logger
	ledger        *rollup.Ledger
	deadLetter    *kgo.Client // idempotent: a dead letter is stored once; nil when deadLetterErr is set
	deadLetterErr error       // the client could not be made (bad broker addresses)
	// This generation's partitions (nil: all of the topic's `of`) and
	// whether a key belongs to them; complete once the ledger holds every
	// post of theirs that has anything applied, so that an unseen post of
	// theirs is known to be new. Owned by the generation's flush loop.
	partitions []int
	of         int
	owns       func(key string) bool
	complete   bool
	m          metrics
}

type metrics struct {
	consumed   *prometheus.CounterVec
	deadLetter prometheus.Counter
	lost       prometheus.Counter
	batchSize  prometheus.Histogram
	flushTime  prometheus.Histogram
	lag        *prometheus.GaugeVec
	tracked    prometheus.Gauge
	flushErrs  prometheus.Counter
	facts      *prometheus.CounterVec
}

// New returns an aggregator; Run makes it consume.
func New(cfg Config) *Aggregator {
	if cfg.Group == "" {
		cfg.Group = "tongxin-aggregate"
	}
	if cfg.Topic == "" {
		cfg.Topic = topics.Snapshots
	}
	if cfg.DeadLetterTopic == "" {
		cfg.DeadLetterTopic = topics.DeadLetter
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 20000
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = time.Second
	}
	if cfg.FlushGrace <= 0 {
		cfg.FlushGrace = 20 * time.Second
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	f := promauto.With(cfg.Registerer)
	a := &Aggregator{
		Writes: service.Trouble{What: "flushes to ClickHouse"},
		cfg:    cfg, log: cfg.Log, ledger: rollup.NewLedger(),

		m: metrics{
			consumed: f.NewCounterVec(prometheus.CounterOpts{
				Name: "tongxin_aggregate_snapshots_total",
				Help: "Snapshots consumed, by outcome: applied, late (older than the post's newest applied snapshot, with counters observed after theirs: those are rolled up), skipped (already applied or older in every counter), repost (an official account's repost, written to official_reposts, never rolled up), dead_letter.",
			}, []string{"outcome"}),
			deadLetter: f.NewCounter(prometheus.CounterOpts{
				Name: "tongxin_aggregate_dead_letters_total",
				Help: "Messages sent to tongxin.deadletter.v1.",
			}),
			lost: f.NewCounter(prometheus.CounterOpts{
				Name: "tongxin_aggregate_dead_letters_lost_total",
				Help: "Dead letters Kafka refused for good: not on tongxin.deadletter.v1, each logged with its key and reason.",
			}),
			batchSize: f.NewHistogram(prometheus.HistogramOpts{
				Name:    "tongxin_aggregate_batch_messages",
				Help:    "Messages per flush.",
				Buckets: prometheus.ExponentialBuckets(1, 4, 9),
			}),
			flushTime: f.NewHistogram(prometheus.HistogramOpts{
				Name:    "tongxin_aggregate_flush_seconds",
				Help:    "Time from the start of a flush to its acknowledgement by ClickHouse, retries included.",
				Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
			}),
			lag: f.NewGaugeVec(prometheus.GaugeOpts{
				Name: "tongxin_aggregate_consumer_lag",
				Help: "Messages behind the end of each assigned partition.",
			}, []string{"partition"}),
			tracked: f.NewGauge(prometheus.GaugeOpts{
				Name: "tongxin_aggregate_tracked_posts",
				Help: "Posts whose applied state the aggregator holds in memory.",
			}),
			facts: f.NewCounterVec(prometheus.CounterOpts{
				Name: "tongxin_aggregate_post_facts_total",
				Help: "Post facts (title, link, topics) carried by the snapshots of each written batch, by outcome: accepted (written with the snapshot: to post_facts, or to official_reposts for an official repost) or rejected (they break the bounds; the snapshot is applied without them).",
			}, []string{"outcome"}),
			flushErrs: f.NewCounter(prometheus.CounterOpts{
				Name: "tongxin_aggregate_flush_errors_total",
				Help: "Failed flush attempts (ClickHouse or Kafka trouble; each is retried).",
			}),
		},
	}
	a.deadLetter, a.deadLetterErr = kafkawrite.Client(cfg.Kafka, cfg.Brokers, cfg.Log)
	return a
}

// Run consumes until ctx ends.
func (a *Aggregator) Run(ctx context.Context) error {
	if a.deadLetterErr != nil {
		return fmt.Errorf("dead-letter topic: %w", a.deadLetterErr)
	}
	defer a.deadLetter.Close()
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID: a.cfg.Group, Brokers: a.cfg.Brokers, Dialer: a.cfg.Kafka.Dialer(), Topics: []string{a.cfg.Topic},
		StartOffset:       kafka.FirstOffset,
		SessionTimeout:    a.cfg.SessionTimeout,
		RebalanceTimeout:  a.cfg.FlushGrace + 10*time.Second,
		HeartbeatInterval: time.Second,
		JoinGroupBackoff:  time.Second,
	})
	if err != nil {
		return fmt.Errorf("consumer group %s: %w", a.cfg.Group, err)
	}
	defer cg.Close()
	for {
		gen, err := cg.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			a.log.Warn("joining consumer group", "group", a.cfg.Group, "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		a.generation(gen)
	}
}

// generation consumes this member's partitions until the group rebalances.
func (a *Aggregator) generation(gen *kafka.Generation) {
	// Partitions may have moved: what this member knew of other posts may be
	// stale, so the ledger is rebuilt lazily from ClickHouse.
	a.ledger.Reset()
	assigned := gen.Assignments[a.cfg.Topic]
	parts := make([]string, len(assigned))
	for i, as := range assigned {
		parts[i] = strconv.Itoa(as.ID)
	}
	a.log.Info("partitions assigned", "generation", gen.ID, "partitions", parts)
	a.partitions, a.of, a.owns, a.complete = nil, 0, nil, false
	owns, mine, of, err := a.assignment(assigned)
	if err != nil {
		// The ledger is then loaded post by post, as posts come.
		a.log.Warn("reading the topic's partitions; the ledger will be loaded post by post", "err", err)
	} else {
		a.partitions, a.of, a.owns = mine, of, owns
	}
	if a.cfg.OnAssign != nil {
		if err == nil {
			err = a.cfg.OnAssign(context.Background(), owns)
		}
		if err != nil {
			a.log.Error("preparing for the assigned partitions", "err", err)
		}
	}
	msgs := make(chan fetched, a.cfg.BatchSize)
	var readers sync.Map // partition → *kafka.Reader, for lag
	for _, as := range assigned {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: a.cfg.Brokers, Dialer: a.cfg.Kafka.Dialer(), Topic: a.cfg.Topic, Partition: as.ID,
			MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 100 * time.Millisecond,
			QueueCapacity: 1000, ReadBackoffMax: time.Second,
		})
		if err := r.SetOffset(as.Offset); err != nil {
			a.log.Error("setting offset", "partition", as.ID, "offset", as.Offset, "err", err)
		}
		readers.Store(as.ID, r)
		gen.Start(func(gctx context.Context) {
			defer r.Close()
			for {
				m, err := r.FetchMessage(gctx)
				if err != nil {
					if gctx.Err() != nil || errors.Is(err, io.EOF) {
						return
					}
					a.log.Warn("reading partition", "partition", as.ID, "err", err)
					continue
				}
				select {
				case msgs <- a.decode(m):
				case <-gctx.Done():
					return
				}
			}
		})
	}
	gen.Start(func(gctx context.Context) { a.flushLoop(gctx, gen, msgs, &readers) })
}

// fetched is one message as its partition's reader decoded it: the snapshot,
// or the dead letter that stands for it. Decoding there, one goroutine per
// partition, spreads it over the cores and keeps it off the flush's path;
// flush only applies.
type fetched struct {
	partition int
	offset    int64
	snap      *snapshot.Snapshot // nil when dead is set
	key       string             // snap.Key()
	// factsProblem is snap.FactsProblem(): its facts are left out. It is
	// counted and logged by the flush that writes the snapshot, not here:
	// a message fetched again after a rebalance, or of a batch given up,
	// must not count twice.
	factsProblem error
	dead         *kafka.Message
}

// decode reads one message, judging its times against the clock now (it was
// just fetched), and checks its facts.
func (a *Aggregator) decode(m kafka.Message) fetched {
	f := fetched{partition: m.Partition, offset: m.Offset}
	s, err := snapshot.UnmarshalAt(m.Value, a.now())
	if err != nil {
		d := deadletter.Letter(m, fmt.Sprintf("%s/%d/%d", m.Topic, m.Partition, m.Offset), err)
		f.dead = &d
		return f
	}
	f.snap, f.key, f.factsProblem = s, s.Key(), s.FactsProblem()
	return f
}

// flushLoop batches messages by size and time and flushes them. When the
// time comes, what the readers have already delivered joins the batch (up
// to BatchSize): under a backlog a flush takes all that waits, so its fixed
// costs (queries, INSERTs, the commit) are paid once per BatchSize, not once
// per tick; when idle it waits no longer than FlushEvery.
func (a *Aggregator) flushLoop(gctx context.Context, gen *kafka.Generation, msgs <-chan fetched, readers *sync.Map) {
	tick := time.NewTicker(a.cfg.FlushEvery)
	defer tick.Stop()
	batch := make([]fetched, 0, a.cfg.BatchSize)
	for {
		select {
		case m := <-msgs:
			batch = append(batch, m)
			if len(batch) < a.cfg.BatchSize {
				continue
			}
		case <-tick.C:
			if len(batch) == 0 {
				continue
			}
		drain:
			for len(batch) < a.cfg.BatchSize {
				select {
				case m := <-msgs:
					batch = append(batch, m)
				default:
					break drain
				}
			}
		case <-gctx.Done():
			// Stopping or rebalancing: the partitions cannot move on before
			// this returns, so the last batch is still ours to flush (within
			// FlushGrace). What is not flushed is not committed, and the
			// next owner reads it again.
			if len(batch) > 0 {
				if err := a.flush(gctx, gen, batch); err != nil {
					a.log.Warn("last batch not flushed; its partitions will be read again", "messages", len(batch), "err", err)
				}
			}
			return
		}
		if err := a.flush(gctx, gen, batch); err != nil {
			a.log.Error("batch abandoned; its partitions will be read again", "messages", len(batch), "err", err)
			return
		}
		clear(batch) // the snapshots go with the flush, not with the buffer
		batch = batch[:0]
		// FlushEvery counts from the end of this flush: a tick that came
		// during it would cut the next batch short.
		tick.Reset(a.cfg.FlushEvery)
		readers.Range(func(k, v any) bool {
			a.m.lag.WithLabelValues(strconv.Itoa(k.(int))).Set(float64(v.(*kafka.Reader).Stats().Lag))
			return true
		})
	}
}

// flush applies one batch: dead-letter what could not be read, load
// unknown posts' state, write snapshots and deltas, commit the ledger and
// the offsets. ClickHouse trouble is retried with backoff while the
// generation lives; once it has ended the flush keeps trying for FlushGrace
// so that no write of unknown outcome is left behind when the partitions
// move, then gives the batch up (nothing of it is committed).
func (a *Aggregator) flush(gctx context.Context, gen *kafka.Generation, batch []fetched) error {
	start := time.Now()
	a.m.batchSize.Observe(float64(len(batch)))

	valid := make([]*snapshot.Snapshot, 0, len(batch))
	keys := make([]string, 0, len(batch))
	var dead []*kgo.Record
	var withFacts int      // snapshots carrying facts, good or not
	var rejected []fetched // those whose facts are left out
	offsets := map[int]int64{}
	for _, f := range batch {
		offsets[f.partition] = f.offset + 1
		if f.dead != nil {
			dead = append(dead, deadletter.Record(a.cfg.DeadLetterTopic, *f.dead))
			continue
		}
		valid, keys = append(valid, f.snap), append(keys, f.key)
		if f.snap.Facts != nil {
			withFacts++
		}
		if f.factsProblem != nil {
			rejected = append(rejected, f)
		}
	}

	var graceEnd time.Time
	backoff := 200 * time.Millisecond // wall
	var applied []*snapshot.Snapshot
	var late, reposts int
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithCancel(context.WithoutCancel(gctx))
		if gctx.Err() != nil {
			if graceEnd.IsZero() {
				graceEnd = time.Now().Add(a.cfg.FlushGrace)
			}
			cancel()
			ctx, cancel = context.WithDeadline(context.WithoutCancel(gctx), graceEnd)
		}
		// An attempt under way when the generation ends has FlushGrace from
		// then: a dead letter franz-go holds for a silent Kafka would
		// otherwise hold the flush, and the generation, until Kafka answers.
		graceTimer := make(chan *time.Timer, 1)
		stopGrace := context.AfterFunc(gctx, func() { graceTimer <- time.AfterFunc(a.cfg.FlushGrace, cancel) })
		var err error
		applied, late, reposts, err = a.write(ctx, valid, keys, &dead)
		if !stopGrace() {
			(<-graceTimer).Stop()
		}
		cancel()
		if err == nil {
			break
		}
		a.m.flushErrs.Inc()
		a.Writes.Fail(err)
		if !graceEnd.IsZero() && time.Now().After(graceEnd) {
			return fmt.Errorf("generation ended and the flush still failing after %d attempts: %w", attempt, err)
		}
		a.log.Warn("flush failed; retrying", "attempt", attempt, "messages", len(batch), "backoff", backoff, "err", err)
		if graceEnd.IsZero() {
			select {
			case <-time.After(backoff):
			case <-gctx.Done(): // the generation ended: retry at once, within the grace
			}
		} else {
			time.Sleep(min(backoff, time.Until(graceEnd)))
		}
		backoff = min(backoff*2, 10*time.Second)
	}
	a.Writes.OK()
	a.m.flushTime.Observe(time.Since(start).Seconds())
	a.m.tracked.Set(float64(a.ledger.Len()))
	a.m.consumed.WithLabelValues("applied").Add(float64(len(applied)))
	a.m.consumed.WithLabelValues("repost").Add(float64(reposts))
	a.m.consumed.WithLabelValues("late").Add(float64(late))
	a.m.consumed.WithLabelValues("skipped").Add(float64(len(valid) - reposts - len(applied) - late))
	// The facts are written now: counted once per written batch, and the
	// rejected ones named (the counters count; only the facts are left out).
	for _, f := range rejected {
		a.log.Warn("post facts left out: they break the bounds; the snapshot is applied", "key", snapshot.Clip(f.key), "err", f.factsProblem)
	}
	a.m.facts.WithLabelValues("accepted").Add(float64(withFacts - len(rejected)))
	a.m.facts.WithLabelValues("rejected").Add(float64(len(rejected)))

	if a.cfg.OnFlush != nil && len(applied) > 0 {
		a.cfg.OnFlush(context.WithoutCancel(gctx), applied)
	}
	commit := map[string]map[int]int64{a.cfg.Topic: offsets}
	if err := gen.CommitOffsets(commit); err != nil {
		// Harmless: whoever reads these messages again skips them.
		a.log.Warn("committing offsets", "err", err)
	}
	return nil
}

// write does one attempt of a flush's side effects, each safe to repeat;
// keys are valid's keys. Dead letters are sent once: *dead keeps only those
// Kafka has neither taken nor refused for good. It returns the snapshots
// applied, how many of them were late, and how many of valid were official
// reposts (written to official_reposts only).
func (a *Aggregator) write(ctx context.Context, valid []*snapshot.Snapshot, keys []string, dead *[]*kgo.Record) (applied []*snapshot.Snapshot, late, reposts int, err error) {
	if len(*dead) > 0 {
		// A dead letter Kafka refuses for good (it is bounded, so this
		// should not happen) must not hold up the batch: it is counted and
		// logged with its reason, and the batch moves on.
		pending, err := kafkawrite.Deliver(ctx, a.deadLetter, *dead, nil, kafkawrite.Hooks{
			Acked: func(recs []*kgo.Record) {
				a.m.deadLetter.Add(float64(len(recs)))
				a.m.consumed.WithLabelValues("dead_letter").Add(float64(len(recs)))
				for _, r := range recs {
					a.log.Warn("message sent to the dead-letter topic", "key", string(r.Key),
						"source", kafkawrite.Header(r, deadletter.SourceHeader),
						"reason", kafkawrite.Header(r, deadletter.ReasonHeader))
				}
			},
			Refused: func(r *kgo.Record, err error) {
				a.m.lost.Inc()
				a.m.consumed.WithLabelValues("dead_letter").Inc()
				a.log.Error("dead letter refused by Kafka for good: it is not on the dead-letter topic", "key", string(r.Key),
					"source", kafkawrite.Header(r, deadletter.SourceHeader),
					"reason", kafkawrite.Header(r, deadletter.ReasonHeader), "err", err)
			},
			// Trouble that may pass is retried by flush, like ClickHouse's.
			Failed: func(error, int, time.Duration) bool { return false },
			// franz-go keeps trying what it sent (so a letter is stored
			// once); the silence is a failing flush all the same.
			Stalled: func(pending int) {
				err := fmt.Errorf("dead-letter topic: no answer from Kafka for %s to %d dead letters; still trying", kafkawrite.StallAfter, pending)
				a.m.flushErrs.Inc()
				a.Writes.Fail(err)
				a.log.Warn("flush waiting for Kafka", "err", err)
			},
		})
		*dead = pending
		if err != nil {
			return nil, 0, 0, fmt.Errorf("dead-letter topic: %w", err)
		}
	}
	// An official account's repost is no ambassador's post: it goes to
	// official_reposts (WritePostFacts) and never into snapshots, the
	// rollups or the alerts.
	posts, postKeys := snapshot.WithoutReposts(valid), keys
	if len(posts) != len(valid) {
		postKeys = make([]string, len(posts))
		for i, s := range posts {
			postKeys[i] = s.Key()
		}
	}
	if !a.complete && a.of > 0 {
		// Once per generation, one pass over post_hourly for all of this
		// member's posts: from then on a post not in the ledger is new, and
		// no flush waits on a query for it. If that fails, posts are loaded
		// one batch at a time instead (slower, as exact).
		state, err := a.cfg.Sink.LoadPartitions(ctx, a.partitions, a.of)
		if err != nil {
			a.log.Warn("loading the assigned partitions' posts; loading them post by post instead", "err", err)
			a.of = 0
		} else {
			for k, st := range state {
				a.ledger.Set(k, st)
			}
			a.complete = true
		}
	}
	// Three writes, each safe to repeat, run side by side: the snapshots
	// and the facts do not wait for the ledger, so their INSERTs are under
	// way while the deltas are worked out and written. A server runs the
	// INSERTs at once; the local engine takes them in turn, and there the
	// gain is the client's work done meanwhile. The ledger moves on only
	// when all three have been acknowledged.
	b := a.ledger.NewBatch()
	g, wctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.cfg.Sink.WriteSnapshots(wctx, posts) })
	// Facts of every valid snapshot, applied or not: the newest facts win
	// in post_facts whatever order they come in, and a repeat changes
	// nothing. Official reposts go to official_reposts the same way.
	g.Go(func() error { return a.cfg.Sink.WritePostFacts(wctx, valid) })
	g.Go(func() error {
		var unknown []string
		if !a.complete || a.owns != nil { // else every post is in the ledger or new
			seen := map[string]bool{}
			for _, k := range postKeys {
				if b.Known(k) || seen[k] || a.complete && a.owns(k) {
					continue
				}
				unknown = append(unknown, k)
				seen[k] = true
			}
		}
		if len(unknown) > 0 {
			state, err := a.cfg.Sink.Load(wctx, unknown)
			if err != nil {
				return err
			}
			for k, st := range state {
				a.ledger.Set(k, st)
			}
		}
		applied = make([]*snapshot.Snapshot, 0, len(posts))
		for i, s := range posts {
			if b.ApplyKeyed(s, postKeys[i]) {
				applied = append(applied, s)
			}
		}
		return a.cfg.Sink.WriteRollup(wctx, b.Rows())
	})
	if err := g.Wait(); err != nil {
		return nil, 0, 0, err
	}
	b.Commit()
	return applied, b.Late(), len(valid) - len(posts), nil
}

// clockSlack is how far, in wall time, the clocks of separate processes
// may disagree besides snapshot.FutureMargin: a campaign clock read from the
// simulator over HTTP lags it by the round trip, and at --speed 1000 a
// 100 ms round trip is 100 s of campaign time.
const clockSlack = 2 * time.Second

// now is the time snapshots are judged against: the campaign clock (see
// Config.Clock) plus clockSlack of wall time at the clock's speed.
func (a *Aggregator) now() time.Time {
	return a.cfg.Clock.Now().Add(time.Duration(a.cfg.Clock.Speed() * float64(clockSlack)))
}

func headerValue(hs []kafka.Header, key string) string {
	for _, h := range hs {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// assignment returns whether a key's partition is among the assigned ones,
// by the producers' partitioner (murmur2, as the Java client), with the
// assigned partitions and how many the topic has; when every partition is
// assigned, owns and mine are nil.
func (a *Aggregator) assignment(assigned []kafka.PartitionAssignment) (owns func(string) bool, mine []int, of int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // wall
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(a.cfg.Brokers...), Transport: a.cfg.Kafka.Transport()}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{a.cfg.Topic}})
	if err != nil {
		return nil, nil, 0, err
	}
	if len(meta.Topics) != 1 || meta.Topics[0].Error != nil || len(meta.Topics[0].Partitions) == 0 {
		return nil, nil, 0, fmt.Errorf("topic %s: no metadata", a.cfg.Topic)
	}
	all := make([]int, len(meta.Topics[0].Partitions))
	for i, p := range meta.Topics[0].Partitions {
		all[i] = p.ID
	}
	sort.Ints(all)
	isMine := map[int]bool{}
	mine = make([]int, 0, len(assigned))
	for _, as := range assigned {
		isMine[as.ID] = true
		mine = append(mine, as.ID)
	}
	if len(isMine) == len(all) {
		return nil, nil, len(all), nil // every post
	}
	sort.Ints(mine)
	var balancer kafka.Murmur2Balancer
	return func(key string) bool {
		return isMine[balancer.Balance(kafka.Message{Key: []byte(key)}, all...)]
	}, mine, len(all), nil
}
