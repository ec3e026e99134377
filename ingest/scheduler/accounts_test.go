package scheduler

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

// An ingest replica's shards change at run time: the planner keeps what it
// knows of the accounts that stay, finds the posts of newly owned accounts
// by listing them at once, plans nothing more for the accounts it lost,
// and, given them back, knows their posts again but lists them at once.
func TestPlannerSetAccountsKeepsWhatStaysAndListsWhatComes(t *testing.T) {
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	sc := simulator.New(r, 5, start)
	clk := clock.NewManual(start)
	src := &simulator.Direct{Scenario: sc, Clock: clk, Name: snapshot.Weibo}
	all := r.Accounts(snapshot.Weibo)
	kept, moved := roster.InShards(all, []int{0}, 2), roster.InShards(all, []int{1}, 2)
	if len(kept) == 0 || len(moved) == 0 {
		t.Fatalf("the roster's %d Weibo accounts do not fill two shards", len(all))
	}
	pl := NewPlanner(snapshot.Weibo, kept, Config{MaxBatch: 20, Seed: 1})
	Replay(context.Background(), pl, src, clk, 600, start.Add(3*time.Hour), nil, nil)

	// What the planner knows of the kept accounts' posts, by identity.
	before := map[string]*PostState{}
	observed := map[string]time.Time{}
	pl.Posts(func(ps *PostState) { before[ps.Post.PostID], observed[ps.Post.PostID] = ps, ps.LastObserved })
	if len(before) == 0 {
		t.Fatal("three campaign hours found no post of the kept accounts")
	}

	// Gaining a shard: the kept accounts' posts are untouched, and the new
	// accounts are listed before anything else.
	pl.SetAccounts(append(slices.Clone(kept), moved...))
	after := 0
	pl.Posts(func(ps *PostState) {
		if prev, ok := before[ps.Post.PostID]; ok {
			after++
			if prev != ps || !ps.LastObserved.Equal(observed[ps.Post.PostID]) {
				t.Errorf("post %s: what the planner knew changed when a shard was gained", ps.Post.PostID)
			}
		}
	})
	if after != len(before) {
		t.Errorf("%d of %d known posts kept after gaining a shard", after, len(before))
	}
	isMoved := map[roster.Account]bool{}
	for _, a := range moved {
		isMoved[a] = true
	}
	now := clk.Now()
	listedFirst := map[roster.Account]bool{}
	for len(listedFirst) < len(moved) {
		task, ok, _ := pl.Next(now)
		if !ok || task.Kind != TaskList || !isMoved[task.Account] {
			t.Fatalf("after gaining a shard the planner wants %+v (ok=%v) before listing every new account (%d of %d listed)", task, ok, len(listedFirst), len(moved))
		}
		if task.Cursor == "" && listedFirst[task.Account] {
			t.Fatalf("new account %s listed from the top twice before the others", task.Account.AmbassadorID)
		}
		var res Result
		res.Listing, res.Err = src.List(context.Background(), task.Account, task.Cursor)
		pl.Done(task, res, now)
		listedFirst[task.Account] = true
	}
	// The last account may still be walking its history.
	for task, ok, _ := pl.Next(now); ok && task.Kind == TaskList && task.Cursor != ""; task, ok, _ = pl.Next(now) {
		var res Result
		res.Listing, res.Err = src.List(context.Background(), task.Account, task.Cursor)
		pl.Done(task, res, now)
	}
	if len(listedFirst) != len(moved) {
		t.Errorf("%d of %d new accounts listed first", len(listedFirst), len(moved))
	}
	for _, p := range sc.Posts {
		if p.Platform == snapshot.Weibo && isMoved[roster.Account{Platform: p.Platform, AccountID: p.AccountID, AmbassadorID: p.AmbassadorID}] &&
			p.VisibleAt(now) && !p.PrivateAt(now) && !known(pl, p.PostID) {
			t.Errorf("post %s of newly owned %s not found by listing", p.PostID, p.AmbassadorID)
		}
	}

	// Losing the kept shard: no request for its accounts any more.
	pl.SetAccounts(moved)
	if got := pl.Accounts(); !slices.Equal(got, moved) {
		t.Fatalf("Accounts() = %d accounts after SetAccounts(%d)", len(got), len(moved))
	}
	Replay(context.Background(), pl, src, clk, 600, clk.Now().Add(2*time.Hour), nil, func(task Task, _ Result, _ time.Time) {
		if !isMoved[task.Account] {
			t.Errorf("a request for %s, whose shard was lost", task.Account.AmbassadorID)
		}
	})

	// Given back, the kept accounts' posts are known as before, and each
	// of them is listed again at once: another replica polled it meanwhile.
	pl.SetAccounts(append(slices.Clone(kept), moved...))
	back := 0
	pl.Posts(func(ps *PostState) {
		if before[ps.Post.PostID] == ps {
			back++
		}
	})
	if back != len(before) {
		t.Errorf("%d of %d posts known again when the shard came back", back, len(before))
	}
	isKept := map[roster.Account]bool{}
	for _, a := range kept {
		isKept[a] = true
	}
	for range kept {
		task, ok, _ := pl.Next(clk.Now())
		if !ok || task.Kind != TaskList || !isKept[task.Account] {
			t.Fatalf("with the shard back the planner wants %+v (ok=%v) before listing its accounts", task, ok)
		}
		var res Result
		res.Listing, res.Err = src.List(context.Background(), task.Account, "")
		res.Listing.HasMore = false // the newest page is enough here
		pl.Done(task, res, clk.Now())
	}
}

