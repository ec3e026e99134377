package alerts

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/snapshot"
)

// campaign gives five ordinary ambassadors a history of 8 Douyin posts of
// about final plays each.
func campaign(d *Detector, platform string, final float64) {
	for i := 1; i <= 5; i++ {
		history(d, platform, fmt.Sprintf("amb%02d", i), 8, jitter(final, 8))
	}
}

// bigSecondWind is a big account's good post: its usual 200,000 plays, and
// 100,000 more from a second wind at 4 h. It speeds up, so against the
// campaign's usual (3,000) it would be taking off.
var bigSecondWind = takesOff(ordinary(200_000, 8), 4, 100_000, 4)

func TestBigAccountOrdinaryPostIsNotViral(t *testing.T) {
	d := NewDetector(Config{})
	campaign(d, snapshot.Douyin, 3000)
	history(d, snapshot.Douyin, "big", 8, jitter(200_000, 8))
	// 1.5× the big account's usual, from a second wind at 4 h: a good post
	// for it, nothing more.
	p := postSpec{snapshot.Douyin, "big", "big-new", t0.Add(time.Hour), bigSecondWind}
	evs := run(d, p, 10*time.Minute, 72*time.Hour)
	if n := count(evs, KindViral, ""); n != 0 {
		t.Fatalf("big account's ordinary post: %d viral events, want none: %v", n, evs)
	}

	// The same post from an account the Detector knows nothing of speeds up
	// to 100× the campaign's usual pace: the ambassador's own history is
	// what tells.
	d2 := NewDetector(Config{})
	campaign(d2, snapshot.Douyin, 3000)
	p.amb, p.id = "stranger", "stranger-new"
	if n := count(run(d2, p, 10*time.Minute, 72*time.Hour), KindViral, StateOpen); n != 1 {
		t.Fatalf("without history the post opened %d viral alerts, want 1 (the test would prove nothing)", n)
	}

	// A big account whose posts the Detector only saw old (no young
	// checkpoints of its own): the campaign's baseline scaled by its reach.
	d3 := NewDetector(Config{})
	campaign(d3, snapshot.Douyin, 3000)
	for i := 0; i < 5; i++ {
		old := postSpec{snapshot.Douyin, "big", fmt.Sprintf("big-old-%d", i), t0.Add(-time.Duration(5+i) * 24 * time.Hour), ordinary(200_000, 8)}
		d3.Observe(old.snap(t0))
	}
	d3.Evaluate(t0)
	p.amb, p.id = "big", "big-new"
	if evs := run(d3, p, 10*time.Minute, 72*time.Hour); count(evs, KindViral, "") != 0 {
		t.Fatalf("big account known from old posts only: viral events %v, want none", evs)
	}
}

func TestSmallAccountModestJumpIsBelowTheFloor(t *testing.T) {
	d := NewDetector(Config{})
	campaign(d, snapshot.Douyin, 3000)
	history(d, snapshot.Douyin, "small", 8, jitter(60, 8))
	// Ten times its usual plays within hours: 660 plays in all, under the
	// Douyin floor of 1,500.
	p := postSpec{snapshot.Douyin, "small", "small-new", t0.Add(time.Hour), takesOff(ordinary(60, 8), 5, 600, 3)}
	if evs := run(d, p, 10*time.Minute, 72*time.Hour); count(evs, KindViral, "") != 0 {
		t.Fatalf("small account's modest jump alerted: %v", evs)
	}
	// The same jump, scaled up to an ordinary account, does alert: the floor
	// is what kept the small one quiet.
	history(d, snapshot.Douyin, "mid", 8, jitter(3000, 8))
	q := postSpec{snapshot.Douyin, "mid", "mid-new", t0.Add(time.Hour), takesOff(ordinary(3000, 8), 5, 30000, 3)}
	evs := run(d, q, 10*time.Minute, 72*time.Hour)
	if count(evs, KindViral, StateOpen) != 1 {
		t.Fatalf("ordinary account's 10× jump: %v, want one viral alert", evs)
	}
	open := evs[0]
	if !strings.Contains(open.Reason, "plays at") || !strings.Contains(open.Reason, "this ambassador's") || open.Score < 1 {
		t.Errorf("reason does not explain itself: %q (score %v)", open.Reason, open.Score)
	}
	if age := open.UpdatedAt.Sub(q.published); age < 5*time.Hour || age > 5*time.Hour+30*time.Minute {
		t.Errorf("opened at %v old, want within 30 min of the takeoff at 5 h", age)
	}
}

