package aggregate_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
)

// An official account's reposts (snapshots with repost_of) go through
// Kafka and the aggregator into official_reposts, newest observation
// winning, and nowhere else: not into snapshots, post_hourly, post_facts
// or any campaign total, while the ambassadors' posts beside them roll up
// exactly. Delivered twice, nothing changes.
func TestOfficialRepostsStayOutOfTheRollups(t *testing.T) {
	s := setup(t)
	snaps, _ := stream(30, 10, 4)
	t0 := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	var reposts []*snapshot.Snapshot
	for i := 0; i < 4; i++ {
		reposts = append(reposts, &snapshot.Snapshot{Schema: 1, Platform: snapshot.Weibo, AmbassadorID: "off_xishan_fabu",
			AccountID: "6021883406", PostID: "9959977052534445", PublishedAt: t0, ObservedAt: t0.Add(time.Duration(i) * time.Hour),
			Source: snapshot.SourceAPI, Metrics: snapshot.Metrics{Likes: snapshot.Counter(int64(10 * (i + 1))), Comments: snapshot.Counter(2), Shares: snapshot.Counter(1)},
			Facts:    snapshot.NewFacts(snapshot.Weibo, "家乡代言人带你看西山 //@代言人:#寻美西山#", "https://weibo.com/6021883406/9959977052534445"),
			RepostOf: &snapshot.PostRef{Platform: snapshot.Weibo, PostID: "5034312412120001"}})
	}
	var msgs []kafka.Message
	for i, sn := range snaps {
		msgs = append(msgs, message(t, sn))
		if i%20 == 0 && i/20 < len(reposts) {
			msgs = append(msgs, message(t, reposts[i/20]), message(t, reposts[i/20])) // and twice
		}
	}
	produce(t, s, msgs)
	reg := prometheus.NewRegistry()
	stop := runAggregatorWith(t, s, "g-"+s.topic, reg)
	enginetest.WaitCommitted(t, s.brokers, "g-"+s.topic, s.topic, 2*time.Minute)
	stop()
	verify(t, s, 30)

	ctx := context.Background()
	count := func(q string) uint64 {
		t.Helper()
		var n uint64
		if err := s.conn.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, table := range []string{"snapshots", "post_hourly", "post_facts"} {
		if n := count("SELECT count() FROM " + table + " WHERE ambassador_id = 'off_xishan_fabu' OR post_id = '9959977052534445'"); n != 0 {
			t.Errorf("%s holds %d rows of the official repost", table, n)
		}
	}
	if n := count("SELECT count() FROM posts WHERE post_id = '9959977052534445'"); n != 0 {
		t.Error("the posts view lists the official repost")
	}
	var official, of, state, text string
	var likes *int64
	var reposted, observed time.Time
	if err := s.conn.QueryRow(ctx, `SELECT toString(argMax(official_id, observed_at)), argMax(repost_of_post_id, observed_at),
		toString(argMax(state, observed_at)), argMax(likes, observed_at), argMax(text, observed_at), argMax(reposted_at, observed_at), max(observed_at)
		FROM official_reposts WHERE platform = 'weibo' AND post_id = '9959977052534445'`).
		Scan(&official, &of, &state, &likes, &text, &reposted, &observed); err != nil {
		t.Fatal(err)
	}
	last := reposts[len(reposts)-1]
	if official != "off_xishan_fabu" || of != "5034312412120001" || state != "live" || likes == nil || *likes != *last.Likes ||
		!reposted.Equal(t0) || !observed.Equal(last.ObservedAt) || text != last.Facts.Title {
		t.Errorf("official_reposts: %s reposted %s at %s (%s, likes %v, %q), newest %s; want the last of %d observations",
			official, of, reposted, state, deref(likes), text, observed, len(reposts))
	}
	if got := outcome(t, reg, "repost"); got != float64(2*len(reposts)) {
		t.Errorf("tongxin_aggregate_snapshots_total{outcome=repost} = %v, want %d (each delivered twice)", got, 2*len(reposts))
	}
}

// outcome reads tongxin_aggregate_snapshots_total{outcome=…} from reg.
func outcome(t *testing.T, reg *prometheus.Registry, want string) float64 {
	t.Helper()
	return outcomeOf(t, reg, "tongxin_aggregate_snapshots_total", want)
}
