package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"sort"
	"time"

	"github.com/tongxin/tongxin/snapshot"
)

// Detector turns applied snapshots into alert events. It is pure and
// deterministic — no I/O, no clock of its own: the same calls give the same
// events — and not safe for concurrent use: one goroutine (the aggregator's
// flush loop) owns it. The rules are documented on Config.
//
// Feed it every applied snapshot with Observe, in observed order per post,
// then call Evaluate with the current time to get the events that changed.
// After a restart, Restore the open alerts and the posts' history first.
type Detector struct {
	cfg   Config
	cps   []time.Duration // checkpoint ages, ascending
	cpH   []float64       // the same, in hours
	isLow []bool          // cps[i] is a low-reach age

	posts map[string]*post          // by platform:post_id
	plats map[string]*platformState // by platform
	ambs  map[string]*ambState      // by platform + "\x00" + ambassador
	dirty map[*post]struct{}        // posts with something to judge
	open  map[*post]struct{}        // posts with an open alert
	prune time.Time                 // when posts were last pruned
	stats Stats

	// OnExpectation, when set, receives every viral judgement's numbers:
	// what the post had against what was expected of it at its age (the
	// post_expected table, the 作品 dashboard's curve).
	OnExpectation func(Expectation)
}

// Expectation is one judged snapshot of a post against its baseline, in the
// platform's reach measure (Metric: plays, or likes on Weibo).
type Expectation struct {
	Platform, AmbassadorID, PostID string
	ObservedAt                     time.Time
	AgeHours                       float64
	Metric                         string
	Actual, Expected               float64
	Baseline                       string  // "own" or "campaign"
	Reach                          float64 // the reach factor a campaign baseline was scaled by
}

// Stats counts what the Detector saw and kept, for metrics and tests.
type Stats struct {
	Snapshots int64 // observed
	Ignored   int64 // not newer than the post's newest, no reach measure, or beyond the horizon
	Posts     int   // posts held
	Points    int   // snapshots held in the posts' short series

	CheckpointsMeasured int64
	// CheckpointsMissing counts checkpoints not measured: no snapshot near
	// the age (stale or missing data). No rule judges them.
	CheckpointsMissing int64
	// LowReachUnjudged counts measured low-reach checkpoints not judged:
	// too few comparable posts, or too small an expected counter.
	LowReachUnjudged int64
	Open             int // alerts open
}

// post is what the Detector keeps of one post.
type post struct {
	key, platform, amb, id string
	published              time.Time
	series                 []point // recent snapshots, ascending; the last is the newest
	cp                     []float64
	decided                uint64 // checkpoint i measured or found missing
	pending                uint64 // measured checkpoints still to judge for low reach
	mature                 float64
	hasMature              bool
	trimmed                bool // the series lost older points
	guessed                bool // restored without knowing its publication time
	newData                bool
	viral, low             *alertState
}

type point struct {
	at time.Time
	v  float64
}

// alertState is an open alert.
type alertState struct {
	id        string
	opened    time.Time
	last      Event     // the last event emitted
	coolSince time.Time // viral: first cool judgement of the current cool spell
}

type platformState struct {
	posts      []*post // newest published first
	vals       []*cpSet
	gains      []*cpSet
	dirty      bool
	reach      map[string]float64
	reachDirty bool
}

type ambState struct {
	posts []*post // newest published first
	vals  []*cpSet
	gains []*cpSet
	dirty bool
}

// NewDetector returns a Detector with cfg's zero fields set to the defaults.
func NewDetector(cfg Config) *Detector {
	cfg = cfg.withDefaults()
	set := map[time.Duration]bool{}
	for _, c := range cfg.Checkpoints {
		set[c] = true
	}
	for _, c := range cfg.LowReachAges {
		set[c] = true
	}
	d := &Detector{cfg: cfg, posts: map[string]*post{}, plats: map[string]*platformState{},
		ambs: map[string]*ambState{}, dirty: map[*post]struct{}{}, open: map[*post]struct{}{}}
	for c := range set {
		if c > 0 {
			d.cps = append(d.cps, c)
		}
	}
	sort.Slice(d.cps, func(i, j int) bool { return d.cps[i] < d.cps[j] })
	if len(d.cps) > 64 {
		d.cps = d.cps[:64]
	}
	low := map[time.Duration]bool{}
	for _, c := range cfg.LowReachAges {
		low[c] = true
	}
	for _, c := range d.cps {
		d.cpH = append(d.cpH, c.Hours())
		d.isLow = append(d.isLow, low[c])
	}
	return d
}

