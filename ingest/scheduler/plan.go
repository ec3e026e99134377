// Package scheduler decides which platform request to make next and makes
// it: listing accounts to find new posts, and fetching the counters of the
// posts that most need a fresh snapshot, within the platform's request
// budget. The decisions (Planner) are pure functions of the campaign clock,
// so they can be replayed in a benchmark; the Runner does the I/O. Every
// duration of the planner (intervals, ListEvery, backoffs, pauses, ParkFor)
// is campaign time; only the Runner's RequestTimeout is wall time.
package scheduler

import (
	"errors"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/snapshot"
)

// Policy chooses how often a post wants a fresh snapshot.
type Policy interface {
	// Interval is how stale the post may get before it is due.
	Interval(p *PostState, now time.Time) time.Duration
	Name() string
}

// Adaptive polls young and moving posts often and old, still ones rarely.
type Adaptive struct {
	// Bands are the intervals by post age: the first band whose MaxAge the
	// post is younger than applies.
	Bands []Band
	// MaxInterval bounds the interval after slowing down for still posts.
	MaxInterval time.Duration
}

// Band is one age band of Adaptive.
type Band struct {
	MaxAge   time.Duration
	Interval time.Duration
}

// DefaultAdaptive is the policy `tongxin ingest` uses unless configured.
func DefaultAdaptive() *Adaptive {
	return &Adaptive{
		Bands: []Band{
			{time.Hour, 5 * time.Minute},
			{6 * time.Hour, 8 * time.Minute},
			{24 * time.Hour, 10 * time.Minute},
			{72 * time.Hour, 2 * time.Hour},
			{7 * 24 * time.Hour, 6 * time.Hour},
		},
		MaxInterval: 24 * time.Hour,
	}
}

func (a *Adaptive) Name() string { return "adaptive" }

func (a *Adaptive) Interval(p *PostState, now time.Time) time.Duration {
	age := now.Sub(p.Post.PublishedAt)
	iv := a.MaxInterval
	for _, b := range a.Bands {
		if age < b.MaxAge {
			iv = b.Interval
			break
		}
	}
	return a.adjust(p, iv)
}

// minInterval is the shortest Interval the post can have from now on while
// nothing is learnt of it: any band it may still age into, or MaxInterval.
// The planner uses it as a lower bound of when the post is next due.
func (a *Adaptive) minInterval(p *PostState, now time.Time) time.Duration {
	age := now.Sub(p.Post.PublishedAt)
	iv := a.MaxInterval
	for _, b := range a.Bands {
		if age < b.MaxAge {
			iv = min(iv, b.Interval)
		}
	}
	return a.adjust(p, iv)
}

// adjust applies what the post's recent snapshots say to its band's interval.
func (a *Adaptive) adjust(p *PostState, iv time.Duration) time.Duration {
	// A post that stopped moving is polled less: twice as rarely for each
	// unchanged snapshot in a row, up to 8 times.
	if p.Unchanged > 0 {
		iv <<= min(p.Unchanged, 3)
	}
	// A post that speeds up is polled twice as often: that is when a post
	// takes off, and the office wants to know within one interval.
	if p.Accelerating {
		iv /= 2
	}
	return min(iv, a.MaxInterval)
}

// RoundRobin polls every post in turn, oldest snapshot first: the baseline
// the adaptive policy is measured against.
type RoundRobin struct{}

func (RoundRobin) Name() string                                 { return "round-robin" }
func (RoundRobin) Interval(*PostState, time.Time) time.Duration { return 0 }

// AgeBand names a post's age band for metrics.
func AgeBand(age time.Duration) string {
	switch {
	case age < time.Hour:
		return "1h"
	case age < 6*time.Hour:
		return "6h"
	case age < 24*time.Hour:
		return "24h"
	case age < 7*24*time.Hour:
		return "7d"
	}
	return "older"
}

