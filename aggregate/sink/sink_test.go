package sink_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/aggregate/rollup"
	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
)

// A flush retried after an unknown outcome resends identical blocks: they
// must count once. Rows of two months go in as two blocks, and the state
// read back is what was applied.
func TestRetriedWritesCountOnceAndStateReadsBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, conn := enginetest.MigratedDatabase(t)
	s := sink.New(conn, prometheus.NewRegistry())

	l := rollup.NewLedger()
	b := l.NewBatch()
	t0 := time.Date(2026, 6, 30, 23, 30, 0, 0, time.UTC) // the batch crosses into July
	var snaps []*snapshot.Snapshot
	for i := 0; i < 6; i++ {
		sn := &snapshot.Snapshot{Schema: 1, Platform: snapshot.Douyin, AmbassadorID: "amb01", AccountID: "a", PostID: "p1",
			PublishedAt: t0.Add(-time.Hour), ObservedAt: t0.Add(time.Duration(i*15) * time.Minute), Source: snapshot.SourceSim,
			Metrics: snapshot.Metrics{Plays: snapshot.Counter(int64(100 * (i + 1))), Likes: snapshot.Counter(int64(i))}}
		snaps = append(snaps, sn)
		b.Apply(sn)
	}
	for attempt := 0; attempt < 3; attempt++ { // the same flush, three times
		if err := s.WriteSnapshots(ctx, snaps); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteRollup(ctx, b.Rows()); err != nil {
			t.Fatal(err)
		}
	}
	var plays, likes int64
	var rows, parts uint64
	if err := conn.QueryRow(ctx, "SELECT sum(plays), sum(likes), count(), uniqExact(toYYYYMM(hour)) FROM post_hourly").Scan(&plays, &likes, &rows, &parts); err != nil {
		t.Fatal(err)
	}
	if plays != 600 || likes != 5 || parts != 2 {
		t.Errorf("after three identical writes: sum(plays)=%d sum(likes)=%d over %d months (%d rows); want 600, 5, 2 months", plays, likes, parts, rows)
	}
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM snapshots").Scan(&n); err != nil || n != 6 {
		t.Errorf("snapshots has %d rows after three identical writes of 6 (err %v)", n, err)
	}
	state, err := s.Load(ctx, []string{"douyin:p1", "douyin:nope"})
	if err != nil {
		t.Fatal(err)
	}
	a, ok := state["douyin:p1"]
	if !ok || a.V[snapshot.CounterIndex("plays")] != 600 || a.V[snapshot.CounterIndex("likes")] != 5 || a.ObservedAt != snaps[5].ObservedAt.UnixMilli() {
		t.Errorf("state read back %+v (found %v), want plays 600, likes 5, observed %v", a, ok, snaps[5].ObservedAt)
	}
	if _, has := a.Get(snapshot.CounterIndex("favorites")); has {
		t.Error("favorites were never given, but the state has them")
	}
	if _, ok := state["douyin:nope"]; ok {
		t.Error("a post never written has state")
	}
}

