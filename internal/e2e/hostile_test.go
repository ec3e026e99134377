package e2e

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/internal/deadletter"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
)

// As a new user would: ordinary snapshots produced to tongxin.snapshots.v1
// with hostile messages among them, read by `tongxin aggregate`. Every
// ordinary post's counters arrive in ClickHouse exactly as produced; every
// hostile message is in tongxin.deadletter.v1 exactly once, with a bounded
// reason and key; the group commits to the end of the topic, so nothing is
// retried forever.
func TestHostileMessagesCostOneDeadLetterEach(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	// A broker of its own: the binary's topic names are fixed.
	began := time.Now()
	k := enginetest.Start(t, "kafka")
	t.Logf("%v: kafka up", time.Since(began))
	brokers := topics.Brokers(k.Addr)
	dsn := enginetest.Database(t, enginetest.ClickHouse(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := topics.Ensure(ctx, brokers, 3, topics.All...); err != nil {
		t.Fatal(err)
	}

	// Ordinary posts in each platform's own id style, observed in the last
	// hours, four snapshots each.
	rng := rand.New(rand.NewPCG(9, 9))
	now := time.Now().UTC().Truncate(time.Millisecond)
	type counters struct{ plays, likes, comments, shares, favorites *int64 }
	latest := map[string]counters{}
	goodFacts := map[string]string{} // key → title
	var msgs []kafka.Message
	for p := 0; p < 150; p++ {
		platform := snapshot.Platforms[p%3]
		id := map[string]string{
			snapshot.Douyin:         fmt.Sprintf("73%017d", rng.Int64N(1e17)),
			snapshot.Weibo:          fmt.Sprintf("50%014d", rng.Int64N(1e14)),
			snapshot.WeChatChannels: fmt.Sprintf("export/UzFfAgtgekIEAQAAAAAA%016x", rng.Uint64()),
		}[platform]
		var plays, likes, comments, shares int64
		for i := 0; i < 4; i++ {
			plays += rng.Int64N(5000)
			likes += rng.Int64N(300)
			comments += rng.Int64N(20)
			shares += rng.Int64N(10)
			s := snapshot.Snapshot{
				Schema: snapshot.SchemaVersion, Platform: platform, AmbassadorID: fmt.Sprintf("amb%02d", 1+p%50),
				AccountID: "4361396479", PostID: id, PublishedAt: now.Add(-3 * time.Hour),
				ObservedAt: now.Add(-2*time.Hour + time.Duration(i*20+p%20)*time.Minute), Source: snapshot.SourceAPI,
				Metrics: snapshot.Metrics{Likes: snapshot.Counter(likes), Comments: snapshot.Counter(comments), Shares: snapshot.Counter(shares)},
			}
			if platform != snapshot.Weibo { // Weibo gives no plays, none gives favorites here
				s.Plays = snapshot.Counter(plays)
			}
			// Post facts on a post's first snapshot: good ones on every
			// tenth post, a 2,001-character title on post 0 and a facts
			// object of the wrong shape on post 1. Bad facts cost only
			// themselves: the counters arrive all the same.
			switch {
			case i > 0:
			case p == 0:
				s.Facts = &snapshot.Facts{Title: strings.Repeat("山", snapshot.MaxTitleRunes+1)}
			case p == 1:
				s.Facts = &snapshot.Facts{Title: "西山的秋", Topics: []string{"寻美西山"}}
			case p%10 == 2:
				s.Facts = snapshot.NewFacts(platform, fmt.Sprintf("西山的秋 %d #寻美西山", p), "https://weibo.com/1/2")
			}
			b, err := snapshot.Marshal(&s)
			if err != nil {
				t.Fatal(err)
			}
			if p == 1 && i == 0 {
				b = bytes.Replace(b, []byte(`"topics":["寻美西山"]`), []byte(`"topics":5`), 1)
			} else if p%10 == 2 && i == 0 {
				goodFacts[s.Key()] = s.Facts.Title
			}
			msgs = append(msgs, kafka.Message{Key: []byte(s.Key()), Value: b})
			latest[s.Key()] = counters{s.Plays, s.Likes, s.Comments, s.Shares, s.Favorites}
		}
	}

	huge := strings.Repeat("tiktok", 400<<10/6)
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(rng.IntN(256))
	}
	longID := snapshot.Snapshot{Schema: 1, Platform: snapshot.Douyin, AmbassadorID: "amb01", AccountID: "acct",
		PostID: strings.Repeat("7", 20<<10), PublishedAt: now.Add(-3 * time.Hour), ObservedAt: now.Add(-time.Hour),
		Source: snapshot.SourceAPI, Metrics: snapshot.Metrics{Plays: snapshot.Counter(777)}}
	longValue, err := snapshot.Marshal(&longID)
	if err != nil {
		t.Fatal(err)
	}
	hostile := []kafka.Message{
		// ~400 KB, and the reason would quote the offending platform; the key is as long.
		{Key: []byte(huge + ":1"), Value: []byte(`{"schema":1,"platform":"` + huge + `","ambassador_id":"amb01","post_id":"1","observed_at":"` +
			now.Format(time.RFC3339) + `","source":"api"}`)},
		{Key: []byte("douyin:malformed"), Value: []byte(`{"schema":1,"platform":"douyin","post_id":"malformed","plays":12`)},
		{Key: []byte("douyin:garbage"), Value: garbage},
		{Key: []byte("douyin:schema2"), Value: []byte(`{"schema":2,"platform":"douyin","ambassador_id":"amb01","post_id":"schema2","observed_at":"` +
			now.Format(time.RFC3339) + `","source":"api","plays":5}`)},
		{Key: []byte("tiktok:123"), Value: []byte(`{"schema":1,"platform":"tiktok","ambassador_id":"amb01","post_id":"123","observed_at":"` +
			now.Format(time.RFC3339) + `","source":"api","plays":5}`)},
		// Valid but for its 20 KB post id, beyond Douyin's id rule.
		{Key: []byte(longID.Key()), Value: longValue},
	}
	for i, h := range hostile {
		at := (i + 1) * len(msgs) / (len(hostile) + 1)
		msgs = append(msgs[:at], append([]kafka.Message{h}, msgs[at:]...)...)
	}
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topics.Snapshots, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()

	listen := freeAddr(t)
	agg := start(t, "aggregate", "aggregate", "--brokers", k.Addr, "--clickhouse", dsn, "--listen", listen, "--partitions", "3")
	t.Logf("%v: produced, aggregator started", time.Since(began))
	enginetest.WaitCommitted(t, brokers, "tongxin-aggregate", topics.Snapshots, 45*time.Second)
	t.Logf("%v: committed to the end", time.Since(began))
	metrics := "http://" + listen + "/metrics"
	deadTotal, _ := metric(t, metrics, "tongxin_aggregate_dead_letters_total")
	lost, _ := metric(t, metrics, "tongxin_aggregate_dead_letters_lost_total")
	flushErrs, _ := metric(t, metrics, "tongxin_aggregate_flush_errors_total")
	factsRejected, _ := metric(t, metrics, `tongxin_aggregate_post_facts_total{outcome="rejected"}`)
	factsAccepted, _ := metric(t, metrics, `tongxin_aggregate_post_facts_total{outcome="accepted"}`)
	agg.Stop()
	t.Logf("%v: aggregator stopped", time.Since(began))

	// Dead letters: each hostile message once, bounded.
	dead := map[string]kafka.Message{}
	n := 0
	for _, ms := range enginetest.ReadTopic(t, brokers, topics.DeadLetter) {
		for _, m := range ms {
			if _, twice := dead[string(m.Key)]; twice {
				t.Errorf("dead letter %.80q appears twice", m.Key)
			}
			dead[string(m.Key)] = m
			n++
		}
	}
	for _, h := range hostile {
		d, ok := dead[string(deadletter.Key(h.Key))]
		if !ok {
			t.Errorf("hostile message %.80q (%d bytes) is not in the dead-letter topic", h.Key, len(h.Value))
			continue
		}
		reason := deadletter.HeaderValue(d.Headers, deadletter.ReasonHeader)
		t.Logf("dead letter %.60q (key %d bytes, value %d bytes): %s", d.Key, len(d.Key), len(d.Value), reason)
		if reason == "" || len(reason) > deadletter.MaxReason || len(d.Key) > deadletter.MaxKey || len(d.Value) > deadletter.MaxValue {
			t.Errorf("dead letter %.60q: reason of %d bytes, key of %d, value of %d: not bounded", d.Key, len(reason), len(d.Key), len(d.Value))
		}
		if src := deadletter.HeaderValue(d.Headers, deadletter.SourceHeader); !strings.HasPrefix(src, topics.Snapshots+"/") {
			t.Errorf("dead letter %.60q: source %q", d.Key, src)
		}
	}
	if n != len(dead) || float64(n) != deadTotal || lost != 0 {
		t.Errorf("%d dead letters on the topic (%d distinct); the aggregator counted %v sent and %v lost", n, len(dead), deadTotal, lost)
	}

	// ClickHouse: every ordinary post, row by row, as produced.
	conn, err := warehouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(ctx, "SELECT platform, post_id, plays, likes, comments, shares, favorites FROM post_latest")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]counters{}
	for rows.Next() {
		var platform, id string
		var c counters
		if err := rows.Scan(&platform, &id, &c.plays, &c.likes, &c.comments, &c.shares, &c.favorites); err != nil {
			t.Fatal(err)
		}
		got[snapshot.Key(platform, id)] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	show := func(c counters) string {
		var parts []string
		for _, v := range []*int64{c.plays, c.likes, c.comments, c.shares, c.favorites} {
			if v == nil {
				parts = append(parts, "NULL")
			} else {
				parts = append(parts, fmt.Sprint(*v))
			}
		}
		return strings.Join(parts, "/")
	}
	for key, want := range latest {
		if c, ok := got[key]; !ok || show(c) != show(want) {
			t.Errorf("%s: ClickHouse has plays/likes/comments/shares/favorites %s (found %v), produced %s", key, show(c), ok, show(want))
		}
	}
	if _, longArrived := got[longID.Key()]; longArrived {
		t.Error("the post with a 20 KB id reached ClickHouse; its id breaks Douyin's rule")
	}
	if len(got) != len(latest) {
		t.Errorf("ClickHouse has %d posts, %d ordinary ones were produced", len(got), len(latest))
	}
	posts, bad, err := warehouse.Verify(ctx, conn)
	if err != nil || len(bad) > 0 {
		t.Errorf("invariant over %d posts: %v %v", posts, bad, err)
	}

	// Post facts: the good ones in posts, the bad ones named and counted.
	frows, err := conn.Query(ctx, "SELECT platform, post_id, title FROM posts WHERE title != ''")
	if err != nil {
		t.Fatal(err)
	}
	titles := map[string]string{}
	for frows.Next() {
		var platform, id, title string
		if err := frows.Scan(&platform, &id, &title); err != nil {
			t.Fatal(err)
		}
		titles[snapshot.Key(platform, id)] = title
	}
	frows.Close()
	if !maps.Equal(titles, goodFacts) || len(goodFacts) < 10 {
		t.Errorf("posts has titles %v, want the %d good facts %v", titles, len(goodFacts), goodFacts)
	}
	if factsRejected != 2 || factsAccepted != float64(len(goodFacts)) {
		t.Errorf("tongxin_aggregate_post_facts_total: %v rejected, %v accepted; want 2 and %d", factsRejected, factsAccepted, len(goodFacts))
	}
	t.Logf("%d ordinary posts arrived; %d hostile messages dead-lettered; %v failed flush attempts", len(latest), n, flushErrs)
}
