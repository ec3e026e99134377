package e2e

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/budget"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/scheduler"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
)

// Three `tongxin ingest` replicas share the accounts and the budgets through
// Kafka's consumer group, against the real broker and the simulator, with
// budgets tight enough that the budget is what limits polling. One is
// killed with SIGKILL: within the session timeout (plus a heartbeat and the
// rejoin) the two survivors own all the shards and each spends half of each
// budget; every account of the roster is listed again within the planner's
// floor after that (scheduler.Config.ListFloor plus a budget token for each
// account ahead of it: the guarantee, whatever the young posts want and
// however loaded the machine), and the simulator, which counts every
// platform request it answers, saw no more requests from the three
// together than the budgets allow for the time they ran.
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

	killed := simClock(t, simURL)
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

	// The floor's bound, campaign clock: an account is listed again within
	// ListFloor (the default
	// config, as `tongxin ingest` runs) plus one token of a survivor's
	// budget share for every account of the platform it may own, each
	// listed at most once ahead of it.
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	floor := scheduler.Config{}.ListFloor()
	bound, longest := map[string]time.Duration{}, time.Duration(0)
	for p, q := range quota {
		bound[p] = floor + time.Duration(float64(len(r.Watched(p)))/(q/2)*float64(time.Hour))
		longest = max(longest, bound[p])
	}
	// Until the simulator's clock has passed the longest bound by a minute
	// (about 90 wall seconds at this speed; the clock, not a wall sleep,
	// so a slow machine only makes the wait longer).
	for simClock(t, simURL).Before(takenOver.Add(longest + time.Minute)) {
		time.Sleep(time.Second)
	}
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
	polledUntil := simClock(t, simURL) // the last stretch ends here, not after the drain on stop
	replicas[0].Stop()
	replicas[1].Stop()
	end, after := simClock(t, simURL), simStats(t, simURL)

	// Every account of the roster was listed within the floor's bound all
	// along, from its last listing before the SIGKILL to the end: each
	// stretch between two listings, and from the last one to the end, is
	// at most the bound; the stretch across the takeover may be longer by
	// the time the takeover took (the session timeout, a heartbeat and the
	// rejoin), when nobody owned the dead replica's accounts. A listing is
	// seen as a poll of the account's newest page: a snapshot of its newest
	// post seen up to the SIGKILL (a listing carries it while fewer than a
	// page of posts come after it; fetches leave the newest page to the
	// listing).
	var snaps []snapshot.Snapshot
	for partition, msgs := range enginetest.ReadTopic(t, brokers, topics.Snapshots) {
		for _, m := range msgs {
			s, err := snapshot.Unmarshal(m.Value)
			if err != nil {
				t.Fatalf("partition %d offset %d: %v", partition, m.Offset, err)
			}
			snaps = append(snaps, *s)
		}
	}
	newest := map[string]snapshot.Snapshot{} // platform:account → its newest post's snapshot up to the SIGKILL
	for _, s := range snaps {
		key := s.Platform + ":" + s.AccountID
		if n, ok := newest[key]; !s.ObservedAt.After(killed) && (!ok || s.PublishedAt.After(n.PublishedAt) ||
			s.PublishedAt.Equal(n.PublishedAt) && s.PostID > n.PostID) {
			newest[key] = s
		}
	}
	listed := map[string][]time.Time{} // platform:account → the polls of that post
	for _, s := range snaps {
		key := s.Platform + ":" + s.AccountID
		if n, ok := newest[key]; ok && s.PostID == n.PostID {
			listed[key] = append(listed[key], s.ObservedAt)
		}
	}
	accounts := 0
	for _, platform := range snapshot.Platforms {
		longestGap := time.Duration(0)
		for _, a := range r.Accounts(platform) {
			accounts++
			key := platform + ":" + a.AccountID
			times := listed[key]
			if len(times) == 0 {
				t.Errorf("%s's %s account (shard %d): no snapshot up to the SIGKILL at %v", a.AmbassadorID, platform, roster.ShardOf(a, shards), killed.Format(time.TimeOnly))
				continue
			}
			slices.SortFunc(times, time.Time.Compare)
			// From the last listing at or before the SIGKILL (there is one:
			// the newest post was seen by then).
			i, _ := slices.BinarySearchFunc(times, killed, func(x, k time.Time) int {
				if x.After(k) {
					return 1
				}
				return -1
			})
			prev := times[i-1]
			for _, at := range append(times[i:], polledUntil) {
				allowed := bound[platform]
				if !prev.After(killed) {
					allowed += takenOver.Sub(killed)
				}
				gap := at.Sub(prev)
				if gap > allowed {
					t.Errorf("%s's %s account (shard %d) unlisted from %v to %v (%v), beyond the floor's bound %v (ListFloor %v plus a token per account; across the takeover plus the %v it took): its newest post %s not polled in between",
						a.AmbassadorID, platform, roster.ShardOf(a, shards), prev.Format(time.TimeOnly), at.Format(time.TimeOnly), gap, allowed,
						floor, takenOver.Sub(killed), newest[key].PostID)
				}
				longestGap = max(longestGap, gap)
				prev = at
			}
		}
		t.Logf("%s: longest stretch unlisted from the SIGKILL to the end %v (bound %v, across the takeover %v more)", platform, longestGap.Round(time.Second), bound[platform].Round(time.Second), takenOver.Sub(killed).Round(time.Second))
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
