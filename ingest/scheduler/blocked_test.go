package scheduler

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/errcode"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
)

// codeSource is a Douyin source of one post per account that answers an
// account's requests with a platform code, as the adapter types it, while
// failing(account, now) says so; it records every request and ends the run
// (cancel) at end.
type codeSource struct {
	clk     *clock.Manual
	end     time.Time
	cancel  context.CancelFunc
	failing func(acct roster.Account, now time.Time) int // the Douyin code, or 0

	mu    sync.Mutex
	calls map[string][]time.Time // account → request times
}

func (s *codeSource) Platform() string { return snapshot.Douyin }
func (s *codeSource) MaxBatch() int    { return 10 }
func (s *codeSource) PageSize() int    { return 10 }

func (s *codeSource) answer(acct roster.Account) error {
	now := s.clk.Now()
	s.mu.Lock()
	s.calls[acct.AccountID] = append(s.calls[acct.AccountID], now)
	s.mu.Unlock()
	if !now.Before(s.end) {
		s.cancel()
	}
	if code := s.failing(acct, now); code != 0 {
		row, _ := errcode.Douyin.Lookup(code)
		e := &ingest.Error{Platform: snapshot.Douyin, Op: "list", Kind: errcode.Douyin.Kind(code), Code: strconv.Itoa(code), Message: row.Text}
		if e.Kind == ingest.KindRateLimited {
			e.RetryAfter = 20 * time.Minute // as from a Retry-After header
		}
		return e
	}
	return nil
}

func (s *codeSource) List(ctx context.Context, acct roster.Account, cursor string) (ingest.Listing, error) {
	if err := s.answer(acct); err != nil {
		return ingest.Listing{}, err
	}
	p := ingest.Post{Platform: snapshot.Douyin, PostID: "v-" + acct.AccountID, AccountID: acct.AccountID, AmbassadorID: acct.AmbassadorID,
		PublishedAt: time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC)}
	snap := snapshot.Snapshot{Platform: snapshot.Douyin, AccountID: acct.AccountID, AmbassadorID: acct.AmbassadorID, PostID: p.PostID,
		PublishedAt: p.PublishedAt, ObservedAt: s.clk.Now()}
	snap.Plays = snapshot.Counter(s.clk.Now().Unix())
	return ingest.Listing{Posts: []ingest.Post{p}, Snapshots: []snapshot.Snapshot{snap}}, nil
}

func (s *codeSource) Fetch(ctx context.Context, acct roster.Account, posts []ingest.Post) (ingest.Fetched, error) {
	return ingest.Fetched{}, s.answer(acct)
}

