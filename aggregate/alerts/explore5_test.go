package alerts

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/simulator"
)

func TestExplore5(t *testing.T) {
	if os.Getenv("EXPLORE5") == "" {
		t.Skip()
	}
	for _, seed := range []int64{104} {
		r, _ := roster.Load("")
		sc := simulator.New(r, seed, replayStart)
		truth := map[string]*simulator.Post{}
		for _, p := range sc.Posts {
			truth[p.Platform+":"+p.PostID] = p
		}
		logs := map[string][]string{}
		hook := func(d *Detector) {
			d.trace = func(p *post, n viralNumbers) {
				tp := truth[p.key]
				if tp.Planted != "viral" {
					return
				}
				at := p.newest().at
				if at.After(tp.TakeoffAt.Add(-20*time.Minute)) && at.Before(tp.TakeoffAt.Add(10*time.Hour)) {
					f := d.cfg.Floors[p.platform]
					logs[p.key] = append(logs[p.key], fmt.Sprintf("+%v a%.1f r%.2f v%.1f act %.0f/%d extra %.0f/%.0f span %v hot=%v", at.Sub(tp.TakeoffAt).Round(time.Minute), n.accel, n.ratio, n.vratio, n.actual, f.Total, n.velocity-n.expVel, f.PerHour, n.span.Round(time.Minute), n.hot))
				}
			}
		}
		run := replayHook(t, seed, 8, Config{}, hook)
		for _, p := range sc.Posts {
			if p.Planted != "viral" || p.TakeoffAt.Before(run.start.Add(12*time.Hour)) || p.TakeoffAt.After(run.end.Add(-6*time.Hour)) {
				continue
			}
			k := p.Platform + ":" + p.PostID
			iv := pollInterval(p, p.TakeoffAt)
			fb, _ := run.firstObsAfter(k, p.TakeoffAt.Add(iv-time.Nanosecond))
			ev, ok := run.firstOpen(KindViral, k)
			if ok && !ev.OpenedAt.After(fb) {
				continue
			}
			t.Logf("seed %d LATE %s %s age %.1fh iv %v deadlineB +%v alert +%v", seed, p.Platform, p.AmbassadorID, p.TakeoffAt.Sub(p.PublishedAt).Hours(), iv, fb.Sub(p.TakeoffAt).Round(time.Minute), ev.OpenedAt.Sub(p.TakeoffAt).Round(time.Minute))
			for _, l := range logs[k] {
				t.Log("     ", l)
			}
		}
	}
}
