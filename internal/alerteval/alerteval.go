// Package alerteval scores alerts against the simulator's planted truth:
// precision and recall per alert kind, after a warm-up and including it.
// The whole-pipeline evaluation (internal/e2e, `make eval-alerts`) uses it on
// the alerts table that `tongxin run` wrote.
//
// # The matching rule
//
// The evaluation covers the campaign window [Start, End] (campaign clock):
// Start is when the pipeline started cold, in the middle of the seeded
// campaign; End is when it stopped. Warm-up is the first part of it, when the
// baselines are still filling.
//
//   - An alert is one alert id; it counts when it opened within the window,
//     for the "after warm-up" figures when it opened at or after
//     Start+Warmup. It is right when its post is planted of its kind and,
//     for viral, it opened no earlier than the post's takeoff_at minus
//     ViralTolerance (a viral alert long before the surge is a guess). Every
//     alert counts, also on posts published before Start.
//   - A planted viral post is expected when its takeoff_at falls within
//     [Start+Warmup, End−Tail] (after warm-up) or [Start, End−Tail] (with
//     it); it is recalled when a viral alert opened for it at or after
//     takeoff_at − ViralTolerance, by End.
//   - A planted low-reach post is expected when it was published within
//     [Start+Warmup, End−LowTail] (or [Start, End−LowTail]): its low-reach
//     checkpoints (1 h, 6 h, 24 h) then fall inside the window. It is
//     recalled when a low-reach alert opened for it by End.
//   - Planted posts published before Start are not expected (their early
//     checkpoints passed before the pipeline started; viral ones taking off
//     after Start are expected). An expected post the pipeline never
//     polled still counts as expected — a miss; how many there were is
//     reported (Unpolled).
//   - Precision with no alerts and recall with nothing expected are 1.
package alerteval

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Kinds, as in the alerts table and the truth.
const (
	Viral    = "viral"
	LowReach = "low_reach"
)

// Planted is one post of the simulator's truth.
type Planted struct {
	Platform    string    `json:"platform"`
	PostID      string    `json:"post_id"`
	PublishedAt time.Time `json:"published_at"`
	Planted     string    `json:"planted"`
	TakeoffAt   time.Time `json:"takeoff_at"`
}

// Key is the post's platform:post_id.
func (p Planted) Key() string { return p.Platform + ":" + p.PostID }

// Alert is one alert as the alerts table holds it (its first open).
type Alert struct {
	ID, Kind, Platform, PostID string
	OpenedAt                   time.Time
	DataAge                    time.Duration // at its latest state
	Reason                     string
}

// Key is the alert's post's platform:post_id.
func (a Alert) Key() string { return a.Platform + ":" + a.PostID }

// Window is what the scoring covers; all campaign clock.
type Window struct {
	Start, End     time.Time
	Warmup         time.Duration // alerts and expected posts before Start+Warmup count only "with warm-up"
	Tail           time.Duration // viral takeoffs later than End−Tail are not expected
	LowTail        time.Duration // low-reach posts published later than End−LowTail are not expected
	ViralTolerance time.Duration // a viral alert this long before takeoff_at is still right
}

// DefaultWindow is five campaign days from start, a 12-hour warm-up.
func DefaultWindow(start time.Time) Window {
	return Window{Start: start, End: start.Add(5 * 24 * time.Hour), Warmup: 12 * time.Hour,
		Tail: 6 * time.Hour, LowTail: 24 * time.Hour, ViralTolerance: 30 * time.Minute}
}

// Counts are one kind's figures over one span.
type Counts struct {
	Alerts, Right     int // alerts opened; of them right
	Expected, Flagged int // planted posts expected; of them recalled
	Unpolled          int // expected posts the pipeline never polled
}

// Precision is Right ÷ Alerts (1 with no alerts).
func (c Counts) Precision() float64 { return ratio(c.Right, c.Alerts) }

// Recall is Flagged ÷ Expected (1 with nothing expected).
func (c Counts) Recall() float64 { return ratio(c.Flagged, c.Expected) }