// Post ids come in every length: 6000 WeChat-like ids of 140 bytes (5000 of
// them as literals are over ClickHouse's max_query_size of 262144 bytes, and
// all of them in one query parameter over the URL bound Load keeps to), ids
// with quotes, backslashes, NUL, tabs, line ends, brackets and URL syntax,
// and valid ids of 20 KB and 400 KB.
// Everything is written, and Load reads back each post's state exactly.
func TestLoadPostIDsOfAnyLength(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the ClickHouse engine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, conn := enginetest.MigratedDatabase(t)
	s := sink.New(conn, prometheus.NewRegistry())

	var ids []string
	for i := 0; i < 6000; i++ {
		ids = append(ids, fmt.Sprintf("export_%06d_%s", i, strings.Repeat("f", 126)))
	}
	ids = append(ids, `it's a \ back\slash`, "nul\x00byte", "tab\tnew\nline\rcr", `['a','b'], {ids}`, "%2C&param_ids=x#", strings.Repeat("l", 20<<10), strings.Repeat("m", 400<<10), strings.Repeat("n", 1<<10+1))
	b := rollup.NewLedger().NewBatch()
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	var snaps []*snapshot.Snapshot
	var keys []string
	for i, id := range ids {
		sn := &snapshot.Snapshot{Schema: 1, Platform: snapshot.WeChatChannels, AmbassadorID: "amb01", AccountID: "a", PostID: id,
			PublishedAt: t0.Add(-time.Hour), ObservedAt: t0.Add(time.Duration(i) * time.Millisecond), Source: snapshot.SourceSim,
			Metrics: snapshot.Metrics{Plays: snapshot.Counter(int64(i + 1))}}
		snaps = append(snaps, sn)
		keys = append(keys, sn.Key())
		b.Apply(sn)
	}
	if err := s.WriteSnapshots(ctx, snaps); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteRollup(ctx, b.Rows()); err != nil {
		t.Fatal(err)
	}
	// The same long id on another platform was never written.
	keys = append(keys, snapshot.Key(snapshot.Douyin, ids[len(ids)-2]))
	state, err := s.Load(ctx, keys)
	if err != nil {
		t.Fatalf("loading %d posts: %.300v", len(keys), err)
	}
	for i, sn := range snaps {
		a, ok := state[sn.Key()]
		if !ok || a.V[snapshot.CounterIndex("plays")] != int64(i+1) || a.ObservedAt != sn.ObservedAt.UnixMilli() {
			t.Errorf("post %d (id of %d bytes): state %+v (found %v), want plays %d", i, len(sn.PostID), a, ok, i+1)
		}
	}
	if len(state) != len(snaps) {
		t.Errorf("Load found %d posts, want the %d written", len(state), len(snaps))
	}
}

// LoadPartitions finds exactly the posts whose key kafka-go's murmur2
// balancer (the aggregator's own ownership test, and the producers'
// partitioner) puts in the asked partitions, with their exact state, and
// all of them when no partitions are named.
func TestLoadPartitionsMatchesKafkaPartitioner(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the ClickHouse engine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, conn := enginetest.MigratedDatabase(t)
	s := sink.New(conn, prometheus.NewRegistry())

	const of = 12
	all := make([]int, of)
	for i := range all {
		all[i] = i
	}
	var balancer kafka.Murmur2Balancer
	b := rollup.NewLedger().NewBatch()
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	partition := map[string]int{}
	likes := map[string]int64{}
	for i := 0; i < 600; i++ {
		platform := snapshot.Platforms[i%3]
		id := fmt.Sprintf("post-%d-%x", i, i*7919)
		if i%50 == 0 {
			id += "'\\ 中文" // bytes beyond ASCII hash the same too
		}
		for r := int64(1); r <= 2; r++ {
			sn := &snapshot.Snapshot{Schema: 1, Platform: platform, AmbassadorID: "amb01", AccountID: "a", PostID: id,
				PublishedAt: t0.Add(-time.Hour), ObservedAt: t0.Add(time.Duration(r) * time.Minute), Source: snapshot.SourceSim,
				Metrics: snapshot.Metrics{Likes: snapshot.Counter(int64(i) * r)}}
			b.Apply(sn)
			likes[sn.Key()] = int64(i) * r
			partition[sn.Key()] = balancer.Balance(kafka.Message{Key: []byte(sn.Key())}, all...)
		}
	}
	if err := s.WriteRollup(ctx, b.Rows()); err != nil {
		t.Fatal(err)
	}
	for _, parts := range [][]int{{3}, {0, 5, 11}, nil} {
		state, err := s.LoadPartitions(ctx, parts, of)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for key, p := range partition {
			asked := parts == nil || slices.Contains(parts, p)
			if asked {
				want++
			}
			a, ok := state[key]
			switch {
			case ok != asked:
				t.Errorf("partitions %v: post %q (partition %d by kafka-go) loaded %v", parts, key, p, ok)
			case ok && (a.V[snapshot.CounterIndex("likes")] != likes[key] || a.ObservedAt != t0.Add(2*time.Minute).UnixMilli()):
				t.Errorf("partitions %v: post %q state %+v, want likes %d", parts, key, a, likes[key])
			}
		}
		if len(state) != want || want == 0 {
			t.Errorf("partitions %v: %d posts loaded, want %d", parts, len(state), want)
		}
	}
}

