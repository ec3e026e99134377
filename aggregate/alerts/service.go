package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/internal/kafkaconn"
	"github.com/tongxin/tongxin/internal/kafkawrite"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
)

// Notifier delivers alert events to people (notify.Router).
type Notifier interface {
	Notify(ctx context.Context, ev Event) error
}

// Service runs the Detector inside the aggregator: it observes what each
// flush applied, judges on the campaign clock, and sends every event to the
// alerts table, the tongxin.alerts.v1 topic and the notifier. It restores
// itself from ClickHouse whenever the aggregator's partitions change, so
// alerts survive restarts and rebalances.
type Service struct {
	cfg    ServiceConfig
	mu     sync.Mutex
	det    *Detector
	owns   func(key string) bool
	events *prometheus.CounterVec
	open   prometheus.Gauge
	lost   prometheus.Counter
	// unwritten counts events the alerts table or the topic did not take.
	unwritten *prometheus.CounterVec

	expected []Expectation // judged since the last Apply; guarded by mu
	// restoring: Reset could not restore the detector (ClickHouse was
	// away); Apply tries again, no sooner than nextRestore (wall clock),
	// and judges nothing until it succeeds. Guarded by mu.
	restoring   bool
	nextRestore time.Time
	resets      int // Resets so far: a restore begun before the latest one is dropped
}

// restoreEvery is how often a failed restore is tried again (wall clock:
// ClickHouse's recovery does not scale with --speed).
const restoreEvery = 2 * time.Second

// ServiceConfig wires a Service.
type ServiceConfig struct {
	Detector Config
	Conn     driver.Conn
	// Kafka writes the events to Topic: an idempotent client
	// (kafkawrite.Client), so a write retried after a lost answer is
	// stored once. Nil: no topic.
	Kafka      *kgo.Client
	Topic      string      // default tongxin.alerts.v1
	Notifier   Notifier    // nil: none
	Clock      clock.Clock // the campaign clock
	Log        *slog.Logger
	Registerer prometheus.Registerer
}

// NewService returns a service; Reset must be called before the first Apply.
func NewService(cfg ServiceConfig) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Topic == "" {
		cfg.Topic = topics.Alerts
	}
	f := promauto.With(cfg.Registerer)
	return &Service{
		cfg: cfg,
		events: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tongxin_alerts_events_total",
			Help: "Alert events by kind and state (open, update, resolved).",
		}, []string{"kind", "state"}),
		open: f.NewGauge(prometheus.GaugeOpts{
			Name: "tongxin_alerts_open",
			Help: "Alerts open on the posts this aggregator owns.",
		}),
		lost: f.NewCounter(prometheus.CounterOpts{
			Name: "tongxin_alerts_expectations_unwritten_total",
			Help: "Judgements (post_expected rows) ClickHouse refused after retries.",
		}),
		unwritten: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tongxin_alerts_events_unwritten_total",
			Help: "Alert events not written, by where: clickhouse (the alerts table refused them after retries) or kafka (tongxin.alerts.v1 refused them for good, or did not acknowledge them within 2 minutes). Each is logged; the notifier still gets them.",
		}, []string{"to"}),
	}
}

// Reset starts a fresh detector for the posts owns accepts (nil: all),
// restored from ClickHouse: the alerts still open and 30 days of history.
// The previous detector is dropped at once, for it judged other posts. If
// ClickHouse cannot be read, Reset returns the error and Apply keeps trying
// (what flushes write meanwhile is in the history it then reads), so an
// outage at a rebalance pauses the alerts instead of ending them until the
// next rebalance.
func (s *Service) Reset(ctx context.Context, owns func(key string) bool) error {
	s.mu.Lock()
	s.det, s.owns, s.restoring = nil, owns, true
	s.resets++
	reset := s.resets
	s.mu.Unlock()
	return s.restore(ctx, owns, reset)
}