func (c *Counts) add(o Counts) {
	c.Alerts += o.Alerts
	c.Right += o.Right
	c.Expected += o.Expected
	c.Flagged += o.Flagged
	c.Unpolled += o.Unpolled
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// Result is one run's score: per kind, after the warm-up and with it.
type Result struct {
	Label        string
	After, All   map[string]*Counts // by kind
	FalseAlerts  []string           // after the warm-up, one line each
	Missed       []string           // after the warm-up
	AlertsByKind map[string]int     // every alert opened in the window
}

// Score scores alerts against planted within w. polled says whether the
// pipeline has any snapshot of a post (nil: not known).
func Score(label string, planted []Planted, alerts []Alert, polled func(key string) bool, w Window) *Result {
	r := &Result{Label: label, After: map[string]*Counts{}, All: map[string]*Counts{}, AlertsByKind: map[string]int{}}
	for _, k := range []string{Viral, LowReach} {
		r.After[k], r.All[k] = &Counts{}, &Counts{}
	}
	warm := w.Start.Add(w.Warmup)
	truth := map[string]Planted{}
	for _, p := range planted {
		truth[p.Key()] = p
	}
	in := func(t, from, to time.Time) bool { return !t.Before(from) && !t.After(to) }
	byPost := map[string][]Alert{}
	sort.Slice(alerts, func(i, j int) bool { return alerts[i].OpenedAt.Before(alerts[j].OpenedAt) })
	for _, a := range alerts {
		if !in(a.OpenedAt, w.Start, w.End) || (a.Kind != Viral && a.Kind != LowReach) {
			continue
		}
		byPost[a.Kind+" "+a.Key()] = append(byPost[a.Kind+" "+a.Key()], a)
		p, ok := truth[a.Key()]
		right := ok && p.Planted == a.Kind && (a.Kind != Viral || !a.OpenedAt.Before(p.TakeoffAt.Add(-w.ViralTolerance)))
		r.AlertsByKind[a.Kind]++
		for _, c := range []*Counts{r.All[a.Kind], r.After[a.Kind]} {
			if c == r.After[a.Kind] && a.OpenedAt.Before(warm) {
				continue
			}
			c.Alerts++
			if right {
				c.Right++
			}
		}
		if !right && !a.OpenedAt.Before(warm) {
			what := "not planted"
			switch {
			case ok && p.Planted == Viral && a.Kind == Viral:
				what = fmt.Sprintf("viral, opened %s before takeoff", p.TakeoffAt.Sub(a.OpenedAt).Round(time.Minute))
			case ok && p.Planted != "":
				what = "planted " + p.Planted
			}
			age := "?"
			if ok {
				age = a.OpenedAt.Sub(p.PublishedAt).Round(time.Minute).String()
			}
			r.FalseAlerts = append(r.FalseAlerts, fmt.Sprintf("%s %s (%s) opened at %s old, data %s old: %s",
				a.Kind, a.Key(), what, age, a.DataAge.Round(time.Minute), a.Reason))
		}
	}
	recalled := func(kind string, p Planted) bool {
		for _, a := range byPost[kind+" "+p.Key()] {
			if kind != Viral || !a.OpenedAt.Before(p.TakeoffAt.Add(-w.ViralTolerance)) {
				return true
			}
		}
		return false
	}
	for _, p := range planted {
		var at, to time.Time
		switch p.Planted {
		case Viral:
			at, to = p.TakeoffAt, w.End.Add(-w.Tail)
		case LowReach:
			at, to = p.PublishedAt, w.End.Add(-w.LowTail)
			if p.PublishedAt.Before(w.Start) {
				continue
			}
		default:
			continue
		}
		if !in(at, w.Start, to) {
			continue
		}
		ok := recalled(p.Planted, p)
		unpolled := polled != nil && !polled(p.Key())
		for _, c := range []*Counts{r.All[p.Planted], r.After[p.Planted]} {
			if c == r.After[p.Planted] && at.Before(warm) {
				continue
			}
			c.Expected++
			if ok {
				c.Flagged++
			}
			if unpolled {
				c.Unpolled++
			}
		}
		if !ok && !at.Before(warm) {
			r.Missed = append(r.Missed, fmt.Sprintf("%s %s published %s, takeoff %s after (polled: %v)", p.Planted, p.Key(),
				p.PublishedAt.Format(time.RFC3339), p.TakeoffAt.Sub(p.PublishedAt).Round(time.Minute), !unpolled))
		}
	}
	return r
}

// Table writes the per-run precision/recall table, then the sums over all
// runs, after the warm-up and including it.
func Table(w io.Writer, results []*Result) {
	fmt.Fprintf(w, "%-10s | %-28s | %-28s | %-28s | %-28s\n", "", "viral after warm-up", "low reach after warm-up", "viral incl. warm-up", "low reach incl. warm-up")
	fmt.Fprintf(w, "%-10s | %s\n", "run", strings.Repeat("precision      recall        | ", 4))
	var after, all = map[string]*Counts{Viral: {}, LowReach: {}}, map[string]*Counts{Viral: {}, LowReach: {}}
	row := func(label string, a, b map[string]*Counts) {
		cell := func(c *Counts) string {
			return fmt.Sprintf("%.2f (%2d/%2d) %.2f (%2d/%2d)", c.Precision(), c.Right, c.Alerts, c.Recall(), c.Flagged, c.Expected)
		}
		fmt.Fprintf(w, "%-10s | %-28s | %-28s | %-28s | %-28s\n", label, cell(a[Viral]), cell(a[LowReach]), cell(b[Viral]), cell(b[LowReach]))
	}
	for _, r := range results {
		row(r.Label, r.After, r.All)
		for _, k := range []string{Viral, LowReach} {
			after[k].add(*r.After[k])
			all[k].add(*r.All[k])
		}
	}
	row("all", after, all)
	if n := after[Viral].Unpolled + after[LowReach].Unpolled; n > 0 {
		fmt.Fprintf(w, "(expected posts never polled after warm-up: viral %d, low reach %d; counted as misses)\n", after[Viral].Unpolled, after[LowReach].Unpolled)
	}
}

// Sum adds the runs' figures per kind: after the warm-up, and with it.
func Sum(results []*Result) (after, all map[string]Counts) {
	after, all = map[string]Counts{}, map[string]Counts{}
	for _, k := range []string{Viral, LowReach} {
		var a, b Counts
		for _, r := range results {
			a.add(*r.After[k])
			b.add(*r.All[k])
		}
		after[k], all[k] = a, b
	}
	return after, all
}
