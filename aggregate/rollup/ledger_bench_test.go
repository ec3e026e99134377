package rollup_test

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/tongxin/tongxin/aggregate/rollup"
	"github.com/tongxin/tongxin/internal/benchtest"
	"github.com/tongxin/tongxin/snapshot"
)

// ledgerPost is post i of the benchmark's campaign: ids in each platform's
// own style (as the simulator makes them), so keys are 22 to 65 bytes, 42 on
// average (douyin:@9VwKzu… 38).
func ledgerPost(i int) (platform, id string) {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], 0x7a6f6e6778696e)
	binary.BigEndian.PutUint64(b[8:], uint64(i+1)*0x9E3779B97F4A7C15)
	switch platform = snapshot.Platforms[i%len(snapshot.Platforms)]; platform {
	case snapshot.Douyin:
		id = "@9VwKzu" + base64.StdEncoding.EncodeToString(b[:])
	case snapshot.Weibo:
		id = fmt.Sprintf("50%014d", binary.BigEndian.Uint64(b[8:])%1e14)
	default:
		id = "export/UzFfAgtgekIEAQAAAAAA" + base64.RawURLEncoding.EncodeToString(b[:])
	}
	return platform, id
}

// Indices of the counters the benchmark's platforms give.
var (
	plays, likes, comments, shares  = snapshot.CounterIndex("plays"), snapshot.CounterIndex("likes"), snapshot.CounterIndex("comments"), snapshot.CounterIndex("shares")
	forwards, downloads, recommends = snapshot.CounterIndex("forwards"), snapshot.CounterIndex("downloads"), snapshot.CounterIndex("recommends")
)

var ledgerT0 = time.Date(2026, 5, 10, 8, 0, 0, 0, time.UTC)

// ledgerApplied is what the ledger holds for post i after its first snapshots:
// the counters its platform gives.
func ledgerApplied(i int, platform string) rollup.Applied {
	a := rollup.Applied{ObservedAt: ledgerT0.Add(time.Duration(i%86400) * time.Second).UnixMilli()}
	base := int64(1000 + i%50000)
	switch platform {
	case snapshot.Douyin:
		a.Set(plays, base)
		a.Set(likes, base/30)
		a.Set(comments, base/400)
		a.Set(shares, base/900)
		a.Set(forwards, base/1800)
		a.Set(downloads, base/4500)
	case snapshot.Weibo:
		a.Set(likes, base/30)
		a.Set(comments, base/400)
		a.Set(shares, base/900)
	default:
		a.Set(plays, base)
		a.Set(likes, base/30)
		a.Set(comments, base/400)
		a.Set(shares, base/900)
		a.Set(forwards, base/2700)
		a.Set(recommends, base/120)
	}
	return a
}

// ledgerSnapshot is a later snapshot of post i, as the aggregator decodes it.
func ledgerSnapshot(i int, later time.Duration) *snapshot.Snapshot {
	platform, id := ledgerPost(i)
	prev := ledgerApplied(i, platform)
	c := snapshot.Counter
	grow := func(k int) *int64 { return c(prev.V[k] + int64(1+i%97)) }
	s := &snapshot.Snapshot{
		Schema: snapshot.SchemaVersion, Platform: platform, AmbassadorID: fmt.Sprintf("amb%02d", 1+i%60),
		AccountID: "acct", PostID: id, PublishedAt: ledgerT0.Add(-24 * time.Hour),
		ObservedAt: time.UnixMilli(prev.ObservedAt).UTC().Add(later), Source: snapshot.SourceAPI,
	}
	switch platform {
	case snapshot.Douyin:
		s.Plays, s.Likes, s.Comments, s.Shares, s.Forwards, s.Downloads = grow(plays), grow(likes), grow(comments), grow(shares), grow(forwards), grow(downloads)
	case snapshot.Weibo:
		s.Likes, s.Comments, s.Shares = grow(likes), grow(comments), grow(shares)
	default:
		s.Plays, s.Likes, s.Comments, s.Shares, s.Forwards, s.Recommends = grow(plays), grow(likes), grow(comments), grow(shares), grow(forwards), grow(recommends)
	}
	return s
}