// PostState is what the planner knows of one post.
type PostState struct {
	Post         ingest.Post
	LastObserved time.Time // observed_at of the newest snapshot
	Plays        *int64    // its plays (or likes where a platform has no plays)
	Velocity     float64   // plays per hour between the last two snapshots
	Accelerating bool      // the velocity grew by half or more
	Unchanged    int       // snapshots in a row without any change
	Failures     int       // failed fetches in a row
	RetryAt      time.Time // no fetch before this (backoff)
	Gone         bool      // deleted, or the platform no longer returns it: not polled
	Private      bool      // the author hid it: probed every PrivateProbe
	GaveUp       bool      // failed MaxFailures times: reported, probed daily
}

// accountState is what the planner knows of one account.
type accountState struct {
	acct        roster.Account
	posts       map[string]*PostState
	sorted      []*PostState // posts newest first; nil when posts changed
	nextList    time.Time
	lastList    time.Time
	cursor      string // "" or the next page of a discovery in progress
	failures    int
	pausedUntil time.Time
	// quietUntil is a time before which none of the account's posts is due
	// (a lower bound, campaign clock), so Next skips the account's posts
	// until then; zero when unknown. Anything learnt of the account resets
	// it. At 100× the seed campaign this turns Next from a scan of every
	// post (14 ms for 34,000 posts) into a scan of the accounts.
	quietUntil time.Time
}

// farFuture is quietUntil of an account with no post to poll.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// Kind of a Task.
type TaskKind int

const (
	TaskList TaskKind = iota
	TaskFetch
)

// Task is one request the planner wants made.
type Task struct {
	Kind    TaskKind
	Account roster.Account
	Cursor  string        // TaskList
	Posts   []ingest.Post // TaskFetch
	// Lag is how overdue the most urgent post of a fetch was.
	Lag time.Duration
}

// Config tunes a Planner.
type Config struct {
	Policy   Policy
	MaxBatch int
	// ListEvery is how often each account's newest page is listed to find
	// new posts (default 1h, campaign clock). It is what the listing wants;
	// ListFloor is what it is guaranteed.
	ListEvery time.Duration
	// PageSize is how many of an account's newest posts one listing page
	// carries counters for (default 10).
	PageSize int
	// MaxFailures in a row make a post reported and parked.
	MaxFailures int
	// ParkFor is how long a parked post, a blocked account or a platform
	// that withdrew a capability waits before a probe (campaign clock).
	ParkFor time.Duration
	// PrivateProbe is how often a post its author made private is asked
	// about, in case it is made public again (default 6h, campaign clock).
	PrivateProbe time.Duration
	// Seed makes the backoff jitter repeatable.
	Seed uint64
}

// ListFloor is how long an account may go unlisted before its listing
// outranks every value-ranked task: 2×ListEvery, campaign clock. An
// account listed at t is listed again by t + ListFloor + N/B (N accounts
// of the planner, B requests per hour; see the README's "The request
// budget"), whatever young posts want, while its listings succeed.
func (c Config) ListFloor() time.Duration {
	c.defaults()
	return 2 * c.ListEvery
}

func (c *Config) defaults() {
	if c.Policy == nil {
		c.Policy = DefaultAdaptive()
	}
	if c.MaxBatch < 1 {
		c.MaxBatch = 1
	}
	if c.ListEvery <= 0 {
		c.ListEvery = time.Hour
	}
	if c.PageSize <= 0 {
		c.PageSize = 10
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = 8
	}
	if c.ParkFor <= 0 {
		c.ParkFor = 24 * time.Hour
	}
	if c.PrivateProbe <= 0 {
		c.PrivateProbe = 6 * time.Hour
	}
}

// Planner decides one platform's requests. It is not safe for concurrent
// use: one Runner goroutine owns it.
type Planner struct {
	platform    string
	cfg         Config
	listFloor   time.Duration // cfg.ListFloor(), asked on every decision
	accounts    []*accountState
	pausedUntil time.Time
	rng         *rand.Rand
	// aside holds what is known of accounts SetAccounts took away, should
	// they come back (the replica's shards are handed round again).
	aside map[roster.Account]*accountState
	// scanAll makes Next scan every post, as before quietUntil: the
	// reference a test holds the skipping Next to.
	scanAll bool
}

