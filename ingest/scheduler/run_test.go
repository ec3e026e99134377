package scheduler

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/budget"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
)

// request is one request the fake platform answered.
type request struct {
	kind  TaskKind
	posts []string      // whose counters it returned
	left  time.Duration // wall time left of the request's timeout when it arrived
}

// platformLog answers every request at once, with counters for what was
// asked, and fails a request whose timeout has run out, as a real client does.
type platformLog struct {
	clk      clock.Clock
	newest   ingest.Post // the listing's one-post page
	mu       sync.Mutex
	requests []request
}

func (f *platformLog) Platform() string { return snapshot.Douyin }
func (f *platformLog) MaxBatch() int    { return 1 }
func (f *platformLog) PageSize() int    { return 1 }

func (f *platformLog) record(ctx context.Context, kind TaskKind, posts []ingest.Post) ([]snapshot.Snapshot, error) {
	dl, _ := ctx.Deadline()
	r := request{kind: kind, left: time.Until(dl)}
	var snaps []snapshot.Snapshot
	for _, p := range posts {
		r.posts = append(r.posts, p.PostID)
		snaps = append(snaps, snapshot.Snapshot{Schema: snapshot.SchemaVersion, Platform: p.Platform, AmbassadorID: p.AmbassadorID,
			AccountID: p.AccountID, PostID: p.PostID, PublishedAt: p.PublishedAt, ObservedAt: f.clk.Now(),
			Metrics: snapshot.Metrics{Plays: snapshot.Counter(100)}})
	}
	f.mu.Lock()
	f.requests = append(f.requests, r)
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, &ingest.Error{Platform: snapshot.Douyin, Kind: ingest.KindUnavailable, Message: "request timed out", Err: err}
	}
	return snaps, nil
}

func (f *platformLog) List(ctx context.Context, acct roster.Account, cursor string) (ingest.Listing, error) {
	snaps, err := f.record(ctx, TaskList, []ingest.Post{f.newest})
	return ingest.Listing{Posts: []ingest.Post{f.newest}, Snapshots: snaps}, err
}

func (f *platformLog) Fetch(ctx context.Context, acct roster.Account, posts []ingest.Post) (ingest.Fetched, error) {
	snaps, err := f.record(ctx, TaskFetch, posts)
	return ingest.Fetched{Snapshots: snaps}, err
}

func (f *platformLog) log() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

type discard struct{}

func (discard) Produce(context.Context, []snapshot.Snapshot) error { return nil }

// With one token every 2 campaign minutes and a request timeout far shorter
// than that, the Runner waits for the budget before it plans and before the
// timeout starts: no request fails, each has its whole timeout, and each
// token goes to the most valuable task at the moment it is ready. Here an
// old post is due when the wait begins and a young post becomes due during
// it; the young one (weighted for the office) is polled first.
func TestRunnerWaitsForTheBudgetOutsideTheRequestAndSpendsItOnTheMostValuableTask(t *testing.T) {
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewScaled(start, 60) // a campaign minute per wall second
	acct := roster.Account{Platform: snapshot.Douyin, AccountID: "o1", AmbassadorID: "amb01"}
	young := ingest.Post{Platform: snapshot.Douyin, PostID: "young", AccountID: "o1", AmbassadorID: "amb01", PublishedAt: start.Add(-40 * time.Minute)}
	old := ingest.Post{Platform: snapshot.Douyin, PostID: "old", AccountID: "o1", AmbassadorID: "amb01", PublishedAt: start.Add(-5 * 24 * time.Hour)}
	obs := func(p ingest.Post, at time.Time) snapshot.Snapshot {
		return snapshot.Snapshot{Platform: p.Platform, PostID: p.PostID, ObservedAt: at, Metrics: snapshot.Metrics{Plays: snapshot.Counter(10)}}
	}

	// The page holds the newest post only: the old one needs a fetch.
	pl := NewPlanner(snapshot.Douyin, []roster.Account{acct}, Config{MaxBatch: 1, PageSize: 1, Seed: 1})
	// The old post was last seen 7 h ago (due every 6 h: overdue now); the
	// young one 4 min ago (due every 5 min: due in a minute).
	pl.Done(Task{Kind: TaskList, Account: acct}, Result{Listing: ingest.Listing{Posts: []ingest.Post{young, old}, Snapshots: []snapshot.Snapshot{obs(old, start.Add(-7*time.Hour))}}}, start.Add(-7*time.Hour))
	pl.Done(Task{Kind: TaskList, Account: acct}, Result{Listing: ingest.Listing{Posts: []ingest.Post{young}, Snapshots: []snapshot.Snapshot{obs(young, start.Add(-4*time.Minute))}}}, start.Add(-4*time.Minute))
	if task, ok, _ := pl.Next(start); !ok || task.Kind != TaskFetch || task.Posts[0].PostID != "old" {
		t.Fatalf("at the start only the old post should be due; planner says %+v (ok=%v)", task, ok)
	}

	bucket := budget.New(clk, 30, 1) // a token every 2 campaign minutes (2 s wall)
	if !bucket.TryTake() {
		t.Fatal("new bucket is empty")
	}
	var waited time.Duration
	var mu sync.Mutex
	bucket.OnWait = func(d time.Duration) { mu.Lock(); waited += d; mu.Unlock() }
	src := &platformLog{clk: clk, newest: young}
	const timeout = time.Second // wall: half the 2 s between tokens
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	r := &Runner{Source: src, Planner: pl, Clock: clk, Sink: discard{}, Metrics: m, Budget: bucket, RequestTimeout: timeout,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(15 * time.Second)
	for len(src.log()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	reqs := src.log()
	if len(reqs) < 2 {
		t.Fatalf("only %d requests in 15 s at a token every 2 s", len(reqs))
	}
	for i, q := range reqs {
		if q.left < timeout*3/4 {
			t.Errorf("request %d started with %v of its %v timeout left: the budget wait ate into it", i+1, q.left, timeout)
		}
	}
	if got := reqs[0].posts; len(got) != 1 || got[0] != "young" {
		t.Errorf("the first token went to %v, want the young post that became due while waiting", got)
	}
	if got := reqs[1].posts; len(got) != 1 || got[0] != "old" {
		t.Errorf("the second token went to %v, want the old post", got)
	}
	ok := 0.0
	for outcome, n := range outcomes(t, reg) {
		if outcome != "ok" {
			t.Errorf("%v requests failed as %s", n, outcome)
		}
		ok += n
	}
	if ok < 2 {
		t.Errorf("%v requests counted ok, want at least 2", ok)
	}
	mu.Lock()
	defer mu.Unlock()
	if waited < time.Minute {
		t.Errorf("the budget wait reported %v of campaign time, want about 2 min", waited)
	}
}

// outcomes sums tongxin_ingest_requests_total by outcome.
func outcomes(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "tongxin_ingest_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" {
					out[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}
