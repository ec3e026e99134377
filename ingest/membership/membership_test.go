package membership

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/topics"
)

// ledger is who holds which shard, as the replicas' Assign calls say:
// the test's view of who polls what.
type ledger struct {
	mu     sync.Mutex
	holder map[int]string
	twice  []string // a shard given to one replica while another held it
}

func (l *ledger) assign(name string) func([]int) {
	return func(owned []int) {
		l.mu.Lock()
		defer l.mu.Unlock()
		for s, h := range l.holder {
			if h == name {
				delete(l.holder, s)
			}
		}
		for _, s := range owned {
			if h, ok := l.holder[s]; ok {
				l.twice = append(l.twice, fmt.Sprintf("shard %d given to %s while %s held it", s, name, h))
			}
			l.holder[s] = name
		}
	}
}

// counts is how many shards each replica holds.
func (l *ledger) counts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for _, h := range l.holder {
		out[h]++
	}
	return out
}

// Replicas joining and leaving the group on the real broker: the shards are
// shared evenly, a leaving replica's shards go to the others, and a shard is
// never given to a replica before the one that held it has given it up (the
// eager protocol's revoke before assign).
func TestReplicasShareTheShardsAndNeverHoldOneTwice(t *testing.T) {
	brokers := topics.Brokers(enginetest.Kafka(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic := fmt.Sprintf("test.ingest.shards.%d", time.Now().UnixNano())
	const shards = 12
	if err := topics.Ensure(ctx, brokers, shards, topic); err != nil {
		t.Fatal(err)
	}
	l := &ledger{holder: map[int]string{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	stops := map[string]func(){}
	join := func(name string) {
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- Run(rctx, Config{Brokers: brokers, Topic: topic, Group: topic, Shards: shards,
				SessionTimeout: 6 * time.Second, RebalanceTimeout: 10 * time.Second, Assign: l.assign(name), Log: log})
		}()
		stops[name] = func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	t.Cleanup(func() {
		for _, stop := range stops {
			stop()
		}
	})
	wait := func(want map[string]int) {
		t.Helper()
		deadline := time.Now().Add(45 * time.Second)
		for time.Now().Before(deadline) {
			got := l.counts()
			if len(got) == len(want) {
				ok := true
				for k, v := range want {
					ok = ok && got[k] == v
				}
				if ok {
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("shards held %v, want %v", l.counts(), want)
	}

	join("a")
	wait(map[string]int{"a": 12})
	join("b")
	join("c")
	wait(map[string]int{"a": 4, "b": 4, "c": 4})
	before := l.holderOf("a")
	stop := stops["c"]
	delete(stops, "c")
	stop() // leaves the group: no session timeout to wait out
	wait(map[string]int{"a": 6, "b": 6})
	if got := l.holderOf("a"); !containsAll(got, before) {
		t.Errorf("a held %v and then %v after c left: the assignor moved a survivor's shards", before, got)
	}
	join("d")
	wait(map[string]int{"a": 4, "b": 4, "d": 4})
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.twice {
		t.Error(e)
	}
}

func (l *ledger) holderOf(name string) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int
	for s, h := range l.holder {
		if h == name {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func containsAll(have, want []int) bool {
	for _, s := range want {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}