// NewPlanner plans requests for the given accounts of one platform.
func NewPlanner(platform string, accounts []roster.Account, cfg Config) *Planner {
	cfg.defaults()
	p := &Planner{platform: platform, cfg: cfg, listFloor: cfg.ListFloor(), rng: rand.New(rand.NewPCG(cfg.Seed, 0xb0ff))}
	for _, a := range accounts {
		p.accounts = append(p.accounts, &accountState{acct: a, posts: map[string]*PostState{}})
	}
	return p
}

// SetAccounts makes accts the accounts the planner plans for from now on:
// an ingest replica's shards changed. What the planner knows of an account
// that stays (its posts, their counters, backoffs and pauses) is kept. A new
// account is listed at once, which walks its history and finds its posts. An
// account that leaves is set aside; should it come back, its posts are known
// again, but it is listed at once too, for another replica polled it in the
// meantime and new posts may have come.
func (p *Planner) SetAccounts(accts []roster.Account) {
	old := make(map[roster.Account]*accountState, len(p.accounts))
	for _, a := range p.accounts {
		old[a.acct] = a
	}
	if p.aside == nil {
		p.aside = map[roster.Account]*accountState{}
	}
	next := make([]*accountState, 0, len(accts))
	for _, acct := range accts {
		a, ok := old[acct]
		switch {
		case ok:
			delete(old, acct)
		case p.aside[acct] != nil:
			a = p.aside[acct]
			delete(p.aside, acct)
			a.nextList, a.cursor, a.quietUntil = time.Time{}, "", time.Time{}
		default:
			a = &accountState{acct: acct, posts: map[string]*PostState{}}
		}
		next = append(next, a)
	}
	for acct, a := range old {
		p.aside[acct] = a
	}
	p.accounts = next
}

// Accounts lists the accounts the planner plans for.
func (p *Planner) Accounts() []roster.Account {
	out := make([]roster.Account, len(p.accounts))
	for i, a := range p.accounts {
		out[i] = a.acct
	}
	return out
}

// Posts calls fn for every known post of the ambassadors' accounts
// planned for (an official account's reposts are not polled posts).
func (p *Planner) Posts(fn func(*PostState)) {
	for _, a := range p.accounts {
		if a.acct.Official {
			continue
		}
		for _, ps := range a.posts {
			fn(ps)
		}
	}
}

