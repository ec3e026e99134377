package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/internal/alerteval"
	"github.com/tongxin/tongxin/internal/enginetest"
)

// The alerts' quality through the whole pipeline: `tongxin run` (simulator,
// ingest, Kafka, aggregator, ClickHouse) started cold in the middle of each
// seeded campaign, run for five campaign days, then its alerts table scored
// against the simulator's /sim/truth (matching rule: package alerteval).
// Minutes per seed, so it runs only when asked (`make eval-alerts`):
//
//	TONGXIN_EVAL_ALERTS_SEEDS  seeds, e.g. 201,202,203,204,205 (unset: skipped)
//	TONGXIN_EVAL_ALERTS_SPEED  the campaign clock's speed (default 2000; at 3000 ingest
//	                           falls behind its budgets on a loaded 2-core machine)
//	TONGXIN_EVAL_ALERTS_KAFKA  "real": a private Kafka broker per seed
//	                           (default: tongxin run's embedded broker)
//	TONGXIN_EVAL_ALERTS_MIN    "precision,recall" every kind must reach
//	                           after the warm-up over all seeds (unset: print only)
//	TONGXIN_EVAL_ALERTS_DUMP   a folder to write each seed's snapshots and
//	                           alerts to (JSON lines), for offline replays
//
// ClickHouse is TONGXIN_TEST_CLICKHOUSE's engine (or a private one), a fresh
// database per seed.
func TestAlertQuality(t *testing.T) {
	seeds := evalSeeds(t)
	if len(seeds) == 0 {
		t.Skip("set TONGXIN_EVAL_ALERTS_SEEDS (make eval-alerts) to run the whole-pipeline alert evaluation")
	}
	speed := 2000.0
	if v := os.Getenv("TONGXIN_EVAL_ALERTS_SPEED"); v != "" {
		var err error
		if speed, err = strconv.ParseFloat(v, 64); err != nil || speed <= 0 {
			t.Fatalf("TONGXIN_EVAL_ALERTS_SPEED=%q: want a positive number", v)
		}
	}
	realKafka := os.Getenv("TONGXIN_EVAL_ALERTS_KAFKA") == "real"
	ch := enginetest.ClickHouse(t)
	var results []*alerteval.Result
	for _, seed := range seeds {
		r := evalSeed(t, seed, speed, realKafka, ch)
		results = append(results, r)
		for _, f := range r.FalseAlerts {
			t.Logf("seed %d false: %s", seed, f)
		}
		for _, m := range r.Missed {
			t.Logf("seed %d missed: %s", seed, m)
		}
	}
	var b strings.Builder
	broker := "embedded broker"
	if realKafka {
		broker = "real Kafka broker"
	}
	fmt.Fprintf(&b, "tongxin run, %s, --speed %g, five campaign days from %s; warm-up 12 h; precision (right/alerts) recall (recalled/expected)\n", broker, speed, scenarioStart)
	alerteval.Table(&b, results)
	t.Log("\n" + b.String())
	if v := os.Getenv("TONGXIN_EVAL_ALERTS_MIN"); v != "" {
		var minP, minR float64
		if _, err := fmt.Sscanf(v, "%g,%g", &minP, &minR); err != nil {
			t.Fatalf("TONGXIN_EVAL_ALERTS_MIN=%q: want precision,recall", v)
		}
		after, _ := alerteval.Sum(results)
		for kind, c := range after {
			if c.Precision() < minP || c.Recall() < minR {
				t.Errorf("%s after the warm-up: precision %.2f recall %.2f, want ≥ %.2f and ≥ %.2f", kind, c.Precision(), c.Recall(), minP, minR)
			}
		}
	}
}

func evalSeeds(t *testing.T) []int64 {
	var out []int64
	for _, f := range strings.FieldsFunc(os.Getenv("TONGXIN_EVAL_ALERTS_SEEDS"), func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("TONGXIN_EVAL_ALERTS_SEEDS: %q is not a seed", f)
		}
		out = append(out, n)
	}
	return out
}

