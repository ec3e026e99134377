package alerts

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/simulator"
)

func TestExplore(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	seed, _ := strconv.ParseInt(os.Getenv("EXPLORE"), 10, 64)
	t0 := time.Now()
	run := replay(t, seed, 8, Config{}, nil)
	t.Logf("replay took %v, requests %v, events %d, stats %+v", time.Since(t0), run.requests, len(run.events), run.det.Stats())
	viral := map[string]*simulator.Post{}
	low := map[string]*simulator.Post{}
	for _, p := range run.sc.Posts {
		k := p.Platform + ":" + p.PostID
		if p.Planted == "viral" {
			viral[k] = p
		}
		if p.Planted == "low_reach" {
			low[k] = p
		}
	}
	for _, p := range run.sc.Posts {
		if p.Planted != "viral" || p.TakeoffAt.Before(run.start) || p.TakeoffAt.After(run.end.Add(-6*time.Hour)) {
			continue
		}
		k := p.Platform + ":" + p.PostID
		fo, _ := run.firstObsAfter(k, p.TakeoffAt)
		iv := pollInterval(p, p.TakeoffAt)
		ev, ok := run.firstOpen(KindViral, k)
		s := "MISSED"
		if ok {
			s = fmt.Sprintf("alert +%v (deadline +%v) timely=%v", ev.OpenedAt.Sub(p.TakeoffAt).Round(time.Minute), fo.Add(iv).Sub(p.TakeoffAt).Round(time.Minute), !ev.OpenedAt.After(fo.Add(iv)))
		}
		t.Logf("viral %s %s pub %v takeoff age %v firstobs +%v iv %v: %s", p.Platform, p.AmbassadorID, p.PublishedAt.Sub(run.start).Round(time.Hour), p.TakeoffAt.Sub(p.PublishedAt).Round(time.Minute), fo.Sub(p.TakeoffAt).Round(time.Minute), iv, s)
		if ok {
			t.Logf("   %s", ev.Reason)
		}
	}
	fp := 0
	for _, ev := range run.events {
		if ev.Kind == KindViral && ev.State == StateOpen && viral[ev.Key()] == nil {
			fp++
			if fp <= 15 {
				t.Logf("FP viral %s %s pub %v: %s", ev.Platform, ev.AmbassadorID, ev.PublishedAt.Sub(run.start).Round(time.Hour), ev.Reason)
			}
		}
	}
	t.Logf("FP viral: %d", fp)
	nl, fl := 0, 0
	for _, p := range run.sc.Posts {
		if p.Planted != "low_reach" || p.PublishedAt.Before(run.start) || p.PublishedAt.After(run.end.Add(-24*time.Hour)) {
			continue
		}
		nl++
		k := p.Platform + ":" + p.PostID
		ev, ok := run.firstOpen(KindLowReach, k)
		if ok {
			fl++
			t.Logf("low %s pub %v: %s", p.Platform, p.PublishedAt.Sub(run.start).Round(time.Hour), ev.Reason)
		} else {
			t.Logf("low MISSED %s pub %v", p.Platform, p.PublishedAt.Sub(run.start).Round(time.Hour))
		}
	}
	lfp := 0
	for _, ev := range run.events {
		if ev.Kind == KindLowReach && ev.State == StateOpen && low[ev.Key()] == nil {
			lfp++
			if lfp <= 8 {
				t.Logf("FP low: %s", ev.Reason)
			}
		}
	}
	t.Logf("low reach: %d/%d flagged, %d FP opens", fl, nl, lfp)
}