// Next returns the most urgent task at now, or ok=false and when to ask again.
//
// Under the adaptive policy every task competes on one score, staleness
// divided by the wanted interval: an account's listing scores for finding
// new posts (due every ListEvery) and for refreshing its PageSize newest
// posts, whose counters the listing carries; a fetch scores by the most
// urgent of the account's other posts. The floor bounds that ranking: a
// listing overdue past ListFloor outranks every such score, so young posts
// cannot keep an account unlisted however tight the budget. Round-robin
// (ordered by age alone, the benchmarks' baseline) lists each account's
// first page (finding new posts and polling the newest) and
// fetches the posts beyond the first page in turn: whatever was polled
// longest ago goes next, listing or fetch.
func (p *Planner) Next(now time.Time) (t Task, ok bool, wake time.Time) {
	wake = now.Add(time.Minute)
	if now.Before(p.pausedUntil) {
		return t, false, p.pausedUntil
	}
	_, roundRobin := p.cfg.Policy.(RoundRobin)

	var best *accountState
	bestScore, bestList := 0.0, false
	consider := func(a *accountState, score float64, list bool) {
		if score > bestScore || (score == bestScore && list && !bestList) {
			best, bestScore, bestList = a, score, list
		}
	}
	for _, a := range p.accounts {
		if now.Before(a.pausedUntil) {
			wake = minTime(wake, a.pausedUntil)
			continue
		}
		if a.acct.Official {
			// An official account (roster officials): only its newest page,
			// every ListEvery, for the reposts on it; its statuses are
			// never fetched by id (statuses/count does not say what a
			// status reposted) and its history is not walked. It competes
			// like an ordinary due post, below finding ambassadors' posts,
			// until it is overdue past the floor, as any account.
			if now.Before(a.nextList) {
				wake = minTime(wake, a.nextList)
			} else if f, over := p.floor(a, now); over && !roundRobin {
				consider(a, f, true)
			} else {
				consider(a, 1+float64(now.Sub(a.nextList))/float64(p.cfg.ListEvery), true)
			}
			continue
		}
		if a.cursor != "" {
			consider(a, 1e12, true) // a discovery walking pages goes on at once
			continue
		}
		if !roundRobin && !p.scanAll && now.Before(a.nextList) && now.Before(a.quietUntil) {
			wake = minTime(wake, minTime(a.nextList, a.quietUntil))
			continue
		}
		list := 0.0
		switch {
		case roundRobin:
			// In turn with the posts: the listing is polling the first page.
			list = 1 + now.Sub(a.lastList).Seconds()
			if a.lastList.IsZero() {
				list = 1e9
			}
		case !now.Before(a.nextList):
			list = (1 + float64(now.Sub(a.nextList))/float64(p.cfg.ListEvery)) * discoveryWeight
		default:
			wake = minTime(wake, a.nextList)
		}
		fetch := 0.0
		quiet, anyDue := farFuture, false
		for i, ps := range a.newestFirst() {
			s, due := p.score(ps, now, roundRobin)
			if !due {
				if !ps.Gone {
					wake = minTime(wake, p.dueAt(ps, now, roundRobin))
					quiet = minTime(quiet, p.earliestDue(ps, now))
				}
				continue
			}
			anyDue = true
			if roundRobin && i < p.cfg.PageSize {
				continue // the listing polls the first page
			}
			if !roundRobin {
				s *= weight(ps, now)
			}
			if !roundRobin && i < p.cfg.PageSize && a.nextListOK(now) {
				list = max(list, s) // the listing refreshes it for free
			} else {
				fetch = max(fetch, s)
			}
		}
		if anyDue {
			quiet = time.Time{}
		}
		a.quietUntil = quiet
		if f, over := p.floor(a, now); over && !roundRobin {
			list = f
		}
		if list >= 1 {
			consider(a, list, true)
		}
		if fetch >= 1 {
			consider(a, fetch, false)
		}
	}
	if best == nil {
		return t, false, wake
	}
	if bestList {
		return Task{Kind: TaskList, Account: best.acct, Cursor: best.cursor}, true, now
	}

	// The account's other posts fill the batch: the due ones first, most
	// valuable first (the weighted score the account won by, so a batch
	// smaller than what is due takes the young posts), then those past half
	// their interval (they would be due soon anyway).
	type cand struct {
		ps    *PostState
		score float64
		due   bool
	}
	var cands []cand
	for i, ps := range best.newestFirst() {
		if i < p.cfg.PageSize && (roundRobin || best.nextListOK(now)) {
			continue
		}
		s, due := p.score(ps, now, roundRobin)
		if due || (!roundRobin && s >= 0.5 && !ps.GaveUp && !ps.Gone && !now.Before(ps.RetryAt)) {
			if !roundRobin {
				s *= weight(ps, now)
			}
			cands = append(cands, cand{ps, s, due})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].due != cands[j].due {
			return cands[i].due
		}
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return cands[i].ps.Post.PostID < cands[j].ps.Post.PostID
	})
	t = Task{Kind: TaskFetch, Account: best.acct}
	for _, c := range cands[:min(len(cands), p.cfg.MaxBatch)] {
		t.Posts = append(t.Posts, c.ps.Post)
	}
	if top := cands[0].ps; !roundRobin && !top.LastObserved.IsZero() {
		t.Lag = max(0, now.Sub(top.LastObserved)-p.cfg.Policy.Interval(top, now))
	}
	return t, true, now
}

