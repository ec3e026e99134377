package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/tongxin/tongxin/aggregate/alerts"
)

// ErrDropped is returned (wrapped) by Router.Notify when a receiver's queue
// was full or the router had stopped. The drop is already counted and
// logged; the caller need not do more than carry on.
var ErrDropped = errors.New("notify: alert dropped")

// Router hands each alert event to the receivers that want it. Notify never
// blocks: each receiver has a bounded queue drained by its own goroutine,
// which waits for the receiver's rate limiter, merges what queued up
// meanwhile into one message where the receiver can (a digest), and retries
// with backoff. Run owns those goroutines.
type Router struct {
	log       *slog.Logger
	m         *metrics
	receivers []*receiver

	mu    sync.RWMutex
	state int // idle, running, stopped
}

const (
	idle = iota
	running
	stopped
)

type receiver struct {
	name     string
	cfg      resolved
	n        Notifier
	batch    BatchNotifier // nil: one event per request
	maxBatch int
	queue    chan alerts.Event
	limit    *bucket
	endpoint string // redacted
}

// New builds a router from config. Secrets named by url_env / secret_env
// are read now.
func New(cfg Config, opts Options) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts.fill()
	r := &Router{log: opts.Log}
	var specs []resolved
	for _, rc := range cfg.Receivers {
		res, err := rc.resolve(opts.Getenv)
		if err != nil {
			return nil, err
		}
		if res.Type == TypeAlertmanager && !containsState(res.states, alerts.StateResolved) {
			// Without resolutions the re-sending would keep alerts alive forever.
			res.states = append(res.states, alerts.StateResolved)
		}
		specs = append(specs, res)
		r.receivers = append(r.receivers, &receiver{name: res.Name, queue: make(chan alerts.Event, res.QueueSize)})
	}
	r.m = newMetrics(opts.Registerer, r)
	for i := range specs {
		rc := r.receivers[i]
		rc.cfg = specs[i]
		rc.n = newNotifier(&specs[i], opts, r.m)
		rc.maxBatch = 1
		if bn, ok := rc.n.(BatchNotifier); ok && specs[i].MaxBatch > 1 {
			rc.batch, rc.maxBatch = bn, specs[i].MaxBatch
		}
		rc.limit = newBucket(specs[i].rate, specs[i].Burst)
		if e, ok := rc.n.(interface{ endpointDisplay() string }); ok {
			rc.endpoint = e.endpointDisplay()
		}
	}
	return r, nil
}

func containsState(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (b *base) endpointDisplay() string { return b.red.Display() }

// Notify queues ev for every receiver that wants it and returns at once.
// Events queued before Run starts are delivered once it does.
// A full queue drops the event for that receiver: counted in
// tongxin_alerts_notifications_total{outcome="dropped"}, logged, and
// reported as an error wrapping ErrDropped.
func (r *Router) Notify(ctx context.Context, ev alerts.Event) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var dropped []string
	for _, rc := range r.receivers {
		if !rc.cfg.wants(&ev) {
			continue
		}
		if r.state == stopped {
			r.drop(rc, &ev, "the router has stopped")
			dropped = append(dropped, rc.name)
			continue
		}
		select {
		case rc.queue <- ev:
		default:
			r.drop(rc, &ev, "the receiver's queue is full")
			dropped = append(dropped, rc.name)
		}
	}
	if len(dropped) > 0 {
		return fmt.Errorf("%w for %s (alert %s)", ErrDropped, strings.Join(dropped, ", "), ev.AlertID)
	}
	return nil
}

func (r *Router) drop(rc *receiver, ev *alerts.Event, why string) {
	r.m.notifications.WithLabelValues(rc.name, ev.Kind, OutcomeDropped).Inc()
	r.log.Warn("notify: alert dropped: "+why, "receiver", rc.name, "alert_id", ev.AlertID,
		"kind", ev.Kind, "state", ev.State, "platform", ev.Platform, "post_id", ev.PostID,
		"queue_capacity", cap(rc.queue))
}

// Run delivers until ctx ends, then counts and logs what was left.
func (r *Router) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.state != idle {
		r.mu.Unlock()
		return errors.New("notify: Router.Run called more than once")
	}
	r.state = running
	r.mu.Unlock()

	var wg sync.WaitGroup
	for _, rc := range r.receivers {
		r.log.Info("notify: receiver ready", "receiver", rc.name, "type", rc.cfg.Type,
			"endpoint", rc.endpoint, "signed", rc.cfg.secret != "", "rate_per_minute", rc.cfg.rate,
			"queue", cap(rc.queue), "max_batch", rc.maxBatch, "kinds", rc.cfg.Kinds, "states", rc.cfg.states)
		wg.Go(func() { r.work(ctx, rc) })
		if rn, ok := rc.n.(runner); ok {
			wg.Go(func() { rn.run(ctx) })
		}
	}
	<-ctx.Done()
	wg.Wait()

	r.mu.Lock()
	r.state = stopped
	r.mu.Unlock()
	for _, rc := range r.receivers {
		var left []alerts.Event
		for len(rc.queue) > 0 {
			left = append(left, <-rc.queue)
		}
		r.abandon(rc, left)
	}
	return nil
}