// Config returns the configuration in effect, defaults filled in.
func (d *Detector) Config() Config { return d.cfg }

// Stats returns the Detector's counters.
func (d *Detector) Stats() Stats {
	s := d.stats
	s.Posts = len(d.posts)
	s.Open = 0
	for p := range d.open {
		if p.viral != nil {
			s.Open++
		}
		if p.low != nil {
			s.Open++
		}
	}
	for _, p := range d.posts {
		s.Points += len(p.series)
	}
	return s
}

// reachValue is the snapshot's reach measure (plays, or likes where the
// platform's reach metric is likes).
func (d *Detector) reachValue(s *snapshot.Snapshot) (float64, bool) {
	var v *int64
	if d.cfg.ReachMetric[s.Platform] == MetricLikes {
		v = s.Likes
	} else {
		v = s.Plays
	}
	if v == nil {
		return 0, false
	}
	return float64(*v), true
}

// Observe takes one applied snapshot. Snapshots of a post must come in
// observed order; one not newer than the post's newest is ignored.
func (d *Detector) Observe(s *snapshot.Snapshot) {
	d.stats.Snapshots++
	v, ok := d.reachValue(s)
	if !ok || s.PostID == "" {
		d.stats.Ignored++
		return
	}
	d.observe(s.Platform, s.AmbassadorID, s.PostID, s.PublishedAt, s.ObservedAt, v, 0)
}

// observe adds one point; slack widens the checkpoint tolerance (Restore's
// hourly points). It reports whether the point was taken.
func (d *Detector) observe(platform, amb, id string, published, at time.Time, v float64, slack time.Duration) bool {
	age := at.Sub(published)
	if age < 0 || age > d.cfg.Horizon {
		d.stats.Ignored++
		return false
	}
	p := d.post(platform, amb, id, published)
	if p.guessed && len(p.series) == 0 {
		d.republish(p, published.UTC())
		age = at.Sub(p.published)
	}
	prev := point{at: p.published}
	if n := len(p.series); n > 0 {
		prev = p.series[n-1]
		if !at.After(prev.at) {
			d.stats.Ignored++
			return false
		}
	}
	prevAge := prev.at.Sub(p.published)
	for i, c := range d.cps {
		bit := uint64(1) << i
		if c > age {
			break
		}
		if p.decided&bit != 0 {
			continue
		}
		p.decided |= bit
		tol := max(d.cfg.CheckpointSlack, time.Duration(d.cfg.CheckpointTolerance*float64(c))) + slack
		if c-prevAge > tol || age-c > tol {
			d.stats.CheckpointsMissing++
			continue
		}
		f := 1.0
		if age > prevAge {
			f = float64(c-prevAge) / float64(age-prevAge)
		}
		p.cp[i] = prev.v + f*(v-prev.v)
		p.pending |= bit
		d.stats.CheckpointsMeasured++
		d.amb(p).dirty = true
		d.plat(p.platform).dirty = true
	}
	if !p.hasMature && age >= d.cfg.MatureAge {
		p.mature, p.hasMature = v, true
		d.plat(p.platform).reachDirty = true
	}
	p.series = append(p.series, point{at: at, v: v})
	d.trim(p)
	p.newData = true
	d.dirty[p] = struct{}{}
	return true
}

// trim keeps the points that cover two velocity windows (the velocity and
// the one before, for the acceleration): from the reference of the newest
// point's reference on, at most SeriesMax.
func (d *Detector) trim(p *post) {
	n := len(p.series)
	keep := 0
	if _, ri, ok := d.reference(p, n-1); ok && ri > 0 {
		if _, r0, ok := d.reference(p, ri); ok && r0 > 0 {
			keep = r0
		}
	}
	keep = max(keep, n-d.cfg.SeriesMax)
	if keep > 0 {
		p.series = append(p.series[:0], p.series[keep:]...)
		p.trimmed = true
	}
}

func (d *Detector) post(platform, amb, id string, published time.Time) *post {
	key := snapshot.Key(platform, id)
	if p, ok := d.posts[key]; ok {
		return p
	}
	p := &post{key: key, platform: platform, amb: amb, id: id, published: published.UTC(), cp: make([]float64, len(d.cps))}
	for i := range p.cp {
		p.cp[i] = math.NaN()
	}
	d.posts[key] = p
	ps, a := d.plat(platform), d.amb(p)
	ps.posts, a.posts = insertPost(ps.posts, p), insertPost(a.posts, p)
	return p
}

