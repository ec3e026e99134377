package warehouse_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// `tongxin migrate` creates CONTRACT.md's schema, and running it again
// changes nothing.
func TestMigrateIsIdempotentAndCreatesTheContract(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn := enginetest.Database(t, enginetest.ClickHouse(t))
	first, err := warehouse.Migrate(ctx, dsn, quiet)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := warehouse.Migrations()
	if len(first) != len(all) {
		t.Fatalf("applied %v of %d migrations", first, len(all))
	}
	again, err := warehouse.Migrate(ctx, dsn, quiet)
	if err != nil || len(again) != 0 {
		t.Fatalf("second migrate applied %v (err %v), want nothing", again, err)
	}
	conn, err := warehouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	want := map[string][]string{
		"snapshots":        {"platform", "ambassador_id", "post_id", "published_at", "observed_at", "state", "plays", "likes", "comments", "shares", "favorites"},
		"post_state":       {"platform", "ambassador_id", "post_id", "state", "since", "observed_at"},
		"post_hourly":      {"hour", "platform", "ambassador_id", "post_id", "plays", "likes", "comments", "shares", "favorites"},
		"ambassador_daily": {"day", "platform", "ambassador_id", "plays", "likes", "comments", "shares", "favorites", "posts"},
		"alerts":           {"alert_id", "kind", "platform", "ambassador_id", "post_id", "opened_at", "resolved_at", "reason"},
		"ambassadors":      {"ambassador_id", "name", "community"},
		// The dashboards' interface (issue 10); the parameterized
		// leaderboard_period views are queried in views_test.go.
		"post_facts":            {"platform", "post_id", "ambassador_id", "account_id", "title", "url", "topics", "published_at", "updated_at"},
		"posts":                 {"platform", "post_id", "ambassador_id", "account_id", "title", "url", "topics", "published_at", "state", "state_since", "observed_at", "plays", "likes", "comments", "shares", "favorites", "engagement"},
		"campaign_daily":        {"day", "platform", "plays", "likes", "comments", "shares", "favorites", "engagement", "active_posts"},
		"campaign_hourly":       {"hour", "platform", "plays", "likes", "comments", "shares", "favorites", "engagement", "active_posts"},
		"campaign_targets":      {"topic", "platform", "metric", "target", "updated_at"},
		"topic_daily":           {"day", "platform", "topic", "plays", "engagement", "posts"},
		"topic_progress":        {"topic", "platform", "metric", "target", "value", "progress"},
		"posts_published_daily": {"day", "platform", "ambassador_id", "posts"},
		"ambassador_activity":   {"ambassador_id", "name", "community", "posts", "last_published_at", "days_since_post", "platforms"},
		"alerts_current":        {"alert_id", "kind", "platform", "ambassador_id", "name", "community", "post_id", "title", "url", "opened_at", "updated_at", "resolved_at", "status", "reason", "score"},
		"freshness":             {"platform", "ambassador_id", "account_id", "last_observed_at", "age_seconds", "posts", "stale_posts"},
		// Amplification (migration 0012).
		"official_accounts": {"official_id", "name", "platform", "account_id", "updated_at"},
		"official_reposts":  {"platform", "post_id", "official_id", "account_id", "reposted_at", "repost_of_platform", "repost_of_post_id", "state", "likes", "comments", "shares", "observed_at"},
		"amplifications": {"official_id", "official_name", "platform", "repost_id", "reposted_at", "post_id", "ambassador_id", "metric", "baseline",
			"start_at", "end_at", "hours_measured", "count_at_repost", "count_at_end", "growth_after", "expected_at_repost", "expected_at_end",
			"expected_growth", "reach_added", "window_complete"},
	}
	want["ambassador_daily"] = append(want["ambassador_daily"], "engagement")
	for table, cols := range want {
		have := columns(t, ctx, conn, table)
		for _, c := range cols {
			if _, ok := have[c]; !ok {
				t.Errorf("%s has no column %s", table, c)
			}
		}
	}
	checkMetricColumns(t, ctx, conn)
	r, _ := roster.Load("")
	if err := warehouse.SyncAmbassadors(ctx, conn, r); err != nil {
		t.Fatal(err)
	}
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM (SELECT ambassador_id FROM ambassadors GROUP BY ambassador_id)").Scan(&n); err != nil || n != 50 {
		t.Fatalf("%d ambassadors (err %v), want 50", n, err)
	}
	// The roster's official accounts, apart from the ambassadors.
	if err := conn.QueryRow(ctx, "SELECT count() FROM (SELECT official_id FROM official_accounts WHERE platform = 'weibo' GROUP BY official_id)").Scan(&n); err != nil || int(n) != len(r.Officials) {
		t.Fatalf("%d official accounts (err %v), the roster has %d", n, err, len(r.Officials))
	}
	if err := warehouse.SetSnapshotTTL(ctx, conn, 30); err != nil {
		t.Fatal(err)
	}
	var ddl string
	if err := conn.QueryRow(ctx, "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = 'snapshots'").Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ddl, "toIntervalDay(30)") {
		t.Errorf("snapshots TTL not 30 days: %s", ddl)
	}
	// A mistake in SQL comes back as ClickHouse's own error code.
	err = conn.Exec(ctx, "SELECT nope FROM snapshots")
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) || ex.Code != 47 {
		t.Errorf("want ClickHouse exception 47 (unknown identifier), got %v", err)
	}
}

// checkMetricColumns: the migrated schema has a column for every metric of
// snapshot.Counters and snapshot.Gauges, of the type the sink writes, and no
// metric column the tables do not list. A counter added without its
// migration (or a migration's column without its counter) fails here.
func checkMetricColumns(t *testing.T, ctx context.Context, conn driver.Conn) {
	t.Helper()
	const (
		counterType = "Nullable(Int64)"
		gaugeType   = "Nullable(Float64)"
		deltaType   = "SimpleAggregateFunction(sum, Nullable(Int64))"
	)
	want := map[string]map[string]string{"snapshots": {}, "post_hourly": {}}
	for _, c := range snapshot.Counters {
		want["snapshots"][c.Name] = counterType
		want["post_hourly"][c.Name] = deltaType
	}
	for _, g := range snapshot.Gauges {
		want["snapshots"][g.Name] = gaugeType
	}
	for table, metrics := range want {
		have := columns(t, ctx, conn, table)
		for name, typ := range metrics {
			switch got, ok := have[name]; {
			case !ok:
				t.Errorf("%s has no column %s: snapshot lists the metric, no migration adds it", table, name)
			case got != typ:
				t.Errorf("%s.%s is %s, want %s", table, name, got, typ)
			}
		}
		for name, typ := range have {
			if _, listed := metrics[name]; !listed && (typ == counterType || typ == gaugeType || typ == deltaType) {
				t.Errorf("%s.%s (%s) looks like a metric that snapshot.Counters and snapshot.Gauges do not list", table, name, typ)
			}
		}
	}
}

// columns are the migrated table's columns: name → type.
func columns(t *testing.T, ctx context.Context, conn driver.Conn, table string) map[string]string {
	t.Helper()
	rows, err := conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = ?", table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	have := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		have[name] = typ
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return have
}
