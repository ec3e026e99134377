package warehouse_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/internal/enginetest"
)

func render(t *testing.T, r *warehouse.ClusterRenderer, stmt string) []string {
	t.Helper()
	out, err := r.Render(stmt)
	if err != nil {
		t.Fatalf("render %q: %v", stmt, err)
	}
	return out
}

func newRenderer(t *testing.T) *warehouse.ClusterRenderer {
	t.Helper()
	r, err := warehouse.NewClusterRenderer("prod", "tongxin")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A MergeTree-family table becomes a replicated <name>_local with the same
// engine arguments after the Keeper path and replica, and <name> a
// Distributed table sharded by the sorting key up to its first time column.
func TestClusterRendersTablesAsReplicatedPlusDistributed(t *testing.T) {
	r := newRenderer(t)
	out := render(t, r, `CREATE TABLE IF NOT EXISTS facts
(
    platform LowCardinality(String),
    post_id String,
    topics Array(String),
    updated_at DateTime64(3, 'UTC'),
    note String DEFAULT 'ENGINE = x, ORDER BY (y)' -- a comment with ENGINE = Log
)
ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY toYYYYMM(updated_at)
ORDER BY (platform, post_id, updated_at)
SETTINGS index_granularity = 8192`)
	if len(out) != 2 {
		t.Fatalf("want local and distributed, got %d statements:\n%s", len(out), strings.Join(out, "\n;\n"))
	}
	local, dist := out[0], out[1]
	for _, want := range []string{
		"CREATE TABLE IF NOT EXISTS `tongxin`.`facts_local` ON CLUSTER `prod` (",
		"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', updated_at)\nPARTITION BY toYYYYMM(updated_at)\nORDER BY (platform, post_id, updated_at)\nSETTINGS index_granularity = 8192",
		"note String DEFAULT 'ENGINE = x, ORDER BY (y)'",
	} {
		if !strings.Contains(local, want) {
			t.Errorf("local table lacks %q:\n%s", want, local)
		}
	}
	wantDist := "CREATE TABLE IF NOT EXISTS `tongxin`.`facts` ON CLUSTER `prod` AS `tongxin`.`facts_local`\n" +
		"ENGINE = Distributed('prod', 'tongxin', 'facts_local', cityHash64(platform, post_id))"
	if dist != wantDist {
		t.Errorf("distributed table:\n%s\nwant\n%s", dist, wantDist)
	}
}

func TestClusterEngineForms(t *testing.T) {
	cases := []struct{ engine, orderBy, wantEngine, wantKey string }{
		{"MergeTree", "ORDER BY version", "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')", "cityHash64(version)"},
		{"MergeTree()", "ORDER BY (a, t)", "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')", "cityHash64(a)"},
		{"SummingMergeTree((n))", "ORDER BY (t, a)", "ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', (n))", "cityHash64(t, a)"},
		{"CollapsingMergeTree(sign)", "ORDER BY cityHash64(a)", "ReplicatedCollapsingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', sign)", "cityHash64(cityHash64(a))"},
		{"ReplacingMergeTree(t, deleted)", "ORDER BY (`a`, t)", "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', t, deleted)", "cityHash64(`a`)"},
	}
	for _, c := range cases {
		r := newRenderer(t)
		out := render(t, r, "CREATE TABLE x (a String, t Nullable(DateTime), n UInt64, sign Int8, deleted UInt8, version UInt32) ENGINE = "+c.engine+" "+c.orderBy)
		if !strings.Contains(out[0], "ENGINE = "+c.wantEngine+" "+c.orderBy) {
			t.Errorf("%s: local\n%s\nwant engine %s", c.engine, out[0], c.wantEngine)
		}
		if !strings.HasSuffix(out[1], ", "+c.wantKey+")") {
			t.Errorf("%s %s: distributed\n%s\nwant key %s", c.engine, c.orderBy, out[1], c.wantKey)
		}
	}
}

// Views, parameterized views and CREATE OR REPLACE keep their query (which
// reads the Distributed names) and gain ON CLUSTER.
func TestClusterRendersViews(t *testing.T) {
	r := newRenderer(t)
	cases := map[string]string{
		"CREATE VIEW IF NOT EXISTS v AS SELECT count() FROM post_hourly":                                    "CREATE VIEW IF NOT EXISTS `tongxin`.`v` ON CLUSTER `prod` AS SELECT count() FROM post_hourly",
		"CREATE OR REPLACE VIEW tongxin.v AS SELECT 1":                                                      "CREATE OR REPLACE VIEW `tongxin`.`v` ON CLUSTER `prod` AS SELECT 1",
		"CREATE VIEW p AS SELECT * FROM post_hourly WHERE hour >= {from:DateTime} AND hour < {to:DateTime}": "CREATE VIEW `tongxin`.`p` ON CLUSTER `prod` AS SELECT * FROM post_hourly WHERE hour >= {from:DateTime} AND hour < {to:DateTime}",
		"create or replace view `名单` as select '同心;' AS x":                                                  "create or replace view `tongxin`.`名单` ON CLUSTER `prod` as select '同心;' AS x",
	}
	for in, want := range cases {
		out := render(t, r, in)
		if len(out) != 1 || out[0] != want {
			t.Errorf("%s\n got %q\nwant %q", in, out, want)
		}
	}
}

// A materialized view reads the source's replicated table and writes the
// target's, on every server; what it cannot render faithfully (a JOIN, a
// subquery, a table no migration created) is an error.
func TestClusterRendersMaterializedViews(t *testing.T) {
	r := newRenderer(t)
	render(t, r, "CREATE TABLE s (p String, t DateTime64(3)) ENGINE = ReplacingMergeTree ORDER BY (p, t)")
	render(t, r, "CREATE TABLE o (p String, t DateTime64(3)) ENGINE = ReplacingMergeTree ORDER BY (p, t)")
	out := render(t, r, "CREATE MATERIALIZED VIEW IF NOT EXISTS o_from_s TO o AS\nSELECT p, t\nFROM s\nWHERE p != 'from'")
	want := "CREATE MATERIALIZED VIEW IF NOT EXISTS `tongxin`.`o_from_s` ON CLUSTER `prod` TO `tongxin`.`o_local` AS SELECT p, t\nFROM `tongxin`.`s_local`\nWHERE p != 'from'"
	if len(out) != 1 || out[0] != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
	if objs := r.Objects(); !slices.Contains(objs, "o_from_s") {
		t.Errorf("objects %v lack the view", objs)
	}
	for stmt, wantErr := range map[string]string{
		"CREATE MATERIALIZED VIEW v TO o AS SELECT p, t FROM s JOIN o USING (p)":             "JOIN",
		"CREATE MATERIALIZED VIEW v TO o AS SELECT p, t FROM s WHERE p IN (SELECT p FROM o)": "subquery",
		"CREATE MATERIALIZED VIEW v TO o AS SELECT p, t FROM nowhere":                        "FROM nowhere",
		"CREATE MATERIALIZED VIEW v TO o AS SELECT 1":                                        "no FROM",
		"CREATE MATERIALIZED VIEW s TO o AS SELECT p, t FROM s":                              "a table of that name exists",
		"CREATE MATERIALIZED VIEW v TO other.o AS SELECT p, t FROM s":                        "campaign database only",
	} {
		if _, err := r.Render(stmt); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: error %v, want one saying %q", stmt, err, wantErr)
		}
	}
}

