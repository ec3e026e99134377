package producer_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/ingest/producer"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// testPost is one post a platform runner polls.
type testPost struct {
	platform, id, account, ambassador string
	published                         time.Time
}

// makePosts makes n posts spread over the three platforms, with ids, accounts
// and ambassadors in each platform's own style (as the simulator makes them).
func makePosts(n int, seed uint64) []testPost {
	rng := rand.New(rand.NewPCG(seed, 11))
	t0 := time.Date(2026, 5, 10, 8, 0, 0, 0, time.UTC)
	out := make([]testPost, n)
	for i := range out {
		platform := snapshot.Platforms[i%len(snapshot.Platforms)]
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], seed)
		binary.BigEndian.PutUint64(b[8:], uint64(i+1)*0x9E3779B97F4A7C15)
		p := testPost{platform: platform, ambassador: fmt.Sprintf("amb%02d", 1+i%60),
			published: t0.Add(time.Duration(rng.IntN(14*24*3600)) * time.Second)}
		switch platform {
		case snapshot.Douyin:
			p.id = "@9VwKzu" + base64.StdEncoding.EncodeToString(b[:])
			p.account = fmt.Sprintf("_000%028x", rng.Uint64())[:32]
		case snapshot.Weibo:
			p.id = fmt.Sprintf("50%014d", binary.BigEndian.Uint64(b[8:])%1e14)
			p.account = fmt.Sprintf("%010d", 4e9+rng.IntN(1e9))
		default:
			p.id = "export/UzFfAgtgekIEAQAAAAAA" + base64.RawURLEncoding.EncodeToString(b[:])
			p.account = fmt.Sprintf("sph%011x", rng.Uint64()>>20)
		}
		out[i] = p
	}
	return out
}

// snapshotOf is what a runner observes of p in polling round r: cumulative
// counters that grow with r, the metrics the platform gives.
func snapshotOf(p testPost, r int, rng *rand.Rand) snapshot.Snapshot {
	n := snapshot.Counter
	plays := int64(r)*int64(500+rng.IntN(5000)) + int64(rng.IntN(100))
	likes, comments, shares := plays/30, plays/400, plays/900
	s := snapshot.Snapshot{
		Schema: snapshot.SchemaVersion, Platform: p.platform, AmbassadorID: p.ambassador,
		AccountID: p.account, PostID: p.id, PublishedAt: p.published,
		ObservedAt: p.published.Add(time.Duration(r+1)*17*time.Minute + time.Duration(rng.IntN(60000))*time.Millisecond),
		Source:     snapshot.SourceAPI,
	}
	switch p.platform {
	case snapshot.Douyin:
		s.Plays, s.Likes, s.Comments, s.Shares, s.Forwards, s.Downloads = n(plays), n(likes), n(comments), n(shares), n(shares/2), n(shares/5)
	case snapshot.Weibo:
		s.Likes, s.Comments, s.Shares = n(likes), n(comments), n(shares)
	default:
		s.Plays, s.Likes, s.Comments, s.Shares, s.Forwards, s.Recommends = n(plays), n(likes), n(comments), n(shares), n(shares/3), n(likes/4)
		cr, aw := 0.2+rng.Float64()*0.6, 3+rng.Float64()*40
		s.CompletionRate, s.AvgWatchSeconds = &cr, &aw
	}
	return s
}

// runnerStreams is what one runner per platform produces: round after round,
// a snapshot of each of its posts (so each post's snapshots are in order).
func runnerStreams(posts []testPost, rounds int, seed uint64) [][]snapshot.Snapshot {
	rng := rand.New(rand.NewPCG(seed, 13))
	streams := make([][]snapshot.Snapshot, len(snapshot.Platforms))
	idx := map[string]int{}
	for i, p := range snapshot.Platforms {
		idx[p] = i
	}
	for r := 0; r < rounds; r++ {
		for _, p := range posts {
			i := idx[p.platform]
			streams[i] = append(streams[i], snapshotOf(p, r, rng))
		}
	}
	return streams
}