// newestFirst returns the account's posts that are still polled, newest first.
func (a *accountState) newestFirst() []*PostState {
	if a.sorted == nil {
		for _, ps := range a.posts {
			a.sorted = append(a.sorted, ps)
		}
		sort.Slice(a.sorted, func(i, j int) bool {
			x, y := a.sorted[i].Post, a.sorted[j].Post
			if !x.PublishedAt.Equal(y.PublishedAt) {
				return x.PublishedAt.After(y.PublishedAt)
			}
			return x.PostID > y.PostID
		})
	}
	return a.sorted
}

// When more is due than the budget allows, young posts and finding new
// posts go first: a due task's urgency is multiplied by its weight. (Weights
// change the order of due tasks only, never when a task is due.)
const (
	youngWeight     = 4 // posts under a day old: when the office acts on them
	discoveryWeight = 2 // listing for new posts
)

// floorScore is the score of a listing overdue past the floor: above
// every value-ranked task (a never-observed young post scores 4e6), below
// a discovery walking pages (1e12), which is a listing too and ends soon.
const floorScore = 1e9

// floor reports whether a's listing is overdue past ListFloor at now and,
// if so, its score: floorScore plus the seconds overdue, so the account
// overdue longest goes first (earliest deadline first: each account ahead
// of it is listed once, which bounds its wait by N/B). A listing backing
// off after a failure (nextList ahead) waits for its backoff. The fast path
// of Next may skip an account while now is before its nextList: the floor
// never applies then.
func (p *Planner) floor(a *accountState, now time.Time) (float64, bool) {
	if now.Before(a.nextList) {
		return 0, false
	}
	over := now.Sub(a.lastList) - p.listFloor // time.Sub saturates for a never-listed account
	if over < 0 {
		return 0, false
	}
	return floorScore + over.Seconds(), true
}

func weight(ps *PostState, now time.Time) float64 {
	if now.Sub(ps.Post.PublishedAt) < 24*time.Hour {
		return youngWeight
	}
	return 1
}

// minRefreshGap keeps listings made to refresh the newest posts apart, so a
// listing that did not carry a post's counters is not repeated in a loop.
const minRefreshGap = time.Minute

// nextListOK reports whether a listing may be made now to refresh the
// newest posts: it is not backing off, and the last one is a minute old.
func (a *accountState) nextListOK(now time.Time) bool {
	return (a.failures == 0 || !now.Before(a.nextList)) && now.Sub(a.lastList) >= minRefreshGap
}

// score is how urgent a post is at now and whether it is due at all.
func (p *Planner) score(ps *PostState, now time.Time, roundRobin bool) (float64, bool) {
	if ps.Gone || now.Before(ps.RetryAt) {
		return 0, false
	}
	if ps.LastObserved.IsZero() {
		return 1e6, true // never observed: most urgent
	}
	stale := now.Sub(ps.LastObserved)
	if roundRobin {
		return 1 + stale.Seconds(), true
	}
	s := float64(stale) / float64(p.cfg.Policy.Interval(ps, now))
	return s, s >= 1
}

// earliestDue is a time before which the post is certainly not due, for
// quietUntil: its backoff's end, or its last snapshot plus the shortest
// interval the policy may give it from now on (none known: now).
func (p *Planner) earliestDue(ps *PostState, now time.Time) time.Time {
	if now.Before(ps.RetryAt) {
		return ps.RetryAt
	}
	if a, ok := p.cfg.Policy.(*Adaptive); ok && !ps.LastObserved.IsZero() {
		return ps.LastObserved.Add(a.minInterval(ps, now))
	}
	return now
}

func (p *Planner) dueAt(ps *PostState, now time.Time, roundRobin bool) time.Time {
	if now.Before(ps.RetryAt) {
		return ps.RetryAt
	}
	return ps.LastObserved.Add(p.cfg.Policy.Interval(ps, now))
}