// ALTERs of columns change both halves (a Distributed table's columns must
// match); settings, TTL and mutations only the replicated table.
func TestClusterRendersAlters(t *testing.T) {
	r := newRenderer(t)
	render(t, r, "CREATE TABLE s (a String, t DateTime) ENGINE = MergeTree ORDER BY (a, t)")
	out := render(t, r, "ALTER TABLE s MODIFY SETTING non_replicated_deduplication_window = 1000")
	if len(out) != 1 || out[0] != "ALTER TABLE `tongxin`.`s_local` ON CLUSTER `prod` MODIFY SETTING non_replicated_deduplication_window = 1000" {
		t.Errorf("setting: %q", out)
	}
	out = render(t, r, "ALTER TABLE s ADD COLUMN IF NOT EXISTS state LowCardinality(String) DEFAULT 'live' AFTER t, MODIFY TTL t + INTERVAL 1 DAY, t + INTERVAL 2 DAY DELETE")
	want := []string{
		"ALTER TABLE `tongxin`.`s_local` ON CLUSTER `prod` ADD COLUMN IF NOT EXISTS state LowCardinality(String) DEFAULT 'live' AFTER t,\n    MODIFY TTL t + INTERVAL 1 DAY, t + INTERVAL 2 DAY DELETE",
		"ALTER TABLE `tongxin`.`s` ON CLUSTER `prod` ADD COLUMN IF NOT EXISTS state LowCardinality(String) DEFAULT 'live' AFTER t",
	}
	if strings.Join(out, "\n;\n") != strings.Join(want, "\n;\n") {
		t.Errorf("mixed alter:\n%s\nwant\n%s", strings.Join(out, "\n;\n"), strings.Join(want, "\n;\n"))
	}
	out = render(t, r, "DROP TABLE IF EXISTS s SYNC")
	if strings.Join(out, ";") != "DROP TABLE IF EXISTS `tongxin`.`s` ON CLUSTER `prod` SYNC;DROP TABLE IF EXISTS `tongxin`.`s_local` ON CLUSTER `prod` SYNC" {
		t.Errorf("drop: %q", out)
	}
	if _, err := r.Render("ALTER TABLE s ADD COLUMN b String"); err == nil {
		t.Error("ALTER of a dropped table rendered")
	}
	if got := r.Objects(); len(got) != 0 {
		t.Errorf("objects after drop: %v", got)
	}
}

