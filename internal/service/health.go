package service

import (
	"fmt"
	"sync"
	"time"
)

// Trouble tracks whether something a service depends on keeps failing, for
// /healthz: one failure is weather, failing for longer than a while is not.
type Trouble struct {
	What  string        // e.g. "ClickHouse writes"
	After time.Duration // how long failing counts as unhealthy (default 1m), wall time

	mu    sync.Mutex
	since time.Time
	last  error
}

// Fail records a failure.
func (t *Trouble) Fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.since.IsZero() {
		t.since = time.Now()
	}
	t.last = err
}

// OK records a success: the trouble is over.
func (t *Trouble) OK() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.since, t.last = time.Time{}, nil
}

// Err is non-nil while failures have gone on for longer than After.
func (t *Trouble) Err() error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	after := t.After
	if after <= 0 {
		after = time.Minute
	}
	if t.since.IsZero() || time.Since(t.since) < after {
		return nil
	}
	return fmt.Errorf("%s failing for %s: %v", t.What, time.Since(t.since).Round(time.Second), t.last)
}

// All returns a health check that fails while any of checks does.
func All(checks ...func() error) func() error {
	return func() error {
		for _, c := range checks {
			if err := c(); err != nil {
				return err
			}
		}
		return nil
	}
}
