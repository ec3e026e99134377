package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"gopkg.in/yaml.v3"

	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

// `tongxin run --speed 1`, as production runs, on the wall clock: the
// simulator, ingest, the real Kafka broker, the aggregator and the
// ClickHouse engine, no faults, with request budgets so tight that a token
// takes longer to come than a request may take (Douyin one token every 30 s,
// Weibo and WeChat Channels one every 15 s, requests time out after 5 s).
// Waiting for the budget is not a failure: every request succeeds, the
// simulator sees no more requests than the budgets allow, every post is
// found and polled, and after the stop the invariant holds for every post.
func TestSpeedOneBudgetWaitsNeverFailARequest(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end, on the wall clock")
	}
	const (
		seed           = 7
		requestTimeout = 5 * time.Second // wall
		tokenEvery     = 30 * time.Second
	)
	budgets := map[string]float64{snapshot.Douyin: 120, snapshot.Weibo: 240, snapshot.WeChatChannels: 240} // per campaign hour
	k := enginetest.Start(t, "kafka")
	chDSN := enginetest.Database(t, enginetest.ClickHouse(t))

	// Four ambassadors: discovering their posts takes five Douyin listings,
	// two more than the burst, so Douyin waits for tokens at least twice.
	full, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	r := &roster.Roster{Campaign: full.Campaign, Topic: full.Topic, Ambassadors: full.Ambassadors[:4]}
	b, err := yaml.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	rosterPath := filepath.Join(t.TempDir(), "roster.yaml")
	if err := os.WriteFile(rosterPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	start0 := mustTime(t, scenarioStart)
	sc := simulator.New(r, seed, start0)

	listen := freeAddr(t)
	metricsURL := "http://" + listen + "/metrics"
	run := start(t, "run", "run", "--speed", "1", "--seed", fmt.Sprint(seed), "--start", scenarioStart, "--roster", rosterPath,
		"--brokers", k.Addr, "--clickhouse", chDSN, "--listen", listen, "--partitions", "3",
		"--request-timeout", requestTimeout.String(),
		"--budget", fmt.Sprintf("douyin=%g,weibo=%g,wechat_channels=%g", budgets[snapshot.Douyin], budgets[snapshot.Weibo], budgets[snapshot.WeChatChannels]))
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
	began := simClock(t, simURL)

	// Every post up at the start is due: wait until each has a snapshot in
	// ClickHouse (the budgets allow that in about 90 s).
	want := map[string]bool{}
	for _, p := range sc.Posts {
		if p.VisibleAt(start0) {
			want[snapshot.Key(p.Platform, p.PostID)] = true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	conn, err := warehouse.Open(ctx, chDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var have map[string]bool
	for deadline := time.Now().Add(150 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Second) {
		if run.Exited() {
			t.Fatal("tongxin run exited early")
		}
		have = storedPosts(ctx, conn)
		if covers(have, want) {
			break
		}
	}
	stats := simStats(t, simURL)
	end := simClock(t, simURL)
	outcomes := labelled(t, metricsURL, "tongxin_ingest_requests_total", "outcome")
	waits := labelled(t, metricsURL, "tongxin_ingest_budget_wait_seconds_total", "platform")
	run.Stop()

	// Nothing failed: the platform answered every request and ingest
	// counted every one ok, budget waits included.
	for outcome, n := range outcomes {
		if outcome != "ok" && n > 0 {
			t.Errorf("%v requests ended %q: waiting for the budget must not fail a request", n, outcome)
		}
	}
	if outcomes["ok"] == 0 {
		t.Errorf("no request counted ok: %v", outcomes)
	}
	for key, n := range stats {
		if !strings.HasSuffix(key, " ok") && n > 0 {
			t.Errorf("the simulator injected %d %q with no faults asked for", n, key)
		}
	}
	// The budgets were kept: no more requests than burst + rate × time.
	elapsed := end.Sub(began) + 10*time.Second // the run had started before `began` was read
	for platform, perHour := range budgets {
		burst := math.Max(1, math.Floor(perHour/60))
		if allowed, got := burst+perHour*elapsed.Hours()+1, float64(stats[platform+" ok"]); got > allowed {
			t.Errorf("%s: the simulator saw %v requests in %v, the budget of %g/h allows %.0f", platform, got, elapsed.Round(time.Second), perHour, allowed)
		}
	}
	// The waits were real: longer than a request may take.
	if w := waits[snapshot.Douyin]; w <= requestTimeout.Seconds() {
		t.Errorf("Douyin waited %vs for its budget in all, want more than the %v request timeout (a token every %v): %v", w, requestTimeout, tokenEvery, waits)
	}
	// Every due post was polled.
	missing := 0
	for key := range want {
		if !have[key] {
			missing++
			if missing <= 10 {
				t.Errorf("post %s was up from the start and never polled", key)
			}
		}
	}

	// After the stop (the aggregator's last flush), the invariant holds for
	// every post, and tongxin run said so itself.
	posts := verifyInvariant(t, ctx, conn)
	if !strings.Contains(run.Output(), "the sum of post_hourly equals the latest snapshot for every metric") {
		t.Errorf("tongxin run did not report the invariant holding on exit")
	}
	t.Logf("%v of campaign at speed 1: %d posts verified, %d of %d due posts polled; requests %v; simulator %v; budget waits (campaign s) %v",
		elapsed.Round(time.Second), posts, len(want)-missing, len(want), outcomes, stats, waits)
}

// storedPosts is every post with a snapshot in ClickHouse, by Kafka key.
func storedPosts(ctx context.Context, conn driver.Conn) map[string]bool {
	out := map[string]bool{}
	rows, err := conn.Query(ctx, "SELECT DISTINCT platform, post_id FROM snapshots")
	if err != nil {
		return out // not yet migrated: nothing stored
	}
	defer rows.Close()
	for rows.Next() {
		var platform, post string
		if rows.Scan(&platform, &post) == nil {
			out[snapshot.Key(platform, post)] = true
		}
	}
	return out
}

func covers(have, want map[string]bool) bool {
	for k := range want {
		if !have[k] {
			return false
		}
	}
	return true
}

// labelled reads a metric from a /metrics page, summed by one label.
func labelled(t *testing.T, url, name, label string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	re := regexp.MustCompile(label + `="([^"]*)"`)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var v float64
		fmt.Sscanf(line[strings.LastIndexByte(line, ' ')+1:], "%g", &v)
		out[m[1]] += v
	}
	return out
}