// What it cannot render faithfully is an error naming it, never a guess.
func TestClusterRefusesWhatItCannotRender(t *testing.T) {
	for stmt, want := range map[string]string{
		"CREATE TABLE m (a String) ENGINE = Memory":                                    "engine Memory has no replicated form",
		"CREATE TABLE m (a String) ORDER BY a":                                         "no ENGINE clause",
		"CREATE TABLE m (a String) ENGINE = ReplicatedMergeTree('/p', 'r') ORDER BY a": "already replicated",
		"CREATE TABLE m (a String) ENGINE = MergeTree ORDER BY tuple()":                "no sorting key",
		"CREATE TABLE m ON CLUSTER c (a String) ENGINE = MergeTree ORDER BY a":         "already names a cluster",
		"CREATE MATERIALIZED VIEW mv TO t AS SELECT 1":                                 "no earlier migration created",
		"CREATE MATERIALIZED VIEW mv ENGINE = MergeTree ORDER BY a AS SELECT 1":        "no TO table",
		"ALTER TABLE nowhere ADD COLUMN b String":                                      "no table of that name",
		"CREATE TABLE other.m (a String) ENGINE = MergeTree ORDER BY a":                "campaign database only",
		"CREATE VIEW v AS SELECT 'unterminated":                                        "unterminated",
		"OPTIMIZE TABLE snapshots FINAL":                                               "no cluster form",
	} {
		_, err := newRenderer(t).Render(stmt)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one saying %q", stmt, err, want)
		}
	}
}

