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

// postsPushdownVersion is the migration that took the FULL OUTER JOIN out
// of posts and added ambassador_posts (0014_posts_pushdown.sql).
const postsPushdownVersion = 14

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
	postEdges(t, ctx, s.Conn)
	old := oldViews(t, ctx, s.Conn, panelStateVersion, "old_")
	prev := oldViews(t, ctx, s.Conn, postsPushdownVersion, "prev_")

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
	// A post whose snapshots carry two ambassadors (edge-moved) has the
	// newest one in post_state and freshness since 0015 (movedPost checks
	// it); the definitions before 0011 take any one of them, which is not
	// defined. Every other value is compared; that one is not.
	const movedAccounts = "('acct_amb02', 'acct_amb03')" // the moved posts' newest accounts
	checks := []check{
		// post_state: reads projection post_runs, but its IN sets read
		// migration 0013's tables, which have none; readsProjection checks it
		{"SELECT * REPLACE (if(post_id IN ('edge-moved', 'edge-moved-up'), '', ambassador_id) AS ambassador_id) FROM {v}", false},
		{"SELECT * FROM {v}", false},
		{"SELECT platform, post_id, state, state_since, observed_at, plays, engagement FROM {v} WHERE ambassador_id = 'amb01'", false},
		{"SELECT * FROM {v}", false}, // topic_progress
		{"SELECT * FROM {v}", true},  // post_latest
		{"SELECT hour, platform, plays, likes, comments, shares, favorites, engagement FROM {v}", true},
		{"SELECT * FROM {v}", false}, // campaign_hourly with active_posts
		{"SELECT day, platform, plays, engagement FROM {v}", true},
		// freshness: age_seconds counts to now(), which moves between the two
		// queries; last_observed_at, what it counts from, is compared. The
		// accounts the moved posts count in are compared by account, since
		// the ambassador the definitions before 0011 group them under is
		// not defined.
		{"SELECT * EXCEPT (age_seconds) FROM {v} WHERE account_id NOT IN " + movedAccounts, true},
		{"SELECT platform, account_id, max(last_observed_at), sum(posts), sum(stale_posts) FROM {v} WHERE account_id IN " + movedAccounts + " GROUP BY platform, account_id", true},
		{"SELECT * FROM {v}", true}, // posts_published_daily
		{"SELECT * FROM {v}", false},
		{"SELECT * FROM {v}(from = '" + from + "', to = '" + to + "')", false},
		{"SELECT * FROM {v}(from = '" + week + "', to = '" + to + "')", false},
		{"SELECT * FROM {v}(from = '" + week + "', to = '" + to + "')", false},
		{"SELECT * FROM {v}(from = '" + hourFrom + "', to = '" + hourTo + "')", false},
		{"SELECT * FROM {v}(from = '" + hourFrom + "', to = '" + sevenTo + "')", false},
		// posts (0014) for the edges' ambassador and for the edges themselves
		{"SELECT * FROM {v} WHERE ambassador_id = 'amb02'", false},
		{"SELECT * FROM {v} WHERE platform IN ('douyin', 'weibo') AND post_id IN (" + edgeList + ")", false},
	}
	views := []string{"post_state", "posts", "posts", "topic_progress", "post_latest", "campaign_hourly", "campaign_hourly",
		"campaign_daily", "freshness", "freshness", "posts_published_daily", "ambassador_activity", "leaderboard_period",
		"leaderboard_period", "community_leaderboard_period", "leaderboard_period", "leaderboard_period", "posts", "posts"}
	// posts and ambassador_posts (0014) against posts as the migrations
	// before 0014 defined it (prev_posts, over the views of 0013:
	// projections used as they are in production) and as before 0011
	// (old_posts, projections off): every post, one ambassador's, each edge
	// post alone.
	type pair struct{ got, want string }
	pairs := []pair{
		{"SELECT * FROM posts", "SELECT * FROM {posts}"},
		{"SELECT * FROM ambassador_posts(ambassador = 'amb02')", "SELECT * FROM {posts} WHERE ambassador_id = 'amb02'"},
		{"SELECT * FROM ambassador_posts(ambassador = 'amb03')", "SELECT * FROM {posts} WHERE ambassador_id = 'amb03'"},
		{"SELECT * FROM ambassador_posts(ambassador = 'amb01')", "SELECT * FROM {posts} WHERE ambassador_id = 'amb01'"},
		{"SELECT count() FROM ambassador_posts(ambassador = 'nobody')", "SELECT count() FROM {posts} WHERE ambassador_id = 'nobody'"},
	}
	for _, e := range edges {
		if e.inPosts {
			q := "SELECT * FROM %s WHERE platform = '" + e.platform + "' AND post_id = '" + e.id + "'"
			pairs = append(pairs, pair{fmt.Sprintf(q, "posts"), fmt.Sprintf(q, "{posts}")})
		}
	}

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
	comparePosts := func(stage string) {
		for _, p := range pairs {
			got, err := rowsOf(ctx, s.Conn, p.got)
			if err != nil {
				t.Errorf("%s: %s: %v", stage, p.got, err)
				continue
			}
			for _, w := range []struct{ name, settings string }{{prev["posts"], ""}, {old["posts"], " SETTINGS optimize_use_projections = 0"}} {
				q := strings.ReplaceAll(p.want, "{posts}", w.name)
				want, err := rowsOf(ctx, s.Conn, q+w.settings)
				if err != nil {
					t.Fatalf("%s: %s: %v", stage, q, err)
				}
				if len(want) == 0 {
					t.Errorf("%s: %s: no rows to compare", stage, q)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: %s: %d rows, %s %d; first difference: %s", stage, p.got, len(got), w.name, len(want), firstDifference(got, want))
				}
			}
		}
	}
	compare("unmerged")
	comparePosts("unmerged")
	movedPost(t, ctx, s.Conn, "unmerged")
	mirrors(t, ctx, s.Conn, "unmerged")
	edgesAsExpected(t, ctx, s.Conn)
	// A filter on one post, or on one ambassador through ambassador_posts,
	// reaches the sorting key of every table posts reads (no table is read
	// whole to show a few posts, as the FULL OUTER JOIN before 0014 did).
	filterReaches(t, ctx, s.Conn, "SELECT * FROM posts WHERE platform = 'douyin' AND post_id = 'edge-back'")
	filterReaches(t, ctx, s.Conn, "SELECT * FROM ambassador_posts(ambassador = 'amb02')")
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
	comparePosts("merged")
	movedPost(t, ctx, s.Conn, "merged")
	mirrors(t, ctx, s.Conn, "merged")
}

