package warehouse_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/report/reporttest"
	"github.com/tongxin/tongxin/snapshot"
)

// panelStateVersion is the migration that made the panels' views read
// projections (0011_panel_state.sql).
const panelStateVersion = 11

// The views the dashboards and reports read give, row by row, what their
// definitions before migration 0011 give on the raw rows (projections off),
// on the seeded simulated campaign (its first 11 days, every post polled
// as the aggregator would) plus posts that change state back and forth, arrive
// out of order and twice — before and after every part is merged. Where a
// view is meant to read a projection, the query is made to fail if it
// does not (force_optimize_projection), so the fast path is what is
// compared.
func TestPanelViewsEqualTheirDefinitionsBeforeProjections(t *testing.T) {
	s := reporttest.Seed(t, 1, seededUntil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	flipFlops(t, ctx, s.Conn)
	old := oldViews(t, ctx, s.Conn)

	// Periods as Grafana gives them: not on the hour.
	from, to := s.Scenario.CampaignStart.Format(time.DateTime), seededUntil.Add(-17*time.Minute).Format(time.DateTime)
	week := seededUntil.Add(-7*24*time.Hour + 25*time.Minute).Format(time.DateTime)
	// One hour and seven hours, off the hour: posts polled hourly and every
	// 6 hours move in some of these hours and not in others.
	hourFrom, hourTo := seededUntil.Add(-30*time.Hour+25*time.Minute).Format(time.DateTime), seededUntil.Add(-29*time.Hour+25*time.Minute).Format(time.DateTime)
	sevenTo := seededUntil.Add(-23*time.Hour + 25*time.Minute).Format(time.DateTime)
	type check struct {
		query      string // {v} is the view's name
		projection bool   // the new form must read a projection
	}
	checks := []check{
		// post_state: reads projection post_runs, but its IN sets read
		// migration 0013's tables, which have none; readsProjection checks it
		{"SELECT * FROM {v}", false},
		{"SELECT * FROM {v}", false},
		{"SELECT platform, post_id, state, state_since, observed_at, plays, engagement FROM {v} WHERE ambassador_id = 'amb01'", false},
		{"SELECT * FROM {v}", false}, // topic_progress
		{"SELECT * FROM {v}", true},  // post_latest
		{"SELECT hour, platform, plays, likes, comments, shares, favorites, engagement FROM {v}", true},
		{"SELECT * FROM {v}", false}, // campaign_hourly with active_posts
		{"SELECT day, platform, plays, engagement FROM {v}", true},
		// freshness: age_seconds counts to now(), which moves between the two
		// queries; last_observed_at, what it counts from, is compared.
		{"SELECT * EXCEPT (age_seconds) FROM {v}", true},
		{"SELECT * FROM {v}", true}, // posts_published_daily
		{"SELECT * FROM {v}", false},
		{"SELECT * FROM {v}(from = '" + from + "', to = '" + to + "')", false},
		{"SELECT * FROM {v}(from = '" + week + "', to = '" + to + "')", false},
		{"SELECT * FROM {v}(from = '" + week + "', to = '" + to + "')", false},
		{"SELECT * FROM {v}(from = '" + hourFrom + "', to = '" + hourTo + "')", false},
		{"SELECT * FROM {v}(from = '" + hourFrom + "', to = '" + sevenTo + "')", false},
	}
	views := []string{"post_state", "posts", "posts", "topic_progress", "post_latest", "campaign_hourly", "campaign_hourly",
		"campaign_daily", "freshness", "posts_published_daily", "ambassador_activity", "leaderboard_period",
		"leaderboard_period", "community_leaderboard_period", "leaderboard_period", "leaderboard_period"}

	compare := func(stage string) {
		for i, c := range checks {
			v := views[i]
			newQ := strings.ReplaceAll(c.query, "{v}", v)
			oldQ := strings.ReplaceAll(c.query, "{v}", old[v])
			settings := ""
			if c.projection {
				settings = " SETTINGS force_optimize_projection = 1"
			}
			got, err := rowsOf(ctx, s.Conn, newQ+settings)
			if err != nil {
				t.Errorf("%s: %s: %v", stage, newQ, err)
				continue
			}
			want, err := rowsOf(ctx, s.Conn, oldQ+" SETTINGS optimize_use_projections = 0")
			if err != nil {
				t.Fatalf("%s: the definition before 0011: %s: %v", stage, oldQ, err)
			}
			if len(want) == 0 {
				t.Errorf("%s: %s: no rows to compare", stage, oldQ)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s: %d rows, before 0011 %d; first difference: %s", stage, newQ, len(got), len(want), firstDifference(got, want))
			}
		}
	}
	compare("unmerged")
	mirrors(t, ctx, s.Conn, "unmerged")
	readsProjection(t, ctx, s.Conn, "SELECT * FROM post_state", "post_runs")
	// A post in each case of post_state's since: changed once (since its
	// first private snapshot), back in a state it was in before (since the
	// first snapshot after the last other one), changed and back and again.
	sinceHour := map[string]int{"flip-once": 3, "flip-back": 5, "flip-private": 4}
	for id, h := range sinceHour {
		var state string
		var since time.Time
		if err := s.Conn.QueryRow(ctx, "SELECT state, since FROM post_state WHERE post_id = ?", id).Scan(&state, &since); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if want := flipAt.Add(time.Duration(h)*time.Hour + 7*time.Minute); !since.Equal(want) {
			t.Errorf("%s: %s since %v, want %v", id, state, since, want)
		}
	}
	for _, table := range []string{"post_hourly", "snapshots"} {
		if err := s.Conn.Exec(ctx, "OPTIMIZE TABLE "+table+" FINAL"); err != nil {
			t.Fatal(err)
		}
	}
	compare("merged")
	mirrors(t, ctx, s.Conn, "merged")
}

// readsProjection fails unless query's plan reads the projection and no
// raw rows of snapshots or post_hourly.
func readsProjection(t *testing.T, ctx context.Context, conn driver.Conn, query, projection string) {
	t.Helper()
	var plan []string
	if err := conn.QueryRow(ctx, "SELECT groupArray(explain) FROM (EXPLAIN projections = 1 "+query+")").Scan(&plan); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "ReadFromMergeTree ("+projection+")") {
		t.Errorf("%s does not read projection %s:\n%s", query, projection, text)
	}
	if m := regexp.MustCompile(`ReadFromMergeTree \([^)]*\.(snapshots|post_hourly)\)`).FindString(text); m != "" {
		t.Errorf("%s reads raw rows (%s):\n%s", query, m, text)
	}
}

