package rollup

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tongxin/tongxin/snapshot"
)

// Indices of the counters the tests look at.
var playsIdx, likesIdx = snapshot.CounterIndex("plays"), snapshot.CounterIndex("likes")

func snap(post string, at time.Time, plays int64, likes *int64) *snapshot.Snapshot {
	return &snapshot.Snapshot{Schema: 1, Platform: "douyin", AmbassadorID: "a1", PostID: post,
		ObservedAt: at, PublishedAt: at.Add(-time.Hour), Source: "sim",
		Metrics: snapshot.Metrics{Plays: snapshot.Counter(plays), Likes: likes}}
}

func TestDeltasFirstLowerDuplicateOlder(t *testing.T) {
	l := NewLedger()
	b := l.NewBatch()
	t0 := time.Date(2026, 6, 1, 10, 15, 0, 0, time.UTC)
	if !b.Apply(snap("p", t0, 100, nil)) {
		t.Fatal("first snapshot not applied")
	}
	b.Apply(snap("p", t0.Add(10*time.Minute), 150, nil))
	if b.Apply(snap("p", t0.Add(10*time.Minute), 999, nil)) {
		t.Fatal("a snapshot observed at the same time as the last applied one changed something")
	}
	if b.Apply(snap("p", t0.Add(5*time.Minute), 999, nil)) {
		t.Fatal("an older snapshot changed something")
	}
	b.Apply(snap("p", t0.Add(50*time.Minute), 140, nil)) // spam removal: next hour, -10
	rows := b.Rows()
	if len(rows) != 2 {
		t.Fatalf("%d rows, want one per hour", len(rows))
	}
	if v, _ := rows[0].Delta.Get(playsIdx); v != 150 || rows[0].Snapshots != 2 {
		t.Errorf("10:00 row: plays %d from %d snapshots, want 150 from 2", v, rows[0].Snapshots)
	}
	if v, _ := rows[1].Delta.Get(playsIdx); v != -10 {
		t.Errorf("11:00 row: plays %d, want -10", v)
	}
	if _, has := rows[0].Delta.Get(likesIdx); has {
		t.Error("likes never given, but the row has a likes delta")
	}
	if l.Len() != 0 {
		t.Fatal("ledger changed before Commit")
	}
	b.Commit()
	if a, _ := l.Get("douyin:p"); a.V[playsIdx] != 140 || a.ObservedAt != t0.Add(50*time.Minute).UnixMilli() {
		t.Fatalf("ledger %+v after commit", a)
	}
}

// Feeding random streams with duplicates, reordering and abandoned batches,
// the sum of every post's deltas equals its latest observed counter.
func TestSumOfDeltasIsLatestCounter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	l := NewLedger()
	t0 := time.Date(2026, 1, 31, 20, 0, 0, 0, time.UTC) // batches span a month boundary
	type truth struct {
		at    time.Time
		plays int64
		likes int64
		hasL  bool
	}
	latest := map[string]truth{}
	sums := map[string][NumCounters]int64{}
	var stream []*snapshot.Snapshot
	for p := 0; p < 50; p++ {
		post := string(rune('A'+p%26)) + string(rune('a'+p/26))
		plays, likes := int64(0), int64(0)
		for i := 0; i < 40; i++ {
			at := t0.Add(time.Duration(i*7+p) * time.Minute)
			plays += rng.Int64N(100) - 10
			plays = max(plays, 0)
			var lp *int64
			if i > 5 { // likes appear later
				likes += rng.Int64N(5)
				lp = snapshot.Counter(likes)
			}
			s := snap(post, at, plays, lp)
			stream = append(stream, s)
			latest[s.Key()] = truth{at, plays, likes, lp != nil}
		}
	}
	// Deliver with duplicates and local reordering.
	var delivered []*snapshot.Snapshot
	for i, s := range stream {
		delivered = append(delivered, s)
		if rng.IntN(5) == 0 {
			delivered = append(delivered, stream[rng.IntN(i+1)])
		}
	}
	for i := 0; i < len(delivered); {
		n := 1 + rng.IntN(200)
		b := l.NewBatch()
		for _, s := range delivered[i:min(i+n, len(delivered))] {
			b.Apply(s)
		}
		if rng.IntN(4) == 0 {
			continue // the write failed: the batch is abandoned and redelivered
		}
		for _, r := range b.Rows() {
			s := sums[r.Platform+":"+r.PostID]
			for c := 0; c < NumCounters; c++ {
				s[c] += r.Delta.V[c]
			}
			sums[r.Platform+":"+r.PostID] = s
		}
		b.Commit()
		i += n
	}
	for key, want := range latest {
		if got := sums[key]; got[playsIdx] != want.plays || got[likesIdx] != want.likes {
			t.Errorf("%s: sum of deltas plays=%d likes=%d, latest counter plays=%d likes=%d", key, got[playsIdx], got[likesIdx], want.plays, want.likes)
		}
	}
}

// A post made private (or deleted) is reported by a snapshot with that state
// and no counters: nothing changes in its sums, no negative delta appears,
// and when it comes back its counters go on from the last applied ones.
func TestStateSnapshotsLeaveTheSumsAlone(t *testing.T) {
	l := NewLedger()
	b := l.NewBatch()
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	b.Apply(snap("p", t0, 500, snapshot.Counter(40)))
	private := snap("p", t0.Add(time.Hour), 0, nil)
	private.Plays, private.State = nil, snapshot.StatePrivate
	if !b.Apply(private) {
		t.Fatal("the private snapshot was not applied (its observed_at must move the post on)")
	}
	back := snap("p", t0.Add(2*time.Hour), 650, snapshot.Counter(45))
	b.Apply(back)
	sums := [NumCounters]int64{}
	for _, r := range b.Rows() {
		for c := 0; c < NumCounters; c++ {
			if v, ok := r.Delta.Get(c); ok {
				sums[c] += v
				if v < 0 {
					t.Errorf("%v: negative %s delta %d", r.Hour, snapshot.Counters[c].Name, v)
				}
			}
		}
		if r.Hour.Equal(t0.Add(time.Hour)) && r.Delta.Has != 0 {
			t.Errorf("the private snapshot's hour has deltas %+v", r.Delta)
		}
	}
	if sums[playsIdx] != 650 || sums[likesIdx] != 45 {
		t.Errorf("sums plays=%d likes=%d, want 650 and 45", sums[playsIdx], sums[likesIdx])
	}
	b.Commit()
	if a, _ := l.Get("douyin:p"); a.V[playsIdx] != 650 || a.ObservedAt != back.ObservedAt.UnixMilli() {
		t.Errorf("ledger %+v", a)
	}
}