// filterReaches fails unless every table query reads is read with a
// condition on post_id (a key or a set of keys) in its plan.
func filterReaches(t *testing.T, ctx context.Context, conn driver.Conn, query string) {
	t.Helper()
	var plan []string
	if err := conn.QueryRow(ctx, "SELECT groupArray(explain) FROM (EXPLAIN indexes = 1, projections = 1 "+query+")").Scan(&plan); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	reads := strings.Split(text, "ReadFromMergeTree ")[1:]
	if len(reads) == 0 {
		t.Fatalf("%s reads no table:\n%s", query, text)
	}
	onPost := regexp.MustCompile(`Condition: [^\n]*post_id`)
	for _, r := range reads {
		if !onPost.MatchString(r) {
			t.Errorf("%s reads %s without a condition on post_id:\n%s", query, strings.SplitN(r, "\n", 2)[0], text)
		}
	}
}

// An edge post: written straight into the tables posts reads, for the
// cases the seeded campaign has few or none of.
type edge struct {
	platform, id string
	inPosts      bool // has a row in posts (counters or facts)
}

var edges = []edge{
	{"douyin", "edge-facts-only", true},   // facts only, two versions, the ambassador changed
	{"douyin", "edge-facts-state", true},  // facts without an account and snapshots, no counters
	{"douyin", "edge-snaps-only", false},  // snapshots only (deleted): not a row of posts
	{"douyin", "edge-moved", true},        // counters under two ambassadors: two rows; moved from amb03 to amb02
	{"douyin", "edge-moved-up", true},     // the same, moved from amb02 to amb03 (the newest sorts last)
	{"douyin", "edge-deleted", true},      // live, then deleted
	{"douyin", "edge-back", true},         // live, deleted, live, private, live, out of order
	{"douyin", "edge-no-facts", true},     // counters and snapshots, private, no facts
	{"weibo", "edge-weibo", true},         // no plays (Weibo gives none)
	{"douyin", "edge-private-back", true}, // private, live, private again: since the last run
}

