package warehouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
)

// The migrated schema has a column for every metric of snapshot.Counters
// and snapshot.Gauges, of the type the sink writes, and no metric column
// the tables do not list: a counter added without its migration (or a
// migration's column without its counter) fails here.
func TestMetricTablesMatchTheMigratedSchema(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ClickHouse")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn := enginetest.Database(t, enginetest.ClickHouse(t))
	if _, err := warehouse.Migrate(ctx, dsn, quiet); err != nil {
		t.Fatal(err)
	}
	conn, err := warehouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	columns := func(table string) map[string]string { // name → type
		rows, err := conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = ?", table)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			out[name] = typ
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
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
		have := columns(table)
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