// evalSeed runs the pipeline on one seed for five campaign days and scores it.
func evalSeed(t *testing.T, seed int64, speed float64, realKafka bool, ch string) *alerteval.Result {
	t.Helper()
	start0 := mustTime(t, scenarioStart)
	w := alerteval.DefaultWindow(start0)
	chDSN := enginetest.Database(t, ch)
	listen := freeAddr(t)
	metricsURL := "http://" + listen + "/metrics"
	wall := time.Duration(float64(w.End.Sub(w.Start))/speed) + 3*time.Minute // a safety stop, wall clock
	args := []string{"run", "--seed", fmt.Sprint(seed), "--start", scenarioStart, "--speed", fmt.Sprint(speed),
		"--for", wall.String(), "--clickhouse", chDSN, "--listen", listen,
		"--token-file", filepath.Join(t.TempDir(), "tokens.json")}
	if realKafka {
		args = append(args, "--brokers", enginetest.Start(t, "kafka").Addr)
	}
	began := time.Now()
	run := start(t, fmt.Sprintf("run seed %d", seed), args...)
	waitHTTP(t, metricsURL, 90*time.Second)
	simURL := ""
	for deadline := time.Now().Add(10 * time.Second); simURL == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if m := regexp.MustCompile(`simulator:\s+(http://\S+)`).FindStringSubmatch(run.Output()); m != nil {
			simURL = m[1]
		}
	}
	if simURL == "" {
		t.Fatal("tongxin run did not print the simulator's URL")
	}
	var planted []alerteval.Planted
	getJSON(t, simURL+"/sim/truth", &struct {
		Posts *[]alerteval.Planted `json:"posts"`
	}{&planted})
	// Run until the campaign clock passes the window's end (plus the flush
	// of the last snapshots: a campaign quarter-hour).
	for simClock(t, simURL).Before(w.End.Add(15 * time.Minute)) {
		if run.Exited() {
			t.Fatalf("seed %d: tongxin run exited before the campaign clock reached %s", seed, w.End)
		}
		time.Sleep(time.Second)
	}
	requests := labelled(t, metricsURL, "tongxin_ingest_requests_total", "platform")
	lag, _ := metric(t, metricsURL, "tongxin_aggregate_consumer_lag")
	run.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := warehouse.Open(ctx, chDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(ctx, `SELECT alert_id, kind, platform, post_id, min(opened_at),
		argMax(data_age_seconds, updated_at), argMin(reason, updated_at) FROM alerts GROUP BY alert_id, kind, platform, post_id`)
	if err != nil {
		t.Fatal(err)
	}
	var alerts []alerteval.Alert
	for rows.Next() {
		var a alerteval.Alert
		var age float64
		if err := rows.Scan(&a.ID, &a.Kind, &a.Platform, &a.PostID, &a.OpenedAt, &age, &a.Reason); err != nil {
			t.Fatal(err)
		}
		a.DataAge = time.Duration(age * float64(time.Second))
		alerts = append(alerts, a)
	}
	rows.Close()
	polled := storedPosts(ctx, conn)
	if dir := os.Getenv("TONGXIN_EVAL_ALERTS_DUMP"); dir != "" {
		dumpSeed(t, ctx, conn, filepath.Join(dir, fmt.Sprintf("seed%d", seed)), planted, alerts)
	}
	campaignHours := w.End.Sub(w.Start).Hours()
	t.Logf("seed %d: %v wall; %d alerts; requests per campaign hour douyin %.0f, weibo %.0f, wechat_channels %.0f; consumer lag at the end %.0f; %d posts polled",
		seed, time.Since(began).Round(time.Second), len(alerts), requests["douyin"]/campaignHours, requests["weibo"]/campaignHours,
		requests["wechat_channels"]/campaignHours, lag, len(polled))
	return alerteval.Score(fmt.Sprintf("seed %d", seed), planted, alerts, func(k string) bool { return polled[k] }, w)
}

func getJSON(t *testing.T, url string, into any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

// dumpSeed writes the seed's truth, alerts and every stored snapshot's reach
// counters as JSON lines under dir, for replaying the detector offline.
func dumpSeed(t *testing.T, ctx context.Context, conn driver.Conn, dir string, planted []alerteval.Planted, alerts []alerteval.Alert) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, each func(enc *json.Encoder) error) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		bw := bufio.NewWriter(f)
		if err := each(json.NewEncoder(bw)); err != nil {
			t.Fatal(err)
		}
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	write("truth.jsonl", func(enc *json.Encoder) error {
		for _, p := range planted {
			if err := enc.Encode(p); err != nil {
				return err
			}
		}
		return nil
	})
	write("alerts.jsonl", func(enc *json.Encoder) error {
		for _, a := range alerts {
			if err := enc.Encode(a); err != nil {
				return err
			}
		}
		return nil
	})
	write("snapshots.jsonl", func(enc *json.Encoder) error {
		rows, err := conn.Query(ctx, `SELECT platform, ambassador_id, post_id, published_at, observed_at, ingested_at, plays, likes
			FROM snapshots ORDER BY ingested_at, observed_at`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s struct {
				Platform, AmbassadorID, PostID    string
				PublishedAt, ObservedAt, Ingested time.Time
				Plays, Likes                      *int64
			}
			if err := rows.Scan(&s.Platform, &s.AmbassadorID, &s.PostID, &s.PublishedAt, &s.ObservedAt, &s.Ingested, &s.Plays, &s.Likes); err != nil {
				return err
			}
			if err := enc.Encode(s); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}
