package aggregate_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/aggregate"
	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type stage struct {
	brokers []string
	dsn     string
	conn    driver.Conn
	topic   string
	dlq     string
}

func setup(t *testing.T) *stage {
	t.Helper()
	s := setupTopics(t)
	s.dsn, s.conn = enginetest.MigratedDatabase(t)
	return s
}

// setupTopics makes the stage's topics; the database is the caller's.
func setupTopics(t *testing.T) *stage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := &stage{
		brokers: topics.Brokers(enginetest.Kafka(t)),
		topic:   fmt.Sprintf("test.snapshots.%d", time.Now().UnixNano()),
	}
	s.dlq = s.topic + ".dlq"
	if err := topics.Ensure(ctx, s.brokers, 6, s.topic); err != nil {
		t.Fatal(err)
	}
	if err := topics.Ensure(ctx, s.brokers, 1, s.dlq); err != nil {
		t.Fatal(err)
	}
	return s
}

// stream makes posts×n snapshots of cumulative counters (plays may drop,
// likes appear late, favorites never), crossing a month boundary, and
// returns them with each post's latest counters.
func stream(posts, n int, seed uint64) ([]*snapshot.Snapshot, map[string][2]int64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	t0 := time.Date(2026, 10, 31, 18, 0, 0, 0, time.UTC)
	var out []*snapshot.Snapshot
	latest := map[string][2]int64{}
	for p := 0; p < posts; p++ {
		plays, likes := int64(0), int64(0)
		platform := snapshot.Platforms[p%3]
		for i := 0; i < n; i++ {
			plays = max(0, plays+rng.Int64N(500)-25)
			s := &snapshot.Snapshot{
				Schema: 1, Platform: platform, AmbassadorID: fmt.Sprintf("amb%02d", p%50),
				AccountID: accounts[platform], PostID: postIDs[platform](p),
				PublishedAt: t0.Add(-time.Hour), ObservedAt: t0.Add(time.Duration(i*23+p) * time.Minute),
				Source:  snapshot.SourceSim,
				Metrics: snapshot.Metrics{Plays: snapshot.Counter(plays)},
			}
			if i >= 3 {
				likes += rng.Int64N(20)
				s.Likes = snapshot.Counter(likes)
			}
			out = append(out, s)
			latest[s.Key()] = [2]int64{plays, likes}
		}
	}
	// Interleave posts as ingest would, keeping each post's order.
	rng.Shuffle(len(out), func(i, j int) {
		if out[i].Key() != out[j].Key() {
			out[i], out[j] = out[j], out[i]
		}
	})
	byKey := map[string][]*snapshot.Snapshot{}
	for _, s := range out {
		byKey[s.Key()] = append(byKey[s.Key()], s)
	}
	for _, ss := range byKey {
		for i := 1; i < len(ss); i++ {
			for j := i; j > 0 && ss[j].ObservedAt.Before(ss[j-1].ObservedAt); j-- {
				ss[j], ss[j-1] = ss[j-1], ss[j]
			}
		}
	}
	idx := map[string]int{}
	for i, s := range out {
		k := s.Key()
		out[i] = byKey[k][idx[k]]
		idx[k]++
	}
	return out, latest
}

// Real-shaped ids per platform (snapshot.PlatformRules).
var (
	accounts = map[string]string{snapshot.Douyin: "_000b92FFEF590F63E7aEc82CACD026c", snapshot.Weibo: "4361396479", snapshot.WeChatChannels: "sphNME8PNY4FS9"}
	postIDs  = map[string]func(int) string{
		snapshot.Douyin:         func(p int) string { return fmt.Sprintf("@9VwKzuuES8gmaHHgMoBgQc%04d==", p) },
		snapshot.Weibo:          func(p int) string { return fmt.Sprintf("503431241212%04d", p) },
		snapshot.WeChatChannels: func(p int) string { return fmt.Sprintf("export/UzFfBgAAxNGhNBNHFw_%04d", p) },
	}
)

func produce(t *testing.T, s *stage, msgs []kafka.Message) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(s.brokers...), Topic: s.topic, Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := 0; i < len(msgs); i += 1000 {
		if err := w.WriteMessages(ctx, msgs[i:min(i+1000, len(msgs))]...); err != nil {
			t.Fatal(err)
		}
	}
}

func message(t *testing.T, s *snapshot.Snapshot) kafka.Message {
	b, err := snapshot.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return kafka.Message{Key: []byte(s.Key()), Value: b}
}

func runAggregator(t *testing.T, s *stage, group string) (stop func()) {
	t.Helper()
	return runAggregatorWith(t, s, group, prometheus.NewRegistry())
}