// insertPost inserts p into a list kept newest published first.
func insertPost(list []*post, p *post) []*post {
	i := sort.Search(len(list), func(i int) bool { return newer(p, list[i]) })
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = p
	return list
}

// republish corrects the publication time of a post restored without one.
func (d *Detector) republish(p *post, published time.Time) {
	p.guessed = false
	if published.Equal(p.published) {
		return
	}
	drop := func(list []*post) []*post {
		for i, q := range list {
			if q == p {
				return append(list[:i], list[i+1:]...)
			}
		}
		return list
	}
	ps, a := d.plat(p.platform), d.amb(p)
	ps.posts, a.posts = drop(ps.posts), drop(a.posts)
	p.published = published
	ps.posts, a.posts = insertPost(ps.posts, p), insertPost(a.posts, p)
	ps.dirty, a.dirty = true, true
}

// newer orders posts newest published first (then by id, for determinism).
func newer(p, q *post) bool {
	if !p.published.Equal(q.published) {
		return p.published.After(q.published)
	}
	return p.id > q.id
}

func (d *Detector) plat(platform string) *platformState {
	ps := d.plats[platform]
	if ps == nil {
		ps = &platformState{dirty: true, reachDirty: true, reach: map[string]float64{}}
		d.plats[platform] = ps
	}
	return ps
}

func (d *Detector) amb(p *post) *ambState {
	k := p.platform + "\x00" + p.amb
	a := d.ambs[k]
	if a == nil {
		a = &ambState{dirty: true}
		d.ambs[k] = a
	}
	return a
}

// valueAt is the post's counter at t, interpolated from its series
// (publication counts as 0).
func (p *post) valueAt(t time.Time) float64 {
	prev := point{at: p.published}
	for _, q := range p.series {
		if !q.at.Before(t) {
			if !t.After(prev.at) {
				return prev.v
			}
			f := float64(t.Sub(prev.at)) / float64(q.at.Sub(prev.at))
			return prev.v + f*(q.v-prev.v)
		}
		prev = q
	}
	return prev.v
}

func (p *post) newest() point { return p.series[len(p.series)-1] }

// --- baselines ---

func (d *Detector) refreshReach(ps *platformState) {
	if !ps.reachDirty {
		return
	}
	ps.reachDirty = false
	var all []float64
	byAmb := map[string][]float64{}
	for _, p := range ps.posts {
		if p.hasMature {
			all = append(all, p.mature)
			byAmb[p.amb] = append(byAmb[p.amb], p.mature)
		}
	}
	reach := map[string]float64{}
	if m := median(all); m > 0 {
		for amb, vals := range byAmb {
			if len(vals) >= d.cfg.MinReachPosts {
				if r := median(vals) / m; r > 0 {
					reach[amb] = r
				}
			}
		}
	}
	changed := len(reach) != len(ps.reach)
	for k, v := range reach {
		if ps.reach[k] != v {
			changed = true
		}
	}
	ps.reach = reach
	if changed {
		ps.dirty = true
	}
}

func (ps *platformState) reachOf(amb string) float64 {
	if r, ok := ps.reach[amb]; ok {
		return r
	}
	return 1
}

func (d *Detector) refreshCampaign(ps *platformState) {
	d.refreshReach(ps)
	if !ps.dirty {
		return
	}
	ps.dirty = false
	ps.vals, ps.gains = d.sets(ps.posts, d.cfg.CampaignPosts, ps.reachOf)
}

func (d *Detector) refreshOwn(a *ambState) {
	if !a.dirty {
		return
	}
	a.dirty = false
	a.vals, a.gains = d.sets(a.posts, d.cfg.OwnPosts, nil)
}