// pulses adds bursts of extra plays per hour over the given age windows (hours).
func pulses(g growth, rate float64, windows [][2]float64) growth {
	return func(h float64) float64 {
		v := g(h)
		for _, w := range windows {
			if h > w[0] {
				v += rate * (min(h, w[1]) - w[0])
			}
		}
		return v
	}
}

func TestHysteresisPreventsFlapping(t *testing.T) {
	d := NewDetector(Config{})
	campaign(d, snapshot.Douyin, 3000)
	history(d, snapshot.Douyin, "amb09", 8, jitter(3000, 8))
	// Bursts of 20,000 plays an hour, 2 h on and 2 h off, from 4 h to 20 h,
	// then quiet: the pace crosses the thresholds again and again.
	var on [][2]float64
	for h := 4.0; h < 20; h += 4 {
		on = append(on, [2]float64{h, h + 2})
	}
	p := postSpec{snapshot.Douyin, "amb09", "flappy", t0.Add(time.Hour), pulses(ordinary(3000, 8), 20000, on)}
	evs := run(d, p, 10*time.Minute, 48*time.Hour)
	for _, e := range evs {
		t.Logf("%s %s at %v: %s", e.Kind, e.State, e.UpdatedAt.Sub(p.published), e.Reason)
	}
	if n := count(evs, KindViral, StateOpen); n != 1 {
		t.Errorf("%d viral alerts opened, want 1", n)
	}
	if n := count(evs, KindViral, StateResolved); n != 1 {
		t.Errorf("%d viral alerts resolved, want 1", n)
	}
	var opened, resolved time.Time
	ids := map[string]bool{}
	for _, e := range evs {
		ids[e.AlertID] = true
		switch e.State {
		case StateOpen:
			opened = e.UpdatedAt
		case StateResolved:
			resolved = e.UpdatedAt
			if e.ResolvedAt == nil || !e.ResolvedAt.Equal(e.UpdatedAt) {
				t.Errorf("resolved event without resolved_at: %+v", e)
			}
		}
	}
	if len(ids) != 1 {
		t.Errorf("events of %d alerts, want 1", len(ids))
	}
	// The last burst ends at 18 h; cool for ViralResolveAfter (6 h) after
	// the pace drops below 2× the usual.
	if age := resolved.Sub(p.published); age < 24*time.Hour || age > 27*time.Hour {
		t.Errorf("resolved at %v old, want after the 6 h of calm following the last burst (about 24–26 h)", age)
	}
	// Updates while open: material changes only, at most one per UpdateEvery.
	updates := count(evs, KindViral, StateUpdate)
	if max := int(resolved.Sub(opened) / d.cfg.UpdateEvery); updates > max || updates == 0 {
		t.Errorf("%d updates over %v, want between 1 and %d", updates, resolved.Sub(opened), max)
	}
}

// lastStates is what LoadOpen would return: the newest event of every
// alert not resolved.
func lastStates(evs []Event) []Event {
	last := map[string]Event{}
	var order []string
	for _, e := range evs {
		if _, ok := last[e.AlertID]; !ok {
			order = append(order, e.AlertID)
		}
		last[e.AlertID] = e
	}
	var out []Event
	for _, id := range order {
		if e := last[id]; e.State != StateResolved {
			out = append(out, e)
		}
	}
	return out
}