func (s *codeSource) between(account string, from, to time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, at := range s.calls[account] {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

type nopSink struct{}

func (nopSink) Produce(context.Context, []snapshot.Snapshot) error { return nil }

var blockStart = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

var blockAccounts = []roster.Account{
	{Platform: snapshot.Douyin, AccountID: "o1", AmbassadorID: "amb01"},
	{Platform: snapshot.Douyin, AccountID: "o2", AmbassadorID: "amb02"},
	{Platform: snapshot.Douyin, AccountID: "o3", AmbassadorID: "amb03"},
}

// runCodes runs a Runner on a manual clock from blockStart until end.
func runCodes(t *testing.T, end time.Time, failing func(roster.Account, time.Time) int) (*codeSource, *Blocked, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	clk := clock.NewManual(blockStart)
	src := &codeSource{clk: clk, end: end, cancel: cancel, failing: failing, calls: map[string][]time.Time{}}
	var logs bytes.Buffer
	blocked := NewBlocked()
	r := &Runner{
		Source: src, Clock: clk, Sink: nopSink{}, Metrics: NewMetrics(prometheus.NewRegistry()), Blocked: blocked,
		Log:     slog.New(slog.NewTextHandler(&logs, nil)),
		Planner: NewPlanner(snapshot.Douyin, blockAccounts, Config{MaxBatch: 10, ListEvery: 5 * time.Minute, Seed: 1}),
	}
	// The manual clock only moves when the runner sleeps: advance it a
	// second per request too, as a real request takes time.
	r.Clock = stepClock{clk}
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return src, blocked, logs.String()
}

// stepClock is a manual clock that moves a second each time it is read by
// the runner after a request.
type stepClock struct{ *clock.Manual }

func (c stepClock) Now() time.Time {
	c.Manual.Advance(time.Second)
	return c.Manual.Now()
}

func TestAppRateLimitPausesEveryAccount(t *testing.T) {
	limitAt := blockStart.Add(30 * time.Minute)
	fired := false
	src, _, _ := runCodes(t, blockStart.Add(2*time.Hour), func(a roster.Account, now time.Time) int {
		if a.AccountID == "o2" && !now.Before(limitAt) && !fired {
			fired = true
			return 28003018 // 请求频率过高: the app's rate, not this account's
		}
		return 0
	})
	if !fired {
		t.Fatal("the rate limit was never answered")
	}
	var at time.Time
	for _, c := range src.calls["o2"] {
		if !c.Before(limitAt) {
			at = c
			break
		}
	}
	// Every account waits out the Retry-After, not just the one whose
	// request was refused; each is listed every 5 minutes otherwise.
	for _, a := range blockAccounts {
		if n := src.between(a.AccountID, at.Add(2*time.Second), at.Add(20*time.Minute)); n != 0 {
			t.Errorf("%s: %d requests in the 20 minutes after the app was rate limited (by amb02's request)", a.AmbassadorID, n)
		}
		if n := src.between(a.AccountID, at.Add(-20*time.Minute), at); n < 3 {
			t.Errorf("%s: only %d requests in the 20 minutes before the limit: the test shows nothing", a.AmbassadorID, n)
		}
		if n := src.between(a.AccountID, at.Add(time.Minute), blockStart.Add(2*time.Hour)); n == 0 {
			t.Errorf("%s: never polled again after the pause", a.AmbassadorID)
		}
	}
}

func TestAccountBlockedIsParkedAndReported(t *testing.T) {
	back := blockStart.Add(72 * time.Hour) // the account is readable again from here
	src, blocked, logs := runCodes(t, blockStart.Add(72*time.Hour), func(a roster.Account, now time.Time) int {
		if a.AccountID == "o2" && now.Before(back) {
			return 28001045 // 用户已注销
		}
		return 0
	})
	// ParkFor is a day: a probe a day, not a retry loop.
	if n := src.between("o2", blockStart, blockStart.Add(72*time.Hour)); n < 1 || n > 4 {
		t.Errorf("a deregistered account was asked %d times in 3 days, want a probe a day (1–4)", n)
	}
	if n := src.between("o1", blockStart, blockStart.Add(72*time.Hour)); n < 100 {
		t.Errorf("the other accounts were polled only %d times: they must go on", n)
	}
	if got := blocked.Reason(snapshot.Douyin, blockAccounts[1]); got != "account_blocked" {
		t.Errorf("blocked reason of amb02 = %q, want account_blocked", got)
	}
	for _, a := range []roster.Account{blockAccounts[0], blockAccounts[2]} {
		if got := blocked.Reason(snapshot.Douyin, a); got != "" {
			t.Errorf("%s reported blocked (%q)", a.AmbassadorID, got)
		}
	}
	if !strings.Contains(logs, "a person must act") || !strings.Contains(logs, "amb02") || !strings.Contains(logs, "28001045") {
		t.Errorf("no error log naming the ambassador and the code:\n%s", logs)
	}

	// Once the account can be read again, the next probe clears it.
	src, blocked, _ = runCodes(t, blockStart.Add(30*time.Hour), func(a roster.Account, now time.Time) int {
		if a.AccountID == "o2" && now.Before(blockStart.Add(time.Hour)) {
			return 28001047 // 用户为私密用户
		}
		return 0
	})
	if got := blocked.Reason(snapshot.Douyin, blockAccounts[1]); got != "" {
		t.Errorf("after the account is readable again, blocked reason = %q, want none", got)
	}
	if n := src.between("o2", blockStart.Add(25*time.Hour), blockStart.Add(30*time.Hour)); n < 10 {
		t.Errorf("a readable account again was polled %d times in 5 hours after its probe", n)
	}
}

func TestWithdrawnCapabilityPausesThePlatform(t *testing.T) {
	src, blocked, logs := runCodes(t, blockStart.Add(48*time.Hour), func(a roster.Account, now time.Time) int {
		return 28001056 // 该能力API已下线
	})
	total := 0
	for _, a := range blockAccounts {
		total += src.between(a.AccountID, blockStart, blockStart.Add(48*time.Hour))
		if got := blocked.Reason(snapshot.Douyin, a); got != "withdrawn" {
			t.Errorf("%s: blocked reason %q, want withdrawn", a.AmbassadorID, got)
		}
	}
	if total > 3 {
		t.Errorf("%d requests in 2 days to a withdrawn API, want a probe a day", total)
	}
	if !strings.Contains(logs, "a person must act") {
		t.Errorf("no error log:\n%s", logs)
	}
}