// A deleted post's state snapshot (no counters) is applied; then, after a
// restart, a live snapshot observed before it arrives late. Its counters
// are the newest observation of each (CONTRACT.md's invariant is per
// metric), so they are rolled up; the state read back after each step is
// the ledger's own, each counter's observation time included, and the
// sums in post_hourly equal each counter's newest non-NULL value in
// snapshots.
func TestLateSnapshotAfterAStateSnapshotReadsBackExactly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, conn := enginetest.MigratedDatabase(t)
	s := sink.New(conn, prometheus.NewRegistry())
	t0 := time.Date(2026, 12, 3, 17, 18, 25, 0, time.UTC)
	post := func(at time.Time, plays, likes int64) *snapshot.Snapshot {
		return &snapshot.Snapshot{Schema: 1, Platform: snapshot.WeChatChannels, AmbassadorID: "amb07", AccountID: "a7", PostID: "export/Uz1",
			PublishedAt: t0.Add(-48 * time.Hour), ObservedAt: at, Source: snapshot.SourceAPI,
			Metrics: snapshot.Metrics{Plays: snapshot.Counter(plays), Likes: snapshot.Counter(likes)}}
	}
	live := post(t0, 3359, 194)
	deleted := post(t0.Add(2*time.Hour), 0, 0)
	deleted.Plays, deleted.Likes, deleted.State = nil, nil, snapshot.StateDeleted
	lateLive := post(t0.Add(42*time.Minute), 3352, 196)

	flush := func(l *rollup.Ledger, snaps ...*snapshot.Snapshot) *rollup.Batch {
		t.Helper()
		b := l.NewBatch()
		for _, sn := range snaps {
			b.Apply(sn)
		}
		if err := s.WriteSnapshots(ctx, snaps); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteRollup(ctx, b.Rows()); err != nil {
			t.Fatal(err)
		}
		b.Commit()
		return b
	}
	readsBack := func(l *rollup.Ledger, when string) {
		t.Helper()
		want, _ := l.Get(live.Key())
		for name, load := range map[string]func() (map[string]rollup.Applied, error){
			"Load":           func() (map[string]rollup.Applied, error) { return s.Load(ctx, []string{live.Key()}) },
			"LoadPartitions": func() (map[string]rollup.Applied, error) { return s.LoadPartitions(ctx, nil, 0) },
		} {
			state, err := load()
			if err != nil {
				t.Fatal(err)
			}
			if got := state[live.Key()]; got != want {
				t.Errorf("%s: %s read back %+v, the ledger holds %+v", when, name, got, want)
			}
		}
	}

	l := rollup.NewLedger()
	flush(l, live, deleted)
	readsBack(l, "after live and deleted")

	restarted, err := s.Load(ctx, []string{live.Key()})
	if err != nil {
		t.Fatal(err)
	}
	l = rollup.NewLedger()
	for k, a := range restarted {
		l.Set(k, a)
	}
	if b := flush(l, lateLive); b.Late() != 1 || b.Applied() != 0 {
		t.Errorf("the late live snapshot: %d late, %d applied; want 1 late (newer counters), 0 applied (not the newest)", b.Late(), b.Applied())
	}
	readsBack(l, "after the late live snapshot")
	if b := flush(l, lateLive, live); b.Skipped() != 2 {
		t.Errorf("both again: %d skipped, want 2", b.Skipped())
	}

	for _, c := range []string{"plays", "likes"} {
		var sum, newest int64
		if err := conn.QueryRow(ctx, "SELECT sum("+c+") FROM post_hourly").Scan(&sum); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "SELECT argMax("+c+", observed_at) FROM snapshots WHERE "+c+" IS NOT NULL").Scan(&newest); err != nil {
			t.Fatal(err)
		}
		if sum != newest {
			t.Errorf("%s: sum(post_hourly) = %d, newest observation in snapshots = %d", c, sum, newest)
		}
	}
	if a, _ := l.Get(live.Key()); a.ObservedAt != deleted.ObservedAt.UnixMilli() {
		t.Errorf("the post's newest observation is %v, want the deleted snapshot's %v", time.UnixMilli(a.ObservedAt).UTC(), deleted.ObservedAt)
	}
}