// hourly is what LoadHistory would give for a post observed every step up
// to upTo: the last observation of each hour.
func hourly(p postSpec, step time.Duration, upTo time.Time) PostHistory {
	h := PostHistory{Platform: p.platform, AmbassadorID: p.amb, PostID: p.id, PublishedAt: p.published}
	for at := p.published.Add(step); !at.After(upTo); at = at.Add(step) {
		s := p.snap(at)
		pt := HistoryPoint{At: at, Plays: s.Plays, Likes: s.Likes}
		if n := len(h.Points); n > 0 && h.Points[n-1].At.Truncate(time.Hour).Equal(at.Truncate(time.Hour)) {
			h.Points[n-1] = pt
		} else {
			h.Points = append(h.Points, pt)
		}
	}
	return h
}

func TestRestoreKeepsOneAlertPerPostAndKind(t *testing.T) {
	setup := func() (*Detector, []postSpec) {
		d := NewDetector(Config{})
		var hist []postSpec
		for i := 1; i <= 5; i++ {
			hist = append(hist, history(d, snapshot.Douyin, fmt.Sprintf("amb%02d", i), 8, jitter(3000, 8))...)
		}
		return d, hist
	}
	viral := postSpec{snapshot.Douyin, "amb01", "viral", t0.Add(time.Hour), takesOff(ordinary(3000, 8), 3, 80000, 8)}
	flop := postSpec{snapshot.Douyin, "amb02", "flop", t0.Add(time.Hour), ordinary(40, 8)}
	step := 10 * time.Minute
	crash := t0.Add(9 * time.Hour)

	a, hist := setup()
	var before []Event
	for at := t0.Add(step); !at.After(crash); at = at.Add(step) {
		for _, p := range []postSpec{viral, flop} {
			if at.After(p.published) {
				a.Observe(p.snap(at))
			}
		}
		before = append(before, a.Evaluate(at)...)
	}
	open := lastStates(before)
	if count(open, KindViral, "") != 1 || count(open, KindLowReach, "") != 1 {
		t.Fatalf("before the restart: open alerts %v, want one viral and one low reach", open)
	}

	// The restart: a new Detector from what LoadOpen and LoadHistory give.
	var histories []PostHistory
	for _, p := range append(hist, viral, flop) {
		histories = append(histories, hourly(p, step, crash))
	}
	b := NewDetector(Config{})
	b.Restore(open, histories)
	if s := b.Stats(); s.Open != 2 {
		t.Fatalf("restored %d open alerts, want 2", s.Open)
	}
	var after []Event
	for at := crash.Add(step); !at.After(t0.Add(8 * 24 * time.Hour)); at = at.Add(step) {
		for _, p := range []postSpec{viral, flop} {
			b.Observe(p.snap(at))
		}
		after = append(after, b.Evaluate(at)...)
	}
	ids := map[string]bool{}
	for _, e := range open {
		ids[e.AlertID] = true
	}
	for _, e := range after {
		if e.State == StateOpen {
			t.Errorf("after the restart an alert opened again: %s %s %s", e.Kind, e.PostID, e.Reason)
		}
		if !ids[e.AlertID] {
			t.Errorf("after the restart an event of an unknown alert %s: %+v", e.AlertID, e)
		}
	}
	if count(after, KindViral, StateResolved) != 1 {
		t.Errorf("the restored viral alert did not resolve once: %v", after)
	}
	if count(after, KindLowReach, StateUpdate) == 0 {
		t.Errorf("the restored low-reach alert saw no update at its later checkpoints: %v", after)
	}
	// Without Restore the same data would open both again: the test means something.
	c, _ := setup()
	var again []Event
	for at := crash.Add(step); !at.After(crash.Add(3 * time.Hour)); at = at.Add(step) {
		for _, p := range []postSpec{viral, flop} {
			c.Observe(p.snap(at))
		}
		again = append(again, c.Evaluate(at)...)
	}
	if count(again, KindViral, StateOpen) != 1 {
		t.Errorf("a Detector without Restore did not reopen the viral alert: %v", again)
	}
}