// Result is what came of a task.
type Result struct {
	Listing ingest.Listing
	Fetched ingest.Fetched
	Err     error
}

// Outcome tells the Runner what the planner concluded, for logs and metrics.
type Outcome struct {
	NewPosts  []ingest.Post
	Deleted   []ingest.Post
	GaveUp    []ingest.Post // posts that failed MaxFailures times in a row
	PausedFor time.Duration // the platform or account is paused this long
	// Blocked says why the account (for KindWithdrawn: the whole platform)
	// is parked until a person acts — the Kind's name — or is "".
	Blocked string
}

// Done records the result of a task made at now.
func (p *Planner) Done(t Task, r Result, now time.Time) Outcome {
	a := p.account(t.Account)
	a.quietUntil = time.Time{}
	var out Outcome
	if r.Err != nil {
		return p.failed(a, t, r.Err, now)
	}
	switch t.Kind {
	case TaskList:
		a.failures = 0
		a.lastList = now
		newOnPage := 0
		for _, post := range r.Listing.Posts {
			if _, known := a.posts[post.PostID]; !known {
				a.posts[post.PostID] = &PostState{Post: post}
				a.sorted = nil
				out.NewPosts = append(out.NewPosts, post)
				newOnPage++
			}
		}
		p.observe(a, r.Listing.Snapshots, &out)
		// Keep paging while pages hold posts we have not seen: the first
		// listing of an account walks its whole history, later ones stop at
		// the first known post.
		if r.Listing.HasMore && newOnPage > 0 && r.Listing.Cursor != "" && !a.acct.Official {
			a.cursor = r.Listing.Cursor
			a.nextList = now
		} else {
			a.cursor = ""
			a.nextList = now.Add(p.cfg.ListEvery)
		}
	case TaskFetch:
		p.observe(a, r.Fetched.Snapshots, &out)
		// A post whose answer was rejected backs off like a failed one, so
		// it does not stay the most urgent and take every request.
		for _, rj := range r.Fetched.Rejected {
			if ps, ok := a.posts[rj.PostID]; ok {
				p.postFailed(ps, now, &out)
			}
		}
		for _, id := range r.Fetched.Missing {
			if ps, ok := a.posts[id]; ok && !ps.Gone {
				ps.Gone = true
				out.Deleted = append(out.Deleted, ps.Post)
			}
		}
	}
	return out
}

// observe takes the snapshots a task brought. A deleted post's snapshot
// ends its polling (it is reported in out.Deleted once); a private post's
// parks it until PrivateProbe has passed; a live one polls it as usual.
func (p *Planner) observe(a *accountState, snaps []snapshot.Snapshot, out *Outcome) {
	for i := range snaps {
		s := &snaps[i]
		ps, ok := a.posts[s.PostID]
		if !ok {
			continue
		}
		if !ps.LastObserved.IsZero() && !s.ObservedAt.After(ps.LastObserved) {
			continue
		}
		switch s.PostState() {
		case snapshot.StateDeleted:
			ps.LastObserved = s.ObservedAt
			if !ps.Gone {
				ps.Gone = true
				out.Deleted = append(out.Deleted, ps.Post)
			}
			continue
		case snapshot.StatePrivate:
			ps.LastObserved, ps.Private = s.ObservedAt, true
			ps.Failures, ps.GaveUp, ps.Gone = 0, false, false
			ps.RetryAt = s.ObservedAt.Add(p.cfg.PrivateProbe)
			continue
		}
		ps.Private = false
		cur := s.Plays
		if cur == nil {
			cur = s.Likes
		}
		if cur != nil && ps.Plays != nil && !ps.LastObserved.IsZero() {
			hours := s.ObservedAt.Sub(ps.LastObserved).Hours()
			v := float64(*cur-*ps.Plays) / max(hours, 1e-6)
			ps.Accelerating = v > 1.5*ps.Velocity+1
			ps.Velocity = v
			if *cur == *ps.Plays {
				ps.Unchanged++
			} else {
				ps.Unchanged = 0
			}
		}
		if cur != nil {
			c := *cur
			ps.Plays = &c
		}
		ps.LastObserved = s.ObservedAt
		ps.Failures, ps.RetryAt, ps.GaveUp, ps.Gone = 0, time.Time{}, false, false
	}
}

