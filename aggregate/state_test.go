package aggregate_test

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
)

// A post goes private, then comes back; another is deleted. Their state
// snapshots carry no counters: the rollup sees no fake drop to 0 (no
// negative delta, the sums stay the last counters), the invariant holds,
// and post_state tells the state and since when.
func TestPrivateAndDeletedPostsKeepTheirSums(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Kafka and ClickHouse")
	}
	s := setup(t)
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	snap := func(post string, min int, state string, plays int64) *snapshot.Snapshot {
		sn := &snapshot.Snapshot{Schema: 1, Platform: snapshot.Douyin, AmbassadorID: "amb03", AccountID: "_000b92FFEF590F63E7aEc82CACD026c", PostID: "@" + post,
			PublishedAt: t0.Add(-time.Hour), ObservedAt: t0.Add(time.Duration(min) * time.Minute), State: state, Source: snapshot.SourceSim}
		if plays >= 0 {
			sn.Plays, sn.Likes = snapshot.Counter(plays), snapshot.Counter(plays/10)
		}
		return sn
	}
	var msgs []kafka.Message
	for _, sn := range []*snapshot.Snapshot{
		snap("hidden", 0, "", 1000),
		snap("hidden", 30, snapshot.StateLive, 1500),
		snap("hidden", 90, snapshot.StatePrivate, -1), // private since 11:30
		snap("hidden", 150, snapshot.StatePrivate, -1),
		snap("back", 0, "", 700),
		snap("back", 60, snapshot.StatePrivate, -1),
		snap("back", 120, snapshot.StateLive, 900), // visible again: counting goes on
		snap("gone", 0, "", 300),
		snap("gone", 45, snapshot.StateDeleted, -1),
	} {
		msgs = append(msgs, message(t, sn))
	}
	produce(t, s, msgs)
	stop := runAggregator(t, s, "g-state-"+s.topic)
	enginetest.WaitCommitted(t, s.brokers, "g-state-"+s.topic, s.topic, 2*time.Minute)
	stop()
	verify(t, s, 3)

	ctx := context.Background()
	for post, want := range map[string]int64{"hidden": 1500, "back": 900, "gone": 300} {
		var plays, likes, lowest int64
		if err := s.conn.QueryRow(ctx, "SELECT sum(plays), sum(likes), min(plays) FROM post_hourly WHERE post_id = ?", "@"+post).Scan(&plays, &likes, &lowest); err != nil {
			t.Fatal(err)
		}
		if plays != want || likes != want/10 || lowest < 0 {
			t.Errorf("%s: sum(plays)=%d sum(likes)=%d, lowest hourly delta %d; want %d, %d and no negative delta", post, plays, likes, lowest, want, want/10)
		}
	}
	for post, want := range map[string]struct {
		state string
		since time.Time
	}{
		"hidden": {snapshot.StatePrivate, t0.Add(90 * time.Minute)},
		"back":   {snapshot.StateLive, t0.Add(120 * time.Minute)},
		"gone":   {snapshot.StateDeleted, t0.Add(45 * time.Minute)},
	} {
		var state string
		var since time.Time
		if err := s.conn.QueryRow(ctx, "SELECT state, since FROM post_state WHERE platform = 'douyin' AND post_id = ?", "@"+post).Scan(&state, &since); err != nil {
			t.Fatalf("%s: post_state: %v", post, err)
		}
		if state != want.state || !since.Equal(want.since) {
			t.Errorf("%s: post_state says %s since %v, want %s since %v", post, state, since.UTC(), want.state, want.since)
		}
	}
	var stored uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM snapshots WHERE state = 'private' AND plays IS NULL").Scan(&stored); err != nil || stored != 3 {
		t.Errorf("%d private snapshots without counters in snapshots (err %v), want 3", stored, err)
	}
}