// accountLog is a fake platform whose every request takes a while (wall
// time) and is recorded with its account and when it ran.
type accountLog struct {
	took time.Duration // wall
	mu   sync.Mutex
	log  []polled
}

type polled struct {
	acct       string
	start, end time.Time // wall
}

func (f *accountLog) Platform() string { return snapshot.Douyin }
func (f *accountLog) MaxBatch() int    { return 1 }
func (f *accountLog) PageSize() int    { return 1 }

func (f *accountLog) List(ctx context.Context, acct roster.Account, cursor string) (ingest.Listing, error) {
	began := time.Now()
	time.Sleep(f.took)
	f.mu.Lock()
	f.log = append(f.log, polled{acct.AccountID, began, time.Now()})
	f.mu.Unlock()
	return ingest.Listing{}, nil
}

func (f *accountLog) Fetch(ctx context.Context, acct roster.Account, posts []ingest.Post) (ingest.Fetched, error) {
	return ingest.Fetched{}, nil
}

// polledSince counts the requests per account that were in flight at or
// after t.
func (f *accountLog) polledSince(t time.Time) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, p := range f.log {
		if !p.end.Before(t) {
			out[p.acct]++
		}
	}
	return out
}

// Runner.SetAccounts returns only when no request for a lost account is in
// flight, and none is made after it; an account given (back) is polled at
// once, without waiting out the Runner's idle sleep.
func TestRunnerSetAccountsStopsLostAccountsBeforeReturning(t *testing.T) {
	clk := clock.NewScaled(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), 60) // a campaign minute per wall second
	accts := []roster.Account{
		{Platform: snapshot.Douyin, AccountID: "o1", AmbassadorID: "amb01"},
		{Platform: snapshot.Douyin, AccountID: "o2", AmbassadorID: "amb02"},
	}
	src := &accountLog{took: 30 * time.Millisecond}
	// Listed every 2 campaign seconds: each account is asked about all
	// the time, so a request is in flight whenever SetAccounts comes.
	pl := NewPlanner(snapshot.Douyin, accts, Config{ListEvery: 2 * time.Second, Seed: 1})
	r := &Runner{Source: src, Planner: pl, Clock: clk, Sink: discard{}, Metrics: NewMetrics(prometheus.NewRegistry()),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	time.Sleep(300 * time.Millisecond)
	r.SetAccounts(accts[:1])
	lost := time.Now()
	time.Sleep(500 * time.Millisecond)
	if got := src.polledSince(lost); got["o2"] > 0 || got["o1"] == 0 {
		t.Errorf("after losing o2: requests in flight or made since %v", got)
	}

	r.SetAccounts(nil)
	none := time.Now()
	time.Sleep(300 * time.Millisecond)
	if got := src.polledSince(none); len(got) > 0 {
		t.Errorf("with no account: requests in flight or made since %v", got)
	}

	// Given back after a campaign hour of nothing to do: the Runner naps
	// up to a campaign minute (a wall second here) between plans, but a
	// change of accounts wakes it.
	r.SetAccounts(accts)
	back := time.Now()
	time.Sleep(300 * time.Millisecond)
	if got := src.polledSince(back); got["o1"] == 0 || got["o2"] == 0 {
		t.Errorf("within 0.3 s of getting both accounts back: requests %v", got)
	}
}