// edgeList is the edges' post ids, quoted, for an IN list.
var edgeList = func() string {
	ids := make([]string, len(edges))
	for i, e := range edges {
		ids[i] = "'" + e.id + "'"
	}
	return strings.Join(ids, ", ")
}()

// postEdges writes the edges' rows, each table in two INSERTs (two parts
// until merged), the later snapshots first.
func postEdges(t *testing.T, ctx context.Context, conn driver.Conn) {
	t.Helper()
	at := func(h int) string {
		return "'" + flipAt.Add(time.Duration(h)*time.Hour+11*time.Minute).Format("2006-01-02 15:04:05.000") + "'"
	}
	hour := func(h int) string {
		return "'" + flipAt.Add(time.Duration(h)*time.Hour).Truncate(time.Hour).Format(time.DateTime) + "'"
	}
	pub := "'" + flipAt.Format(time.DateTime) + "'"
	type snap struct {
		platform, amb, id string
		h                 int
		state             string
	}
	snaps := func(ss ...snap) string {
		var v []string
		for _, s := range ss {
			plays := fmt.Sprint(100 * s.h)
			if s.platform == "weibo" {
				plays = "NULL"
			}
			v = append(v, fmt.Sprintf("('%s', '%s', 'acct_%s', '%s', %s, %s, %s, %d, 'api', '%s')", s.platform, s.amb, s.amb, s.id, pub, at(s.h), plays, 3*s.h, s.state))
		}
		return "INSERT INTO snapshots (platform, ambassador_id, account_id, post_id, published_at, observed_at, plays, likes, source, state) VALUES " + strings.Join(v, ", ")
	}
	type row struct {
		platform, amb, id string
		h                 int // the hour; plays 100, likes 3 per hour since publication
	}
	hourly := func(rs ...row) string {
		var v []string
		for _, r := range rs {
			plays := "100"
			if r.platform == "weibo" {
				plays = "NULL"
			}
			v = append(v, fmt.Sprintf("(%s, '%s', '%s', '%s', %s, %s, 3, 1, 0, NULL, 1, %s)", hour(r.h), r.platform, r.amb, r.id, pub, plays, at(r.h)))
		}
		return "INSERT INTO post_hourly (hour, platform, ambassador_id, post_id, published_at, plays, likes, comments, shares, favorites, snapshots, last_observed_at) VALUES " + strings.Join(v, ", ")
	}
	type fact struct {
		platform, amb, account, id, title string
		h                                 int
	}
	facts := func(fs ...fact) string {
		var v []string
		for _, f := range fs {
			v = append(v, fmt.Sprintf("('%s', '%s', '%s', '%s', '%s', 'https://example.com/%s', ['寻美西山', '%s'], %s, %s)", f.platform, f.id, f.amb, f.account, f.title, f.id, f.title, pub, at(f.h)))
		}
		return "INSERT INTO post_facts (platform, post_id, ambassador_id, account_id, title, url, topics, published_at, updated_at) VALUES " + strings.Join(v, ", ")
	}
	const live, private, deleted = "live", "private", "deleted"
	for _, st := range []string{
		// later rows first
		snaps(snap{"douyin", "amb02", "edge-facts-state", 2, private}, snap{"douyin", "amb02", "edge-snaps-only", 2, deleted},
			snap{"douyin", "amb02", "edge-moved", 3, live}, snap{"douyin", "amb03", "edge-moved-up", 3, live}, snap{"douyin", "amb02", "edge-deleted", 3, deleted},
			snap{"douyin", "amb02", "edge-back", 5, live}, snap{"douyin", "amb02", "edge-back", 4, private},
			snap{"douyin", "amb02", "edge-no-facts", 2, private}, snap{"weibo", "amb02", "edge-weibo", 2, live},
			snap{"douyin", "amb02", "edge-private-back", 3, private}),
		snaps(snap{"douyin", "amb02", "edge-facts-state", 1, live}, snap{"douyin", "amb02", "edge-snaps-only", 1, live},
			snap{"douyin", "amb03", "edge-moved", 1, live}, snap{"douyin", "amb02", "edge-moved-up", 1, live}, snap{"douyin", "amb02", "edge-deleted", 1, live}, snap{"douyin", "amb02", "edge-deleted", 2, live},
			snap{"douyin", "amb02", "edge-back", 1, live}, snap{"douyin", "amb02", "edge-back", 2, deleted}, snap{"douyin", "amb02", "edge-back", 3, live},
			snap{"douyin", "amb02", "edge-no-facts", 1, live}, snap{"weibo", "amb02", "edge-weibo", 1, live},
			snap{"douyin", "amb02", "edge-private-back", 1, private}, snap{"douyin", "amb02", "edge-private-back", 2, live}),
		hourly(row{"douyin", "amb02", "edge-moved", 3}, row{"douyin", "amb03", "edge-moved-up", 3}, row{"douyin", "amb02", "edge-back", 5}, row{"douyin", "amb02", "edge-back", 3},
			row{"weibo", "amb02", "edge-weibo", 1}, row{"douyin", "amb02", "edge-private-back", 2}),
		hourly(row{"douyin", "amb03", "edge-moved", 1}, row{"douyin", "amb02", "edge-moved-up", 1}, row{"douyin", "amb02", "edge-deleted", 1}, row{"douyin", "amb02", "edge-deleted", 2},
			row{"douyin", "amb02", "edge-back", 1}, row{"douyin", "amb02", "edge-no-facts", 1}, row{"weibo", "amb02", "edge-weibo", 2}),
		facts(fact{"douyin", "amb02", "acct_amb02", "edge-facts-only", "新标题", 2}, fact{"douyin", "amb02", "", "edge-facts-state", "无账号", 1},
			fact{"douyin", "amb02", "acct_amb02", "edge-moved", "转手", 3}, fact{"douyin", "amb03", "acct_amb03", "edge-moved-up", "升级", 3}, fact{"weibo", "amb02", "acct_amb02", "edge-weibo", "微博", 1}),
		facts(fact{"douyin", "amb03", "acct_amb03", "edge-facts-only", "旧标题", 1}, fact{"douyin", "amb03", "acct_amb03", "edge-moved", "原主", 1},
			fact{"douyin", "amb02", "acct_amb02", "edge-deleted", "删除", 1}, fact{"douyin", "amb02", "acct_amb02", "edge-back", "回来", 1},
			fact{"douyin", "amb02", "acct_amb02", "edge-back", "回来了", 4}, fact{"douyin", "amb02", "acct_amb02", "edge-private-back", "私密", 1}),
	} {
		if err := conn.Exec(ctx, st); err != nil {
			t.Fatalf("%v\n%s", err, st)
		}
	}
}

