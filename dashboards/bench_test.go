package dashboards

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/report/reporttest"
	"github.com/tongxin/tongxin/tools/simulator"
)

// BenchmarkPanels times every ClickHouse panel query of every dashboard,
// expanded as the plugin expands it, for the last 7 days of the campaign and
// for the whole campaign, on the seed campaign multiplied
// TONGXIN_PANEL_BENCH_SCALE times (default 100: 5,000 ambassadors). The
// whole simulated campaign (51 days: every post polled hourly in its first
// day and every 6 hours after) goes through the aggregator's path once
// (reporttest.Seed), then ClickHouse copies post_hourly, snapshots,
// post_facts, alerts, post_expected and the roster with suffixed ids.
// Seeding and copying are not timed. Each query runs
// TONGXIN_PANEL_BENCH_RUNS times (default 5); the table gives the median.
// make bench runs it.
func BenchmarkPanels(b *testing.B) {
	scale, runs := envInt("TONGXIN_PANEL_BENCH_SCALE", 100), envInt("TONGXIN_PANEL_BENCH_RUNS", 5)
	ctx := context.Background()
	end := reporttest.Start.Add(simulator.CampaignAfter)
	seedStart := time.Now()
	s := reporttest.Seed(b, 1, end)
	seeding := time.Since(seedStart)
	took := s.Multiply(b, scale, "post_hourly", "snapshots", "post_facts", "alerts", "post_expected", "ambassadors")
	var hourly, snaps, posts, ambassadors uint64
	if err := s.Conn.QueryRow(ctx, `SELECT (SELECT count() FROM post_hourly), (SELECT count() FROM snapshots),
		(SELECT uniqExact(platform, post_id) FROM post_facts), (SELECT uniqExact(ambassador_id) FROM ambassadors)`).Scan(&hourly, &snaps, &posts, &ambassadors); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("scale %d×: %d ambassadors, %d posts, %d post_hourly rows, %d snapshots, %s to %s (seeded in %v, copied in %v; load average %s)\n",
		scale, ambassadors, posts, hourly, snaps, s.Scenario.CampaignStart.Format(time.DateOnly), end.Format(time.DateOnly),
		seeding.Round(time.Second), took.Round(time.Second), loadAverage())

	// Where the time goes: one full read of each relation the panels read
	// (the parameterised leaderboard views over the whole campaign),
	from, to := s.Scenario.CampaignStart.Format(time.DateTime), end.Format(time.DateTime)
	fmt.Printf("| relation | one full read |\n|---|---|\n")
	// and the views posts is made of.
	for _, r := range append(slices.Clone(relations), "post_latest", "post_facts_latest", "post_state", "topic_daily") {
		// every column hashed, so no column of the view is pruned
		sql := "SELECT sum(cityHash64(*)) FROM " + r
		if strings.HasSuffix(r, "_period") {
			sql = fmt.Sprintf("SELECT sum(cityHash64(*)) FROM %s(from = '%s', to = '%s')", r, from, to)
		}
		t0 := time.Now()
		if _, err := query(ctx, s.Conn, sql); err != nil {
			fmt.Printf("| %s | error: %v |\n", r, err)
			continue
		}
		fmt.Printf("| %s | %v |\n", r, time.Since(t0).Round(time.Millisecond))
	}

	ranges := []scenario{
		{name: "7 days", from: end.Add(-7 * 24 * time.Hour), to: end, platform: "douyin"},
		{name: "campaign", from: s.Scenario.CampaignStart, to: end, platform: "douyin"},
	}
	type row struct {
		panel, dashboard string
		median           [2]time.Duration
	}
	var table []row
	b.ResetTimer()
	for range b.N {
		table = table[:0]
		for _, d := range loadGenerated(b) {
			var byPanel = map[string]*row{}
			var order []string
			for ri, sc := range ranges {
				run, err := resolveVariables(ctx, s.Conn, d, sc, nil)
				if err != nil {
					b.Fatalf("%s, %s: %v", *d.Uid, sc.name, err)
				}
				for pi, p := range panels(d) {
					for _, q := range p.Targets {
						q, ok := q.(ClickHouseQuery)
						if !ok {
							continue
						}
						name := *p.Title
						if len(p.Targets) > 1 {
							name += " " + q.RefId
						}
						sql, err := run.expand(q.RawSql)
						if err != nil {
							b.Fatal(err)
						}
						times := make([]time.Duration, runs)
						for i := range times {
							t0 := time.Now()
							if _, err := query(ctx, s.Conn, sql); err != nil {
								b.Fatalf("%s %q: %v\n%s", *d.Uid, name, err, sql)
							}
							times[i] = time.Since(t0)
						}
						slices.Sort(times)
						key := fmt.Sprint(pi, q.RefId) // titles repeat (时间段内开启)
						r := byPanel[key]
						if r == nil {
							r = &row{panel: name, dashboard: *d.Uid}
							byPanel[key] = r
							order = append(order, key)
						}
						r.median[ri] = times[len(times)/2]
					}
				}
			}
			for _, n := range order {
				table = append(table, *byPanel[n])
				r := byPanel[n]
				fmt.Printf("measured %s %q: %v, %v\n", r.dashboard, r.panel, r.median[0].Round(time.Millisecond), r.median[1].Round(time.Millisecond))
			}
		}
	}
	b.StopTimer()
	var out strings.Builder
	fmt.Fprintf(&out, "\n| panel | dashboard | median, 7 days | median, whole campaign | aim < 1 s met? |\n|---|---|---|---|---|\n")
	missed := 0
	for _, r := range table {
		met := "yes"
		if max(r.median[0], r.median[1]) >= time.Second {
			met, missed = "**no**", missed+1
		}
		fmt.Fprintf(&out, "| %s | %s | %v | %v | %s |\n", r.panel, r.dashboard, r.median[0].Round(time.Millisecond), r.median[1].Round(time.Millisecond), met)
	}
	// Printed, not logged: a benchmark's log is cut to a few lines.
	fmt.Printf("BenchmarkPanels at %d×: %d panel queries, %d runs each per range, %d over 1 s (load average at the end: %s)%s",
		scale, len(table), runs, missed, loadAverage(), out.String())

}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// loadAverage is the machine's 1-minute load average, to say how loaded it was.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}
