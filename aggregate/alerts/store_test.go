package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/aggregate/rollup"
	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
)

// applySnapshots writes snapshots to post_hourly the way the aggregator
// does: through the rollup ledger and the sink, in flushes of flush.
func applySnapshots(t *testing.T, conn driver.Conn, snaps []*snapshot.Snapshot, flush int) {
	t.Helper()
	ctx := context.Background()
	sk := sink.New(conn, prometheus.NewRegistry())
	ledger := rollup.NewLedger()
	for i := 0; i < len(snaps); i += flush {
		b := ledger.NewBatch()
		for _, s := range snaps[i:min(i+flush, len(snaps))] {
			b.Apply(s)
		}
		if err := sk.WriteRollup(ctx, b.Rows()); err != nil {
			t.Fatal(err)
		}
		b.Commit()
	}
}

func TestStoreEventsRoundTrip(t *testing.T) {
	_, conn := enginetest.MigratedDatabase(t)
	ctx := context.Background()
	at := time.Date(2026, 6, 3, 10, 0, 0, 0, time.UTC)
	ev := func(id, kind, state string, opened, updated time.Time, reason string) Event {
		e := Event{Schema: 1, AlertID: id, Kind: kind, State: state, Platform: snapshot.Douyin, AmbassadorID: "amb01",
			PostID: "post-" + id, OpenedAt: opened, UpdatedAt: updated, Reason: reason, Score: 9.5, DataAge: 90 * time.Second}
		if state == StateResolved {
			r := updated
			e.ResolvedAt = &r
		}
		return e
	}
	events := []Event{
		ev("a", KindViral, StateOpen, at, at, "a opened"),
		ev("b", KindLowReach, StateOpen, at, at, "b opened"),
		ev("c", KindViral, StateOpen, at.Add(time.Hour), at.Add(time.Hour), "c opened"),
	}
	later := []Event{
		ev("a", KindViral, StateUpdate, at, at.Add(30*time.Minute), "a updated"),
		ev("b", KindLowReach, StateResolved, at, at.Add(5*time.Hour), "b recovered"),
	}
	if err := WriteEvents(ctx, conn, events); err != nil {
		t.Fatal(err)
	}
	if err := WriteEvents(ctx, conn, later); err != nil {
		t.Fatal(err)
	}
	// A retried write, and the older state again: reads still take the newest.
	if err := WriteEvents(ctx, conn, append(later, events[0])); err != nil {
		t.Fatal(err)
	}
	if err := WriteEvents(ctx, conn, nil); err != nil {
		t.Fatal(err)
	}
	// The post of alert a is in post_hourly: LoadOpen fills in its
	// publication time and plays.
	pub := at.Add(-3 * time.Hour)
	var snaps []*snapshot.Snapshot
	for i, v := range []int64{100, 900, 2500} {
		snaps = append(snaps, &snapshot.Snapshot{Schema: 1, Platform: snapshot.Douyin, AmbassadorID: "amb01", PostID: "post-a",
			PublishedAt: pub, ObservedAt: pub.Add(time.Duration(i+1) * 50 * time.Minute), Source: snapshot.SourceSim,
			Metrics: snapshot.Metrics{Plays: snapshot.Counter(v)}})
	}
	applySnapshots(t, conn, snaps, 2)

	open, err := LoadOpen(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 2 || open[0].AlertID != "a" || open[1].AlertID != "c" {
		t.Fatalf("LoadOpen = %+v, want a then c", open)
	}
	a, c := open[0], open[1]
	if a.State != StateUpdate || a.Reason != "a updated" || !a.UpdatedAt.Equal(at.Add(30*time.Minute)) || !a.OpenedAt.Equal(at) ||
		a.Kind != KindViral || a.Platform != snapshot.Douyin || a.PostID != "post-a" || a.AmbassadorID != "amb01" ||
		a.Score != 9.5 || a.DataAge != 90*time.Second || a.ResolvedAt != nil {
		t.Errorf("alert a read back as %+v", a)
	}
	if !a.PublishedAt.Equal(pub) || a.Plays != 2500 {
		t.Errorf("alert a: published %v plays %d, want %v and 2500 from post_hourly", a.PublishedAt, a.Plays, pub)
	}
	if c.State != StateOpen || !c.PublishedAt.IsZero() || c.Plays != 0 {
		t.Errorf("alert c (post not in post_hourly) read back as %+v", c)
	}

	// What LoadOpen returns restores the Detector: one alert per post and kind.
	d := NewDetector(Config{})
	d.Restore(open, nil)
	if s := d.Stats(); s.Open != 2 {
		t.Errorf("restored %d open alerts, want 2", s.Open)
	}
}

func TestStoreHistoryFromPostHourly(t *testing.T) {
	_, conn := enginetest.MigratedDatabase(t)
	ctx := context.Background()
	since := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	posts := []postSpec{
		{snapshot.Douyin, "amb01", "d1", since.Add(90 * time.Minute), ordinary(5000, 6)},
		{snapshot.Weibo, "amb02", "w1", since.Add(2*time.Hour + 17*time.Minute), ordinary(300, 10)},
		{snapshot.WeChatChannels, "amb03", "c1", since.Add(-48 * time.Hour), ordinary(900, 8)}, // before since
	}
	// Each post observed every 7 minutes for 30 hours, interleaved, applied
	// in flushes of 25 snapshots (several rows per post and hour).
	var snaps []*snapshot.Snapshot
	want := map[string]PostHistory{}
	for at := since.Add(-48 * time.Hour); at.Before(since.Add(40 * time.Hour)); at = at.Add(7 * time.Minute) {
		for _, p := range posts {
			if age := at.Sub(p.published); age > 0 && age <= 30*time.Hour {
				snaps = append(snaps, p.snap(at))
			}
		}
	}
	// post_hourly keeps, per hour, the counters of the hour's last snapshot.
	for _, s := range snaps {
		if s.PublishedAt.Before(since) {
			continue
		}
		h, ok := want[s.PostID]
		if !ok {
			h = PostHistory{Platform: s.Platform, AmbassadorID: s.AmbassadorID, PostID: s.PostID, PublishedAt: s.PublishedAt}
		}
		pt := HistoryPoint{At: s.ObservedAt, Plays: s.Plays, Likes: s.Likes}
		if n := len(h.Points); n > 0 && h.Points[n-1].At.Truncate(time.Hour).Equal(s.ObservedAt.Truncate(time.Hour)) {
			h.Points[n-1] = pt
		} else {
			h.Points = append(h.Points, pt)
		}
		want[s.PostID] = h
	}
	applySnapshots(t, conn, snaps, 25)

	got, err := LoadHistory(ctx, conn, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("LoadHistory returned %d posts, want the 2 published since %v", len(got), since)
	}
	for _, h := range got {
		w, ok := want[h.PostID]
		if !ok {
			t.Errorf("unexpected post %s", h.PostID)
			continue
		}
		if h.Platform != w.Platform || h.AmbassadorID != w.AmbassadorID || !h.PublishedAt.Equal(w.PublishedAt) {
			t.Errorf("%s: %s %s %v, want %s %s %v", h.PostID, h.Platform, h.AmbassadorID, h.PublishedAt, w.Platform, w.AmbassadorID, w.PublishedAt)
		}
		if len(h.Points) != len(w.Points) {
			t.Errorf("%s: %d points, want %d", h.PostID, len(h.Points), len(w.Points))
			continue
		}
		for i, pt := range h.Points {
			wp := w.Points[i]
			if !pt.At.Equal(wp.At) || !eqPtr(pt.Plays, wp.Plays) || !eqPtr(pt.Likes, wp.Likes) {
				t.Errorf("%s point %d: %v plays %v likes %v, want %v plays %v likes %v", h.PostID, i,
					pt.At, str(pt.Plays), str(pt.Likes), wp.At, str(wp.Plays), str(wp.Likes))
				break
			}
		}
	}

	// The restored checkpoints match what a Detector that saw every
	// snapshot measured, within the hour grain's error.
	live := NewDetector(Config{})
	for _, s := range snaps {
		if !s.PublishedAt.Before(since) {
			live.Observe(s)
		}
	}
	restored := NewDetector(Config{})
	restored.Restore(nil, got)
	for _, p := range posts[:2] {
		lp, rp := live.posts[snapshot.Key(p.platform, p.id)], restored.posts[snapshot.Key(p.platform, p.id)]
		for i, c := range live.cps {
			if c > 30*time.Hour {
				continue
			}
			if math.IsNaN(rp.cp[i]) || math.Abs(lp.cp[i]-rp.cp[i]) > 0.05*lp.cp[i]+1 {
				t.Errorf("%s checkpoint %v: restored %.0f, live %.0f", p.id, c, rp.cp[i], lp.cp[i])
			}
		}
	}
}

func eqPtr(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func str(p *int64) string {
	if p == nil {
		return "NULL"
	}
	return fmt.Sprint(*p)
}

// The 作品 dashboard draws a post against what the viral rule expected of
// it: every judged snapshot of a post becomes a post_expected row with the
// post's counter as applied and the baseline's expectation at its age.
func TestServiceWritesWhatItExpected(t *testing.T) {
	_, conn := enginetest.MigratedDatabase(t)
	ctx := context.Background()
	clk := clock.NewManual(t0)
	svc := NewService(ServiceConfig{Conn: conn, Clock: clk, Log: slog.New(slog.DiscardHandler)})
	if err := svc.Reset(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// A campaign baseline; then one new post is judged every 20 minutes
	// for 6 hours.
	svc.Apply(ctx, baselineHistory())
	p := postSpec{snapshot.Douyin, "amb01", "judged", t0, ordinary(3000, 8)}
	want := map[time.Time]float64{}
	for at := t0.Add(40 * time.Minute); !at.After(t0.Add(6 * time.Hour)); at = at.Add(20 * time.Minute) {
		clk.Set(at)
		s := p.snap(at)
		want[at] = float64(*s.Plays)
		svc.Apply(ctx, []*snapshot.Snapshot{s})
	}
	rows, err := conn.Query(ctx, `SELECT observed_at, age_hours, metric, actual, expected, baseline
		FROM post_expected WHERE platform = 'douyin' AND post_id = 'judged' ORDER BY observed_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var at time.Time
		var age, actual, expected float64
		var metric, baseline string
		if err := rows.Scan(&at, &age, &metric, &actual, &expected, &baseline); err != nil {
			t.Fatal(err)
		}
		n++
		w, ok := want[at.UTC()]
		if !ok {
			t.Errorf("a row at %v, which no snapshot observed", at)
			continue
		}
		if actual != w || metric != MetricPlays || math.Abs(age-at.Sub(t0).Hours()) > 1e-9 {
			t.Errorf("at %v: actual %v %s at %.2f h, want %v plays at %.2f h", at, actual, metric, age, w, at.Sub(t0).Hours())
		}
		// An ordinary post of an ordinary ambassador: expected within a
		// factor of two of what it has, from the ambassador's own posts.
		if expected <= 0 || actual/expected > 2 || actual/expected < 0.5 || baseline != "own" {
			t.Errorf("at %.2f h: expected %v (%s baseline) for %v plays", age, expected, baseline, actual)
		}
	}
	if n != len(want) {
		t.Errorf("%d post_expected rows, want one per judged snapshot (%d)", n, len(want))
	}
}

// A rebalance while ClickHouse cannot be read (here: its alerts table is
// away) must pause the alerts, not end them until the next rebalance:
// Reset fails and judges nothing, and once ClickHouse answers, Apply
// restores the detector and judges again.
func TestServiceRestoresOnceClickHouseAnswers(t *testing.T) {
	ctx := context.Background()
	_, conn := enginetest.MigratedDatabase(t)
	if err := conn.Exec(ctx, "RENAME TABLE alerts TO alerts_away"); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(t0)
	svc := NewService(ServiceConfig{Conn: conn, Clock: clk, Log: slog.New(slog.DiscardHandler)})
	if err := svc.Reset(ctx, nil); err == nil {
		t.Fatal("Reset without the alerts table succeeded")
	}
	p := postSpec{snapshot.Douyin, "amb01", "judged", t0, ordinary(3000, 8)}
	clk.Set(t0.Add(40 * time.Minute))
	svc.Apply(ctx, []*snapshot.Snapshot{p.snap(t0.Add(40 * time.Minute))}) // no detector: nothing judged

	if err := conn.Exec(ctx, "RENAME TABLE alerts_away TO alerts"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(restoreEvery)
	svc.Apply(ctx, baselineHistory())
	for at := t0.Add(60 * time.Minute); !at.After(t0.Add(3 * time.Hour)); at = at.Add(20 * time.Minute) {
		clk.Set(at)
		svc.Apply(ctx, []*snapshot.Snapshot{p.snap(at)})
	}
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM post_expected WHERE post_id = 'judged'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	// One judgement per snapshot once restored (7 of them, 1 h to 3 h); none
	// for the snapshot before.
	if n != 7 {
		t.Errorf("%d judgements after ClickHouse came back, want 7 (one per snapshot from 1 h to 3 h)", n)
	}
}

// baselineHistory is five ambassadors' past posts, 8 each, observed every
// 20 minutes for 80 hours: a campaign baseline of about 3,000 plays.
func baselineHistory() []*snapshot.Snapshot {
	var hist []*snapshot.Snapshot
	for i := 1; i <= 5; i++ {
		for j := 0; j < 8; j++ {
			p := postSpec{snapshot.Douyin, fmt.Sprintf("amb%02d", i), fmt.Sprintf("amb%02d-%d", i, j), t0.Add(-time.Duration(10-j) * 24 * time.Hour), ordinary(3000, 8)}
			for at := p.published.Add(10 * time.Minute); at.Before(p.published.Add(80 * time.Hour)); at = at.Add(20 * time.Minute) {
				hist = append(hist, p.snap(at))
			}
		}
	}
	return hist
}
