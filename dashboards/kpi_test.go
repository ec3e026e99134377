package dashboards

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/report/reporttest"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

// The overview's topic KPI on a full simulated campaign: the simulator's
// scenario (default roster, seed 1), every post as the platforms show it
// at the campaign's end, written through the ledger and the sink (with its
// post facts, so the posts' topics exist). The 话题目标进度 panel, expanded
// as the plugin expands it over the whole campaign, shows the Douyin
// 寻美西山 plays: exactly what the scenario's Douyin posts visible and
// public at the end have played, and near the 1230万 the simulator
// calibrates to. Summing another metric (engagement) or platform would
// miss both.
func TestTopicKPIOnAFullCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("engine test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Seeded with nothing polled yet (until the campaign's start), then one
	// poll of every post at the campaign's end.
	s := reporttest.Seed(t, 1, time.Time{})
	end := s.Scenario.CampaignEnd
	s.Poll(t, end)

	var want, otherPlays int64
	var counted, gone, private int
	for _, p := range s.Scenario.Posts {
		switch {
		case !p.VisibleAt(end):
			if p.Platform == snapshot.Douyin {
				gone++
			}
		case p.PrivateAt(end): // a private post's snapshot has no counters
			if p.Platform == snapshot.Douyin {
				private++
			}
		case p.Platform == snapshot.Douyin:
			want += p.CountersAt(end).Plays
			counted++
		default:
			otherPlays += p.CountersAt(end).Plays
		}
	}
	t.Logf("%d posts; Douyin: %d counted, %d deleted, %d private at the end; expected Douyin plays %d", len(s.Scenario.Posts), counted, gone, private, want)
	if math.Abs(float64(want)-simulator.DouyinTopicPlays) > 0.03*simulator.DouyinTopicPlays {
		t.Fatalf("the scenario's Douyin plays at the end are %d, not within 3%% of the calibrated %d", want, simulator.DouyinTopicPlays)
	}

	var overview *result
	for _, d := range loadGenerated(t) {
		if *d.Uid != UIDOverview {
			continue
		}
		run, err := resolveVariables(ctx, s.Conn, d, scenario{name: "the whole campaign",
			from: s.Scenario.CampaignStart, to: end.Add(time.Hour)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range panels(d) {
			if *p.Title != "话题目标进度" {
				continue
			}
			sql, err := run.expand(p.Targets[0].(ClickHouseQuery).RawSql)
			if err != nil {
				t.Fatal(err)
			}
			res, err := query(ctx, s.Conn, sql)
			if err != nil {
				t.Fatalf("%v\n%s", err, sql)
			}
			overview = &res
		}
	}
	if overview == nil {
		t.Fatal("the overview has no 话题目标进度 panel")
	}
	var found bool
	for _, row := range overview.rows {
		name := row[0].(string)
		if !strings.HasPrefix(name, "寻美西山 · 抖音 · 播放") {
			continue
		}
		found = true
		got := toFloat(row[1]) * simulator.DouyinTopicPlays // the target is 1230万
		t.Logf("%s: progress %.6f = %.0f plays", name, toFloat(row[1]), got)
		if math.Abs(got-float64(want)) > 1 {
			t.Errorf("话题目标进度 shows %.0f Douyin plays for 寻美西山, the scenario's Douyin posts played %d at the end "+
				"(Weibo and Channels played %d more)", got, want, otherPlays)
		}
		if math.Abs(got-simulator.DouyinTopicPlays) > 0.03*simulator.DouyinTopicPlays {
			t.Errorf("话题目标进度 shows %.0f, not within 3%% of 1230万", got)
		}
		if !strings.HasSuffix(name, " / 1230 万）") {
			t.Errorf("话题目标进度 labels the bar %q, want the target 1230 万 in it", name)
		}
	}
	if !found {
		t.Errorf("话题目标进度 has no bar for 寻美西山 · 抖音 · 播放: %v", overview.rows)
	}
}