// sets gathers, per checkpoint, the counters and the gains of the n newest
// posts that have them measured, each divided by its ambassador's reach
// when reach is given.
func (d *Detector) sets(posts []*post, n int, reach func(amb string) float64) (vals, gains []*cpSet) {
	vals, gains = make([]*cpSet, len(d.cps)), make([]*cpSet, len(d.cps))
	for i := range d.cps {
		var vs, gs []float64
		vm, gm := map[*post]bool{}, map[*post]bool{}
		for _, p := range posts {
			if len(vs) >= n && len(gs) >= n {
				break
			}
			r := 1.0
			if reach != nil {
				r = reach(p.amb)
			}
			if v, ok := p.value(i); ok && len(vs) < n {
				vs = append(vs, v/r)
				vm[p] = true
			}
			if g, ok := p.gain(i); ok && len(gs) < n {
				gs = append(gs, g/r)
				gm[p] = true
			}
		}
		v, g := newCPSet(vs), newCPSet(gs)
		v.members, g.members = vm, gm
		vals[i], gains[i] = &v, &g
	}
	return vals, gains
}

// value is the post's counter at checkpoint i, if measured.
func (p *post) value(i int) (float64, bool) {
	return p.cp[i], !math.IsNaN(p.cp[i])
}

// gain is the post's gain from checkpoint i-1 (publication for i = 0) to
// checkpoint i, if both are measured.
func (p *post) gain(i int) (float64, bool) {
	if math.IsNaN(p.cp[i]) {
		return 0, false
	}
	if i == 0 {
		return p.cp[0], true
	}
	if math.IsNaN(p.cp[i-1]) {
		return 0, false
	}
	return p.cp[i] - p.cp[i-1], true
}

// baselines returns the post's own and campaign baselines, leaving the post
// itself out of both.
func (d *Detector) baselines(p *post) (own, camp *baseline) {
	ps := d.plat(p.platform)
	d.refreshCampaign(ps)
	a := d.amb(p)
	d.refreshOwn(a)
	r := ps.reachOf(p.amb)
	k := len(d.cps)
	own = &baseline{own: true, vals: a.vals, gains: a.gains, vskip: make([]int, k), gskip: make([]int, k), scale: 1, min: d.cfg.MinOwnPosts}
	camp = &baseline{vals: ps.vals, gains: ps.gains, vskip: make([]int, k), gskip: make([]int, k), scale: r, min: d.cfg.MinCampaignPosts}
	for i := range d.cps {
		v, _ := p.value(i)
		g, _ := p.gain(i)
		own.vskip[i] = a.vals[i].exclude(v, a.vals[i].members[p])
		own.gskip[i] = a.gains[i].exclude(g, a.gains[i].members[p])
		camp.vskip[i] = ps.vals[i].exclude(v/r, ps.vals[i].members[p])
		camp.gskip[i] = ps.gains[i].exclude(g/r, ps.gains[i].members[p])
	}
	return own, camp
}

// bracket returns the checkpoints around age a (hours): the last at or
// before it and the first at or after it (-1: none).
func (d *Detector) bracket(a float64) (lo, hi int) {
	lo, hi = -1, -1
	for i, c := range d.cpH {
		if c <= a {
			lo = i
		}
		if c >= a {
			hi = i
			break
		}
	}
	return lo, hi
}

// expected is the baseline's expected count at age a (hours): linear
// between measured checkpoints, from 0 at publication below the first one,
// flat beyond the last checkpoint, unknown beyond the last measured one
// otherwise. Counters do not fall, so neither does the expected curve: each
// checkpoint's value is at least the one before (the comparable posts
// differ from one checkpoint to the next).
func (d *Detector) expected(b *baseline, a float64) (float64, bool) {
	if a <= 0 {
		return 0, true
	}
	lo, hi := -1, -1
	var el, eh, run float64
	for i, c := range d.cpH {
		if !b.knownV(i) {
			continue
		}
		run = max(run, b.valueAt(i))
		if c <= a {
			lo, el = i, run
		}
		if c >= a {
			hi, eh = i, run
			break
		}
	}
	switch {
	case hi < 0 && lo == len(d.cpH)-1:
		return el, true
	case hi < 0:
		return 0, false
	case lo == hi:
		return eh, true
	case lo < 0:
		return eh * a / d.cpH[hi], true
	}
	return el + (eh-el)*(a-d.cpH[lo])/(d.cpH[hi]-d.cpH[lo]), true
}

