package rollup

import (
	"fmt"
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

// CONTRACT.md's invariant is per metric: a counter's sum is its latest
// observation, even when the snapshot that observed it arrives after newer
// snapshots that did not carry it (a deleted post's state snapshot, or a
// source that gives other counters). Posts get snapshots carrying random
// subsets of counters (none: a state snapshot), delivered shuffled, with
// duplicates and abandoned batches; midway the ledger is thrown away and
// rebuilt from the rows written so far, as the sink's Load does (sums, and
// each counter's newest row's last_observed_at). Every post's every
// counter must sum to the value of its newest snapshot carrying it.
func TestSumIsEachCountersLatestObservation(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	t0 := time.Date(2026, 6, 1, 9, 50, 0, 0, time.UTC)
	type obs struct {
		at time.Time
		v  int64
	}
	latest := map[string]map[int]obs{} // key → counter → newest observation
	var stream []*snapshot.Snapshot
	for p := 0; p < 40; p++ {
		post := fmt.Sprintf("p%02d", p)
		plays, likes := int64(0), int64(0)
		latest["douyin:"+post] = map[int]obs{}
		for i := 0; i < 30; i++ {
			at := t0.Add(time.Duration(i*9+p) * time.Minute)
			plays += rng.Int64N(100) - 5
			likes += rng.Int64N(7) - 1
			s := snap(post, at, plays, snapshot.Counter(likes))
			switch rng.IntN(6) {
			case 0: // a state snapshot: no counters
				s.Plays, s.Likes, s.State = nil, nil, snapshot.StateDeleted
			case 1:
				s.Plays = nil
			case 2:
				s.Likes = nil
			}
			for c, p := range map[int]*int64{playsIdx: s.Plays, likesIdx: s.Likes} {
				if p != nil {
					latest[s.Key()][c] = obs{at, *p}
				}
			}
			stream = append(stream, s)
		}
	}
	rng.Shuffle(len(stream), func(i, j int) {
		if d := i - j; d > -60 && d < 60 { // late by up to ~60 snapshots
			stream[i], stream[j] = stream[j], stream[i]
		}
	})
	var delivered []*snapshot.Snapshot
	for i, s := range stream {
		delivered = append(delivered, s)
		if rng.IntN(5) == 0 {
			delivered = append(delivered, stream[rng.IntN(i+1)])
		}
	}

	var written []*HourRow
	// rebuild is the sink's Load: per post, the sums of the rows, the newest
	// row's last_observed_at, and per counter the newest row holding it.
	rebuild := func() *Ledger {
		l := NewLedger()
		state := map[string]Applied{}
		for _, r := range written {
			k := snapshot.Key(r.Platform, r.PostID)
			a := state[k]
			a.ObservedAt = max(a.ObservedAt, r.LastObserved.UnixMilli())
			for c := 0; c < NumCounters; c++ {
				if v, ok := r.Delta.Get(c); ok {
					old, _ := a.Get(c)
					a.Set(c, old+v)
					a.At[c] = max(a.At[c], r.LastObserved.UnixMilli())
				}
			}
			state[k] = a
		}
		for k, a := range state {
			l.Set(k, a)
		}
		return l
	}
	l := NewLedger()
	late, rebuilt := 0, false
	for i := 0; i < len(delivered); {
		if !rebuilt && i > len(delivered)/2 {
			l, rebuilt = rebuild(), true
		}
		n := 1 + rng.IntN(40)
		b := l.NewBatch()
		for _, s := range delivered[i:min(i+n, len(delivered))] {
			b.Apply(s)
		}
		if rng.IntN(4) == 0 {
			continue // the write failed: the batch is abandoned and redelivered
		}
		written = append(written, b.Rows()...)
		late += b.Late()
		b.Commit()
		i += n
	}
	final := rebuild()
	for key, counters := range latest {
		a, _ := final.Get(key)
		for c, want := range counters {
			if got, ok := a.Get(c); !ok || got != want.v {
				t.Errorf("%s %s: sum of deltas %d (known %v), newest observation %d at %v",
					key, snapshot.Counters[c].Name, got, ok, want.v, want.at.Format("15:04"))
			}
			if a.At[c] != want.at.UnixMilli() {
				t.Errorf("%s %s: rebuilt observation time %v, want %v", key, snapshot.Counters[c].Name,
					time.UnixMilli(a.At[c]).UTC().Format("15:04:05"), want.at.Format("15:04:05"))
			}
		}
	}
	if late == 0 {
		t.Error("no late snapshot brought a counter: the test does not test what it says")
	}
}