// restore builds the detector for owns, as of the reset-th Reset, from
// ClickHouse.
func (s *Service) restore(ctx context.Context, owns func(key string) bool, reset int) error {
	open, err := LoadOpen(ctx, s.cfg.Conn)
	if err != nil {
		return err
	}
	history, err := LoadHistory(ctx, s.cfg.Conn, s.cfg.Clock.Now().Add(-30*24*time.Hour))
	if err != nil {
		return err
	}
	kept := open[:0]
	for _, ev := range open {
		if owns == nil || owns(ev.Key()) {
			kept = append(kept, ev)
		}
	}
	det := NewDetector(s.cfg.Detector)
	det.OnExpectation = func(e Expectation) { s.expected = append(s.expected, e) } // under s.mu
	det.Restore(kept, history)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.restoring || s.resets != reset {
		return nil // restored already, or a newer Reset came meanwhile
	}
	s.det, s.restoring = det, false
	s.open.Set(float64(len(kept)))
	s.cfg.Log.Info("alerts restored", "open", len(kept), "posts_of_history", len(history))
	return nil
}

// Apply observes the snapshots a flush applied and sends what changed.
func (s *Service) Apply(ctx context.Context, applied []*snapshot.Snapshot) {
	s.mu.Lock()
	if s.det == nil && s.restoring && !time.Now().Before(s.nextRestore) {
		owns, reset := s.owns, s.resets
		s.nextRestore = time.Now().Add(restoreEvery)
		s.mu.Unlock()
		if err := s.restore(ctx, owns, reset); err != nil {
			s.cfg.Log.Warn("alerts: restoring from ClickHouse failed; alerts wait and it is tried again", "err", err)
		}
		s.mu.Lock()
	}
	if s.det == nil {
		s.mu.Unlock()
		return
	}
	for _, sn := range applied {
		s.det.Observe(sn)
	}
	events := s.det.Evaluate(s.cfg.Clock.Now())
	exps := s.expected
	s.expected = nil
	s.mu.Unlock()
	s.emit(ctx, events)
	if err := retry(ctx, func(ctx context.Context) error { return WriteExpectations(ctx, s.cfg.Conn, exps) }); err != nil {
		s.lost.Add(float64(len(exps)))
		s.cfg.Log.Error("post_expected rows not written to ClickHouse", "rows", len(exps), "err", err)
	}
}

// Run judges once a campaign minute even when no snapshot arrives (alerts
// close with age), and every 15 campaign minutes merges the posts other
// aggregators own into the baselines, until ctx ends. Both are campaign
// intervals (at --speed 600 a wall minute would be 10 campaign hours),
// floored at 1 s and 30 s of wall time so high speeds do not spin.
func (s *Service) Run(ctx context.Context) error {
	judge := time.NewTicker(clock.WallEvery(s.cfg.Clock, time.Minute, time.Second))
	defer judge.Stop()
	merge := time.NewTicker(clock.WallEvery(s.cfg.Clock, 15*time.Minute, 30*time.Second))
	defer merge.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-judge.C:
			s.Apply(ctx, nil)
		case <-merge.C:
			if err := s.mergeOthers(ctx); err != nil {
				s.cfg.Log.Warn("alerts: baselines not refreshed from ClickHouse", "err", err)
			}
		}
	}
}

// mergeOthers brings other aggregators' posts into the baselines.
func (s *Service) mergeOthers(ctx context.Context) error {
	s.mu.Lock()
	owns := s.owns
	s.mu.Unlock()
	if owns == nil {
		return nil // this aggregator has every partition
	}
	history, err := LoadHistory(ctx, s.cfg.Conn, s.cfg.Clock.Now().Add(-30*24*time.Hour))
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.det != nil {
		s.det.MergeHistory(history, s.owns)
	}
	return nil
}

