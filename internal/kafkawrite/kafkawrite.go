// Package kafkawrite writes records to Kafka once each, through franz-go's
// idempotent producer: the ingest producer (snapshots and their dead
// letters), the aggregator (dead letters) and the alerts (tongxin.alerts.v1)
// all deliver this way.
//
// A record is retried inside franz-go, with its producer ID and sequence
// number, until Kafka stores it or refuses it for good; there is no
// delivery time limit. A limit would give back a write whose answer was
// lost after the broker stored it (a leader killed mid-request, then a
// retry answered "not the leader"), and sent again it would be a new write,
// stored twice. Silence is reported instead (Hooks.Stalled).
package kafkawrite

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tongxin/tongxin/internal/deadletter"
	"github.com/tongxin/tongxin/internal/kafkaconn"
)

// StallAfter is how long records may wait in franz-go's hands without an
// answer before a writer says Kafka is failing (wall clock).
const StallAfter = 5 * time.Second

// AbandonGrace is how long, once a write's context has ended, franz-go has
// to answer for what it holds before Deliver returns without those answers
// (wall clock): a record whose answer was lost it never gives back.
const AbandonGrace = time.Second

// Client returns an idempotent producer of brokers, acknowledged by all
// in-sync replicas (kafkaconn), with no delivery time limit, no linger
// (Deliver sends a group at once) and no compression, franz-go's warnings
// in log. opts come last, so they may change any of this but the absent
// time limit.
func Client(k *kafkaconn.Settings, brokers []string, log *slog.Logger, opts ...kgo.Opt) (*kgo.Client, error) {
	base := []kgo.Opt{
		kgo.ProducerLinger(0),
		// Uncompressed: the size Kafka checks is the record's own, which
		// is what a dead letter's bounds are measured against.
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		// A partition without a leader (a new topic, a broker just died)
		// is looked up again after half a second, not franz-go's 5 s.
		kgo.MetadataMinAge(500 * time.Millisecond),
		kgo.WithLogger(kgoLog{log}),
	}
	return k.Client(brokers, append(base, opts...)...)
}

// Hooks tell the caller of Deliver what became of its records.
type Hooks struct {
	// Acked is called with records Kafka acknowledged.
	Acked func(recs []*kgo.Record)
	// Refused is called with each record Kafka refused for good
	// (deadletter.Permanent).
	Refused func(r *kgo.Record, err error)
	// Failed is called when franz-go gave records back for a reason that
	// may pass, with the number still pending. If it returns true they are
	// sent again after backoff; otherwise Deliver returns them with err.
	// Nil: they are sent again until ctx ends.
	Failed func(err error, pending int, backoff time.Duration) bool
	// Stalled is called each StallAfter that franz-go holds records of
	// Deliver's without an answer, with how many; franz-go goes on trying.
	Stalled func(pending int)
}

// Deliver writes recs with c until each is acknowledged or refused for good,
// sending again with backoff (100 ms doubling to 5 s) what franz-go gives
// back for a reason that may pass. When Kafka refuses a partition's record
// batch as a whole (too large for the topic), the refused records are sent
// again in halves until the culprit stands alone: one poison record costs
// one refusal, and its neighbours go through. first, when not nil, holds the
// answers to an attempt already made, one per record. When ctx ends first
// (or Hooks.Failed gives up), Deliver returns the error and the records
// neither acknowledged nor refused, in their order. Records of one key stay
// in order: franz-go keeps a partition's records in order, and a group is
// answered before the next is sent.
func Deliver(ctx context.Context, c *kgo.Client, recs []*kgo.Record, first []error, h Hooks) ([]*kgo.Record, error) {
	groups := [][]*kgo.Record{recs}
	backoff := 100 * time.Millisecond
	for len(groups) > 0 {
		g := groups[0]
		groups = groups[1:]
		if len(g) == 0 {
			continue
		}
		errs := first
		first = nil
		if errs == nil {
			errs = send(ctx, c, g, h.Stalled)
		}
		var ok, bad, retry []*kgo.Record
		var refusal, failure error
		for i, err := range errs {
			switch {
			case err == nil:
				ok = append(ok, g[i])
			case deadletter.Permanent(err):
				bad, refusal = append(bad, g[i]), err
			default:
				retry, failure = append(retry, g[i]), err
			}
		}
		if len(ok) > 0 && h.Acked != nil {
			h.Acked(ok)
		}
		switch {
		case len(bad) == 1:
			// Alone in its refused batch: it is the culprit.
			if h.Refused != nil {
				h.Refused(bad[0], refusal)
			}
		case len(bad) > 1:
			half := len(bad) / 2
			groups = append([][]*kgo.Record{bad[:half], bad[half:]}, groups...)
		}
		if len(retry) == 0 {
			continue
		}
		groups = append([][]*kgo.Record{retry}, groups...)
		if ctx.Err() != nil {
			return flatten(groups), ctx.Err()
		}
		if h.Failed != nil && !h.Failed(failure, len(flatten(groups)), backoff) {
			return flatten(groups), failure
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return flatten(groups), ctx.Err()
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	return nil, nil
}

// send hands g to franz-go and returns its answer for each record. Once ctx
// has ended it waits AbandonGrace more, then answers ctx's error for what
// franz-go still holds: those may yet be stored, so the caller must not
// send them again as new records while it runs on.
func send(ctx context.Context, c *kgo.Client, g []*kgo.Record, stalled func(int)) []error {
	var mu sync.Mutex
	errs := make([]error, len(g))
	answered := make([]bool, len(g))
	left := len(g)
	all := make(chan struct{})
	for i, r := range g {
		// A fresh record: franz-go fills in a record it produces.
		r = &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: r.Headers}
		c.Produce(ctx, r, func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			errs[i], answered[i] = err, true
			if left--; left == 0 {
				close(all)
			}
		})
	}
	// Sent now, not after the client's linger (the producer's has one): a
	// Flush whose context is done ends the linger and does not wait.
	now, cancel := context.WithCancel(context.Background())
	cancel()
	c.Flush(now)
	stall := time.NewTicker(StallAfter)
	defer stall.Stop()
	var abandon <-chan time.Time
	ended := ctx.Done()
	for {
		select {
		case <-all:
			mu.Lock()
			defer mu.Unlock()
			return errs
		case <-stall.C:
			if stalled != nil {
				mu.Lock()
				n := left
				mu.Unlock()
				stalled(n)
			}
		case <-ended:
			ended = nil
			t := time.NewTimer(AbandonGrace)
			defer t.Stop()
			abandon = t.C
		case <-abandon:
			mu.Lock()
			defer mu.Unlock()
			out := slices.Clone(errs)
			for i, ok := range answered {
				if !ok {
					out[i] = ctx.Err()
				}
			}
			return out
		}
	}
}

func flatten(groups [][]*kgo.Record) []*kgo.Record {
	var out []*kgo.Record
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// Header returns the value of r's header key ("" when absent).
func Header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// kgoLog passes franz-go's warnings and errors (a broker refusing SASL, a
// connection failing) to a log; its chatter stays out.
type kgoLog struct{ log *slog.Logger }

func (l kgoLog) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLog) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelWarn
	if level == kgo.LogLevelError {
		lv = slog.LevelError
	}
	l.log.Log(context.Background(), lv, "kafka client: "+msg, keyvals...)
}