func TestRestoredHistoryMeasuresCheckpoints(t *testing.T) {
	// The hourly points of post_hourly give the checkpoints the raw
	// snapshots give, within the hour grain's interpolation error.
	p := postSpec{snapshot.Weibo, "amb01", "w1", t0, ordinary(500, 8)}
	live := NewDetector(Config{})
	run(live, p, 10*time.Minute, 80*time.Hour)
	restored := NewDetector(Config{})
	restored.Restore(nil, []PostHistory{hourly(p, 10*time.Minute, t0.Add(80*time.Hour))})
	lp, rp := live.posts[snapshot.Key(p.platform, p.id)], restored.posts[snapshot.Key(p.platform, p.id)]
	for i, c := range live.cps {
		if math.IsNaN(lp.cp[i]) || math.IsNaN(rp.cp[i]) {
			t.Errorf("checkpoint %v: live %v restored %v, want both measured", c, lp.cp[i], rp.cp[i])
			continue
		}
		if diff := math.Abs(lp.cp[i] - rp.cp[i]); diff > 0.05*lp.cp[i]+1 {
			t.Errorf("checkpoint %v: live %.0f restored %.0f", c, lp.cp[i], rp.cp[i])
		}
	}
	if restored.Stats().Open != 0 || len(restored.Evaluate(t0.Add(81*time.Hour))) != 0 {
		t.Errorf("restoring history alone raised alerts")
	}
}

func TestLowReachOpensAndRecovers(t *testing.T) {
	d := NewDetector(Config{})
	campaign(d, snapshot.Douyin, 3000)
	// 2% of the usual post.
	flop := postSpec{snapshot.Douyin, "amb01", "flop", t0.Add(time.Hour), ordinary(60, 8)}
	evs := run(d, flop, 10*time.Minute, 30*time.Hour)
	if count(evs, KindLowReach, StateOpen) != 1 || count(evs, KindLowReach, StateResolved) != 0 {
		t.Fatalf("flop: %v, want one low-reach alert, still open", evs)
	}
	first := evs[0]
	if age := first.UpdatedAt.Sub(flop.published); age < time.Hour || age > 80*time.Minute {
		t.Errorf("flop flagged at %v old, want at its 1 h checkpoint", age)
	}
	if first.Score > d.cfg.LowReachPercentile || !strings.Contains(first.Reason, "percentile") || !strings.Contains(first.Reason, "at 1 h old") {
		t.Errorf("low-reach event does not explain itself: score %v, %q", first.Score, first.Reason)
	}
	if n := count(evs, KindLowReach, StateUpdate); n != 4 {
		t.Errorf("%d updates, want one at each later low-reach age (3 h, 6 h, 12 h, 24 h)", n)
	}

	// A slow start that catches up: flagged at 1 h, resolved once it ranks
	// among its peers again.
	late := postSpec{snapshot.Douyin, "amb02", "late", t0.Add(2 * time.Hour), takesOff(ordinary(60, 8), 1.5, 3000, 2)}
	evs = run(d, late, 10*time.Minute, 30*time.Hour)
	if count(evs, KindLowReach, StateOpen) != 1 || count(evs, KindLowReach, StateResolved) != 1 {
		t.Fatalf("late bloomer: %v, want one low-reach alert, resolved", evs)
	}
	for _, e := range evs {
		if e.State == StateResolved && !strings.HasPrefix(e.Reason, "Recovered") {
			t.Errorf("resolved reason %q", e.Reason)
		}
	}
}