// emit records events: the alerts table first (it is what restores), then
// the topic, then people. The table is retried a few times, the topic for up
// to publishFor; what still fails is counted and logged with its alert IDs,
// never dropped silently.
func (s *Service) emit(ctx context.Context, events []Event) {
	if len(events) == 0 {
		return
	}
	delta := 0
	for _, ev := range events {
		s.events.WithLabelValues(ev.Kind, ev.State).Inc()
		switch ev.State {
		case StateOpen:
			delta++
		case StateResolved:
			delta--
		}
		s.cfg.Log.Info("alert", "kind", ev.Kind, "state", ev.State, "ambassador", ev.AmbassadorID, "platform", ev.Platform, "post", ev.PostID, "reason", ev.Reason)
	}
	s.open.Add(float64(delta))
	if err := retry(ctx, func(ctx context.Context) error { return WriteEvents(ctx, s.cfg.Conn, events) }); err != nil {
		s.unwritten.WithLabelValues("clickhouse").Add(float64(len(events)))
		s.cfg.Log.Error("alerts not written to ClickHouse", "events", len(events), "alert_ids", alertIDs(events), "err", err)
	}
	if s.cfg.Kafka != nil {
		s.produce(ctx, events)
	}
	if s.cfg.Notifier != nil {
		for _, ev := range events {
			if err := s.cfg.Notifier.Notify(ctx, ev); err != nil {
				s.cfg.Log.Warn("alert not queued for delivery", "alert_id", ev.AlertID, "err", err)
			}
		}
	}
}

// publishFor bounds how long one Apply waits for Kafka to take its events
// (wall clock); franz-go retries within it, so an event is stored once.
const publishFor = 2 * time.Minute

// produce writes events to the topic, keyed by post, so one post's events
// stay in order. What Kafka refuses for good or does not acknowledge within
// publishFor is counted and logged with its alert IDs, never dropped
// silently; one not acknowledged may yet be stored by franz-go.
func (s *Service) produce(ctx context.Context, events []Event) {
	recs := make([]*kgo.Record, 0, len(events))
	alertID := make(map[*kgo.Record]string, len(events)) // for the log
	for i := range events {
		b, err := json.Marshal(&events[i])
		if err != nil { // an Event always encodes; said in case it stops
			s.unwritten.WithLabelValues("kafka").Inc()
			s.cfg.Log.Error("alert not encoded for Kafka", "alert_id", events[i].AlertID, "err", err)
			continue
		}
		r := &kgo.Record{Topic: s.cfg.Topic, Key: []byte(events[i].Key()), Value: b}
		recs, alertID[r] = append(recs, r), events[i].AlertID
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishFor)
	defer cancel()
	failures := 0
	pending, err := kafkawrite.Deliver(ctx, s.cfg.Kafka, recs, nil, kafkawrite.Hooks{
		Refused: func(r *kgo.Record, err error) {
			s.unwritten.WithLabelValues("kafka").Inc()
			s.cfg.Log.Error("alert refused by Kafka for good: it is not on the topic", "topic", r.Topic, "alert_id", alertID[r], "err", err)
		},
		Failed: func(err error, pending int, backoff time.Duration) bool {
			failures++
			s.cfg.Log.Warn("alerts: kafka write failed; retrying", "events", pending, "backoff", backoff, "err", kafkaconn.Explain(err))
			return failures < 5
		},
		Stalled: func(pending int) {
			s.cfg.Log.Warn("alerts: no answer from Kafka; still trying", "events", pending, "silent_for", kafkawrite.StallAfter)
		},
	})
	if err != nil {
		s.unwritten.WithLabelValues("kafka").Add(float64(len(pending)))
		ids := make([]string, len(pending))
		for i, r := range pending {
			ids[i] = alertID[r]
		}
		s.cfg.Log.Error("alerts not acknowledged by Kafka", "topic", s.cfg.Topic, "events", len(pending), "alert_ids", ids, "err", kafkaconn.Explain(err))
	}
}

// alertIDs lists the events' alert IDs, for a log line.
func alertIDs(events []Event) []string {
	ids := make([]string, len(events))
	for i, ev := range events {
		ids[i] = ev.AlertID
	}
	return ids
}

func retry(ctx context.Context, f func(context.Context) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second) // wall: one write
		err = f(actx)
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond) // wall backoff
	}
	return fmt.Errorf("after 5 attempts: %w", err)
}