// producedCount is the producer's tongxin_ingest_snapshots_produced_total,
// summed over platforms: snapshots Kafka acknowledged.
func producedCount(tb testing.TB, reg *prometheus.Registry) int64 {
	return int64(enginetest.MetricSum(tb, reg, "tongxin_ingest_snapshots_produced_total"))
}

// waitProduced waits until the producer's counter reaches want.
func waitProduced(tb testing.TB, reg *prometheus.Registry, want int64, within time.Duration, poll time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		got := producedCount(tb, reg)
		if got >= want {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("Kafka acknowledged %d of %d snapshots within %v", got, want, within)
		}
		time.Sleep(poll)
	}
}

// newTopic creates a private topic with the given partitions.
func newTopic(tb testing.TB, brokers []string, partitions int, prefix string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := fmt.Sprintf("%s.%d", prefix, time.Now().UnixNano())
	if err := topics.Ensure(ctx, brokers, partitions, name); err != nil {
		tb.Fatal(err)
	}
	return name
}

// refusingTopics creates, on the Kafka engine, a private topic whose
// max.message.bytes is 32 KiB, so the broker refuses a snapshot of 40 KB
// with its partition's whole batch, and a dead-letter topic for it.
func refusingTopics(tb testing.TB, partitions int, prefix string) (brokers []string, topic, dlq string) {
	tb.Helper()
	brokers = topics.Brokers(enginetest.Kafka(tb))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := fmt.Sprintf("%s.%d", prefix, time.Now().UnixNano())
	client := &kafka.Client{Addr: kafka.TCP(brokers...)}
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: name, NumPartitions: partitions, ReplicationFactor: 1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: "32768"}},
	}}})
	if err != nil || resp.Errors[name] != nil {
		tb.Fatalf("creating %s: %v %v", name, err, resp)
	}
	return brokers, name, newTopic(tb, brokers, 1, prefix+".dlq")
}

// deadLetters is what the dead-letter topic dlq holds, all partitions.
func deadLetters(tb testing.TB, brokers []string, dlq string) []kafka.Message {
	var dead []kafka.Message
	for _, ms := range enginetest.ReadTopic(tb, brokers, dlq) {
		dead = append(dead, ms...)
	}
	return dead
}

