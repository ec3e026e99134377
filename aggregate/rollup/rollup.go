// Package rollup turns cumulative counters into the signed deltas that
// post_hourly holds. The Ledger remembers, per post, each counter's last
// applied value and when it was observed; a snapshot's counter is applied
// only if it was observed after that, so a re-delivered or older snapshot
// changes nothing. A late snapshot still brings the counters it carries
// that the post's newer snapshots did not (a private or deleted post's
// state snapshot carries none): the sum stays each counter's latest
// observation, as CONTRACT.md's invariant says, per metric. The ledger is
// rebuilt from post_hourly itself (the sum of a post's deltas is its last
// applied counter; the newest row holding a counter, its time), never
// trusted across a restart.
package rollup

import (
	"time"

	"github.com/tongxin/tongxin/snapshot"
)

// NumCounters is how many summable counters there are: counter i is
// snapshot.Counters[i], whose name is its post_hourly column.
const NumCounters = snapshot.NumCounters

// Counters is a set of counter values; bit i of Has says V[i] is known.
// A counter a platform does not give stays unknown: NULL, never zero.
type Counters struct {
	V   [NumCounters]int64
	Has uint16
}

// A counter past Has's bits would fail to compile here, not vanish.
const _ = uint16(1 << (NumCounters - 1))

// FromSnapshot reads the summable counters of a snapshot.
func FromSnapshot(s *snapshot.Snapshot) Counters {
	var c Counters
	for i := range snapshot.Counters {
		if p := snapshot.Counters[i].Get(&s.Metrics); p != nil {
			c.Set(i, *p)
		}
	}
	return c
}

// Get returns counter i and whether it is known.
func (c *Counters) Get(i int) (int64, bool) { return c.V[i], c.Has&(1<<i) != 0 }

// Set makes counter i known with value v.
func (c *Counters) Set(i int, v int64) {
	c.V[i] = v
	c.Has |= 1 << i
}

// Applied is what the ledger holds for one post: the observed_at (Unix
// milliseconds) of the newest applied snapshot, each counter's last applied
// value, and when that value was observed (At[i], Unix milliseconds).
type Applied struct {
	ObservedAt int64
	Counters
	At [NumCounters]int64
}

// Ledger is the last applied state of every tracked post, keyed by the
// post's Kafka key. It is owned by one goroutine.
type Ledger struct {
	posts map[string]Applied
	// batchPosts is how many posts the last committed batch touched: the
	// next batch's maps start that large instead of growing step by step.
	batchPosts int
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{posts: map[string]Applied{}} }

// Len is how many posts the ledger tracks.
func (l *Ledger) Len() int { return len(l.posts) }

// Get returns a post's applied state.
func (l *Ledger) Get(key string) (Applied, bool) {
	a, ok := l.posts[key]
	return a, ok
}

// Set records a post's applied state (from ClickHouse, or a flushed batch).
func (l *Ledger) Set(key string, a Applied) { l.posts[key] = a }

// Reset forgets every post, e.g. when partitions move to another aggregator.
func (l *Ledger) Reset() { clear(l.posts) }

// HourKey identifies one post_hourly row of a batch. Snapshots that carry
// different counters (Has) go to different rows, so that a row's
// last_observed_at is when each of its counters was observed: the time the
// ledger is rebuilt with.
type HourKey struct {
	Key  string // platform:post_id
	Hour int64  // Unix seconds at the start of the hour
	Has  uint16 // the counters the row's snapshots carried
}

// HourRow is one post's deltas in one hour, summed over a batch.
type HourRow struct {
	Hour         time.Time
	Platform     string
	AmbassadorID string
	PostID       string
	PublishedAt  time.Time
	Delta        Counters // Has: the counter changed or was seen in this hour
	Snapshots    uint64
	LastObserved time.Time
}

// Batch applies snapshots on top of a ledger without changing it until
// Commit: if writing the batch fails, Discard leaves the ledger as it was.
type Batch struct {
	ledger  *Ledger
	pending map[string]*pending
	rows    map[HourKey]*HourRow
	order   []HourKey
	applied int
	late    int
	skipped int
}

// pending is one post's state within a batch: its applied state so far
// (has: it has one, from the ledger or this batch) and the hour row it last
// touched. A post's snapshots mostly come in time order, so the next one
// usually lands in the same row: found without hashing the key again.
type pending struct {
	Applied
	has bool
	key HourKey
	row *HourRow
}