// edgesAsExpected checks a few of the edges' rows in posts against what
// was written: what the comparisons with the earlier forms rest on.
func edgesAsExpected(t *testing.T, ctx context.Context, conn driver.Conn) {
	t.Helper()
	got, err := rowsOf(ctx, conn, `SELECT post_id, ambassador_id, account_id, title, state, toString(state_since), toString(observed_at), toString(plays)
		FROM posts WHERE post_id IN (`+edgeList+`)`)
	if err != nil {
		t.Fatal(err)
	}
	at := func(h int) string {
		return flipAt.Add(time.Duration(h)*time.Hour + 11*time.Minute).Format("2006-01-02 15:04:05.000")
	}
	want := []string{
		fmt.Sprintf("('edge-back','amb02','acct_amb02','回来了','live','%s','%s','300')", at(5), at(5)),
		fmt.Sprintf("('edge-deleted','amb02','acct_amb02','删除','deleted','%s','%s','200')", at(3), at(3)),
		"('edge-facts-only','amb02','acct_amb02','新标题','live',NULL,NULL,NULL)",
		fmt.Sprintf("('edge-facts-state','amb02','acct_amb02','无账号','private','%s','%s',NULL)", at(2), at(2)),
		fmt.Sprintf("('edge-moved','amb02','acct_amb02','转手','live','%s','%s','100')", at(1), at(3)),
		fmt.Sprintf("('edge-moved','amb03','acct_amb02','转手','live','%s','%s','100')", at(1), at(3)),
		fmt.Sprintf("('edge-moved-up','amb02','acct_amb03','升级','live','%s','%s','100')", at(1), at(3)),
		fmt.Sprintf("('edge-moved-up','amb03','acct_amb03','升级','live','%s','%s','100')", at(1), at(3)),
		fmt.Sprintf("('edge-no-facts','amb02','acct_amb02','','private','%s','%s','100')", at(2), at(2)),
		fmt.Sprintf("('edge-private-back','amb02','acct_amb02','私密','private','%s','%s','100')", at(3), at(3)),
		fmt.Sprintf("('edge-weibo','amb02','acct_amb02','微博','live','%s','%s',NULL)", at(1), at(2)),
	}
	if !slices.Equal(got, want) {
		t.Errorf("the edge posts in posts:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// movedPost checks that edge-moved, whose account moved from amb03 to amb02
// (its snapshots carry both), is amb02's, and edge-moved-up, moved from
// amb02 to amb03, amb03's in post_state, post_state_runs and freshness (0015: the newest snapshot's ambassador, as post_facts_latest
// has the newest facts'), with projections and without.
func movedPost(t *testing.T, ctx context.Context, conn driver.Conn, stage string) {
	t.Helper()
	for _, c := range []struct{ query, want string }{
		{"SELECT groupArray(ambassador_id) FROM post_state WHERE post_id = 'edge-moved'", "amb02"},
		{"SELECT groupArray(ambassador_id) FROM post_state WHERE post_id = 'edge-moved-up'", "amb03"},
		{"SELECT groupArray(ambassador_id) FROM post_state_runs WHERE post_id = 'edge-moved'", "amb02"},
		{"SELECT groupArray(ambassador_id) FROM post_state_runs WHERE post_id = 'edge-moved-up'", "amb03"},
		{"SELECT groupArray(ambassador_id) FROM freshness WHERE platform = 'douyin' AND account_id = 'acct_amb02'", "amb02"},
		{"SELECT groupArray(ambassador_id) FROM freshness WHERE platform = 'douyin' AND account_id = 'acct_amb03'", "amb03"},
	} {
		for _, settings := range []string{"", " SETTINGS optimize_use_projections = 0"} {
			var got []string
			if err := conn.QueryRow(ctx, c.query+settings).Scan(&got); err != nil {
				t.Fatalf("%s: %s: %v", stage, c.query, err)
			}
			if !slices.Equal(got, []string{c.want}) {
				t.Errorf("%s: %s%s = %q, want [%s] (the newest snapshot's)", stage, c.query, settings, got, c.want)
			}
		}
	}
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

// oldViews creates every view as the migrations before version before
// last defined it, under the name prefix+<view> (reading the other views
// so made), and returns the names by view.
func oldViews(t *testing.T, ctx context.Context, conn driver.Conn, before int, prefix string) map[string]string {
	t.Helper()
	ms, err := warehouse.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	created := regexp.MustCompile(`(?is)^CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+AS\s`)
	var order []string
	last := map[string]string{}
	for _, m := range ms {
		if m.Version >= before {
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
		names[v] = prefix + v
	}
	// Views are read after FROM or JOIN; a column may share a view's name (posts).
	reads := regexp.MustCompile(`(?i)\b(FROM|JOIN)(\s+)(` + strings.Join(order, "|") + `)\b`)
	// A view is created after the views it reads (a view redefined later,
	// as post_state, comes after the views that read it in order).
	done := map[string]bool{}
	for len(done) < len(order) {
		progress := false
		for _, v := range order {
			ready := !done[v]
			for _, m := range reads.FindAllStringSubmatch(last[v], -1) {
				ready = ready && (done[m[3]] || m[3] == v)
			}
			if !ready {
				continue
			}
			query := reads.ReplaceAllStringFunc(last[v], func(m string) string {
				i := strings.LastIndexFunc(m, unicode.IsSpace) + 1
				return m[:i] + names[m[i:]]
			})
			if err := conn.Exec(ctx, fmt.Sprintf("CREATE OR REPLACE VIEW %s AS %s", names[v], query)); err != nil {
				t.Fatalf("the view %s as before migration %d: %v", v, before, err)
			}
			done[v], progress = true, true
		}
		if !progress {
			t.Fatalf("the views before migration %d read each other in a circle", before)
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