func runAggregatorWith(t *testing.T, s *stage, group string, reg *prometheus.Registry) (stop func()) {
	t.Helper()
	return runAggregatorOn(t, s, group, reg, s.conn, 0)
}

// runAggregatorOn is runAggregatorWith writing to conn, giving a flush in
// doubt grace (0: the default) once its generation ended.
func runAggregatorOn(t *testing.T, s *stage, group string, reg *prometheus.Registry, conn driver.Conn, grace time.Duration) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := aggregate.New(aggregate.Config{
		Brokers: s.brokers, Group: group, Topic: s.topic, DeadLetterTopic: s.dlq,
		Sink: sink.New(conn, reg), Registerer: reg, Log: quiet,
		BatchSize: 700, FlushEvery: 100 * time.Millisecond, SessionTimeout: 6 * time.Second, FlushGrace: grace,
	})
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("aggregator: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func verify(t *testing.T, s *stage, wantPosts int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, bad, err := warehouse.Verify(ctx, s.conn)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range bad {
		if i == 20 {
			t.Errorf("… and %d more", len(bad)-20)
			break
		}
		t.Errorf("invariant broken: %v", m)
	}
	if n != wantPosts {
		t.Errorf("verified %d posts, want %d", n, wantPosts)
	}
}

// Every snapshot delivered once, some twice (an ingest retry), plus poison
// messages: the invariant holds for every post and metric, the latest
// counters are the ones produced, and the poison lands in the dead-letter
// topic with its reason. Then a second consumer group replays the whole
// topic into the same tables, and nothing changes.
func TestExactRollupsWithDuplicatesPoisonAndReplay(t *testing.T) {
	s := setup(t)
	snaps, latest := stream(240, 30, 1)
	var msgs []kafka.Message
	rng := rand.New(rand.NewPCG(2, 3))
	for _, sn := range snaps {
		msgs = append(msgs, message(t, sn))
		if rng.IntN(5) == 0 {
			msgs = append(msgs, message(t, sn)) // delivered twice
		}
	}
	poison := []kafka.Message{
		{Key: []byte("douyin:bad1"), Value: []byte("{not json")},
		{Key: []byte("douyin:bad2"), Value: []byte(`{"schema":2,"platform":"douyin","post_id":"x"}`)},
		{Key: []byte("douyin:bad3"), Value: []byte(`{"schema":1,"platform":"tiktok","post_id":"x","ambassador_id":"a","observed_at":"2026-11-01T00:00:00Z","source":"sim"}`)},
	}
	msgs = append(msgs[:500], append(poison, msgs[500:]...)...)
	produce(t, s, msgs)

	stop := runAggregator(t, s, "g1-"+s.topic)
	enginetest.WaitCommitted(t, s.brokers, "g1-"+s.topic, s.topic, 2*time.Minute)
	stop()
	verify(t, s, 240)

	ctx := context.Background()
	rows, err := s.conn.Query(ctx, "SELECT platform, post_id, plays, likes, favorites FROM post_latest")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for rows.Next() {
		var platform, post string
		var plays, likes, favs *int64
		if err := rows.Scan(&platform, &post, &plays, &likes, &favs); err != nil {
			t.Fatal(err)
		}
		want := latest[snapshot.Key(platform, post)]
		if plays == nil || *plays != want[0] || likes == nil || *likes != want[1] {
			t.Errorf("%s:%s: post_latest plays=%v likes=%v, produced %v", platform, post, deref(plays), deref(likes), want)
		}
		if favs != nil {
			t.Errorf("%s:%s: favorites were never given but post_latest has %d", platform, post, *favs)
		}
		seen++
	}
	if seen != 240 {
		t.Errorf("post_latest has %d posts, want 240", seen)
	}

	// The dead-letter topic holds the three poison messages with reasons.
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: s.brokers, Topic: s.dlq, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	reasons := map[string]string{}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for len(reasons) < 3 {
		m, err := r.ReadMessage(rctx)
		if err != nil {
			t.Fatalf("dead letters read so far %v: %v", reasons, err)
		}
		for _, h := range m.Headers {
			if h.Key == "tongxin-error" {
				reasons[string(m.Key)] = string(h.Value)
			}
		}
	}
	for key, want := range map[string]string{"douyin:bad1": "not a valid snapshot", "douyin:bad2": "unsupported version 2", "douyin:bad3": `unknown "tiktok"`} {
		if got := reasons[key]; !strings.Contains(got, want) {
			t.Errorf("dead letter %s: reason %q, want it to say %q", key, got, want)
		}
	}

	// Replay everything through a new group: nothing may be counted twice.
	var before int64
	if err := s.conn.QueryRow(ctx, "SELECT sum(plays) FROM post_hourly").Scan(&before); err != nil {
		t.Fatal(err)
	}
	stop2 := runAggregator(t, s, "g2-"+s.topic)
	enginetest.WaitCommitted(t, s.brokers, "g2-"+s.topic, s.topic, 2*time.Minute)
	stop2()
	var after int64
	if err := s.conn.QueryRow(ctx, "SELECT sum(plays) FROM post_hourly").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("replaying the topic changed sum(plays) from %d to %d", before, after)
	}
	verify(t, s, 240)
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// A new user's stream: ordinary snapshots with hostile messages among them
// — a 400 KB value whose unknown platform the reason quotes (and whose key
// is as long), binary garbage, and an otherwise valid snapshot whose post id
// is 300 KB (beyond the platform's id rule). Every ordinary post arrives,
// each hostile message is dead-lettered once with a bounded reason and key,
// and the group commits to the end: nothing is retried forever.
func TestOversizedPoisonCostsOneDeadLetter(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Kafka and the ClickHouse engine")
	}
	s := setup(t)
	snaps, latest := stream(60, 10, 5)
	var msgs []kafka.Message
	for _, sn := range snaps {
		msgs = append(msgs, message(t, sn))
	}
	huge := strings.Repeat("tiktok", 400<<10/6)
	poison := []kafka.Message{
		{Key: []byte(huge + ":x"), Value: []byte(`{"schema":1,"platform":"` + huge + `","post_id":"x","ambassador_id":"a","observed_at":"2026-11-01T00:00:00Z","source":"sim"}`)},
		{Key: []byte("douyin:garbage"), Value: []byte{0xff, 0xfe, 0x00, 0x01, '{', '"', 0x80}},
	}
	long := &snapshot.Snapshot{Schema: 1, Platform: snapshot.WeChatChannels, AmbassadorID: "amb01", AccountID: "a",
		PostID: strings.Repeat("w", 300<<10), PublishedAt: snaps[0].PublishedAt, ObservedAt: snaps[0].ObservedAt,
		Source: snapshot.SourceSim, Metrics: snapshot.Metrics{Plays: snapshot.Counter(42)}}
	msgs = append(msgs[:100], append(append(poison[:1:1], message(t, long)), append(msgs[100:300], append(poison[1:], msgs[300:]...)...)...)...)
	produce(t, s, msgs)

	stop := runAggregator(t, s, "g-"+s.topic)
	enginetest.WaitCommitted(t, s.brokers, "g-"+s.topic, s.topic, 60*time.Second)
	stop()
	verify(t, s, 60)

	ctx := context.Background()
	rows, err := s.conn.Query(ctx, "SELECT platform, post_id, plays, likes FROM post_latest")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for rows.Next() {
		var platform, post string
		var plays, likes *int64
		if err := rows.Scan(&platform, &post, &plays, &likes); err != nil {
			t.Fatal(err)
		}
		want, ok := latest[snapshot.Key(platform, post)]
		if !ok || deref(plays) != want[0] || deref(likes) != want[1] {
			t.Errorf("%s:%s: post_latest plays=%v likes=%v, produced %v", platform, post, deref(plays), deref(likes), want)
		}
		seen++
	}
	if seen != 60 {
		t.Errorf("post_latest has %d posts, want the 60 ordinary ones", seen)
	}

	var dead []kafka.Message
	for _, ms := range enginetest.ReadTopic(t, s.brokers, s.dlq) {
		dead = append(dead, ms...)
	}
	if len(dead) != 3 {
		t.Fatalf("%d dead letters, want the 3 hostile messages", len(dead))
	}
	// In the order they were produced: the 400 KB value, the long id, the garbage.
	sort.SliceStable(dead, func(i, j int) bool { return rank(dead[i].Key) < rank(dead[j].Key) })
	for _, d := range dead {
		reason := deadletterHeader(d, "tongxin-error")
		if len(reason) > 1024 || len(d.Key) > 256 || len(d.Value) > 256<<10 {
			t.Errorf("dead letter of %d bytes (key %d, reason %d): not bounded", len(d.Value), len(d.Key), len(reason))
		}
		t.Logf("dead letter %.60q: %s", d.Key, reason)
	}
	if r := deadletterHeader(dead[0], "tongxin-error"); !strings.Contains(r, `unknown "tiktoktiktok`) || !strings.Contains(r, "bytes)") {
		t.Errorf("reason of the 400 KB message %q: want the unknown platform, cut, with its size", r)
	}
	if sz := deadletterHeader(dead[0], "tongxin-value-size"); sz != fmt.Sprint(len(poison[0].Value)) {
		t.Errorf("the cut value's original size is %q, want %d", sz, len(poison[0].Value))
	}
	if r := deadletterHeader(dead[1], "tongxin-error"); !strings.HasPrefix(string(dead[1].Key), "wechat_channels:www") || !strings.Contains(r, "post_id") || !strings.Contains(r, "bytes") {
		t.Errorf("dead letter %.60q: reason %q, want the post id named and cut", dead[1].Key, r)
	}
	if r := deadletterHeader(dead[2], "tongxin-error"); string(dead[2].Key) != "douyin:garbage" || !strings.Contains(r, "not a valid snapshot") {
		t.Errorf("dead letter %q: reason %q", dead[2].Key, r)
	}
}