// abandon counts and logs events that will not be delivered because the
// router is stopping.
func (r *Router) abandon(rc *receiver, evs []alerts.Event) {
	if len(evs) == 0 {
		return
	}
	for _, ev := range evs {
		r.m.notifications.WithLabelValues(rc.name, ev.Kind, OutcomeAbandoned).Inc()
	}
	r.log.Warn("notify: stopping with alerts undelivered", "receiver", rc.name, "alerts", len(evs), "alert_ids", ids(evs))
}

func ids(evs []alerts.Event) []string {
	out := make([]string, len(evs))
	for i := range evs {
		out[i] = evs[i].AlertID + "/" + evs[i].State
	}
	return out
}

// work is one receiver's delivery loop.
func (r *Router) work(ctx context.Context, rc *receiver) {
	for {
		var first alerts.Event
		select {
		case <-ctx.Done():
			return
		case first = <-rc.queue:
		}
		start := time.Now()
		if rc.limit.wait(ctx) != nil {
			r.abandon(rc, []alerts.Event{first})
			return
		}
		// What queued up while we waited goes in the same message.
		batch := []alerts.Event{first}
	fill:
		for len(batch) < rc.maxBatch {
			select {
			case ev := <-rc.queue:
				batch = append(batch, ev)
			default:
				break fill
			}
		}
		err := r.deliver(ctx, rc, batch)
		r.m.duration.WithLabelValues(rc.name).Observe(time.Since(start).Seconds())
		switch {
		case err == nil:
			for _, ev := range batch {
				r.m.notifications.WithLabelValues(rc.name, ev.Kind, OutcomeSent).Inc()
			}
			r.log.Info("notify: sent", "receiver", rc.name, "alerts", len(batch), "alert_ids", ids(batch))
		case ctx.Err() != nil:
			r.abandon(rc, batch)
			return
		default:
			for _, ev := range batch {
				r.m.notifications.WithLabelValues(rc.name, ev.Kind, OutcomeFailed).Inc()
			}
			r.log.Error("notify: delivery failed", "receiver", rc.name, "alerts", len(batch),
				"alert_ids", ids(batch), "err", err)
		}
	}
}

// deliver sends one message, retrying what may succeed later.
func (r *Router) deliver(ctx context.Context, rc *receiver, batch []alerts.Event) error {
	for attempt := 1; ; attempt++ {
		var err error
		if rc.batch != nil && len(batch) > 1 {
			err = rc.batch.NotifyBatch(ctx, batch)
		} else {
			err = rc.n.Notify(ctx, batch[0])
		}
		if err == nil || ctx.Err() != nil {
			return err
		}
		var e *Error
		if !errors.As(err, &e) || !e.Retryable || attempt >= rc.cfg.MaxAttempts {
			return err
		}
		wait := rc.retryWait(attempt, e)
		r.m.retries.WithLabelValues(rc.name, e.Reason).Inc()
		r.log.Warn("notify: delivery failed, will retry", "receiver", rc.name, "attempt", attempt,
			"max_attempts", rc.cfg.MaxAttempts, "retry_in", wait.Round(time.Millisecond),
			"reason", e.Reason, "alert_ids", ids(batch), "err", err)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		// A retry is a request like any other: it keeps to the bucket.
		if err := rc.limit.wait(ctx); err != nil {
			return err
		}
	}
}

// retryWait is how long to wait before try attempt+1: what the server
// asked for if it said (capped), else exponential backoff with jitter, and
// after a rate-limit answer at least the API's rate-limit window.
func (rc *receiver) retryWait(attempt int, e *Error) time.Duration {
	if e.RetryAfter > 0 {
		return min(e.RetryAfter, maxRetryAfter)
	}
	d := backoff(attempt, rc.cfg.BackoffBase, rc.cfg.BackoffMax)
	if e.Reason == ReasonRateLimited && d < rc.cfg.RateLimitWait {
		w := rc.cfg.RateLimitWait
		d = w + rand.N(w/10+1) // up to 10% late, never early
	}
	return d
}

// backoff is base·2^(attempt-1), capped at ceiling, with "equal jitter": a
// random wait between half of it and all of it.
func backoff(attempt int, base, ceiling time.Duration) time.Duration {
	d := ceiling
	if attempt < 32 {
		if b := base << (attempt - 1); b > 0 && b < ceiling {
			d = b
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