// expectedGain is the baseline's expected gain from age x to age y (hours).
// Each checkpoint interval has an expected pace: the robust mean of the
// comparable posts' gains over it (posts measured at both its ends) ÷ its
// length, or, while too few posts have both (a cold start), the average
// pace from publication to the interval's end — more than a post's slowing
// pace really is, so it errs towards no alert. The pace is taken to hold at
// the middle of each interval and to change geometrically between middles
// (posts slow down roughly exponentially), flat before the first middle and
// after the last one, and nothing beyond the last checkpoint; the gain is
// its integral from x to y.
func (d *Detector) expectedGain(b *baseline, x, y float64) (float64, bool) {
	n := len(d.cpH)
	pace, known, mid := make([]float64, n), make([]bool, n), make([]float64, n)
	from := 0.0
	for i, c := range d.cpH {
		mid[i] = (from + c) / 2
		if b.knownG(i) {
			pace[i], known[i] = b.gainAt(i)/(c-from), true
		} else if e, ok := d.expected(b, c); ok {
			pace[i], known[i] = e/c, true
		}
		from = c
	}
	total := 0.0
	// Pieces between breakpoints: [0, mid 0] at pace 0, [mid k, mid k+1]
	// from pace k to pace k+1, [mid n-1, last checkpoint] at pace n-1.
	piece := func(a0, a1 float64, i0, i1 int) bool {
		u, w := max(x, a0), min(y, a1)
		if w <= u {
			return true
		}
		if !known[i0] || !known[i1] {
			return false
		}
		v0, v1 := pace[i0], pace[i1]
		if v0 <= 0 || v1 <= 0 || v0 == v1 || a1 <= a0 {
			// Linear between the ends (exact for a constant pace).
			at := func(a float64) float64 {
				if a1 <= a0 {
					return v0
				}
				return v0 + (v1-v0)*(a-a0)/(a1-a0)
			}
			total += (at(u) + at(w)) / 2 * (w - u)
			return true
		}
		k := math.Log(v1/v0) / (a1 - a0)
		total += v0 / k * (math.Exp(k*(w-a0)) - math.Exp(k*(u-a0)))
		return true
	}
	if !piece(0, mid[0], 0, 0) {
		return 0, false
	}
	for i := 0; i+1 < n; i++ {
		if !piece(mid[i], mid[i+1], i, i+1) {
			return 0, false
		}
	}
	if !piece(mid[n-1], d.cpH[n-1], n-1, n-1) {
		return 0, false
	}
	return max(total, 0), true
}

// covers reports whether the own baseline can judge the span from age x to
// age y on its own: the counters around y and the gains over the span are
// known from enough of the ambassador's posts.
func (d *Detector) covers(b *baseline, x, y float64) bool {
	lo, hi := d.bracket(y)
	for _, i := range []int{lo, hi} {
		if i >= 0 && !b.knownV(i) {
			return false
		}
	}
	from := 0.0
	for i, c := range d.cpH {
		if min(y, c)-max(x, from) > 0 && !b.knownG(i) {
			return false
		}
		from = c
	}
	return true
}

// --- evaluation ---

// Evaluate judges every post with new data at now and returns the alert
// events that changed: opened, updated or resolved, in a stable order.
func (d *Detector) Evaluate(now time.Time) []Event {
	now = now.UTC()
	var out []Event
	todo := make([]*post, 0, len(d.dirty))
	for p := range d.dirty {
		todo = append(todo, p)
	}
	for p := range d.open {
		if _, ok := d.dirty[p]; !ok && now.Sub(p.published) >= d.cfg.ExpireAfter {
			todo = append(todo, p)
		}
	}
	sort.Slice(todo, func(i, j int) bool { return todo[i].key < todo[j].key })
	for _, p := range todo {
		out = append(out, d.judge(p, now)...)
	}
	clear(d.dirty)
	if now.Sub(d.prune) >= time.Hour {
		d.prune = now
		d.pruneOld(now)
	}
	return out
}

func (d *Detector) judge(p *post, now time.Time) []Event {
	var out []Event
	if len(p.series) == 0 {
		// A restored alert whose post has sent nothing since: it can only expire.
		if now.Sub(p.published) >= d.cfg.ExpireAfter {
			for _, kind := range []string{KindViral, KindLowReach} {
				if a := p.alert(kind); a != nil {
					out = append(out, d.emit(p, kind, StateResolved, a, now, d.expireReason(p, now), a.last.Score))
				}
			}
		}
		return out
	}
	own, camp := d.baselines(p)
	for i := range d.cps {
		bit := uint64(1) << i
		if p.pending&bit == 0 {
			continue
		}
		p.pending &^= bit
		if ev, ok := d.judgeLow(p, i, own, camp, now); ok {
			out = append(out, ev)
		}
	}
	if p.newData {
		p.newData = false
		if ev, ok := d.judgeViral(p, own, camp, now); ok {
			out = append(out, ev)
		}
	}
	if now.Sub(p.published) >= d.cfg.ExpireAfter {
		for _, kind := range []string{KindViral, KindLowReach} {
			if a := p.alert(kind); a != nil {
				reason := d.expireReason(p, now)
				out = append(out, d.emit(p, kind, StateResolved, a, now, reason, a.last.Score))
			}
		}
	}
	return out
}

