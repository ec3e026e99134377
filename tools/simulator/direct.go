package simulator

import (
	"context"
	"strconv"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
)

// Direct answers one platform's Source calls from the scenario in memory,
// without HTTP or faults, at the time its clock reads. Replays use it to run
// the scheduler (and what follows it) over campaign days in milliseconds.
// It gives the metrics the platform's real API gives.
type Direct struct {
	Scenario *Scenario
	Clock    clock.Clock
	Name     string // platform id
	Page     int    // posts per listing page (default 10)
	Batch    int    // posts per fetch (default 10)
}

var _ ingest.Source = (*Direct)(nil)

func (d *Direct) Platform() string { return d.Name }

func (d *Direct) MaxBatch() int {
	if d.Batch > 0 {
		return d.Batch
	}
	return 10
}

// PageSize is how many posts one listing page holds.
func (d *Direct) PageSize() int {
	if d.Page > 0 {
		return d.Page
	}
	return 10
}

// Snapshot is what the platform's API shows of p at t: a private post's
// snapshot has that state and no counters; an official account's repost
// carries repost_of, as the Weibo adapter makes it.
func (d *Direct) Snapshot(p *Post, t time.Time) snapshot.Snapshot {
	c := p.CountersAt(t)
	s := snapshot.Snapshot{Schema: snapshot.SchemaVersion, Platform: p.Platform, AmbassadorID: p.AmbassadorID,
		AccountID: p.AccountID, PostID: p.PostID, PublishedAt: p.PublishedAt, ObservedAt: t.UTC(), Source: snapshot.SourceSim}
	if p.PrivateAt(t) {
		s.State = snapshot.StatePrivate
		return s
	}
	s.Facts = snapshot.NewFacts(p.Platform, p.Title, p.URL())
	if p.Official {
		s.RepostOf = &snapshot.PostRef{Platform: p.Platform, PostID: p.RepostOf.ID}
	}
	n := snapshot.Counter
	switch p.Platform {
	case snapshot.Douyin:
		s.Plays, s.Likes, s.Comments, s.Shares, s.Forwards, s.Downloads = n(c.Plays), n(c.Likes), n(c.Comments), n(c.Shares), n(c.Forwards), n(c.Downloads)
	case snapshot.Weibo:
		s.Likes, s.Comments, s.Shares = n(c.Likes), n(c.Comments), n(c.Shares)
	default:
		s.Plays, s.Likes, s.Comments, s.Shares, s.Forwards, s.Recommends = n(c.Plays), n(c.Likes), n(c.Comments), n(c.Shares), n(c.Forwards), n(c.Recommends)
		cr, aw := c.CompletionRate, c.AvgWatchSeconds
		s.CompletionRate, s.AvgWatchSeconds = &cr, &aw
	}
	return s
}

func (d *Direct) List(ctx context.Context, acct roster.Account, cursor string) (ingest.Listing, error) {
	now := d.Clock.Now()
	posts := d.Scenario.PostsOf(d.Name, acct.AccountID, now)
	from, _ := strconv.Atoi(cursor)
	from = min(max(from, 0), len(posts))
	to := min(from+d.PageSize(), len(posts))
	var l ingest.Listing
	for _, p := range posts[from:to] {
		l.Posts = append(l.Posts, ingest.Post{Platform: p.Platform, PostID: p.PostID, AccountID: p.AccountID,
			AmbassadorID: p.AmbassadorID, PublishedAt: p.PublishedAt, Title: p.Title})
		l.Snapshots = append(l.Snapshots, d.Snapshot(p, now))
	}
	l.HasMore = to < len(posts)
	if l.HasMore {
		l.Cursor = strconv.Itoa(to)
	}
	return l, ctx.Err()
}

func (d *Direct) Fetch(ctx context.Context, acct roster.Account, posts []ingest.Post) (ingest.Fetched, error) {
	now := d.Clock.Now()
	var f ingest.Fetched
	for _, post := range posts {
		p, ok := d.Scenario.Post(d.Name, post.PostID)
		switch {
		case !ok || p.AccountID != acct.AccountID:
			f.Missing = append(f.Missing, post.PostID)
			continue
		case !p.VisibleAt(now):
			f.Snapshots = append(f.Snapshots, ingest.StateSnapshot(post, snapshot.StateDeleted, now, snapshot.SourceSim))
			continue
		}
		f.Snapshots = append(f.Snapshots, d.Snapshot(p, now))
	}
	return f, ctx.Err()
}
