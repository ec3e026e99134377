package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/budget"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
)

// Sink takes snapshots for Kafka; Produce blocks while its buffer is full,
// which holds polling back instead of dropping anything.
type Sink interface {
	Produce(ctx context.Context, snaps []snapshot.Snapshot) error
}

// Metrics are the scheduler's Prometheus metrics, shared by all platforms.
type Metrics struct {
	requests *prometheus.CounterVec
	lag      *prometheus.HistogramVec
	posts    *prometheus.GaugeVec
	paused   *prometheus.GaugeVec
	rejected *prometheus.CounterVec
	facts    *prometheus.CounterVec
}

// NewMetrics registers the scheduler's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tongxin_ingest_requests_total",
			Help: "Platform API requests by platform, operation and outcome (ok or the error kind).",
		}, []string{"platform", "op", "outcome"}),
		lag: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tongxin_ingest_poll_lag_seconds",
			Help:    "How late a post's fetch was against its wanted interval, in campaign seconds, by post age band.",
			Buckets: []float64{0, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600},
		}, []string{"platform", "age_band"}),
		posts: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tongxin_ingest_posts",
			Help: "Posts known to the scheduler by platform and state (polled, gone, failing, private).",
		}, []string{"platform", "state"}),
		paused: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tongxin_ingest_platform_paused",
			Help: "1 while a platform is paused by a rate limit, an exhausted quota or a withdrawn capability.",
		}, []string{"platform"}),
		rejected: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tongxin_ingest_rejected_items_total",
			Help: "Items of platform answers left out because they break the snapshot rules (ids, times, counter bounds), by platform and operation.",
		}, []string{"platform", "op"}),
		facts: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tongxin_ingest_post_facts_total",
			Help: "Post facts (title, link, topics) by platform and outcome: sent (new or changed, on the post's snapshot) or rejected (they break the bounds; the snapshot is sent without them).",
		}, []string{"platform", "outcome"}),
	}
}

// Runner makes one platform's requests as its Planner decides.
type Runner struct {
	Source  ingest.Source
	Planner *Planner
	Clock   clock.Clock
	Sink    Sink
	Log     *slog.Logger
	Metrics *Metrics
	// Budget, if set, is the platform's request budget: one token per
	// request, taken before the request is planned and before its timeout
	// starts (waiting on the campaign clock), so that waiting for the
	// budget never fails a request.
	Budget *budget.Bucket
	// RequestTimeout bounds one API request, wall time (default 30s): the
	// platform's answer time does not scale with --speed.
	RequestTimeout time.Duration
	// Reauthorize, if set, is asked to renew an account's authorization
	// when the platform refuses it; on success polling resumes at once.
	// (The simulator's ambassadors consent again; real ones are told.)
	Reauthorize func(ctx context.Context, acct roster.Account) error
	// Blocked, if set, records the accounts a person must look at, for the
	// tongxin_ingest_account_blocked metric.
	Blocked *Blocked

	// sentFacts is the hash of the facts last sent per post (key), so a
	// snapshot carries a post's facts only when they are new or changed.
	// In memory: after a restart each post's facts are sent once more,
	// which post_facts takes as the same facts again.
	sentFacts map[string]uint64
}

