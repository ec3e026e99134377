package alerts

import (
	"os"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/simulator"
)

func TestExplore7(t *testing.T) {
	if os.Getenv("EXPLORE7") == "" {
		t.Skip()
	}
	r, _ := roster.Load("")
	sc := simulator.New(r, 104, replayStart)
	var target *simulator.Post
	for _, p := range sc.Posts {
		if p.Planted == "viral" && p.AmbassadorID == os.Getenv("EXPLORE7") && p.TakeoffAt.After(replayStart.Add(12*time.Hour)) && p.TakeoffAt.Before(replayStart.Add(8*24*time.Hour)) {
			target = p
			t.Logf("candidate %s %s takeoff age %v at +%v", p.Platform, p.PostID, p.TakeoffAt.Sub(p.PublishedAt), p.TakeoffAt.Sub(replayStart))
		}
	}
	k := target.Platform + ":" + target.PostID
	run := replayHook(t, 104, 8, Config{}, func(d *Detector) {
		d.trace = func(p *post, n viralNumbers) {
			if p.key == k && p.newest().at.After(target.TakeoffAt.Add(-time.Hour)) && p.newest().at.Before(target.TakeoffAt.Add(12*time.Hour)) {
				t.Logf("judge +%v age %.1f r%.2f v%.1f a%.1f act %.0f exp %.0f extra %.0f span %v own %v hot %v", p.newest().at.Sub(target.TakeoffAt), n.age, n.ratio, n.vratio, n.accel, n.actual, n.expected, n.velocity-n.expVel, n.span, n.own, n.hot)
			}
		}
	})
	t.Logf("post %s takeoff age %v", k, target.TakeoffAt.Sub(target.PublishedAt))
	for _, at := range run.obs[k] {
		if at.After(target.TakeoffAt.Add(-3 * time.Hour)) && at.Before(target.TakeoffAt.Add(12*time.Hour)) {
			t.Logf("obs +%v plays %d", at.Sub(target.TakeoffAt), target.CountersAt(at).Plays)
		}
	}
	for _, ev := range run.events {
		if ev.Key() == k {
			t.Logf("event %s %s +%v %s", ev.Kind, ev.State, ev.UpdatedAt.Sub(target.TakeoffAt), ev.Reason[:120])
		}
	}
}
