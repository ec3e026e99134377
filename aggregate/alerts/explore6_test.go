package alerts

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/simulator"
)

func TestExplore6(t *testing.T) {
	if os.Getenv("EXPLORE6") == "" {
		t.Skip()
	}
	minExp := map[string]float64{"douyin": 0, "weibo": 0, "wechat_channels": 0}
	if os.Getenv("MINEXP") != "" {
		minExp = map[string]float64{"douyin": 100, "weibo": 10, "wechat_channels": 50}
	}
	for _, seed := range []int64{101, 102, 103, 104} {
		r, _ := roster.Load("")
		sc := simulator.New(r, seed, replayStart)
		truth := map[string]*simulator.Post{}
		for _, p := range sc.Posts {
			truth[p.Platform+":"+p.PostID] = p
		}
		minShare := map[string]float64{}
		hook := func(d *Detector) {
			d.lowTrace = func(p *post, n lowNumbers) {
				if !d.isLowAge(n.checkpoint) || n.pct > 10 || n.expected < minExp[p.platform] {
					return
				}
				if m, ok := minShare[p.key]; !ok || n.share < m {
					minShare[p.key] = n.share
				}
			}
		}
		run := replayHook(t, seed, 8, Config{}, hook)
		nl := 0
		for _, p := range sc.Posts {
			if p.Planted == "low_reach" && !p.PublishedAt.Before(run.start.Add(12*time.Hour)) && !p.PublishedAt.After(run.end.Add(-24*time.Hour)) {
				nl++
			}
		}
		line := ""
		for _, thr := range []float64{0.25, 0.15, 0.1, 0.07, 0.05} {
			tp, fp := 0, 0
			for k, m := range minShare {
				p := truth[k]
				if m > thr {
					continue
				}
				if p.Planted == "low_reach" {
					if !p.PublishedAt.Before(run.start.Add(12*time.Hour)) && !p.PublishedAt.After(run.end.Add(-24*time.Hour)) {
						tp++
					}
				} else {
					fp++
				}
			}
			line += fmt.Sprintf(" | share<=%.2f: planted %d/%d, other posts %d", thr, tp, nl, fp)
		}
		t.Logf("seed %d%s", seed, line)
	}
}