// produceStreams produces each stream from a goroutine of its own, as the
// platform runners do, a page (chunk) at a time.
func produceStreams(ctx context.Context, p *producer.Producer, streams [][]snapshot.Snapshot, chunk int) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(streams))
	for _, st := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < len(st); i += chunk {
				if err := p.Produce(ctx, st[i:min(i+chunk, len(st))]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// checkOncePerKeyInOrder asserts that the topic holds exactly the produced
// snapshots, each once, each post's in the order it was produced, and each
// post in one partition.
func checkOncePerKeyInOrder(t *testing.T, got map[int][]kafka.Message, streams [][]snapshot.Snapshot) {
	t.Helper()
	want := map[string][]string{} // key → values in produced order
	total := 0
	for _, st := range streams {
		for i := range st {
			b, err := snapshot.Marshal(&st[i])
			if err != nil {
				t.Fatal(err)
			}
			want[st[i].Key()] = append(want[st[i].Key()], string(b))
			total++
		}
	}
	have := map[string][]string{}
	partOf := map[string]int{}
	n := 0
	for part, msgs := range got {
		for _, m := range msgs {
			k := string(m.Key)
			if q, ok := partOf[k]; ok && q != part {
				t.Errorf("post %s is in partitions %d and %d", k, q, part)
			}
			partOf[k] = part
			have[k] = append(have[k], string(m.Value))
			n++
		}
	}
	if n != total {
		t.Errorf("topic holds %d messages, produced %d", n, total)
	}
	if len(have) != len(want) {
		t.Errorf("topic holds %d posts, produced %d", len(have), len(want))
	}
	bad := 0
	for k, w := range want {
		h := have[k]
		ok := len(h) == len(w)
		for i := 0; ok && i < len(w); i++ {
			ok = h[i] == w[i]
		}
		if !ok {
			if bad++; bad <= 5 {
				t.Errorf("post %s: got %d snapshots, want its %d exactly once and in order", k, len(h), len(w))
			}
		}
	}
	if bad > 5 {
		t.Errorf("… %d posts wrong in all", bad)
	}
}

// Every snapshot arrives exactly once, and each post's in the order produced,
// with three runners producing at once.
func TestDeliversEachSnapshotOnceInOrderPerPost(t *testing.T) {
	brokers := topics.Brokers(enginetest.Kafka(t))
	topic := newTopic(t, brokers, 12, "test.producer")
	streams := runnerStreams(makePosts(200, 1), 100, 2) // 20k snapshots

	reg := prometheus.NewRegistry()
	p := producer.New(producer.Config{Brokers: brokers, Topic: topic, BatchSize: 500, Buffer: 2000, Log: quietLog, Registerer: reg})
	p.Start()
	t.Cleanup(func() { p.Close(context.Background()) })
	pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer pcancel()
	if err := produceStreams(pctx, p, streams, 20); err != nil {
		t.Fatal(err)
	}
	waitProduced(t, reg, 20000, 2*time.Minute, 20*time.Millisecond)
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkOncePerKeyInOrder(t, enginetest.ReadTopic(t, brokers, topic), streams)
}

// With the broker down, Produce accepts no more than the buffer holds (plus
// the one batch the producer is trying to write) and then blocks; once the
// broker is back, everything accepted is delivered, in order per post.
func TestBlocksWhileBrokerDownAndDeliversEverythingAfter(t *testing.T) {
	e := enginetest.Start(t, "kafka")
	brokers := topics.Brokers(e.Addr)
	topic := newTopic(t, brokers, 6, "test.producer.outage")
	const buffer, batch = 1000, 200
	// Before the outage, during it and after: 600 + 3000 snapshots.
	all := runnerStreams(makePosts(60, 3), 60, 4)
	var before, during [][]snapshot.Snapshot
	for _, st := range all {
		before = append(before, st[:200])
		during = append(during, st[200:])
	}

	reg := prometheus.NewRegistry()
	p := producer.New(producer.Config{Brokers: brokers, Topic: topic, BatchSize: batch, Buffer: buffer,
		Linger: 5 * time.Millisecond, Log: quietLog, Registerer: reg})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.Start()
	t.Cleanup(func() { p.Close(ctx) }) // after the deferred cancel: no drain when the test failed
	if err := produceStreams(ctx, p, before, 10); err != nil {
		t.Fatal(err)
	}
	waitProduced(t, reg, 600, time.Minute, 20*time.Millisecond)

	e.Stop(t)
	var accepted atomic.Int64
	var total int64
	for _, st := range during {
		total += int64(len(st))
	}
	produced := make(chan error, 1)
	go func() {
		// One snapshot per call, so that accepted counts exactly what Produce
		// returned success for.
		var wg sync.WaitGroup
		var firstErr atomic.Value
		for _, st := range during {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range st {
					if err := p.Produce(ctx, st[i:i+1]); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					accepted.Add(1)
				}
			}()
		}
		wg.Wait()
		err, _ := firstErr.Load().(error)
		produced <- err
	}()

	// Wait until Produce stops accepting: it must block, not drop or fail.
	last, stableSince := int64(-1), time.Now()
	for time.Since(stableSince) < 3*time.Second {
		select {
		case err := <-produced:
			t.Fatalf("Produce returned (%v) for all %d snapshots with the broker down: it did not block", err, total)
		case <-time.After(100 * time.Millisecond):
		}
		if n := accepted.Load(); n != last {
			last, stableSince = n, time.Now()
		}
	}
	if got := producedCount(t, reg); got != 600 {
		t.Errorf("with the broker down the producer reports %d acknowledged, want the 600 from before", got)
	}
	t.Logf("broker down: Produce accepted %d snapshots (buffer %d, batch %d) and blocks", last, buffer, batch)
	if last > buffer+batch {
		t.Errorf("Produce accepted %d snapshots with the broker down; want at most the buffer (%d) and the batch being written (%d)", last, buffer, batch)
	}
	if last < buffer {
		t.Errorf("Produce accepted only %d snapshots with the broker down; want the buffer (%d) filled before blocking", last, buffer)
	}

	e.Restart(t)
	select {
	case err := <-produced:
		if err != nil {
			t.Fatalf("Produce after the broker came back: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("Produce still blocked 2 minutes after the broker came back (%d of %d accepted)", accepted.Load(), total)
	}
	waitProduced(t, reg, 600+total, 2*time.Minute, 50*time.Millisecond)
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Nothing dropped, nothing stored twice: the producer is idempotent, so
	// a write retried after its acknowledgement was lost is stored once.
	got := enginetest.ReadTopic(t, brokers, topic)
	dups := 0
	for _, msgs := range got {
		seen := map[string]bool{}
		for _, m := range msgs {
			id := string(m.Key) + "\x00" + string(m.Value)
			if seen[id] {
				dups++
			}
			seen[id] = true
		}
	}
	if dups > 0 {
		t.Errorf("%d snapshots stored twice: the producer is not idempotent across the outage", dups)
	}
	checkOncePerKeyInOrder(t, got, all)
}

// Snapshots Kafka cannot take among ordinary ones, on a topic whose
// max.message.bytes is 32 KiB: two of 40 KB (the broker refuses their
// partition's whole batch) and one of 2 MB (over the client's BatchBytes).
// Every ordinary snapshot still arrives once and in order per post, and
// each oversized one lands in the dead-letter topic once, bounded, with
// the reason: nothing is retried forever and polling never stops.
func TestOversizedSnapshotIsDeadLetteredAndTheRestFlows(t *testing.T) {
	brokers, topic, dlq := refusingTopics(t, 3, "test.producer.small")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	streams := runnerStreams(makePosts(90, 5), 20, 6) // 1800 snapshots
	want := int64(0)
	for _, st := range streams {
		want += int64(len(st))
	}
	oversized := []snapshot.Snapshot{streams[0][0], streams[1][0], streams[2][0]}
	oversized[0].PostID = strings.Repeat("a", 40<<10)
	oversized[1].PostID = strings.Repeat("b", 40<<10)
	oversized[2].PostID = strings.Repeat("c", 2<<20)
	hostile := make([][]snapshot.Snapshot, len(streams))
	for i, st := range streams {
		mid := len(st) / 2
		hostile[i] = append(append(append([]snapshot.Snapshot{}, st[:mid]...), oversized[i]), st[mid:]...)
	}

	reg := prometheus.NewRegistry()
	p := producer.New(producer.Config{Brokers: brokers, Topic: topic, DeadLetterTopic: dlq, BatchSize: 300,
		DrainTimeout: 2 * time.Second, Log: quietLog, Registerer: reg})
	p.Start()
	t.Cleanup(func() { p.Close(context.Background()) })
	if err := produceStreams(ctx, p, hostile, 10); err != nil {
		t.Fatal(err)
	}
	waitProduced(t, reg, want, time.Minute, 20*time.Millisecond)
	if err := p.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	checkOncePerKeyInOrder(t, enginetest.ReadTopic(t, brokers, topic), streams)

	dead := deadLetters(t, brokers, dlq)
	if len(dead) != 3 {
		t.Fatalf("%d dead letters, want the 3 oversized snapshots", len(dead))
	}
	for _, d := range dead {
		var reason, size string
		for _, h := range d.Headers {
			switch h.Key {
			case "tongxin-error":
				reason = string(h.Value)
			case "tongxin-value-size":
				size = string(h.Value)
			}
		}
		t.Logf("dead letter %.40q… (%d bytes, original %s): %s", d.Key, len(d.Value), size, reason)
		if len(d.Key) > 256 || len(d.Value) > 256<<10 || len(reason) > 1024 || !strings.Contains(strings.ToLower(reason), "too large") {
			t.Errorf("dead letter %.40q: key %d bytes, value %d, reason %q: want bounded, saying too large", d.Key, len(d.Key), len(d.Value), reason)
		}
	}
	if got := enginetest.MetricSum(t, reg, "tongxin_ingest_producer_dead_letters_total"); got != 3 {
		t.Errorf("tongxin_ingest_producer_dead_letters_total = %v, want 3", got)
	}
}