func TestNoLowReachAlertOnStaleData(t *testing.T) {
	d := NewDetector(Config{})
	campaign(d, snapshot.Douyin, 3000)
	flop := postSpec{snapshot.Douyin, "amb01", "flop", t0.Add(time.Hour), ordinary(60, 8)}
	// Quota exhausted around the 1 h and 6 h checkpoints: no snapshot from
	// 20 min to 3 h old, nor from 4 h to 9 h old. The aggregator runs
	// 7 minutes behind the platform.
	withheld := func(age time.Duration) bool {
		return age > 20*time.Minute && age < 3*time.Hour || age > 4*time.Hour && age < 9*time.Hour
	}
	missing := d.Stats().CheckpointsMissing
	var evs []Event
	for age := 10 * time.Minute; age <= 30*time.Hour; age += 10 * time.Minute {
		if withheld(age) {
			continue
		}
		at := flop.published.Add(age)
		d.Observe(flop.snap(at))
		evs = append(evs, d.Evaluate(at.Add(7*time.Minute))...)
	}
	// The 1 h, 3 h and 6 h checkpoints are stale; 12 h, with snapshots
	// from 9 h on, is the first with fresh data around it.
	for _, e := range evs {
		if e.Kind == KindLowReach && e.UpdatedAt.Sub(flop.published) < 12*time.Hour {
			t.Errorf("low-reach alert on stale data at %v old: %s", e.UpdatedAt.Sub(flop.published), e.Reason)
		}
	}
	if got := d.Stats().CheckpointsMissing - missing; got < 3 {
		t.Errorf("%d checkpoints counted missing, want at least 1 h, 3 h and 6 h", got)
	}
	// Fresh data again at 12 h: the alert comes, saying how old its data is.
	if count(evs, KindLowReach, StateOpen) != 1 {
		t.Fatalf("no low-reach alert at the 12 h checkpoint on fresh data: %v", evs)
	}
	for _, e := range evs {
		if e.DataAge != 7*time.Minute || !strings.Contains(e.Reason, "Data 7 min old") {
			t.Errorf("event data age %v, reason %q: want 7 min, said", e.DataAge, e.Reason)
		}
	}
}

func TestWeiboJudgedOnLikes(t *testing.T) {
	d := NewDetector(Config{})
	campaign(d, snapshot.Weibo, 150)
	p := postSpec{snapshot.Weibo, "amb03", "w-viral", t0.Add(time.Hour), takesOff(ordinary(150, 8), 6, 6000, 8)}
	evs := run(d, p, 10*time.Minute, 30*time.Hour)
	if count(evs, KindViral, StateOpen) != 1 {
		t.Fatalf("weibo viral post: %v", evs)
	}
	if r := evs[0].Reason; !strings.Contains(r, "likes") || !strings.Contains(r, "Weibo gives no plays") || !strings.Contains(r, "点赞") {
		t.Errorf("weibo reason does not say it counts likes: %q", r)
	}
	// A snapshot without the platform's reach measure is ignored.
	s := p.snap(t0.Add(40 * time.Hour))
	s.Likes, s.Plays = nil, snapshot.Counter(5)
	before := d.Stats().Ignored
	d.Observe(s)
	if d.Stats().Ignored != before+1 {
		t.Errorf("a weibo snapshot without likes was not ignored")
	}
}

func TestMemoryIsBounded(t *testing.T) {
	d := NewDetector(Config{})
	p := postSpec{snapshot.Douyin, "amb01", "long", t0, ordinary(3000, 8)}
	run(d, p, 5*time.Minute, 10*24*time.Hour)
	if s := d.Stats(); s.Points > d.cfg.SeriesMax || s.Points < 2 {
		t.Errorf("%d points kept for one post polled every 5 min for 10 days, want at most %d", s.Points, d.cfg.SeriesMax)
	}
	d.Evaluate(t0.Add(31 * 24 * time.Hour))
	if s := d.Stats(); s.Posts != 0 {
		t.Errorf("%d posts held after the horizon, want 0", s.Posts)
	}
}