// BenchmarkLedgerMemory measures the aggregator's memory per tracked post: a
// rollup.Ledger filled with the applied state of 1,000,000 posts (keys as the
// aggregator builds them, platform:post_id, one allocation each as
// Snapshot.Key makes them), as HeapAlloc after GC before and after the fill
// (bytes/post, heap-MB; key-bytes/post is the keys' own length, for
// comparison).
//
// Then it applies batches of 20,000 snapshots of posts the ledger tracks on
// top of it, doing the ledger's part of one aggregator flush: Known for every
// snapshot, NewBatch, Apply, Rows, Commit. Each op is one batch (ns/op);
// ms/batch is the median of the batches and ns/snapshot that over 20,000.
// With -benchtime 1x (the Makefile's bench) five batches are timed anyway,
// for a steadier median.
func BenchmarkLedgerMemory(b *testing.B) {
	const posts, batch = 1_000_000, 20_000

	before := benchtest.HeapAfterGC()
	l := rollup.NewLedger()
	var keyBytes int
	for i := 0; i < posts; i++ {
		platform, id := ledgerPost(i)
		key := snapshot.Key(platform, id)
		keyBytes += len(key)
		l.Set(key, ledgerApplied(i, platform))
	}
	after := benchtest.HeapAfterGC()
	if l.Len() != posts {
		b.Fatalf("ledger tracks %d posts, want %d", l.Len(), posts)
	}
	perPost := float64(after-before) / posts
	b.Logf("ledger of %d posts: %.1f MB heap, %.0f bytes/post (keys %.1f bytes on average)",
		posts, float64(after-before)/1e6, perPost, float64(keyBytes)/posts)

	// Batch k: 20,000 distinct tracked posts, spread over the ledger,
	// observed later than what it holds; made while the timer is stopped.
	makeBatch := func(k int) []*snapshot.Snapshot {
		out := make([]*snapshot.Snapshot, batch)
		for j := range out {
			i := (j*(posts/batch) + k*7919) % posts
			out[j] = ledgerSnapshot(i, time.Duration(k+1)*20*time.Minute)
		}
		return out
	}
	apply := func(snaps []*snapshot.Snapshot) {
		bt := l.NewBatch()
		for _, s := range snaps {
			if !bt.Known(s.Key()) {
				b.Fatalf("post %s unknown to the ledger", s.Key())
			}
		}
		for _, s := range snaps {
			if !bt.Apply(s) {
				b.Fatalf("snapshot of %s not applied", s.Key())
			}
		}
		if rows := bt.Rows(); len(rows) == 0 {
			b.Fatal("no rows")
		}
		bt.Commit()
	}

	var times []float64
	b.ResetTimer()
	for k := 0; k < max(b.N, 5); k++ {
		b.StopTimer()
		snaps := makeBatch(k)
		runtime.GC()
		if k < b.N { // the extra batches of a short run are not in ns/op
			b.StartTimer()
		}
		start := time.Now()
		apply(snaps)
		times = append(times, float64(time.Since(start).Nanoseconds()))
	}
	b.StopTimer()
	if l.Len() != posts {
		b.Fatalf("ledger tracks %d posts after the batches, want %d", l.Len(), posts)
	}
	slices.Sort(times)
	med := times[len(times)/2]
	b.ReportMetric(perPost, "bytes/post")
	b.ReportMetric(float64(after-before)/1e6, "heap-MB")
	b.ReportMetric(float64(keyBytes)/posts, "key-bytes/post")
	b.ReportMetric(med/1e6, "ms/batch")
	b.ReportMetric(med/batch, "ns/snapshot")
	runtime.KeepAlive(l)
}