func (p *post) alert(kind string) *alertState {
	if kind == KindViral {
		return p.viral
	}
	return p.low
}

func (p *post) setAlert(kind string, a *alertState) {
	if kind == KindViral {
		p.viral = a
	} else {
		p.low = a
	}
}

// viralNumbers is one viral judgement.
type viralNumbers struct {
	age              float64 // hours, at the newest snapshot
	actual, expected float64
	ratio            float64
	span             time.Duration // the velocity's window: from the reference snapshot to the newest
	gain             float64       // over the span
	velocity, expVel float64       // per hour
	vratio           float64
	accel            float64 // velocity ÷ the velocity over the window before (0: unknown)
	own              bool
	ownN             int
	reach            float64
	hot, cool        bool
}

// reference is the snapshot a velocity ending at the series' point end is
// measured from: the newest at least VelocityWindow before it (publication,
// a counter of 0, when there is none), so the velocity is taken between two
// real observations and compared with the expected gain over the same ages.
// ok is false when the series no longer reaches back that far.
func (d *Detector) reference(p *post, end int) (ref point, at int, ok bool) {
	from := p.series[end].at.Add(-d.cfg.VelocityWindow)
	for i := end - 1; i >= 0; i-- {
		if !p.series[i].at.After(from) {
			return p.series[i], i, true
		}
	}
	if p.trimmed {
		if end > 0 {
			return p.series[0], 0, false
		}
		return point{}, -1, false
	}
	return point{at: p.published}, -1, true
}

func (d *Detector) viralNumbers(p *post, own, camp *baseline) (viralNumbers, bool) {
	newest := p.newest()
	n := viralNumbers{age: newest.at.Sub(p.published).Hours(), actual: newest.v}
	if newest.at.Sub(p.published) < d.cfg.ViralMinAge {
		return n, false
	}
	last := len(p.series) - 1
	ref, ri, _ := d.reference(p, last)
	n.span = newest.at.Sub(ref.at)
	if n.span <= 0 {
		return n, false
	}
	if ri >= 0 {
		// The velocity over the window before, from the series alone.
		if ref0, _, ok := d.reference(p, ri); ok && ref.at.After(ref0.at) {
			if prev := (ref.v - ref0.v) / ref.at.Sub(ref0.at).Hours(); prev > 0 {
				n.accel = (newest.v - ref.v) / n.span.Hours() / prev
			}
		}
	}
	sh := n.span.Hours()
	x := ref.at.Sub(p.published).Hours()
	b := camp
	if d.covers(own, x, n.age) {
		b = own
	}
	e, ok1 := d.expected(b, n.age)
	eg, ok2 := d.expectedGain(b, x, n.age)
	if !ok1 || !ok2 || e <= 0 {
		return n, false
	}
	n.own, n.reach = b.own, b.scale
	if b.own {
		if _, hi := d.bracket(n.age); hi >= 0 {
			n.ownN = b.vals[hi].n(b.vskip[hi])
		} else {
			last := len(d.cps) - 1
			n.ownN = b.vals[last].n(b.vskip[last])
		}
	}
	n.expected = e
	n.ratio = n.actual / e
	n.gain = newest.v - ref.v
	n.velocity = n.gain / sh
	n.expVel = max(eg/sh, d.cfg.MinExpectedGrowth*e)
	n.vratio = n.velocity / n.expVel
	f := d.cfg.Floors[p.platform]
	extra := n.velocity - n.expVel
	floors := n.actual >= float64(f.Total) && extra >= f.PerHour
	// Against the campaign's posts the usual is a guess scaled by a reach
	// factor: a post must also show it is speeding up, from two of its own
	// observations, before "far above usual" counts as taking off.
	confirmed := b.own || n.accel >= d.cfg.ViralCampaignAcceleration
	n.hot = floors && (n.ratio >= d.cfg.ViralRatio && n.vratio >= d.cfg.ViralVelocityRatio && confirmed ||
		n.vratio >= d.cfg.ViralAccelVelocityRatio && n.accel >= d.cfg.ViralAcceleration)
	n.cool = n.vratio < d.cfg.ViralResolveVelocityRatio || extra < f.PerHour
	return n, true
}

