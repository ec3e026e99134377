package report

import (
	"context"
	"os"
	"strconv"
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
	took := s.Multiply(b, scale, "post_hourly", "ambassadors")
	var rows uint64
	if err := s.Conn.QueryRow(ctx, "SELECT count() FROM post_hourly").Scan(&rows); err != nil {
		b.Fatal(err)
	}
	b.Logf("scale %d×: %d post_hourly rows (copied in %v)", scale, rows, took.Round(time.Second))
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