// rank orders the hostile messages of TestOversizedPoisonCostsOneDeadLetter.
func rank(key []byte) int {
	switch {
	case strings.HasPrefix(string(key), "tiktok"):
		return 0
	case strings.HasPrefix(string(key), "wechat_channels:"):
		return 1
	}
	return 2
}

func deadletterHeader(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Should Kafka refuse a dead letter for good all the same (here a
// dead-letter topic whose max.message.bytes is 512), the batch does not
// wait for it: the letter is counted as lost and logged, the small dead
// letter in the same batch still lands, every ordinary post arrives, and
// the group commits to the end.
func TestDeadLetterRefusedForGoodIsCountedAndPassed(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Kafka and the ClickHouse engine")
	}
	s := setup(t)
	s.dlq = s.topic + ".small-dlq"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(s.brokers...)}
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: s.dlq, NumPartitions: 1, ReplicationFactor: 1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: "512"}},
	}}})
	if err != nil || resp.Errors[s.dlq] != nil {
		t.Fatalf("creating %s: %v %v", s.dlq, err, resp)
	}
	snaps, _ := stream(30, 5, 8)
	var msgs []kafka.Message
	for _, sn := range snaps {
		msgs = append(msgs, message(t, sn))
	}
	// Both in one partition, so in one flush and one dead-letter batch.
	poison := []kafka.Message{
		{Key: []byte("douyin:small"), Value: []byte("{not json")},
		{Key: []byte("douyin:small"), Value: []byte(strings.Repeat("{", 2048))},
	}
	msgs = append(msgs[:50], append(poison, msgs[50:]...)...)
	produce(t, s, msgs)

	reg := prometheus.NewRegistry()
	stop := runAggregatorWith(t, s, "g-"+s.topic, reg)
	enginetest.WaitCommitted(t, s.brokers, "g-"+s.topic, s.topic, 60*time.Second)
	stop()
	verify(t, s, 30)
	var dead []kafka.Message
	for _, ms := range enginetest.ReadTopic(t, s.brokers, s.dlq) {
		dead = append(dead, ms...)
	}
	if len(dead) != 1 || string(dead[0].Value) != "{not json" {
		t.Errorf("dead-letter topic holds %d messages, want only the small one", len(dead))
	}
	for name, want := range map[string]float64{"tongxin_aggregate_dead_letters_total": 1, "tongxin_aggregate_dead_letters_lost_total": 1} {
		if got := enginetest.MetricSum(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// A second member joins a group that has already applied half the stream:
// each member loads the applied state of its own partitions' posts from
// post_hourly in one query (rollup by Kafka's partitioner, not post by
// post), and treats a post of its partitions that it did not load as new.
// Had that load missed a post with history, its next delta would count
// its whole history again: the invariant, checked for every post, fails.
func TestMembersLoadTheirPartitionsExactly(t *testing.T) {
	s := setup(t)
	snaps, _ := stream(240, 30, 4)
	var msgs []kafka.Message
	for _, sn := range snaps {
		msgs = append(msgs, message(t, sn))
	}
	group := "g-" + s.topic
	produce(t, s, msgs[:len(msgs)/2])
	stopA := runAggregator(t, s, group)
	enginetest.WaitCommitted(t, s.brokers, group, s.topic, 2*time.Minute)

	stopB := runAggregator(t, s, group)
	client := &kafka.Client{Addr: kafka.TCP(s.brokers...)}
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
		cancel()
		busy := 0
		if err == nil && len(res.Groups) == 1 && res.Groups[0].GroupState == "Stable" {
			for _, m := range res.Groups[0].Members {
				for _, tp := range m.MemberAssignments.Topics {
					if tp.Topic == s.topic && len(tp.Partitions) > 0 && len(tp.Partitions) < 6 {
						busy++
					}
				}
			}
		}
		if busy == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the group did not split the partitions between two members within a minute (last: %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	produce(t, s, msgs[len(msgs)/2:])
	enginetest.WaitCommitted(t, s.brokers, group, s.topic, 2*time.Minute)
	stopA()
	stopB()
	verify(t, s, 240)
}
