// Package reporttest seeds a campaign into a fresh database of the real
// ClickHouse engine through the aggregator's own path, for the report's
// tests and benchmarks.
package reporttest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/aggregate/alerts"
	"github.com/tongxin/tongxin/aggregate/rollup"
	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

// Seeded is a campaign played into a fresh database of the real engine.
type Seeded struct {
	Conn     driver.Conn
	Scenario *simulator.Scenario
	ledger   *rollup.Ledger
	sink     *sink.Sink
	detector *alerts.Detector
	last     time.Time // the last poll
}

// Start is the simulated clock's start of the seeded campaign: 21 days
// into it. Beijing day 2026-11-22 is then fully observed, and so is the day before.
var Start = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// Seed plays the simulator's seeded campaign from its first day to
// until through the aggregator's own path — snapshots as the platforms'
// APIs give them, rollup.Ledger deltas, sink writes into post_hourly and
// snapshots and post_facts, the alert detector's events into alerts and its judgements
// into post_expected — as if every post
// were polled hourly in its first day and every 6 hours after, and the
// official accounts' timelines listed hourly (their reposts into
// official_reposts).
func Seed(t testing.TB, seed int64, until time.Time) *Seeded {
	return SeedWithout(t, seed, until, nil)
}

// SeedWithout seeds like Seed but leaves out the posts
// withhold picks: their snapshots arrive late (Seeded.Late).
func SeedWithout(t testing.TB, seed int64, until time.Time, withhold func(*simulator.Post) bool) *Seeded {
	t.Helper()
	dsn := enginetest.Database(t, enginetest.ClickHouse(t))
	ctx := context.Background()
	if _, err := warehouse.Migrate(ctx, dsn, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	conn, err := warehouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if err := warehouse.SyncAmbassadors(ctx, conn, r); err != nil {
		t.Fatal(err)
	}
	targets, err := warehouse.ParseTargets(warehouse.SeedTargets)
	if err != nil {
		t.Fatal(err)
	}
	if err := warehouse.SyncTargets(ctx, conn, targets); err != nil {
		t.Fatal(err)
	}
	s := &Seeded{
		Conn: conn, Scenario: simulator.New(r, seed, Start), ledger: rollup.NewLedger(),
		sink: sink.New(conn, prometheus.NewRegistry()), detector: alerts.NewDetector(alerts.Config{}),
	}
	var expectations []alerts.Expectation
	s.detector.OnExpectation = func(e alerts.Expectation) { expectations = append(expectations, e) }
	from := s.Scenario.CampaignStart.Truncate(time.Hour).Add(time.Hour)
	var pending []*snapshot.Snapshot
	var events []alerts.Event
	for at := from; !at.After(until); at = at.Add(time.Hour) {
		for _, p := range s.Scenario.Posts {
			if !p.VisibleAt(at) || (withhold != nil && withhold(p)) {
				continue
			}
			if at.Sub(p.PublishedAt) > 24*time.Hour && at.Hour()%6 != 0 {
				continue
			}
			snap := s.snapshotOf(p, at.Add(-time.Duration(hashMinute(p.PostID))*time.Minute))
			pending = append(pending, snap)
			s.detector.Observe(snap)
		}
		// The official accounts' timelines, listed hourly: each repost
		// made by then, observed with its repost_of (no rollup, no alert).
		for _, rp := range s.Scenario.Reposts {
			if obs := at.Add(-time.Duration(hashMinute(rp.AccountID)) * time.Minute); !rp.RepostedAt.After(obs) && rp.Status.VisibleAt(obs) {
				pending = append(pending, s.snapshotOf(rp.Status, obs))
			}
		}
		events = append(events, s.detector.Evaluate(at)...)
		if at.Hour()%12 == 0 || !at.Add(time.Hour).Before(until) {
			s.write(t, pending)
			pending = pending[:0]
		}
		s.last = at
	}
	s.write(t, pending)
	if err := alerts.WriteEvents(ctx, conn, events); err != nil {
		t.Fatal(err)
	}
	if err := alerts.WriteExpectations(ctx, conn, expectations); err != nil {
		t.Fatal(err)
	}
	return s
}

// hashMinute spreads polls over the hour, so observations are not all on
// the hour.
func hashMinute(id string) int {
	h := 0
	for _, c := range id {
		h = h*31 + int(c)
	}
	if h < 0 {
		h = -h
	}
	return h % 50
}

func (s *Seeded) snapshotOf(p *simulator.Post, at time.Time) *snapshot.Snapshot {
	d := simulator.Direct{Scenario: s.Scenario, Name: p.Platform}
	snap := d.Snapshot(p, at)
	return &snap
}

// write applies snaps through the ledger and writes them as the
// aggregator does: an official account's repost only to official_reposts.
func (s *Seeded) write(t testing.TB, snaps []*snapshot.Snapshot) {
	t.Helper()
	if len(snaps) == 0 {
		return
	}
	ctx := context.Background()
	b := s.ledger.NewBatch()
	var applied []*snapshot.Snapshot
	for _, snap := range snapshot.WithoutReposts(snaps) {
		if b.Apply(snap) {
			applied = append(applied, snap)
		}
	}
	if err := s.sink.WriteSnapshots(ctx, applied); err != nil {
		t.Fatal(err)
	}
	if err := s.sink.WriteRollup(ctx, b.Rows()); err != nil {
		t.Fatal(err)
	}
	if err := s.sink.WritePostFacts(ctx, snaps); err != nil {
		t.Fatal(err)
	}
	b.Commit()
}

// Late delivers the snapshots of post p that were held back: polled hourly
// from its publication to until, arriving now.
func (s *Seeded) Late(t testing.TB, p *simulator.Post, until time.Time) {
	t.Helper()
	var snaps []*snapshot.Snapshot
	for at := p.PublishedAt.Add(10 * time.Minute); !at.After(until); at = at.Add(time.Hour) {
		snaps = append(snaps, s.snapshotOf(p, at))
	}
	s.write(t, snaps)
}

// Poll snapshots every post visible at at, as the platforms' APIs show it
// then, and writes them through the ledger and the sink like Seed's polls.
func (s *Seeded) Poll(t testing.TB, at time.Time) {
	t.Helper()
	var snaps []*snapshot.Snapshot
	for _, p := range s.Scenario.Posts {
		if p.VisibleAt(at) {
			snaps = append(snaps, s.snapshotOf(p, at))
		}
	}
	s.write(t, snaps)
}

// Multiply copies the rows of tables scale-1 times inside ClickHouse, with
// ambassador and post ids suffixed per copy ("-x1", "-x2", ...): the seeded
// campaign at scale× for benchmarks. It returns how long the copy took.
func (s *Seeded) Multiply(t testing.TB, scale int, tables ...string) time.Duration {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	for _, table := range tables {
		cols, err := s.columns(ctx, table)
		if err != nil {
			t.Fatal(err)
		}
		sel := make([]string, len(cols))
		for i, c := range cols {
			sel[i] = "t." + c
			if c == "ambassador_id" || c == "post_id" || c == "alert_id" {
				sel[i] = fmt.Sprintf("concat(t.%s, '-x', toString(n.number))", c)
			}
		}
		if err := s.Conn.Exec(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s AS t, numbers(1, %d) AS n SETTINGS max_partitions_per_insert_block = 1000",
			table, strings.Join(cols, ", "), strings.Join(sel, ", "), table, scale-1)); err != nil {
			t.Fatalf("copying %s %d times: %v", table, scale-1, err)
		}
	}
	return time.Since(start)
}

// columns lists a table's columns that an INSERT takes.
func (s *Seeded) columns(ctx context.Context, table string) ([]string, error) {
	rows, err := s.Conn.Query(ctx, "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = ? AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') ORDER BY position", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