// Run polls until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	platform := r.Source.Platform()
	log := r.Log.With("platform", platform)
	timeout := r.RequestTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	lastGauge := time.Time{} // campaign time
	paid := false            // a budget token is taken and not yet spent
	for ctx.Err() == nil {
		now := r.Clock.Now()
		if now.Sub(lastGauge) > time.Minute {
			r.updateGauges(platform, now)
			lastGauge = now
		}
		t, ok, wake := r.Planner.Next(now)
		if !ok {
			// Sleep until the next task is due, but wake at least once a
			// campaign minute to notice new accounts and config.
			r.Clock.Sleep(ctx, min(wake.Sub(now), time.Minute))
			continue
		}
		if !paid && r.Budget != nil && !r.Budget.TryTake() {
			// Wait for the budget here, outside any request, then plan
			// again: while we waited other tasks may have become due, and
			// the token goes to the most valuable one, not the first due.
			if err := r.Budget.Take(ctx); err != nil {
				return nil
			}
			paid = true
			continue
		}
		paid = false
		res, op := r.do(ctx, t, timeout)
		if ctx.Err() != nil {
			return nil
		}
		outcome := "ok"
		if res.Err != nil {
			kind := ingest.KindOf(res.Err)
			outcome = kind.String()
			// Passing trouble is counted in the metrics and retried; only
			// what needs a person is a warning.
			level := slog.LevelDebug
			if !kind.Retryable() {
				level = slog.LevelWarn
			}
			log.Log(ctx, level, "request failed", "op", op, "ambassador", t.Account.AmbassadorID, "err", res.Err)
		}
		r.Metrics.requests.WithLabelValues(platform, op, outcome).Inc()
		if t.Kind == TaskFetch && res.Err == nil && len(t.Posts) > 0 {
			r.Metrics.lag.WithLabelValues(platform, AgeBand(now.Sub(t.Posts[0].PublishedAt))).Observe(t.Lag.Seconds())
		}
		snaps, rejected := res.Listing.Snapshots, res.Listing.Rejected
		if t.Kind == TaskFetch {
			snaps, rejected = res.Fetched.Snapshots, res.Fetched.Rejected
		}
		for _, rj := range rejected {
			log.Warn("item rejected: it breaks the snapshot rules; the rest of the answer is kept", "op", op, "ambassador", t.Account.AmbassadorID, "err", rj.Err)
		}
		if len(rejected) > 0 {
			r.Metrics.rejected.WithLabelValues(platform, op).Add(float64(len(rejected)))
		}
		r.keepNewFacts(ctx, log, platform, snaps)
		if len(snaps) > 0 {
			if err := r.Sink.Produce(ctx, snaps); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		out := r.Planner.Done(t, res, r.Clock.Now())
		for _, p := range out.NewPosts {
			log.Debug("new post", "ambassador", p.AmbassadorID, "post", p.PostID, "published_at", p.PublishedAt)
		}
		for _, p := range out.Deleted {
			log.Info("post no longer returned by the platform; polling stops", "ambassador", p.AmbassadorID, "post", p.PostID)
		}
		switch {
		case res.Err == nil:
			r.Blocked.clear(platform, t.Account)
		case out.Blocked != "":
			r.Blocked.block(platform, t.Account, out.Blocked)
			log.Error("a person must act: polling parked and probed again after the pause", "reason", out.Blocked,
				"ambassador", t.Account.AmbassadorID, "for", out.PausedFor, "err", res.Err)
		}
		for _, p := range out.GaveUp {
			log.Error("post keeps failing; parked and probed daily", "ambassador", p.AmbassadorID, "post", p.PostID, "err", res.Err)
		}
		if outcome == ingest.KindUnauthorized.String() && r.Reauthorize != nil {
			if err := r.Reauthorize(ctx, t.Account); err != nil {
				log.Warn("reauthorization failed", "ambassador", t.Account.AmbassadorID, "err", err)
			} else {
				r.Planner.Resume(t.Account)
				out.PausedFor = 0
			}
		}
		if out.PausedFor > 0 {
			level := slog.LevelInfo
			if outcome == ingest.KindUnauthorized.String() || outcome == ingest.KindQuotaExhausted.String() {
				level = slog.LevelWarn
			}
			log.Log(ctx, level, "pausing", "for", out.PausedFor, "reason", outcome, "ambassador", t.Account.AmbassadorID)
		}
	}
	return nil
}

// keepNewFacts leaves on each snapshot only facts that are new or changed
// since the post's last sent ones, and takes off facts that break their
// bounds (named in the log and counted): the snapshot goes on without them.
func (r *Runner) keepNewFacts(ctx context.Context, log *slog.Logger, platform string, snaps []snapshot.Snapshot) {
	if r.sentFacts == nil {
		r.sentFacts = map[string]uint64{}
	}
	for i := range snaps {
		s := &snaps[i]
		if s.Facts == nil {
			continue
		}
		if err := s.FactsProblem(); err != nil {
			log.Log(ctx, slog.LevelWarn, "post facts left out: they break the bounds; the snapshot is kept", "ambassador", s.AmbassadorID, "post", snapshot.Clip(s.PostID), "err", err)
			r.Metrics.facts.WithLabelValues(platform, "rejected").Inc()
			s.Facts = nil
			continue
		}
		k, h := s.Key(), s.Facts.Hash()
		if sent, ok := r.sentFacts[k]; ok && sent == h {
			s.Facts = nil
			continue
		}
		r.sentFacts[k] = h
		r.Metrics.facts.WithLabelValues(platform, "sent").Inc()
	}
}

func (r *Runner) do(ctx context.Context, t Task, timeout time.Duration) (Result, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var res Result
	switch t.Kind {
	case TaskList:
		res.Listing, res.Err = r.Source.List(ctx, t.Account, t.Cursor)
		return res, "list"
	default:
		res.Fetched, res.Err = r.Source.Fetch(ctx, t.Account, t.Posts)
		if errors.Is(res.Err, context.DeadlineExceeded) {
			res.Err = &ingest.Error{Platform: r.Source.Platform(), Op: "fetch", Kind: ingest.KindUnavailable, Message: "request timed out", Err: res.Err}
		}
		return res, "fetch"
	}
}

func (r *Runner) updateGauges(platform string, now time.Time) {
	var polled, gone, failing, private float64
	r.Planner.Posts(func(ps *PostState) {
		switch {
		case ps.Gone:
			gone++
		case ps.Private:
			private++
		case ps.GaveUp:
			failing++
		default:
			polled++
		}
	})
	r.Metrics.posts.WithLabelValues(platform, "polled").Set(polled)
	r.Metrics.posts.WithLabelValues(platform, "gone").Set(gone)
	r.Metrics.posts.WithLabelValues(platform, "failing").Set(failing)
	r.Metrics.posts.WithLabelValues(platform, "private").Set(private)
	paused := 0.0
	if now.Before(r.Planner.pausedUntil) {
		paused = 1
	}
	r.Metrics.paused.WithLabelValues(platform).Set(paused)
}
