package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tongxin/tongxin/aggregate/alerts"
	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

// A seeded campaign with platform faults runs through the real broker into
// the ClickHouse engine while two aggregators share the partitions, each is
// killed with SIGKILL and restarted, and ClickHouse goes away for a while.
// Afterwards CONTRACT.md's invariant holds for every post and metric.
func TestExactRollupsThroughKillsOutageAndRebalances(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	k := enginetest.Start(t, "kafka")
	ch := enginetest.Start(t, "clickhouse")
	brokers := topics.Brokers(k.Addr)
	simAddr := freeAddr(t)
	simURL := "http://" + simAddr
	start(t, "simulate", "simulate", "--listen", simAddr, "--seed", "11", "--speed", "1000", "--start", scenarioStart,
		"--faults", "429=0.03,5xx=0.03,malformed=0.02,expire=0.01,decrease=0.02")
	waitHTTP(t, simURL+"/healthz", 30*time.Second)
	ingAddr := freeAddr(t)
	ing := start(t, "ingest", "ingest", "--brokers", k.Addr, "--simulator", simURL, "--listen", ingAddr,
		"--token-file", filepath.Join(t.TempDir(), "tokens.json"), "--partitions", "6", "--request-timeout", "2s",
		"--budget", "douyin=600,weibo=1500,wechat_channels=1500")
	waitHTTP(t, "http://"+ingAddr+"/healthz", 60*time.Second)

	// The office's webhook: every alert event the aggregators deliver.
	var hookMu sync.Mutex
	var delivered []alerts.Event
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev alerts.Event
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		hookMu.Lock()
		delivered = append(delivered, ev)
		hookMu.Unlock()
	}))
	defer hook.Close()
	cfg := filepath.Join(t.TempDir(), "tongxin.yaml")
	os.WriteFile(cfg, []byte("notify:\n  receivers:\n    - name: office\n      type: webhook\n      url: "+hook.URL+"/hook\n"), 0o600)

	aggArgs := func(listen string) []string {
		return []string{"aggregate", "--brokers", k.Addr, "--clickhouse", ch.Addr, "--listen", listen, "--partitions", "6",
			"--config", cfg, "--simulator", simURL}
	}
	a1Addr, a2Addr := freeAddr(t), freeAddr(t)
	a1 := start(t, "aggregate-1", aggArgs(a1Addr)...)
	a2 := start(t, "aggregate-2", aggArgs(a2Addr)...)
	waitHTTP(t, "http://"+a1Addr+"/healthz", 60*time.Second)
	waitHTTP(t, "http://"+a2Addr+"/healthz", 60*time.Second)

	step := func(d time.Duration, what string, f func()) {
		time.Sleep(d)
		t.Logf("%s: %s", time.Now().Format("15:04:05"), what)
		f()
	}
	step(8*time.Second, "SIGKILL aggregate-1", func() { a1.Kill(); a1.Restart() })
	step(7*time.Second, "SIGKILL aggregate-2", func() { a2.Kill(); a2.Restart() })
	step(8*time.Second, "ClickHouse down", func() { ch.Stop(t) })
	step(10*time.Second, "ClickHouse up", func() { ch.Restart(t) })
	step(8*time.Second, "SIGKILL aggregate-1 again", func() { a1.Kill(); a1.Restart() })
	step(5*time.Second, "SIGKILL aggregate-2 again", func() { a2.Kill(); a2.Restart() })
	step(8*time.Second, "ingest stops", func() { ing.Stop() })

	enginetest.WaitCommitted(t, brokers, "tongxin-aggregate", topics.Snapshots, 3*time.Minute)
	a1.Stop()
	a2.Stop()

	keys := map[string]bool{}
	for _, msgs := range enginetest.ReadTopic(t, brokers, topics.Snapshots) {
		for _, m := range msgs {
			// An official account's repost is no post: official_reposts.
			if s, err := snapshot.Unmarshal(m.Value); err == nil && s.IsRepost() {
				continue
			}
			keys[string(m.Key)] = true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := warehouse.Open(ctx, ch.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	posts := verifyInvariant(t, ctx, conn)
	if posts != len(keys) {
		t.Errorf("ClickHouse has snapshots of %d posts, Kafka of %d", posts, len(keys))
	}
	var rows, snaps uint64
	if err := conn.QueryRow(ctx, "SELECT count(), sum(snapshots) FROM post_hourly").Scan(&rows, &snaps); err != nil {
		t.Fatal(err)
	}
	t.Logf("verified %d posts (%d post_hourly rows from %d applied snapshots) after 4 kills, a ClickHouse outage and rebalances", posts, rows, snaps)
	if posts < 1000 {
		t.Errorf("only %d posts: the campaign did not run", posts)
	}

	// Titles travel: every post's title, link and topics in posts are the
	// simulated post's, and nearly every post has them (a video private
	// when first listed shows none).
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	sc := simulator.New(r, 11, mustTime(t, scenarioStart))
	frows, err := conn.Query(ctx, "SELECT platform, post_id, title, url, topics FROM posts")
	if err != nil {
		t.Fatal(err)
	}
	var titled, all, wrong int
	for frows.Next() {
		var platform, id, title, url string
		var topics []string
		if err := frows.Scan(&platform, &id, &title, &url, &topics); err != nil {
			t.Fatal(err)
		}
		all++
		if title == "" {
			continue
		}
		titled++
		p, ok := sc.Post(platform, id)
		if !ok || title != p.Title || url != p.URL() || !slices.Equal(topics, snapshot.Topics(platform, p.Title)) {
			if wrong++; wrong <= 5 {
				t.Errorf("posts: %s:%s has title %q, url %q, topics %q; the simulator's post: %+v", platform, id, title, url, topics, p)
			}
		}
	}
	frows.Close()
	if titled < all*95/100 {
		t.Errorf("only %d of %d posts have their title in posts", titled, all)
	}
	var progress float64
	if err := conn.QueryRow(ctx, "SELECT progress FROM topic_progress WHERE topic = '寻美西山' AND platform = 'douyin' AND metric = 'plays'").Scan(&progress); err != nil || progress <= 0 {
		t.Errorf("topic_progress of the seed target: %v (err %v), want above 0", progress, err)
	}
	t.Logf("posts: %d of %d with their titles; the seed topic at %.1f%% of its target", titled, all, progress*100)

	// Alerts: in the table and the topic, and through kills and rebalances
	// never two open at once for one post and kind.
	var events []alerts.Event
	for _, msgs := range enginetest.ReadTopic(t, brokers, topics.Alerts) {
		for _, m := range msgs {
			var ev alerts.Event
			if err := json.Unmarshal(m.Value, &ev); err != nil {
				t.Fatalf("alert message %s: %v", m.Key, err)
			}
			events = append(events, ev)
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].UpdatedAt.Before(events[j].UpdatedAt) })
	openNow := map[string]string{}
	opens := 0
	for _, ev := range events {
		k := ev.Kind + " " + ev.Key()
		switch ev.State {
		case alerts.StateOpen:
			opens++
			if id, ok := openNow[k]; ok && id != ev.AlertID {
				t.Errorf("%s opened as %s while %s was open", k, ev.AlertID, id)
			}
			openNow[k] = ev.AlertID
		case alerts.StateResolved:
			delete(openNow, k)
		}
	}
	var tableAlerts uint64
	if err := conn.QueryRow(ctx, "SELECT uniqExact(alert_id) FROM alerts").Scan(&tableAlerts); err != nil {
		t.Fatal(err)
	}
	if tableAlerts != uint64(len(uniqueIDs(events))) {
		t.Errorf("alerts table has %d alerts, the topic %d", tableAlerts, len(uniqueIDs(events)))
	}
	hookMu.Lock()
	defer hookMu.Unlock()
	t.Logf("alerts: %d events on the topic (%d opened), %d alerts in the table, %d delivered to the webhook", len(events), opens, tableAlerts, len(delivered))
	// A day of campaign has posts taking off; delivery is at most once
	// (a killed aggregator loses what it had queued), so some, not all.
	if opens == 0 || len(delivered) == 0 {
		t.Errorf("a campaign day with planted viral posts opened %d alerts and delivered %d", opens, len(delivered))
	}
}

func uniqueIDs(events []alerts.Event) map[string]bool {
	ids := map[string]bool{}
	for _, ev := range events {
		ids[ev.AlertID] = true
	}
	return ids
}
