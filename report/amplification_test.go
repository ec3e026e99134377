package report

import (
	"context"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/report/reporttest"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

// judgedPoint is one post_expected row with the snapshot's counter at it.
type judgedPoint struct {
	at              time.Time
	expected, reach float64
	baseline        string
	count           *int64
}

// The amplifications view, row by row, on a seeded campaign whose official
// accounts repost ambassadors' Weibo posts: one row per repost the scenario
// made, each recomputed here from the stored post_expected rows and
// snapshots by the README's definition; and the reposts' bumps show as
// reach added.
func TestAmplificationsRowByRow(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the ClickHouse engine; skipped with -short")
	}
	until := time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC)
	s := reporttest.Seed(t, 7, until)
	ctx := context.Background()
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}

	type amp struct {
		Official, OfficialName, Platform, RepostID, PostID, Ambassador string
		RepostedAt                                                     time.Time
		Metric, Baseline                                               *string
		Start, End                                                     *time.Time
		AtRepost, AtEnd, Growth                                        *int64
		Expected, Added, Hours                                         *float64
		Complete                                                       uint8
	}
	rows, err := s.Conn.Query(ctx, `SELECT official_id, official_name, platform, repost_id, post_id, ambassador_id, reposted_at,
		metric, baseline, start_at, end_at, count_at_repost, count_at_end, growth_after, expected_growth, reach_added, hours_measured, window_complete
		FROM amplifications ORDER BY reposted_at, repost_id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []amp
	for rows.Next() {
		var a amp
		if err := rows.Scan(&a.Official, &a.OfficialName, &a.Platform, &a.RepostID, &a.PostID, &a.Ambassador, &a.RepostedAt,
			&a.Metric, &a.Baseline, &a.Start, &a.End, &a.AtRepost, &a.AtEnd, &a.Growth, &a.Expected, &a.Added, &a.Hours, &a.Complete); err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	// One row per repost the official accounts made while the campaign
	// was observed (the seed lists their timelines hourly).
	var want []string
	for _, rp := range s.Scenario.Reposts {
		if rp.RepostedAt.Before(until.Add(-time.Hour)) {
			want = append(want, rp.PostID)
		}
	}
	if len(got) != len(want) || len(want) < 10 {
		t.Fatalf("amplifications has %d rows, the scenario made %d reposts by %s", len(got), len(want), until)
	}
	positive, measured := 0, 0
	var sumAdded, sumBump float64
	noOfficials := *r
	noOfficials.Officials = nil
	plain := simulator.New(&noOfficials, 7, reporttest.Start)
	for i, a := range got {
		rp := s.Scenario.Reposts[i]
		if a.RepostID != rp.PostID || a.PostID != rp.Of || !a.RepostedAt.Equal(rp.RepostedAt) || a.Official != rp.OfficialID ||
			a.Ambassador != rp.Original.AmbassadorID || a.Platform != snapshot.Weibo {
			t.Fatalf("row %d: %+v, want the repost %+v", i, a, rp)
		}
		if o, _ := r.Official(rp.OfficialID); a.OfficialName != o.Name {
			t.Errorf("row %d: official name %q, the roster says %q", i, a.OfficialName, o.Name)
		}

		// The stored judgements of the post and the counters at them.
		q, err := s.Conn.Query(ctx, `SELECT e.observed_at, e.expected, e.reach_factor, toString(e.baseline), s.likes
			FROM post_expected AS e
			LEFT JOIN (SELECT observed_at, any(likes) AS likes FROM snapshots WHERE platform = 'weibo' AND post_id = ? GROUP BY observed_at) AS s
			ON s.observed_at = e.observed_at
			WHERE e.platform = 'weibo' AND e.post_id = ? ORDER BY e.observed_at`, rp.Of, rp.Of)
		if err != nil {
			t.Fatal(err)
		}
		var pts []judgedPoint
		for q.Next() {
			var p judgedPoint
			if err := q.Scan(&p.at, &p.expected, &p.reach, &p.baseline, &p.count); err != nil {
				t.Fatal(err)
			}
			pts = append(pts, p)
		}
		q.Close()
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].at.Before(pts[j].at) })
		var start, end *judgedPoint
		for k := range pts {
			p := &pts[k]
			if !p.at.After(rp.RepostedAt) {
				start = p
			} else if !p.at.After(rp.RepostedAt.Add(24 * time.Hour)) {
				end = p
			}
		}
		if start == nil || end == nil || start.baseline != end.baseline {
			if a.Added != nil || a.Growth != nil || a.Expected != nil {
				t.Errorf("row %d (%s): no judged observation on one side or two baselines, yet measured %+v", i, rp.Of, a)
			}
			if start != nil && end != nil && (a.Baseline == nil || *a.Baseline != "mixed") {
				t.Errorf("row %d (%s): baselines %s and %s, the view says %v", i, rp.Of, start.baseline, end.baseline, a.Baseline)
			}
			continue
		}
		measured++
		if a.Start == nil || a.End == nil || !a.Start.Equal(start.at) || !a.End.Equal(end.at) {
			t.Errorf("row %d (%s): window %v–%v, the stored judgements give %v–%v", i, rp.Of, a.Start, a.End, start.at, end.at)
			continue
		}
		if start.count == nil || end.count == nil || a.AtRepost == nil || a.AtEnd == nil || a.Growth == nil {
			t.Errorf("row %d (%s): counters missing: %+v", i, rp.Of, a)
			continue
		}
		growth := *end.count - *start.count
		expGrowth := end.expected - start.expected*end.reach/start.reach
		if *a.AtRepost != *start.count || *a.AtEnd != *end.count || *a.Growth != growth {
			t.Errorf("row %d (%s): likes %d → %d (+%d), the snapshots say %d → %d (+%d)", i, rp.Of, *a.AtRepost, *a.AtEnd, *a.Growth, *start.count, *end.count, growth)
		}
		if a.Expected == nil || a.Added == nil || math.Abs(*a.Expected-expGrowth) > 1e-9 || math.Abs(*a.Added-(float64(growth)-expGrowth)) > 1e-9 {
			t.Errorf("row %d (%s): expected %v added %v, want %v and %v", i, rp.Of, a.Expected, a.Added, expGrowth, float64(growth)-expGrowth)
		}
		if want := end.at.Sub(start.at).Hours(); a.Hours == nil || math.Abs(*a.Hours-want) > 1e-3 {
			t.Errorf("row %d: %v hours measured, want %v", i, a.Hours, want)
		}
		wantBase := start.baseline
		if a.Baseline == nil || *a.Baseline != wantBase || a.Metric == nil || *a.Metric != "likes" {
			t.Errorf("row %d: baseline %v metric %v, want %s and likes", i, a.Baseline, a.Metric, wantBase)
		}
		if complete := rp.RepostedAt.Add(24 * time.Hour).Before(until.Add(-time.Hour)); complete != (a.Complete == 1) {
			t.Errorf("row %d: window_complete %d, reposted %s, data to %s", i, a.Complete, rp.RepostedAt, until)
		}
		// What the repost truly added over the window: the post's likes
		// with the simulator's bump less those of the same post in the
		// scenario without officials.
		q0, _ := plain.Post(snapshot.Weibo, rp.Of)
		bump := float64((rp.Original.CountersAt(end.at).Likes - rp.Original.CountersAt(start.at).Likes) -
			(q0.CountersAt(end.at).Likes - q0.CountersAt(start.at).Likes))
		sumAdded += *a.Added
		sumBump += bump
		if *a.Added > 0 {
			positive++
		}
		t.Logf("%s %s %s: likes %d +%d, expected +%.1f, added %+.1f, true bump %+.0f (%s, %.1f h)", a.RepostedAt.Format("01-02 15:04"), a.OfficialName, rp.Of, *a.AtRepost, growth, expGrowth, *a.Added, bump, wantBase, *a.Hours)
	}
	t.Logf("%d of %d reposts measured, %d with reach added; reach added %.0f in all, the bumps %.0f", measured, len(got), positive, sumAdded, sumBump)
	// The simulator's reposts bring 20–50% more of a post's final reach.
	// One post's reach added is that bump plus how far its own growth
	// strays from the usual; over the campaign's reposts the strays
	// should roughly cancel and the bumps show.
	if measured < len(got)/2 || sumBump <= 0 || sumAdded < sumBump/2 || sumAdded > 2*sumBump {
		t.Errorf("%d of %d reposts measured; reach added %.0f in all against true bumps of %.0f", measured, len(got), sumAdded, sumBump)
	}
}
