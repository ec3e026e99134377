package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/douyin"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

// An ambassador's consent against the simulator is stored with expiries on
// the simulator's campaign clock, the one ingest polls and refreshes on,
// not on the wall clock: a campaign starting in June has its Douyin access
// token expire 15 campaign days later, and ingest refreshes it ahead.
func TestSimulatedConsentExpiresOnTheCampaignClock(t *testing.T) {
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewScaled(start, 600)
	sim := simulator.NewServer(simulator.New(r, 1, start), clk, simulator.Faults{}, 1)
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()

	o := &options{douyinURL: srv.URL, weiboURL: srv.URL, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	simulatedCredentials(o)
	tokens := token.NewMemoryStore()
	auth, err := newAuthorizer(o, snapshot.Douyin, tokens, clk)
	if err != nil {
		t.Fatal(err)
	}
	acct := r.Accounts(snapshot.Douyin)[0]
	if err := simulator.Consent(context.Background(), auth, acct); err != nil {
		t.Fatal(err)
	}
	tok, err := tokens.Get(snapshot.Douyin, acct.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	want := clk.Now().Add(douyin.AccessTokenTTL)
	if d := tok.ExpiresAt.Sub(want); d < -time.Hour || d > time.Hour {
		t.Errorf("the access token expires %v; on the campaign clock (now %v) it expires about %v", tok.ExpiresAt, clk.Now(), want)
	}
}
