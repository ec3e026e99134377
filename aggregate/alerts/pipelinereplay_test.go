package alerts

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/internal/alerteval"
	"github.com/tongxin/tongxin/snapshot"
)

// TestPipelineReplay replays what a whole-pipeline evaluation stored
// (TONGXIN_EVAL_ALERTS_DUMP of internal/e2e's TestAlertQuality: every
// snapshot ClickHouse holds, in the order the aggregator applied them)
// through a fresh Detector at the current configuration, and scores it
// with the same rule. Ingest does not depend on the detector, so this is
// the pipeline's evaluation without the minutes per seed: a tuning aid.
// TONGXIN_ALERTS_REPLAY_CONFIG may hold a Config as JSON (durations in
// nanoseconds) to try other tunables.
//
//	TONGXIN_ALERTS_REPLAY=/tmp/dump/seed101,/tmp/dump/seed102 go test ./aggregate/alerts -run TestPipelineReplay -v
func TestPipelineReplay(t *testing.T) {
	v := os.Getenv("TONGXIN_ALERTS_REPLAY")
	if v == "" {
		t.Skip("set TONGXIN_ALERTS_REPLAY to folders TestAlertQuality dumped")
	}
	var results []*alerteval.Result
	for _, dir := range strings.Split(v, ",") {
		var cfg Config
		if c := os.Getenv("TONGXIN_ALERTS_REPLAY_CONFIG"); c != "" {
			if err := json.Unmarshal([]byte(c), &cfg); err != nil {
				t.Fatalf("TONGXIN_ALERTS_REPLAY_CONFIG: %v", err)
			}
		}
		r := replayDump(t, dir, NewDetector(cfg))
		results = append(results, r)
		for _, f := range r.FalseAlerts {
			t.Logf("%s false: %s", r.Label, f)
		}
		for _, m := range r.Missed {
			t.Logf("%s missed: %s", r.Label, m)
		}
	}
	var b strings.Builder
	alerteval.Table(&b, results)
	t.Log("\n" + b.String())
}

type dumpedSnapshot struct {
	Platform, AmbassadorID, PostID    string
	PublishedAt, ObservedAt, Ingested time.Time
	Plays, Likes                      *int64
}

func readLines[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	return out
}

func replayDump(t *testing.T, dir string, det *Detector) *alerteval.Result {
	t.Helper()
	planted := readLines[alerteval.Planted](t, filepath.Join(dir, "truth.jsonl"))
	snaps := readLines[dumpedSnapshot](t, filepath.Join(dir, "snapshots.jsonl"))
	sort.SliceStable(snaps, func(i, j int) bool { return snaps[i].Ingested.Before(snaps[j].Ingested) })
	var start time.Time
	for _, s := range snaps {
		if start.IsZero() || s.ObservedAt.Before(start) {
			start = s.ObservedAt
		}
	}
	start = start.Truncate(time.Hour)
	w := alerteval.DefaultWindow(start)
	polled := map[string]bool{}
	var alerts []alerteval.Alert
	var now time.Time
	flush := func() {
		for _, ev := range det.Evaluate(now) {
			if ev.State == StateOpen {
				alerts = append(alerts, alerteval.Alert{ID: ev.AlertID, Kind: ev.Kind, Platform: ev.Platform, PostID: ev.PostID,
					OpenedAt: ev.OpenedAt, DataAge: ev.DataAge, Reason: ev.Reason})
			}
		}
	}
	for i, s := range snaps {
		if i > 0 && !s.Ingested.Equal(snaps[i-1].Ingested) {
			flush()
		}
		polled[snapshot.Key(s.Platform, s.PostID)] = true
		sn := &snapshot.Snapshot{Platform: s.Platform, AmbassadorID: s.AmbassadorID, PostID: s.PostID,
			PublishedAt: s.PublishedAt, ObservedAt: s.ObservedAt}
		sn.Plays, sn.Likes = s.Plays, s.Likes
		det.Observe(sn)
		now = maxTime(now, s.ObservedAt)
	}
	flush()
	return alerteval.Score(filepath.Base(dir), planted, alerts, func(k string) bool { return polled[k] }, w)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
