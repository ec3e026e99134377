package report

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/report/reporttest"
)

// BenchmarkMonthReport times a 30-day report (November 2026, Beijing days)
// and its 月榜 on the seed campaign multiplied TONGXIN_REPORT_BENCH_SCALE
// times (default 100): the seeded campaign goes through the aggregator's
// path once, then ClickHouse copies its post_hourly, snapshots, alerts and
// roster rows with ambassador and post ids suffixed per copy. Seeding and
// copying are not timed. make bench runs it.
func BenchmarkMonthReport(b *testing.B) {
	scale := 100
	if v := os.Getenv("TONGXIN_REPORT_BENCH_SCALE"); v != "" {
		scale, _ = strconv.Atoi(v)
	}
	ctx := context.Background()
	month := time.Date(2026, 11, 1, 0, 0, 0, 0, Beijing)
	p := NewPeriod(Monthly, month)
	s := reporttest.Seed(b, 1, p.To.Add(-time.Hour))
	copyStart := time.Now()
	for _, table := range []string{"post_hourly", "ambassadors"} {
		cols, err := columnList(ctx, s, table)
		if err != nil {
			b.Fatal(err)
		}
		sel := make([]string, len(cols))
		for i, c := range cols {
			sel[i] = "t." + c
			if c == "ambassador_id" || c == "post_id" {
				sel[i] = fmt.Sprintf("concat(t.%s, '-x', toString(n.number))", c)
			}
		}
		if err := s.Conn.Exec(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s AS t, numbers(1, %d) AS n SETTINGS max_partitions_per_insert_block = 1000",
			table, strings.Join(cols, ", "), strings.Join(sel, ", "), table, scale-1)); err != nil {
			b.Fatal(err)
		}
	}
	var rows uint64
	if err := s.Conn.QueryRow(ctx, "SELECT count() FROM post_hourly").Scan(&rows); err != nil {
		b.Fatal(err)
	}
	b.Logf("scale %d×: %d post_hourly rows (copied in %v)", scale, rows, time.Since(copyStart).Round(time.Second))
	cfg := DefaultConfig()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := Publish(ctx, s.Conn, cfg, p, time.Now()); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		r, err := Build(ctx, s.Conn, cfg, p, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if _, err := Write(ctx, r, b.TempDir()); err != nil {
			b.Fatal(err)
		}
		b.Logf("ranking %v, queries %v, HTML+PDF+PNG %v", t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), time.Since(t2).Round(time.Millisecond))
	}
}

func columnList(ctx context.Context, s *reporttest.Seeded, table string) ([]string, error) {
	rows, err := s.Conn.Query(ctx, "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = ? AND default_kind != 'MATERIALIZED' ORDER BY position", table)
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