// NewBatch starts a batch over l.
func (l *Ledger) NewBatch() *Batch {
	return &Batch{ledger: l, pending: make(map[string]*pending, l.batchPosts), rows: make(map[HourKey]*HourRow, l.batchPosts)}
}

// Known reports whether the batch can judge the post: it is in the ledger or
// already in this batch. Unknown posts must be loaded into the ledger first.
func (b *Batch) Known(key string) bool {
	if _, ok := b.pending[key]; ok {
		return true
	}
	_, ok := b.ledger.posts[key]
	return ok
}

// Apply adds one snapshot and reports whether it is the post's newest: a
// snapshot observed after every applied one. A counter the snapshot does
// not carry keeps its last applied value: a private or deleted post's state
// snapshot, which carries none, moves the post's observed_at on and changes
// no sum (never a fake drop to 0). A snapshot older than the newest applied
// one (late) applies only the counters it observed after their last applied
// observation, and Apply reports false; if it has none, it changes nothing
// (skipped: a re-delivery, or older in every counter).
func (b *Batch) Apply(s *snapshot.Snapshot) bool { return b.ApplyKeyed(s, s.Key()) }

// ApplyKeyed is Apply for a caller that already has the snapshot's key
// (s.Key()), e.g. computed where it was decoded.
func (b *Batch) ApplyKeyed(s *snapshot.Snapshot, key string) bool {
	p := b.pending[key]
	if p == nil {
		p = &pending{}
		p.Applied, p.has = b.ledger.posts[key]
		b.pending[key] = p
	}
	obs := s.ObservedAt.UnixMilli()
	late := p.has && obs <= p.ObservedAt
	cur := FromSnapshot(s)
	var d Counters
	for i := 0; i < NumCounters; i++ {
		v, has := cur.Get(i)
		if !has {
			continue // not given this time: no change known
		}
		if late && p.Has&(1<<i) != 0 && obs <= p.At[i] {
			continue // known as of this observation or a later one
		}
		old, _ := p.Get(i) // first sight: the delta is the value
		d.V[i] = v - old
		d.Has |= 1 << i
		p.V[i] = v
		p.Has |= 1 << i
		p.At[i] = obs
	}
	if late && d.Has == 0 {
		b.skipped++
		return false
	}
	if !late {
		p.ObservedAt, p.has = obs, true
	}

	hour := s.ObservedAt.UTC().Truncate(time.Hour)
	hk := HourKey{Key: key, Hour: hour.Unix(), Has: cur.Has}
	row := p.row
	if row == nil || p.key != hk {
		row = b.rows[hk]
		if row == nil {
			row = &HourRow{Hour: hour, Platform: s.Platform, AmbassadorID: s.AmbassadorID, PostID: s.PostID, PublishedAt: s.PublishedAt.UTC()}
			b.rows[hk] = row
			b.order = append(b.order, hk)
		}
		p.row, p.key = row, hk
	}
	for i := 0; i < NumCounters; i++ {
		if cur.Has&(1<<i) != 0 {
			// Seen in this hour: a row's counter is NULL only when none of
			// its snapshots carried it (a late counter already known as of
			// a later observation adds 0).
			row.Delta.V[i] += d.V[i]
			row.Delta.Has |= 1 << i
		}
	}
	row.Snapshots++
	if t := s.ObservedAt.UTC(); t.After(row.LastObserved) {
		row.LastObserved = t
	}
	if late {
		b.late++
		return false
	}
	b.applied++
	return true
}

// Rows returns the batch's post_hourly rows in the order they were first touched.
func (b *Batch) Rows() []*HourRow {
	out := make([]*HourRow, len(b.order))
	for i, k := range b.order {
		out[i] = b.rows[k]
	}
	return out
}

// Applied, Late and Skipped count the batch's snapshots: newest, late with
// some newer counters, and neither.
func (b *Batch) Applied() int { return b.applied }
func (b *Batch) Late() int    { return b.late }
func (b *Batch) Skipped() int { return b.skipped }

// Commit records the batch's state in the ledger, once its rows are written.
func (b *Batch) Commit() {
	for k, p := range b.pending {
		if p.has {
			b.ledger.posts[k] = p.Applied
		}
	}
	b.ledger.batchPosts = len(b.pending)
}