func (d *Detector) judgeViral(p *post, own, camp *baseline, now time.Time) (Event, bool) {
	a := p.viral
	newest := p.newest()
	if a == nil && newest.at.Sub(p.published) > d.cfg.MaxAlertAge {
		return Event{}, false
	}
	n, ok := d.viralNumbers(p, own, camp)
	if !ok {
		return Event{}, false
	}
	if d.OnExpectation != nil && n.expected > 0 {
		b := "campaign"
		if n.own {
			b = "own"
		}
		d.OnExpectation(Expectation{Platform: p.platform, AmbassadorID: p.amb, PostID: p.id,
			ObservedAt: newest.at, AgeHours: n.age, Metric: d.cfg.ReachMetric[p.platform],
			Actual: n.actual, Expected: n.expected, Baseline: b, Reach: n.reach})
	}
	if a == nil {
		if !n.hot {
			return Event{}, false
		}
		a = &alertState{id: alertID(KindViral, p, now), opened: now}
		p.viral = a
		d.open[p] = struct{}{}
		return d.emit(p, KindViral, StateOpen, a, now, d.viralReason(p, n, now, StateOpen), n.ratio), true
	}
	if n.cool {
		if a.coolSince.IsZero() {
			a.coolSince = newest.at
		}
		if newest.at.Sub(a.coolSince) >= d.cfg.ViralResolveAfter {
			return d.emit(p, KindViral, StateResolved, a, now, d.viralReason(p, n, now, StateResolved), n.ratio), true
		}
		return Event{}, false
	}
	a.coolSince = time.Time{}
	if d.material(a, n.ratio, n.actual, now) {
		return d.emit(p, KindViral, StateUpdate, a, now, d.viralReason(p, n, now, StateUpdate), n.ratio), true
	}
	return Event{}, false
}

// material reports whether an open alert's numbers moved enough, long
// enough after its last event, to be worth an update.
func (d *Detector) material(a *alertState, score, plays float64, now time.Time) bool {
	if now.Sub(a.last.UpdatedAt) < d.cfg.UpdateEvery {
		return false
	}
	f := d.cfg.UpdateFactor
	moved := func(x, y float64) bool {
		if y <= 0 {
			return x > 0
		}
		return x >= y*f || x <= y/f
	}
	return moved(score, a.last.Score) || moved(plays, float64(a.last.Plays))
}

// lowNumbers is one low-reach judgement at a checkpoint.
type lowNumbers struct {
	checkpoint time.Duration
	value      float64 // the post's count at the checkpoint
	pct        float64
	expected   float64 // counts
	p10        float64 // the low percentile of the comparables, in counts
	share      float64
	n          int
	own        bool
	reach      float64
}

func (d *Detector) judgeLow(p *post, i int, own, camp *baseline, now time.Time) (Event, bool) {
	c := d.cps[i]
	opening := d.isLow[i] && c <= d.cfg.MaxAlertAge
	if p.low == nil && !opening {
		return Event{}, false
	}
	b := camp
	if own.knownV(i) {
		b = own
	}
	if !b.knownV(i) {
		if opening {
			d.stats.LowReachUnjudged++
		}
		return Event{}, false
	}
	set, skip := b.vals[i], b.vskip[i]
	v := p.cp[i]
	nv := v / b.scale
	n := lowNumbers{checkpoint: c, value: v, n: set.n(skip), own: b.own, reach: b.scale,
		pct: set.percentile(nv, skip), expected: set.iqm(skip) * b.scale,
		p10: set.quantile(d.cfg.LowReachPercentile/100, skip) * b.scale}
	if n.expected > 0 {
		n.share = v / n.expected
	} else {
		n.share = 1
	}
	if opening && p.low == nil && n.expected < d.cfg.LowReachMinExpected[p.platform] {
		d.stats.LowReachUnjudged++ // too few to tell a flop from a slow start
		return Event{}, false
	}
	maxShare := d.lowMaxShare(c)
	low := n.pct <= d.cfg.LowReachPercentile && n.share <= maxShare ||
		n.pct <= d.cfg.LowReachBottomPercentile && n.share <= d.cfg.LowReachBottomFactor*maxShare && n.n >= d.cfg.LowReachBottomMin
	a := p.low
	switch {
	case a == nil && low && opening:
		a = &alertState{id: alertID(KindLowReach, p, now), opened: now}
		p.low = a
		d.open[p] = struct{}{}
		return d.emit(p, KindLowReach, StateOpen, a, now, d.lowReason(p, n, now, StateOpen), n.pct), true
	case a == nil:
		return Event{}, false
	case n.pct >= d.cfg.LowReachResolvePercentile && n.share >= d.cfg.LowReachResolveShare:
		return d.emit(p, KindLowReach, StateResolved, a, now, d.lowReason(p, n, now, StateResolved), n.pct), true
	case d.isLow[i]:
		return d.emit(p, KindLowReach, StateUpdate, a, now, d.lowReason(p, n, now, StateUpdate), n.pct), true
	}
	return Event{}, false
}