func (p *Planner) failed(a *accountState, t Task, err error, now time.Time) Outcome {
	var out Outcome
	kind := ingest.KindOf(err)
	var retryAfter time.Duration
	if e := (*ingest.Error)(nil); errors.As(err, &e) {
		retryAfter = e.RetryAfter
	}
	switch kind {
	case ingest.KindRateLimited:
		// Not the posts' fault: the whole platform waits.
		d := max(retryAfter, 30*time.Second)
		p.pausedUntil = now.Add(p.jitter(d))
		out.PausedFor = p.pausedUntil.Sub(now)
		return out
	case ingest.KindQuotaExhausted:
		d := max(retryAfter, time.Hour)
		p.pausedUntil = now.Add(d)
		out.PausedFor = d
		return out
	case ingest.KindUnauthorized:
		// The ambassador must authorize again; look again in an hour (the
		// token store may have a new token by then).
		a.pausedUntil = now.Add(time.Hour)
		out.PausedFor = time.Hour
		return out
	case ingest.KindWithdrawn:
		// The platform no longer lets the app do this: every account would
		// get the same answer, and no retry helps until a person acts. The
		// platform waits ParkFor; one probe then shows whether it is back.
		p.pausedUntil = now.Add(p.cfg.ParkFor)
		out.PausedFor, out.Blocked = p.cfg.ParkFor, kind.String()
		return out
	case ingest.KindAccountBlocked:
		// This account cannot be read (deregistered, banned, private): it
		// is parked and probed every ParkFor, never retried in a loop.
		a.pausedUntil = now.Add(p.cfg.ParkFor)
		out.PausedFor, out.Blocked = p.cfg.ParkFor, kind.String()
		return out
	}
	if t.Kind == TaskList {
		a.failures++
		a.nextList = now.Add(p.backoff(a.failures))
		return out
	}
	for _, post := range t.Posts {
		if ps := a.posts[post.PostID]; ps != nil {
			p.postFailed(ps, now, &out)
		}
	}
	return out
}

// postFailed backs a post off after a failed fetch, and parks it after
// MaxFailures in a row.
func (p *Planner) postFailed(ps *PostState, now time.Time, out *Outcome) {
	ps.Failures++
	if ps.Failures >= p.cfg.MaxFailures {
		if !ps.GaveUp {
			out.GaveUp = append(out.GaveUp, ps.Post)
		}
		ps.GaveUp = true
		ps.RetryAt = now.Add(p.cfg.ParkFor)
		return
	}
	ps.RetryAt = now.Add(p.backoff(ps.Failures))
}

// backoff grows from 30s, doubling per failure, up to an hour, with jitter.
func (p *Planner) backoff(failures int) time.Duration {
	d := 30 * time.Second << min(failures-1, 7)
	return p.jitter(min(d, time.Hour))
}

// jitter spreads d over [d, 1.5d) so replicas and posts do not retry in step.
func (p *Planner) jitter(d time.Duration) time.Duration {
	return d + time.Duration(p.rng.Float64()*0.5*float64(d))
}

// Resume lifts an account's pause, e.g. once it is authorized again.
func (p *Planner) Resume(acct roster.Account) {
	a := p.account(acct)
	a.pausedUntil, a.quietUntil = time.Time{}, time.Time{}
}

func (p *Planner) account(acct roster.Account) *accountState {
	for _, a := range p.accounts {
		if a.acct == acct {
			return a
		}
	}
	a := &accountState{acct: acct, posts: map[string]*PostState{}}
	p.accounts = append(p.accounts, a)
	return a
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
