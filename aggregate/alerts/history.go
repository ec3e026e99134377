package alerts

import (
	"sort"
	"time"

	"github.com/tongxin/tongxin/snapshot"
)

// PostHistory is what a restarted Detector needs to know of one post: its
// cumulative counters at known moments (LoadHistory gives one point per
// hour of post_hourly: the counters as of the newest snapshot applied in
// that hour). Restore turns them into the post's checkpoint values.
type PostHistory struct {
	Platform     string
	AmbassadorID string
	PostID       string
	PublishedAt  time.Time
	Points       []HistoryPoint // ascending by At
}

// HistoryPoint is a post's cumulative counters at one moment; a nil
// counter is one the platform does not give.
type HistoryPoint struct {
	At    time.Time
	Plays *int64
	Likes *int64
}

// RestoreSlack widens the checkpoint tolerance for restored history: its
// points are an hour apart at best (the hour grain of post_hourly). Campaign
// time.
const RestoreSlack = time.Hour

// Restore brings back what a previous Detector knew, before the first
// Observe after a restart: the posts' history (their checkpoint values and
// newest counters, for the baselines) and the alerts still open, so an open
// alert goes on (update, resolve) under its own id instead of opening a
// second time. Checkpoints the history has passed count as judged: a
// restart does not judge them again. Of several open events for one post
// and kind only the most recently updated is kept.
func (d *Detector) Restore(open []Event, history []PostHistory) {
	for _, h := range history {
		pts := append([]HistoryPoint(nil), h.Points...)
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].At.Before(pts[j].At) })
		for _, pt := range pts {
			v := pt.Plays
			if d.cfg.ReachMetric[h.Platform] == MetricLikes {
				v = pt.Likes
			}
			if v == nil {
				continue
			}
			d.observe(h.Platform, h.AmbassadorID, h.PostID, h.PublishedAt.UTC(), pt.At.UTC(), float64(*v), RestoreSlack)
		}
	}
	// Restored posts are known, not news: nothing to judge until new data.
	for p := range d.dirty {
		p.pending, p.newData = 0, false
	}
	clear(d.dirty)

	latest := map[string]Event{}
	for _, ev := range open {
		if ev.State == StateResolved || ev.ResolvedAt != nil || (ev.Kind != KindViral && ev.Kind != KindLowReach) {
			continue
		}
		k := ev.Kind + "\x00" + ev.Platform + "\x00" + ev.PostID
		if cur, ok := latest[k]; !ok || ev.UpdatedAt.After(cur.UpdatedAt) {
			latest[k] = ev
		}
	}
	keys := make([]string, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ev := latest[k]
		pub := ev.PublishedAt
		if pub.IsZero() {
			pub = ev.OpenedAt
		}
		p := d.posts[snapshot.Key(ev.Platform, ev.PostID)]
		if p == nil {
			// Not in the history (older than it, or never rolled up): the
			// alert waits for the post's next snapshot. Without a
			// publication time the open time stands in until a snapshot
			// tells.
			p = d.post(ev.Platform, ev.AmbassadorID, ev.PostID, pub.UTC())
			p.guessed = ev.PublishedAt.IsZero()
		}
		p.setAlert(ev.Kind, &alertState{id: ev.AlertID, opened: ev.OpenedAt.UTC(), last: ev})
		d.open[p] = struct{}{}
	}
}

// MergeHistory brings in what post_hourly knows of the posts this detector
// does not own (owns rejects them: other aggregators' partitions), so the
// baselines see the whole campaign while each aggregator judges only its
// own posts. It judges nothing: merged posts are known, not news. Posts
// this detector owns are left alone.
func (d *Detector) MergeHistory(history []PostHistory, owns func(key string) bool) {
	if owns == nil {
		return // it owns every post: its own observations are the history
	}
	for _, h := range history {
		key := snapshot.Key(h.Platform, h.PostID)
		if owns(key) {
			continue
		}
		for _, pt := range h.Points { // ascending; what it has seen is skipped
			v := pt.Plays
			if d.cfg.ReachMetric[h.Platform] == MetricLikes {
				v = pt.Likes
			}
			if v != nil {
				d.observe(h.Platform, h.AmbassadorID, h.PostID, h.PublishedAt.UTC(), pt.At.UTC(), float64(*v), RestoreSlack)
			}
		}
		if p := d.posts[key]; p != nil {
			p.pending, p.newData = 0, false
			delete(d.dirty, p)
		}
	}
}