// clickhouse-go's HTTP batch describes the table before every batch unless
// it is told the columns: the sink reads them once per statement, and reads
// them again after a failed INSERT, so a schema change is seen. Counted at
// the HTTP level, through a proxy in front of the engine.
func TestInsertsReadTheColumnsOncePerTable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn, direct := enginetest.MigratedDatabase(t)
	target, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var describes, columnReads int
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		q := r.URL.Query().Get("query") + " " + string(body[:min(len(body), 4096)])
		mu.Lock()
		if strings.Contains(q, "DESCRIBE") {
			describes++
		}
		if strings.Contains(q, "system.columns") {
			columnReads++
		}
		mu.Unlock()
		r.Host = target.Host // the engine front refuses foreign Host headers
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	viaProxy := *target
	viaProxy.Host = strings.TrimPrefix(srv.URL, "http://")
	conn, err := warehouse.Open(ctx, viaProxy.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	s := sink.New(conn, prometheus.NewRegistry())

	l := rollup.NewLedger()
	t0 := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	flush := func(i int) error {
		sn := &snapshot.Snapshot{Schema: 1, Platform: snapshot.Weibo, AmbassadorID: "amb02", AccountID: "a2", PostID: "5011",
			PublishedAt: t0, ObservedAt: t0.Add(time.Duration(i) * 10 * time.Minute), Source: snapshot.SourceAPI,
			Metrics: snapshot.Metrics{Likes: snapshot.Counter(int64(10 * i))}}
		b := l.NewBatch()
		b.Apply(sn)
		if err := s.WriteSnapshots(ctx, []*snapshot.Snapshot{sn}); err != nil {
			return err
		}
		if err := s.WriteRollup(ctx, b.Rows()); err != nil {
			return err
		}
		b.Commit()
		return nil
	}
	for i := 1; i <= 3; i++ {
		if err := flush(i); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	if describes != 0 || columnReads != 2 {
		t.Errorf("three flushes: %d DESCRIBE TABLE and %d reads of system.columns; want none and one per table (2)", describes, columnReads)
	}
	mu.Unlock()

	// A column the sink writes goes away: the INSERT fails, and the retry
	// reads the columns again and names what is missing.
	if err := direct.Exec(ctx, "ALTER TABLE snapshots RENAME COLUMN source TO source_old"); err != nil {
		t.Fatal(err)
	}
	if err := flush(4); err == nil {
		t.Fatal("an INSERT into a column renamed away succeeded")
	}
	err = flush(4)
	if err == nil || !strings.Contains(err.Error(), "table snapshots has no column source") {
		t.Fatalf("the retry after the rename: %v; want it to name table snapshots and column source", err)
	}
	if err := direct.Exec(ctx, "ALTER TABLE snapshots RENAME COLUMN source_old TO source"); err != nil {
		t.Fatal(err)
	}
	if err := flush(4); err != nil {
		t.Fatalf("after the column is back: %v", err)
	}
	var likes int64
	if err := direct.QueryRow(ctx, "SELECT sum(likes) FROM post_hourly").Scan(&likes); err != nil || likes != 40 {
		t.Errorf("sum(likes) in post_hourly = %d (err %v), want the newest observation, 40", likes, err)
	}
}
