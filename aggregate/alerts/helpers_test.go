package alerts

import (
	"fmt"
	"math"
	"time"

	"github.com/tongxin/tongxin/snapshot"
)

// Hand-made series for the rules' unit tests.

var t0 = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// growth is a post's counter as a function of its age in hours.
type growth func(h float64) float64

// ordinary is a post that ends near final plays, reaching 63% of it at tau hours.
func ordinary(final, tau float64) growth {
	return func(h float64) float64 { return final * (1 - math.Exp(-h/tau)) }
}

// takesOff is g plus a surge of extra plays from takeoff hours on, over
// about tau hours.
func takesOff(g growth, takeoff, extra, tau float64) growth {
	return func(h float64) float64 {
		v := g(h)
		if h > takeoff {
			v += extra * (1 - math.Exp(-(h-takeoff)/tau))
		}
		return v
	}
}

// postSpec is one hand-made post.
type postSpec struct {
	platform, amb, id string
	published         time.Time
	g                 growth
}

func (p postSpec) snap(at time.Time) *snapshot.Snapshot {
	v := int64(p.g(at.Sub(p.published).Hours()))
	s := &snapshot.Snapshot{Schema: 1, Platform: p.platform, AmbassadorID: p.amb, AccountID: "acct-" + p.amb,
		PostID: p.id, PublishedAt: p.published, ObservedAt: at, Source: snapshot.SourceSim}
	if p.platform == snapshot.Weibo {
		s.Likes = snapshot.Counter(v)
	} else {
		s.Plays = snapshot.Counter(v)
	}
	return s
}

// history gives an ambassador n past posts on the platform following g,
// published a day apart before t0, each observed every 10 minutes for its
// first 3 days (so every checkpoint is measured), and returns them.
func history(d *Detector, platform, amb string, n int, g func(i int) growth) []postSpec {
	var out []postSpec
	for i := 0; i < n; i++ {
		p := postSpec{platform: platform, amb: amb, id: fmt.Sprintf("%s-hist-%02d", amb, i),
			published: t0.Add(-time.Duration(n-i) * 24 * time.Hour), g: g(i)}
		out = append(out, p)
	}
	// Feed in time order across posts, as the aggregator would.
	for at := t0.Add(-time.Duration(n) * 24 * time.Hour); at.Before(t0); at = at.Add(10 * time.Minute) {
		for _, p := range out {
			if age := at.Sub(p.published); age > 0 && age <= 80*time.Hour {
				d.Observe(p.snap(at))
			}
		}
		d.Evaluate(at)
	}
	return out
}

// run observes p every step from its publication until it is age old,
// evaluating after each snapshot, and returns the events.
func run(d *Detector, p postSpec, step, age time.Duration) []Event {
	var out []Event
	for at := p.published.Add(step); !at.After(p.published.Add(age)); at = at.Add(step) {
		d.Observe(p.snap(at))
		out = append(out, d.Evaluate(at)...)
	}
	return out
}

func count(evs []Event, kind, state string) int {
	n := 0
	for _, e := range evs {
		if e.Kind == kind && (state == "" || e.State == state) {
			n++
		}
	}
	return n
}

// scaled is g times f.
func scaled(g growth, f float64) growth { return func(h float64) float64 { return f * g(h) } }

// jitter varies a post's final and pace a little from one post to the next.
func jitter(final, tau float64) func(i int) growth {
	return func(i int) growth {
		f := []float64{1, 0.8, 1.25, 0.9, 1.1, 0.7, 1.4, 1.05}[i%8]
		t := []float64{1, 1.2, 0.85, 1.1, 0.95, 1.3, 0.8, 1}[i%8]
		return ordinary(final*f, tau*t)
	}
}
