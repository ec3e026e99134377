package scheduler

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tongxin/tongxin/snapshot"
)

// A post's facts ride on its snapshot only when they are new or changed;
// facts that break their bounds are taken off, named and counted, and the
// snapshot still goes.
func TestFactsSentOnlyWhenNewOrChanged(t *testing.T) {
	var logged strings.Builder
	r := &Runner{Metrics: NewMetrics(prometheus.NewRegistry())}
	log := slog.New(slog.NewTextHandler(&logged, nil))
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	snap := func(id, title string) snapshot.Snapshot {
		return snapshot.Snapshot{Schema: 1, Platform: snapshot.Douyin, PostID: id, ObservedAt: at,
			Metrics: snapshot.Metrics{Plays: snapshot.Counter(1)}, Facts: snapshot.NewFacts(snapshot.Douyin, title, "https://www.iesdouyin.com/share/video/1/")}
	}
	round := func(snaps ...snapshot.Snapshot) []bool {
		r.keepNewFacts(context.Background(), log, snapshot.Douyin, snaps)
		var carried []bool
		for _, s := range snaps {
			if s.Plays == nil {
				t.Fatalf("%s lost its counters", s.PostID)
			}
			carried = append(carried, s.Facts != nil)
		}
		return carried
	}
	same := func(got []bool, want ...bool) {
		t.Helper()
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("facts carried %v, want %v", got, want)
				return
			}
		}
	}
	same(round(snap("@a", "西山 #寻美西山"), snap("@b", "香山")), true, true)
	same(round(snap("@a", "西山 #寻美西山"), snap("@b", "香山")), false, false)
	same(round(snap("@a", "西山的秋 #寻美西山"), snap("@b", "香山")), true, false)
	long := snap("@c", strings.Repeat("山", snapshot.MaxTitleRunes+1))
	same(round(long, snap("@a", "西山的秋 #寻美西山")), false, false)
	if !strings.Contains(logged.String(), "facts.title") || !strings.Contains(logged.String(), "@c") {
		t.Errorf("the rejected facts are not named in the log:\n%s", logged.String())
	}
	count := func(outcome string) float64 {
		var m dto.Metric
		if err := r.Metrics.facts.WithLabelValues(snapshot.Douyin, outcome).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	sent, rejected := count("sent"), count("rejected")
	if sent != 3 || rejected != 1 {
		t.Errorf("tongxin_ingest_post_facts_total: %v sent, %v rejected; want 3 and 1", sent, rejected)
	}
}