// lowMaxShare is the largest share of the expected counter a post of age c
// may have to be low: LowReachYoungShare at 1 h and younger, LowReachMaxShare
// at LowReachMatureAge and older, log-linear in age between.
func (d *Detector) lowMaxShare(c time.Duration) float64 {
	young, mature := d.cfg.LowReachYoungShare, d.cfg.LowReachMaxShare
	span := math.Log(d.cfg.LowReachMatureAge.Hours())
	if c <= time.Hour || span <= 0 {
		return young
	}
	if c >= d.cfg.LowReachMatureAge {
		return mature
	}
	return young + (mature-young)*math.Log(c.Hours())/span
}

// emit makes the event of a change to an alert and records it; a resolved
// alert is forgotten. UpdatedAt strictly grows per alert, so the alerts
// table's newest row is always the latest state.
func (d *Detector) emit(p *post, kind, state string, a *alertState, now time.Time, reason string, score float64) Event {
	newest := point{at: a.last.UpdatedAt.Add(-a.last.DataAge), v: float64(a.last.Plays)}
	if len(p.series) > 0 {
		newest = p.newest()
	}
	at := now
	if !a.last.UpdatedAt.IsZero() && !at.After(a.last.UpdatedAt) {
		at = a.last.UpdatedAt.Add(time.Millisecond)
	}
	ev := Event{
		Schema: 1, AlertID: a.id, Kind: kind, State: state,
		Platform: p.platform, AmbassadorID: p.amb, PostID: p.id,
		PublishedAt: p.published, OpenedAt: a.opened, UpdatedAt: at,
		Reason: reason, Score: round3(score), DataAge: max(0, now.Sub(newest.at)),
		Plays: int64(math.Round(newest.v)),
	}
	if state == StateResolved {
		r := at
		ev.ResolvedAt = &r
		p.setAlert(kind, nil)
		if p.viral == nil && p.low == nil {
			delete(d.open, p)
		}
	} else {
		a.last = ev
	}
	return ev
}

func round3(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return math.Round(x*1000) / 1000
}

// alertID names an alert: its kind, and a digest of the post and the
// moment it opened (a post may have a second alert of a kind later).
func alertID(kind string, p *post, opened time.Time) string {
	h := sha256.Sum256([]byte(p.platform + "\x00" + p.id + "\x00" + opened.UTC().Format(time.RFC3339Nano)))
	return kind + "-" + hex.EncodeToString(h[:10])
}

// pruneOld drops posts published more than Horizon before now.
func (d *Detector) pruneOld(now time.Time) {
	cut := now.Add(-d.cfg.Horizon)
	for _, ps := range d.plats {
		n := len(ps.posts)
		for n > 0 && ps.posts[n-1].published.Before(cut) {
			n--
		}
		if n == len(ps.posts) {
			continue
		}
		for _, p := range ps.posts[n:] {
			delete(d.posts, p.key)
			delete(d.dirty, p)
			delete(d.open, p)
			a := d.amb(p)
			m := len(a.posts)
			for m > 0 && a.posts[m-1].published.Before(cut) {
				m--
			}
			a.posts = a.posts[:m]
			a.dirty = true
		}
		clear(ps.posts[n:])
		ps.posts = ps.posts[:n]
		ps.dirty, ps.reachDirty = true, true
	}
}