// mirrors checks migration 0013's tables against snapshots: post_observations
// holds each snapshot's post and time, post_state_changes each snapshot not
// live, as sets (a twin would change none of post_state's answers).
func mirrors(t *testing.T, ctx context.Context, conn driver.Conn, stage string) {
	t.Helper()
	for _, c := range []struct{ table, cols, where string }{
		{"post_observations", "platform, post_id, observed_at", ""},
		{"post_state_changes", "platform, post_id, observed_at, state", " WHERE state != 'live'"},
	} {
		got, err := rowsOf(ctx, conn, "SELECT DISTINCT "+c.cols+" FROM "+c.table)
		if err != nil {
			t.Fatalf("%s: %s: %v", stage, c.table, err)
		}
		want, err := rowsOf(ctx, conn, "SELECT DISTINCT "+c.cols+" FROM snapshots"+c.where)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 {
			t.Errorf("%s: no snapshots for %s", stage, c.table)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %s has %d rows, snapshots %d; first difference: %s", stage, c.table, len(got), len(want), firstDifference(got, want))
		}
	}
}

// A flush retried after snapshots took its block but a materialized view
// of migration 0013 did not (the view detached while the sink wrote, as a
// failure between the two would leave it) fills the view's table; the same
// flush once more adds nothing, to snapshots or to the views' tables.
func TestPostObservationsFilledByARetriedFlush(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := migrated(t, ctx)
	at := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	var batch []*snapshot.Snapshot
	for i, state := range []string{snapshot.StateLive, snapshot.StatePrivate, snapshot.StateLive} {
		s := &snapshot.Snapshot{Schema: 1, Platform: snapshot.Douyin, AmbassadorID: "amb01", AccountID: "dy_retry", PostID: "retry-1",
			PublishedAt: at, ObservedAt: at.Add(time.Duration(i+1) * time.Hour), Source: snapshot.SourceAPI, State: state}
		if state == snapshot.StateLive {
			s.Plays = snapshot.Counter(int64(10 * (i + 1)))
		}
		batch = append(batch, s)
	}
	w := sink.New(conn, prometheus.NewRegistry())
	counts := func() (snaps, obs, changes uint64) {
		t.Helper()
		if err := conn.QueryRow(ctx, `SELECT (SELECT count() FROM snapshots), (SELECT count() FROM post_observations),
			(SELECT count() FROM post_state_changes)`).Scan(&snaps, &obs, &changes); err != nil {
			t.Fatal(err)
		}
		return
	}
	views := []string{"post_observations_from_snapshots", "post_state_changes_from_snapshots"}
	for _, v := range views {
		if err := conn.Exec(ctx, "DETACH TABLE "+v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteSnapshots(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if snaps, obs, changes := counts(); snaps != 3 || obs != 0 || changes != 0 {
		t.Fatalf("with the views detached: %d snapshots, %d observations, %d state changes; want 3, 0, 0", snaps, obs, changes)
	}
	for _, v := range views {
		if err := conn.Exec(ctx, "ATTACH TABLE "+v); err != nil {
			t.Fatal(err)
		}
	}
	for try := 1; try <= 2; try++ {
		if err := w.WriteSnapshots(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if snaps, obs, changes := counts(); snaps != 3 || obs != 3 || changes != 1 {
			t.Errorf("retry %d: %d snapshots, %d observations, %d state changes; want 3, 3, 1", try, snaps, obs, changes)
		}
	}
	var state string
	var since time.Time
	if err := conn.QueryRow(ctx, "SELECT state, since FROM post_state WHERE post_id = 'retry-1'").Scan(&state, &since); err != nil {
		t.Fatal(err)
	}
	if want := at.Add(3 * time.Hour); state != snapshot.StateLive || !since.Equal(want) {
		t.Errorf("post_state: %s since %v, want live since %v", state, since, want)
	}
}

// seededUntil is the seeded campaign's last poll: 11 days in.
var seededUntil = reporttest.Start.Add(-10 * 24 * time.Hour)

// flipAt is when the state-changing posts of flipFlops are published.
var flipAt = seededUntil.Add(-72 * time.Hour)

// flipFlops writes, through the sink, snapshots of three posts that change
// state, in two flushes out of order, and one flush twice.
func flipFlops(t *testing.T, ctx context.Context, conn driver.Conn) {
	t.Helper()
	at := flipAt
	snap := func(id string, h int, state string) *snapshot.Snapshot {
		s := &snapshot.Snapshot{Schema: 1, Platform: snapshot.Douyin, AmbassadorID: "amb01", AccountID: "dy_flip", PostID: id,
			PublishedAt: at, ObservedAt: at.Add(time.Duration(h)*time.Hour + 7*time.Minute), Source: snapshot.SourceAPI, State: state}
		if state == snapshot.StateLive {
			s.Plays, s.Likes = snapshot.Counter(int64(100*h)), snapshot.Counter(int64(3*h))
		}
		return s
	}
	live, private := snapshot.StateLive, snapshot.StatePrivate
	late := []*snapshot.Snapshot{ // arrives first
		snap("flip-back", 5, live), snap("flip-back", 6, live),
		snap("flip-private", 4, private),
		snap("flip-once", 3, private), snap("flip-once", 4, private),
	}
	early := []*snapshot.Snapshot{
		snap("flip-back", 1, live), snap("flip-back", 2, private), snap("flip-back", 3, private), snap("flip-back", 4, private),
		snap("flip-private", 1, live), snap("flip-private", 2, private), snap("flip-private", 3, live),
		snap("flip-once", 1, live), snap("flip-once", 2, live),
	}
	w := sink.New(conn, prometheus.NewRegistry())
	for _, batch := range [][]*snapshot.Snapshot{late, early, early} {
		if err := w.WriteSnapshots(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
}

// oldViews creates every view as the migrations before 0011 last defined
// it, under the name old_<view> (reading the other old_ views), and returns
// the names by view.
func oldViews(t *testing.T, ctx context.Context, conn driver.Conn) map[string]string {
	t.Helper()
	ms, err := warehouse.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	created := regexp.MustCompile(`(?is)^CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+AS\s`)
	var order []string
	last := map[string]string{}
	for _, m := range ms {
		if m.Version >= panelStateVersion {
			break
		}
		for _, st := range m.Statements {
			if c := created.FindStringSubmatch(st); c != nil {
				order = slices.DeleteFunc(order, func(n string) bool { return n == c[1] })
				order = append(order, c[1])
				last[c[1]] = st[len(c[0]):]
			}
		}
	}
	names := map[string]string{}
	for _, v := range order {
		names[v] = "old_" + v
	}
	for _, v := range order {
		// Views are read after FROM or JOIN; a column may share a view's name (posts).
		query := regexp.MustCompile(`(?i)\b(FROM|JOIN)(\s+)(`+strings.Join(order, "|")+`)\b`).ReplaceAllStringFunc(last[v], func(m string) string {
			i := strings.LastIndexFunc(m, unicode.IsSpace) + 1
			return m[:i] + names[m[i:]]
		})
		if err := conn.Exec(ctx, fmt.Sprintf("CREATE OR REPLACE VIEW %s AS %s", names[v], query)); err != nil {
			t.Fatalf("the view %s as before 0011: %v", v, err)
		}
	}
	return names
}

// rowsOf is every row of query as text, sorted.
func rowsOf(ctx context.Context, conn driver.Conn, query string) ([]string, error) {
	var rows []string
	settings := ""
	if i := strings.LastIndex(query, " SETTINGS "); i >= 0 {
		query, settings = query[:i], query[i:]
	}
	err := conn.QueryRow(ctx, "SELECT arraySort(groupArray(toString(tuple(*)))) FROM ("+query+")"+settings).Scan(&rows)
	return rows, err
}

func firstDifference(got, want []string) string {
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			return "missing " + want[i]
		case i >= len(want):
			return "extra " + got[i]
		case got[i] != want[i]:
			return fmt.Sprintf("%s, before 0011 %s", got[i], want[i])
		}
	}
	return "none"
}