// The whole plan: every table the migrations create is split in two and
// every view is created on the cluster; nothing runs on one server only
// (but the single INSERT form, which goes through a Distributed table).
func TestClusterPlanCoversEveryMigration(t *testing.T) {
	single, err := warehouse.Plan("tongxin", warehouse.Target{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := warehouse.Plan("tongxin", warehouse.Target{Cluster: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	created := regexp.MustCompile("(?is)^CREATE (?:OR REPLACE )?(TABLE|VIEW) (?:IF NOT EXISTS )?(\\w+)")
	want := map[string]bool{}
	for _, s := range single {
		if m := created.FindStringSubmatch(s); m != nil {
			want[m[2]] = true
			if strings.EqualFold(m[1], "TABLE") {
				want[m[2]+warehouse.LocalSuffix] = true
			}
		}
	}
	if len(want) < 10 {
		t.Fatalf("found only %d objects in the single-server plan", len(want))
	}
	clusterCreated := regexp.MustCompile("(?is)^CREATE (?:OR REPLACE )?(?:TABLE|VIEW) (?:IF NOT EXISTS )?`tongxin`\\.`([^`]+)` ON CLUSTER `prod` ")
	for _, s := range plan {
		if m := clusterCreated.FindStringSubmatch(s); m != nil {
			delete(want, m[1])
		}
		if !strings.Contains(s, " ON CLUSTER `prod`") && !strings.HasPrefix(s, "INSERT") {
			t.Errorf("statement runs on one server only:\n%s", s)
		}
		if strings.Contains(s, "ENGINE = MergeTree") || regexp.MustCompile(`ENGINE = (Replacing|Aggregating|Summing)MergeTree`).MatchString(s) {
			t.Errorf("unreplicated engine left:\n%s", s)
		}
	}
	for name := range want {
		t.Errorf("%s is not created on the cluster", name)
	}
}

// The replicated form of every statement — every migration, the migrations
// table, the analyst role — parses with the engine's own parser, and the
// parsed query is still the cluster form (the engine's formatter prints
// ON CLUSTER and the Replicated engine back).
func TestClusterDDLParsesOnTheEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The single-server form applies (as every engine test does).
	conn := migrated(t, ctx)
	// The cluster of deploy/compose and the README's examples.
	plan, err := warehouse.Plan("tongxin", warehouse.Target{Cluster: "tongxin", AnalystRole: true})
	if err != nil {
		t.Fatal(err)
	}
	plan = append(plan, readmeAnalystDDL(t)...)
	replicated := regexp.MustCompile(`ENGINE = (Replicated\w*MergeTree|Distributed)\(`)
	for _, stmt := range plan {
		var formatted string
		if err := conn.QueryRow(ctx, "SELECT formatQuery(?)", stmt).Scan(&formatted); err != nil {
			t.Errorf("the engine does not parse:\n%s\n: %v", stmt, err)
			continue
		}
		if !strings.Contains(formatted, "ON CLUSTER tongxin") && !strings.HasPrefix(stmt, "INSERT") {
			t.Errorf("parsed without ON CLUSTER:\n%s\n->\n%s", stmt, formatted)
		}
		if strings.Contains(stmt, "ENGINE") && !replicated.MatchString(formatted) {
			t.Errorf("parsed engine is not the cluster form:\n%s", formatted)
		}
	}
}

// On a cluster, a connection whose INSERTs into Distributed tables would be
// acknowledged before reaching their shard is refused before anything is
// created, with the setting named; the same DSN with the setting passes
// that check (and then needs a real cluster, which the engine is not).
func TestMigrateOnAClusterWantsForegroundInserts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := enginetest.Database(t, enginetest.ClickHouse(t))
	_, err := warehouse.MigrateOn(ctx, dsn, warehouse.Target{Cluster: "tongxin"}, quiet)
	if err == nil || !strings.Contains(err.Error(), "distributed_foreground_insert is false") {
		t.Fatalf("migrate on a cluster without synchronous Distributed inserts: %v", err)
	}
	if c, err := warehouse.Open(ctx, dsn); err == nil {
		c.Close()
		t.Fatal("the refused migrate created the database")
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	_, err = warehouse.MigrateOn(ctx, dsn+sep+"distributed_foreground_insert=1", warehouse.Target{Cluster: "tongxin"}, quiet)
	if err == nil || strings.Contains(err.Error(), "distributed_foreground_insert") {
		t.Fatalf("with the setting: %v, want it past the check and refused for ON CLUSTER", err)
	}
	t.Logf("the engine (one server) then answers: %v", err)
	if _, err := warehouse.Migrate(ctx, dsn, quiet); err != nil {
		t.Fatal(err)
	}
	conn, err := warehouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name LIKE '%\\_local'").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d _local tables on the single server (err %v)", n, err)
	}
}

// migrated is a connection to a fresh database with the single-server
// schema applied; closed when the test ends.
func migrated(t *testing.T, ctx context.Context) driver.Conn {
	t.Helper()
	dsn := enginetest.Database(t, enginetest.ClickHouse(t))
	if _, err := warehouse.Migrate(ctx, dsn, quiet); err != nil {
		t.Fatal(err)
	}
	conn, err := warehouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Any text: an error or statements, never a panic; what renders still
// lexes as balanced SQL and runs on the cluster.
func FuzzClusterRender(f *testing.F) {
	ms, err := warehouse.Migrations()
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range ms {
		for _, s := range m.Statements {
			f.Add(s)
		}
	}
	f.Add("CREATE TABLE t (a String, t DateTime) ENGINE = MergeTree ORDER BY (a,,t)")
	f.Add("ALTER TABLE t , ADD COLUMN b String")
	f.Fuzz(func(t *testing.T, stmt string) {
		r, err := warehouse.NewClusterRenderer("c", "tongxin")
		if err != nil {
			t.Fatal(err)
		}
		r.Render("CREATE TABLE t (a String, t DateTime) ENGINE = MergeTree ORDER BY (a, t)")
		out, err := r.Render(stmt)
		if err != nil {
			return
		}
		for _, s := range out {
			if !strings.Contains(s, " ON CLUSTER `c`") && !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(s)), "INSERT") {
				t.Fatalf("rendered without ON CLUSTER: %q -> %q", stmt, s)
			}
		}
	})
}