func TestOpenAlertExpires(t *testing.T) {
	d := NewDetector(Config{})
	campaign(d, snapshot.Douyin, 3000)
	flop := postSpec{snapshot.Douyin, "amb01", "flop", t0.Add(time.Hour), ordinary(60, 8)}
	evs := run(d, flop, 10*time.Minute, 30*time.Hour)
	evs = append(evs, d.Evaluate(flop.published.Add(8*24*time.Hour))...)
	if count(evs, KindLowReach, StateResolved) != 1 || !strings.HasPrefix(evs[len(evs)-1].Reason, "Closed") {
		t.Fatalf("open alert of a week-old post did not close: %v", evs)
	}
	if d.Stats().Open != 0 {
		t.Errorf("still %d open", d.Stats().Open)
	}
}

func TestCPSet(t *testing.T) {
	s := newCPSet([]float64{8, 1, 5, 3, 100, 2, 4, 6})
	// sorted 1 2 3 4 5 6 8 100: the middle half is 3 4 5 6.
	if got := s.iqm(-1); got != 4.5 {
		t.Errorf("iqm = %v, want 4.5", got)
	}
	// Leaving out 100: 1 2 3 4 5 6 8, n/4 = 1, middle 2 3 4 5 6.
	if got := s.iqm(s.exclude(100, true)); got != 4 {
		t.Errorf("iqm without 100 = %v, want 4", got)
	}
	if got := s.percentile(1, -1); got != 6.25 {
		t.Errorf("percentile(1) = %v, want 6.25 (half of 1 of 8)", got)
	}
	if got := s.percentile(1, s.exclude(1, true)); got != 0 {
		t.Errorf("percentile of the left-out value = %v, want 0", got)
	}
	if got := s.quantile(0.1, -1); got != 1 {
		t.Errorf("quantile(0.1) = %v, want 1", got)
	}
}

func TestFormatting(t *testing.T) {
	for in, want := range map[float64]string{38000: "38,000", 999: "999", 1234567: "1,234,567", 0: "0"} {
		if got := num(in); got != want {
			t.Errorf("num(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[time.Duration]string{45 * time.Minute: "45 min", 3 * time.Hour: "3 h", 150 * time.Minute: "2.5 h", 100 * time.Hour: "4 d 4 h"} {
		if got := span(in, false); got != want {
			t.Errorf("span(%v) = %q, want %q", in, got, want)
		}
	}
	if got := times(9.04); got != "9.0×" {
		t.Errorf("times(9.04) = %q", got)
	}
}

// Against the campaign's baseline the usual is a guess (a reach factor, or
// none): a post far above it from the start, slowing down as ordinary
// posts do, is a big account the Detector does not know yet, not a post
// taking off. Measured on whole-pipeline runs, such posts were every false
// viral alert (seeds 301–305). The same account's post that speeds up is
// taking off.
func TestUnknownAccountsFastStartIsNotTakingOff(t *testing.T) {
	d := NewDetector(Config{})
	campaign(d, snapshot.Douyin, 3000)
	p := postSpec{snapshot.Douyin, "stranger", "stranger-1", t0.Add(time.Hour), ordinary(300_000, 6)}
	if evs := run(d, p, 10*time.Minute, 72*time.Hour); count(evs, KindViral, "") != 0 {
		t.Fatalf("a fast start slowing down like any post (100× the campaign's usual): %v, want no viral alert", evs)
	}
	q := postSpec{snapshot.Douyin, "stranger", "stranger-2", t0.Add(2 * time.Hour), takesOff(ordinary(3000, 8), 5, 60_000, 8)}
	evs := run(d, q, 10*time.Minute, 72*time.Hour)
	if count(evs, KindViral, StateOpen) != 1 {
		t.Fatalf("the same account's post taking off at 5 h: %v, want one viral alert", evs)
	}
	if age := evs[0].UpdatedAt.Sub(q.published); age < 5*time.Hour || age > 6*time.Hour+30*time.Minute {
		t.Errorf("opened at %v old, want within 90 min of the takeoff at 5 h", age)
	}
}
