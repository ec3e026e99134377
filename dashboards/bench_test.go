package dashboards

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/aggregate/warehouse"
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
// A panel that reads posts (or, since migration 0014, ambassador_posts or
// post_latest) also runs, alternating, as it was before 0014 (its second
// table); both forms must give the same rows.
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
	for _, r := range append(slices.Clone(relations), "post_facts_latest", "post_state", "topic_daily") {
		// every column hashed, so no column of the view is pruned
		sql := "SELECT sum(cityHash64(*)) FROM " + r
		switch {
		case strings.HasSuffix(r, "_period"):
			sql = fmt.Sprintf("SELECT sum(cityHash64(*)) FROM %s(from = '%s', to = '%s')", r, from, to)
		case r == "ambassador_posts":
			sql = "SELECT sum(cityHash64(*)) FROM ambassador_posts(ambassador = 'amb01')"
		}
		t0 := time.Now()
		if _, err := query(ctx, s.Conn, sql); err != nil {
			fmt.Printf("| %s | error: %v |\n", r, err)
			continue
		}
		fmt.Printf("| %s | %v |\n", r, time.Since(t0).Round(time.Millisecond))
	}

	// The panels that read posts, timed also as they were before migration
	// 0014 (posts as 0005 defined it, over the same post_latest,
	// post_facts_latest and post_state; the 代言人 panels filtering posts
	// on ambassador_id, the overview's tiles reading posts), alternating
	// with the panels as they are, on the same data; both must give the
	// same rows.
	if err := s.Conn.Exec(ctx, "CREATE OR REPLACE VIEW "+postsBefore+" AS "+postsBefore0014(b)); err != nil {
		b.Fatal(err)
	}
	type versus struct {
		panel, dashboard string
		now, before      [2]time.Duration
	}
	var compared []versus

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
						before := asBefore0014(sql)
						times := make([]time.Duration, runs)
						var beforeTimes []time.Duration
						timed := func(sql string) (result, time.Duration) {
							t0 := time.Now()
							res, err := query(ctx, s.Conn, sql)
							if err != nil {
								b.Fatalf("%s %q: %v\n%s", *d.Uid, name, err, sql)
							}
							return res, time.Since(t0)
						}
						for i := range times {
							if before == sql {
								_, times[i] = timed(sql)
								continue
							}
							// every other run the form before 0014 goes first
							var res, was result
							var took time.Duration
							if i%2 == 1 {
								was, took = timed(before)
								res, times[i] = timed(sql)
							} else {
								res, times[i] = timed(sql)
								was, took = timed(before)
							}
							beforeTimes = append(beforeTimes, took)
							if got, want := rowsText(res), rowsText(was); !slices.Equal(got, want) {
								b.Errorf("%s %q (%s): %v, before 0014 %v", *d.Uid, name, sc.name, got, want)
							}
						}
						slices.Sort(times)
						if beforeTimes != nil {
							slices.Sort(beforeTimes)
							if ri == 0 {
								compared = append(compared, versus{panel: name, dashboard: *d.Uid})
							}
							for i := range compared {
								if c := &compared[i]; c.panel == name && c.dashboard == *d.Uid && c.now[ri] == 0 {
									c.now[ri], c.before[ri] = times[len(times)/2], beforeTimes[len(beforeTimes)/2]
									break
								}
							}
						}
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
	fmt.Fprintf(&out, "\n| panel reading posts | dashboard | 7 days | 7 days, before 0014 | whole campaign | whole campaign, before 0014 |\n|---|---|---|---|---|---|\n")
	for _, c := range compared {
		fmt.Fprintf(&out, "| %s | %s | %v | %v | %v | %v |\n", c.panel, c.dashboard, c.now[0].Round(time.Millisecond), c.before[0].Round(time.Millisecond),
			c.now[1].Round(time.Millisecond), c.before[1].Round(time.Millisecond))
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

// postsBefore is posts as migration 0005 defined it, made by the benchmark
// to time the panels as they were before 0014.
const postsBefore = "posts_before_0014"

// postsBefore0014 is the last definition of posts before migration 0014.
func postsBefore0014(b *testing.B) string {
	ms, err := warehouse.Migrations()
	if err != nil {
		b.Fatal(err)
	}
	created := regexp.MustCompile(`(?is)^CREATE\s+OR\s+REPLACE\s+VIEW\s+posts\s+AS\s`)
	last := ""
	for _, m := range ms {
		for _, st := range m.Statements {
			if c := created.FindString(st); m.Version < 14 && c != "" {
				last = st[len(c):]
			}
		}
	}
	if last == "" {
		b.Fatal("no definition of posts before migration 0014")
	}
	return last
}

var (
	readsPosts          = regexp.MustCompile(`\b(FROM|JOIN)(\s+)(posts|post_latest)\b`)
	readsAmbassadorPost = regexp.MustCompile(`\bambassador_posts\(ambassador = ('[^']*')\)`)
)

// asBefore0014 is a panel's expanded query as it was before migration
// 0014: posts as 0005 defined it, ambassador_posts(ambassador = 'x') as
// posts WHERE ambassador_id = 'x', and post_latest (the overview's tiles)
// as posts. A query that reads none of them is returned unchanged.
func asBefore0014(sql string) string {
	sql = readsAmbassadorPost.ReplaceAllString(sql, "(SELECT * FROM "+postsBefore+" WHERE ambassador_id = $1)")
	return readsPosts.ReplaceAllString(sql, "${1}${2}"+postsBefore)
}

// rowsText is every row of res as text (NULL for a NULL), sorted: rows
// that tie on a query's ORDER BY may come in either order.
func rowsText(res result) []string {
	var out []string
	for _, row := range res.rows {
		cells := make([]string, len(row))
		for i, v := range row {
			rv := reflect.ValueOf(v)
			for rv.Kind() == reflect.Pointer && !rv.IsNil() {
				rv = rv.Elem()
			}
			if !rv.IsValid() || rv.Kind() == reflect.Pointer {
				cells[i] = "NULL"
				continue
			}
			cells[i] = fmt.Sprint(rv.Interface())
		}
		out = append(out, strings.Join(cells, "\t"))
	}
	slices.Sort(out)
	return out
}
