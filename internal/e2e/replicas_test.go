package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/budget"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
)

// Three `tongxin ingest` replicas share the accounts and the budgets through
// Kafka's consumer group, against the real broker and the simulator, with
// budgets tight enough that the budget is what limits polling. One is
// killed with SIGKILL: within the session timeout (plus a heartbeat and the
// rejoin) the two survivors own all the shards and each spends half of each
// budget; every account of the roster is polled again after that, and the
// simulator, which counts every platform request it answers, saw no more
// requests from the three together than the budgets allow for the time
// they ran.
func TestIngestReplicasTakeOverADeadReplicasAccountsWithinTheBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const (
		speed          = 120 // a campaign hour every 30 wall seconds
		shards         = 12
		sessionTimeout = 10 * time.Second // wall
	)
	// Per campaign hour, for the roster's 50 Douyin, 43 Weibo and 33 WeChat
	// Channels accounts: below what their posts want, so the budgets limit
	// polling, yet enough for every account's listing every hour or so (at
	// two thirds of these the planner, by design, leaves accounts with only
	// old posts unpolled for hours while young posts are due).
	quota := map[string]float64{snapshot.Douyin: 180, snapshot.Weibo: 180, snapshot.WeChatChannels: 90}
	var spec []string
	for p, q := range quota {
		spec = append(spec, fmt.Sprintf("%s=%g", p, q))
	}
	k := enginetest.Start(t, "kafka") // private: the test reads the whole snapshots topic
	brokers := topics.Brokers(k.Addr)
	simAddr := freeAddr(t)
	simURL := "http://" + simAddr
	start(t, "simulate", "simulate", "--listen", simAddr, "--seed", "11", "--speed", fmt.Sprint(speed), "--start", scenarioStart)
	waitHTTP(t, simURL+"/healthz", 30*time.Second)

	tokens := filepath.Join(t.TempDir(), "tokens.json") // shared, as in production
	var replicas []*proc
	var metrics []string
	launch := func(i int) {
		addr := freeAddr(t)
		replicas = append(replicas, start(t, fmt.Sprintf("ingest-%d", i), "ingest", "--brokers", k.Addr, "--simulator", simURL, "--listen", addr,
			"--token-file", tokens, "--partitions", "3", "--shards", fmt.Sprint(shards), "--session-timeout", sessionTimeout.String(),
			"--request-timeout", "2s", "--budget", strings.Join(spec, ",")))
		metrics = append(metrics, "http://"+addr+"/metrics")
		waitHTTP(t, metrics[i], 60*time.Second)
	}
	owned := func(i int) float64 { v, _ := metric(t, metrics[i], "tongxin_ingest_owned_shards"); return v }
	// waitOwned waits until the live replicas own want shards each.
	waitOwned := func(live []int, want float64, within time.Duration) time.Duration {
		began := time.Now()
		for time.Since(began) < within {
			ok := true
			for _, i := range live {
				ok = ok && owned(i) == want
			}
			if ok {
				return time.Since(began)
			}
			time.Sleep(100 * time.Millisecond)
		}
		var got []float64
		for _, i := range live {
			got = append(got, owned(i))
		}
		t.Fatalf("replicas %v own %v shards after %v, want %v each", live, got, within, want)
		return 0
	}

	// The first replica stores every ambassador's token (its metrics
	// answer once it has); the others find them in the shared file. From
	// the moment all three own their shards the bound below starts.
	launch(0)
	launch(1)
	launch(2)
	waitOwned([]int{0, 1, 2}, shards/3, 60*time.Second)
	began, before := simClock(t, simURL), simStats(t, simURL)
	for i := range 3 {
		for p, perHour := range labelled(t, metrics[i], "tongxin_ingest_budget_per_hour", "platform") {
			if want := quota[p] / 3; perHour != want {
				t.Errorf("replica %d of 3 spends %v/h on %s, want a third of %v", i, perHour, p, quota[p])
			}
		}
	}
	time.Sleep(20 * time.Second)

	replicas[2].Kill()
	took := waitOwned([]int{0, 1}, shards/2, sessionTimeout+20*time.Second)
	takenOver := simClock(t, simURL)
	t.Logf("the survivors owned every shard %v after the SIGKILL (session timeout %v)", took.Round(100*time.Millisecond), sessionTimeout)
	if limit := sessionTimeout + 2*sessionTimeout/5 + 5*time.Second; took > limit {
		t.Errorf("the takeover took %v, want within the session timeout, a heartbeat and the rejoin (%v)", took, limit)
	}
	for i := range 2 {
		for p, perHour := range labelled(t, metrics[i], "tongxin_ingest_budget_per_hour", "platform") {
			if want := quota[p] / 2; perHour != want {
				t.Errorf("survivor %d spends %v/h on %s, want half of %v", i, perHour, p, quota[p])
			}
		}
	}

	time.Sleep(45 * time.Second) // a campaign hour and a half: every account is listed
	// The survivors waited for their budgets: it was the budget, not the
	// posts, that set how much they polled.
	for i := range 2 {
		waits := labelled(t, metrics[i], "tongxin_ingest_budget_wait_seconds_total", "platform")
		for p := range quota {
			if waits[p] <= 0 {
				t.Errorf("survivor %d never waited for its %s budget: %v", i, p, waits)
			}
		}
	}
	replicas[0].Stop()
	replicas[1].Stop()
	end, after := simClock(t, simURL), simStats(t, simURL)

	// Every account of the roster was polled after the takeover: a
	// snapshot observed since then.
	last := map[string]time.Time{}
	for partition, msgs := range enginetest.ReadTopic(t, brokers, topics.Snapshots) {
		for _, m := range msgs {
			s, err := snapshot.Unmarshal(m.Value)
			if err != nil {
				t.Fatalf("partition %d offset %d: %v", partition, m.Offset, err)
			}
			if key := s.Platform + ":" + s.AccountID; s.ObservedAt.After(last[key]) {
				last[key] = s.ObservedAt
			}
		}
	}
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	accounts := 0
	for _, platform := range snapshot.Platforms {
		for _, a := range r.Accounts(platform) {
			accounts++
			if seen := last[platform+":"+a.AccountID]; !seen.After(takenOver) {
				t.Errorf("%s's %s account (shard %d) not polled since the takeover at %v: last snapshot observed %v",
					a.AmbassadorID, platform, roster.ShardOf(a, shards), takenOver.Format(time.TimeOnly), seen.Format(time.TimeOnly))
			}
		}
	}

	// The budgets held across the three: a bucket gains tokens only at its
	// rate, and the rates of replicas owning disjoint shards add up to the
	// quota at most. At `began` each replica held at most its bucket's
	// burst (a campaign minute of its third, at least one) and one token
	// its Runner had taken for a request not yet answered.
	hours := end.Sub(began).Hours()
	for p, q := range quota {
		got := float64(after[p+" ok"] - before[p+" ok"])
		allowed := q*hours + 3*float64(budget.MinuteBurst(q/3)+1)
		t.Logf("%s: %v requests in %.2f campaign hours, the budget of %g/h allows %.1f (%.0f%% used)", p, got, hours, q, allowed, 100*got/allowed)
		if got > allowed {
			t.Errorf("%s: the simulator answered %v requests in %.2f campaign hours from three replicas; the budget of %g/h allows %.1f", p, got, hours, q, allowed)
		}
		// The bound above is what held polling back: the replicas wanted
		// more than the budget (else the test could not see it broken).
		if got < 0.6*q*hours {
			t.Errorf("%s: only %v requests in %.2f campaign hours at %g/h: the budget did not limit polling, so the test shows nothing", p, got, hours, q)
		}
	}
	for key, n := range after {
		if !strings.HasSuffix(key, " ok") && n > 0 {
			t.Errorf("the simulator injected %d %q with no faults asked for", n, key)
		}
	}
	t.Logf("%d accounts; %.2f campaign hours; requests %v", accounts, hours, after)
}
