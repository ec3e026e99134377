package e2e

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/snapshot"
)

// `tongxin migrate` on the ClickHouse engine, then 100,000 snapshots in
// batches through clickhouse-go: exact aggregates, still there after the
// engine restarts, and a bad query comes back with ClickHouse's error code.
func TestMigrateThenHundredThousandSnapshotsSurviveARestart(t *testing.T) {
	ch := enginetest.Start(t, "clickhouse")
	for i := 0; i < 2; i++ { // the second run must change nothing
		out, err := exec.Command(binary, "migrate", "--clickhouse", ch.Addr).CombinedOutput()
		if err != nil {
			t.Fatalf("tongxin migrate: %v\n%s", err, out)
		}
		t.Logf("migrate #%d: %s", i+1, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, err := warehouse.Open(ctx, ch.Addr)
	if err != nil {
		t.Fatal(err)
	}
	var migrations uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM schema_migrations").Scan(&migrations); err != nil {
		t.Fatal(err)
	}
	if all, _ := warehouse.Migrations(); migrations != uint64(len(all)) {
		t.Fatalf("schema_migrations has %d rows after two migrates, want %d", migrations, len(all))
	}

	s := sink.New(conn, prometheus.NewRegistry())
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var wantPlays, wantLikes int64
	wantPerPlatform := map[string]int64{}
	const n, batch = 100_000, 10_000
	for b := 0; b < n/batch; b++ {
		snaps := make([]*snapshot.Snapshot, 0, batch)
		for i := b * batch; i < (b+1)*batch; i++ {
			platform := snapshot.Platforms[i%3]
			plays := int64(i%9973) * 7
			s := &snapshot.Snapshot{Schema: 1, Platform: platform, AmbassadorID: fmt.Sprintf("amb%02d", i%50), AccountID: "a",
				PostID: fmt.Sprintf("p%06d", i), PublishedAt: t0, ObservedAt: t0.Add(time.Duration(i) * time.Second), Source: "sim",
				Metrics: snapshot.Metrics{Plays: snapshot.Counter(plays)}}
			if i%4 != 0 {
				s.Likes = snapshot.Counter(int64(i % 101))
				wantLikes += int64(i % 101)
			}
			wantPlays += plays
			wantPerPlatform[platform] += plays
			snaps = append(snaps, s)
		}
		if err := s.WriteSnapshots(ctx, snaps); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string) {
		var count, nullLikes uint64
		var plays, likes int64
		if err := conn.QueryRow(ctx, "SELECT count(), sum(plays), sum(likes), countIf(likes IS NULL) FROM snapshots").Scan(&count, &plays, &likes, &nullLikes); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if count != n || plays != wantPlays || likes != wantLikes || nullLikes != n/4 {
			t.Errorf("%s: count %d sum(plays) %d sum(likes) %d null likes %d; want %d %d %d %d", when, count, plays, likes, nullLikes, n, wantPlays, wantLikes, n/4)
		}
		rows, err := conn.Query(ctx, "SELECT platform, sum(plays) FROM snapshots GROUP BY platform")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var p string
			var v int64
			rows.Scan(&p, &v)
			if v != wantPerPlatform[p] {
				t.Errorf("%s: %s plays %d, want %d", when, p, v, wantPerPlatform[p])
			}
		}
		rows.Close()
	}
	check("after insert")
	conn.Close()

	ch.Restart(t)
	conn, err = warehouse.Open(ctx, ch.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	check("after the engine restarted")

	err = conn.Exec(ctx, "SELEC 1")
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) || ex.Code != 62 {
		t.Errorf("a syntax error: want ClickHouse exception code 62, got %v", err)
	}
	err = conn.Exec(ctx, "SELECT * FROM no_such_table")
	if !errors.As(err, &ex) || ex.Code != 60 {
		t.Errorf("an unknown table: want ClickHouse exception code 60, got %v", err)
	}
}
