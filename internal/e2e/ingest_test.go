package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

const scenarioStart = "2026-06-01T00:00:00Z"

func simClock(t *testing.T, base string) time.Time {
	t.Helper()
	resp, err := http.Get(base + "/sim/clock")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct {
		Now time.Time `json:"now"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c.Now
}

func simStats(t *testing.T, base string) map[string]int {
	t.Helper()
	resp, err := http.Get(base + "/sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Ingest against the faulty simulator into the real broker, restarted
// mid-run: every ambassador's posts on all three platforms arrive, in order
// per post, and the injected 429s, 5xx, malformed bodies and token expiries
// really happened.
func TestIngestEveryPostInOrderThroughFaultsAndBrokerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	k := enginetest.Start(t, "kafka")
	brokers := topics.Brokers(k.Addr)
	simAddr, ingAddr := freeAddr(t), freeAddr(t)
	simURL := "http://" + simAddr
	start(t, "simulate", "simulate", "--listen", simAddr, "--seed", "7", "--speed", "300", "--start", scenarioStart,
		"--faults", "429=0.05,5xx=0.05,malformed=0.02,expire=0.02,timeout=0.005,envelope=0.03,decrease=0.01")
	waitHTTP(t, simURL+"/healthz", 30*time.Second)
	ing := start(t, "ingest", "ingest", "--brokers", k.Addr, "--simulator", simURL, "--listen", ingAddr,
		"--token-file", filepath.Join(t.TempDir(), "tokens.json"), "--partitions", "6", "--request-timeout", "2s",
		"--budget", "douyin=3000,weibo=3000,wechat_channels=3000")
	metrics := "http://" + ingAddr + "/metrics"
	waitHTTP(t, metrics, 60*time.Second)

	time.Sleep(15 * time.Second)
	before, _ := metric(t, metrics, "tongxin_ingest_snapshots_produced_total")
	if before == 0 {
		t.Fatalf("no snapshot produced in 15s")
	}
	k.Restart(t)
	time.Sleep(20 * time.Second)
	after, _ := metric(t, metrics, "tongxin_ingest_snapshots_produced_total")
	if after <= before {
		t.Errorf("no snapshot produced after the broker restart (%v before, %v after)", before, after)
	}
	end := simClock(t, simURL)
	ing.Stop()

	stats := simStats(t, simURL)
	for _, platform := range snapshot.Platforms {
		for _, fault := range []string{"429", "5xx", "malformed", "expire"} {
			if platform == snapshot.WeChatChannels && fault == "expire" {
				continue
			}
			if stats[platform+" "+fault] == 0 {
				t.Errorf("the simulator injected no %s fault on %s: stats %v", fault, platform, stats)
			}
		}
	}

	// In order per post, and every post found.
	seen := map[string]int{}
	accounts := map[string]bool{}
	for partition, msgs := range enginetest.ReadTopic(t, brokers, topics.Snapshots) {
		last := map[string]time.Time{}
		for _, m := range msgs {
			s, err := snapshot.Unmarshal(m.Value)
			if err != nil {
				t.Fatalf("partition %d offset %d: %v", partition, m.Offset, err)
			}
			if string(m.Key) != s.Key() {
				t.Errorf("message key %q for snapshot of %s", m.Key, s.Key())
			}
			if s.ObservedAt.Before(last[s.Key()]) {
				t.Errorf("%s: snapshot observed %v after one observed %v (partition %d offset %d)", s.Key(), s.ObservedAt, last[s.Key()], partition, m.Offset)
			}
			last[s.Key()] = s.ObservedAt
			seen[s.Key()]++
			accounts[s.Platform+":"+s.AccountID] = true
		}
	}
	r, _ := roster.Load("")
	sc := simulator.New(r, 7, mustTime(t, scenarioStart))
	for _, platform := range snapshot.Platforms {
		for _, a := range r.Accounts(platform) {
			if !accounts[platform+":"+a.AccountID] {
				t.Errorf("no snapshot of %s's %s account", a.AmbassadorID, platform)
			}
		}
	}
	missing, want := 0, 0
	for _, p := range sc.Posts {
		// Posts that were up (and public: Douyin's listing cannot place a
		// private video) from an hour before the end until the end.
		if !p.VisibleAt(end.Add(-time.Hour)) || !p.VisibleAt(end) || p.PrivateAt(end.Add(-time.Hour)) || p.PrivateAt(end) {
			continue
		}
		want++
		if seen[snapshot.Key(p.Platform, p.PostID)] == 0 {
			missing++
			if missing <= 10 {
				t.Errorf("post %s of %s (%s, published %v) never arrived", p.PostID, p.AmbassadorID, p.Platform, p.PublishedAt)
			}
		}
	}
	t.Logf("%d posts expected, %d missing, %d snapshots of %d posts in Kafka; faults %v", want, missing, sum(seen), len(seen), stats)
}

func sum(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

func mustTime(t *testing.T, s string) time.Time {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
