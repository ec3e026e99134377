package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
)

// A campaign runs through a three-broker Kafka cluster while first a
// broker and then the active controller (the KRaft quorum's leader) are
// killed with SIGKILL and restarted. Ingest and aggregate keep working
// through each kill (new snapshots reach ClickHouse while the node is
// down), the aggregator's committed offsets reach the end of the topic
// afterwards, and nothing is lost or doubled: Kafka holds each snapshot
// once (the producer is idempotent), ClickHouse holds every one of them
// once, and CONTRACT.md's invariant holds for every post and metric.
func TestKafkaClusterSurvivesBrokerAndControllerKills(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	k := enginetest.Start(t, "kafka-cluster")
	brokers := topics.Brokers(k.Addr)
	if len(brokers) != 3 {
		t.Fatalf("kafka-cluster printed KAFKA=%s, want three brokers", k.Addr)
	}
	dsn := enginetest.Database(t, enginetest.ClickHouse(t))

	simAddr := freeAddr(t)
	simURL := "http://" + simAddr
	start(t, "simulate", "simulate", "--listen", simAddr, "--seed", "23", "--speed", "400", "--start", scenarioStart)
	waitHTTP(t, simURL+"/healthz", 30*time.Second)
	ingAddr := freeAddr(t)
	ing := start(t, "ingest", "ingest", "--brokers", k.Addr, "--simulator", simURL, "--listen", ingAddr,
		"--token-file", t.TempDir()+"/tokens.json", "--partitions", "6", "--request-timeout", "2s",
		"--budget", "douyin=600,weibo=1500,wechat_channels=1500")
	waitHTTP(t, "http://"+ingAddr+"/healthz", 2*time.Minute)
	aggAddr := freeAddr(t)
	agg := start(t, "aggregate", "aggregate", "--brokers", k.Addr, "--clickhouse", dsn, "--listen", aggAddr,
		"--partitions", "6", "--simulator", simURL)
	waitHTTP(t, "http://"+aggAddr+"/healthz", 2*time.Minute)

	for _, topic := range []string{topics.Snapshots, topics.DeadLetter} {
		replicas, minISR := enginetest.TopicReplication(t, brokers, topic)
		for part, n := range replicas {
			if n != 3 {
				t.Errorf("%s partition %d has %d replicas, want 3", topic, part, n)
			}
		}
		if minISR != "2" {
			t.Errorf("%s has min.insync.replicas=%s, want 2", topic, minISR)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	conn, err := warehouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	produced := func() float64 {
		n, _ := metric(t, "http://"+ingAddr+"/metrics", "tongxin_ingest_snapshots_produced_total")
		return n
	}
	// progress waits until ingest (acknowledged by Kafka), every partition
	// of the snapshots topic (those whose leader died too) and aggregate
	// (rows in ClickHouse) have all moved past where they were.
	progress := func(what string) {
		t.Helper()
		p0, s0 := produced(), storedSnapshots(ctx, conn)
		e0 := enginetest.PartitionEnds(t, brokers, topics.Snapshots)
		deadline := time.Now().Add(90 * time.Second)
		for {
			p, s := produced(), storedSnapshots(ctx, conn)
			e := enginetest.PartitionEnds(t, brokers, topics.Snapshots)
			var stuck []int32
			for part, end := range e0 {
				if e[part] <= end {
					stuck = append(stuck, part)
				}
			}
			if p > p0 && s > s0 && len(stuck) == 0 {
				t.Logf("%s: %s: ingest %v → %v acknowledged, all %d partitions grew, ClickHouse %d → %d snapshots",
					time.Now().Format("15:04:05"), what, p0, p, len(e), s0, s)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no progress within 90s: ingest %v → %v acknowledged, partitions %v took nothing, ClickHouse %d → %d snapshots",
					what, p0, p, stuck, s0, s)
			}
			time.Sleep(time.Second)
		}
	}
	progress("campaign running")

	// First a broker that is not the active controller, then the active
	// controller: two different failures (partition leaders move; then the
	// quorum elects a new leader).
	ctrl := enginetest.ActiveController(t, brokers)
	broker := ctrl%3 + 1
	t.Logf("active controller: node %d; killing broker node %d", ctrl, broker)
	k.KafkaNode(t, "kill", broker)
	progress(fmt.Sprintf("broker node %d down", broker))
	k.KafkaNode(t, "start", broker)
	progress(fmt.Sprintf("broker node %d back", broker))

	ctrl = enginetest.ActiveController(t, brokers)
	t.Logf("killing the active controller, node %d", ctrl)
	k.KafkaNode(t, "kill", ctrl)
	// The two survivors elect a new leader among themselves.
	if next := enginetest.ActiveController(t, brokers); next == ctrl {
		t.Errorf("node %d still the active controller after it was killed", ctrl)
	} else {
		t.Logf("node %d is the active controller now", next)
	}
	progress(fmt.Sprintf("controller node %d down", ctrl))
	k.KafkaNode(t, "start", ctrl)
	progress(fmt.Sprintf("controller node %d back", ctrl))

	// Ingest stops cleanly: its producer delivers everything it took
	// (Stop fails the test on a non-zero exit, which an undelivered
	// snapshot causes). Then the aggregator catches up: consumer lag 0.
	last := produced()
	ing.Stop()
	enginetest.WaitCommitted(t, brokers, "tongxin-aggregate", topics.Snapshots, 3*time.Minute)
	agg.Stop()

	// Kafka holds each snapshot once: no retry after a kill stored one twice.
	inKafka, dups, reposts := 0, 0, 0
	seen := map[string]bool{}
	posts := map[string]bool{}
	for _, msgs := range enginetest.ReadTopic(t, brokers, topics.Snapshots) {
		for _, m := range msgs {
			id := string(m.Key) + "\x00" + string(m.Value)
			if seen[id] {
				dups++
			}
			seen[id] = true
			// An official account's repost goes to official_reposts, not
			// to snapshots: counted apart.
			if s, err := snapshot.Unmarshal(m.Value); err == nil && s.IsRepost() {
				reposts++
				continue
			}
			posts[string(m.Key)] = true
			inKafka++
		}
	}
	if dups > 0 {
		t.Errorf("%d snapshots stored twice in Kafka: the producer is not idempotent across the kills", dups)
	}
	if float64(inKafka+reposts) < last {
		t.Errorf("Kafka holds %d snapshots and %d reposts, but ingest had %v acknowledged before it stopped", inKafka, reposts, last)
	}

	// ClickHouse holds each of them once: as many rows as snapshots in
	// Kafka, as many distinct (post, observed_at) as rows.
	var rows, distinct uint64
	if err := conn.QueryRow(ctx, "SELECT count(), uniqExact(platform, post_id, observed_at) FROM snapshots").Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != uint64(inKafka) || distinct != rows {
		t.Errorf("ClickHouse snapshots: %d rows, %d distinct; Kafka: %d snapshots (want all three equal)", rows, distinct, inKafka)
	}

	checked := verifyInvariant(t, ctx, conn)
	if checked != len(posts) {
		t.Errorf("ClickHouse has snapshots of %d posts, Kafka of %d", checked, len(posts))
	}
	t.Logf("verified %d posts, %d snapshots (ingest acknowledged %v before its clean stop) after killing broker node %d and controller node %d",
		checked, inKafka, last, broker, ctrl)
}

// storedSnapshots is how many rows the snapshots table holds (0 before the
// aggregator's migrations created it).
func storedSnapshots(ctx context.Context, conn driver.Conn) uint64 {
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM snapshots").Scan(&n); err != nil {
		return 0
	}
	return n
}
