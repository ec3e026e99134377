package simulator_test

import (
	"context"
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

func serve(t *testing.T, clk clock.Clock) (*roster.Roster, string) {
	t.Helper()
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	sim := simulator.NewServer(simulator.New(r, 1, start), clk, simulator.Faults{}, 1)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return r, srv.URL
}

// A separate process reads the simulator's campaign clock: its time and
// its speed; a server that is no simulator is named as such.
func TestReadClockIsTheSimulatorsClock(t *testing.T) {
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	_, url := serve(t, clock.NewScaled(start, 600))
	c, err := simulator.ReadClock(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if c.Speed() != 600 {
		t.Errorf("speed %v, want 600", c.Speed())
	}
	if now := c.Now(); now.Before(start) || now.After(start.Add(time.Hour)) {
		t.Errorf("the simulator's clock reads %v, want just after %v", now, start)
	}
	if _, err := simulator.ReadClock(context.Background(), url+"/healthz"); err == nil {
		t.Error("a page that is not the simulator's clock was read as one")
	}
}

// douyinFlow is the Douyin client's OAuth flow.
type douyinFlow struct{ *douyin.Client }

func (f douyinFlow) Authorize(ctx context.Context, acct roster.Account, code, _ string) (token.Token, error) {
	return f.Client.Authorize(ctx, acct, code)
}

// ConsentAll authorizes, through the platform's real exchange, each
// account without a token, and leaves a stored token alone.
func TestConsentAllAuthorizesTheAccountsWithoutAToken(t *testing.T) {
	clk := clock.NewScaled(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), 1)
	r, url := serve(t, clk)
	tokens := token.NewMemoryStore()
	accts := r.Accounts(snapshot.Douyin)[:3]
	kept := token.Token{Platform: snapshot.Douyin, AccountID: accts[0].AccountID, AccessToken: "kept", ExpiresAt: clk.Now().Add(time.Hour)}
	if err := tokens.Put(kept); err != nil {
		t.Fatal(err)
	}
	cfg := douyin.Config{Tokens: tokens, ClientKey: "k", ClientSecret: "s"}
	cfg.BaseURL, cfg.Clock = url, clk // (fields that may move into an embedded config)
	flow := douyinFlow{douyin.New(cfg)}
	if err := simulator.ConsentAll(context.Background(), flow, tokens, accts); err != nil {
		t.Fatal(err)
	}
	for i, a := range accts {
		tok, err := tokens.Get(snapshot.Douyin, a.AccountID)
		switch {
		case err != nil:
			t.Errorf("%s has no token after ConsentAll: %v", a.AmbassadorID, err)
		case i == 0 && tok.AccessToken != "kept":
			t.Errorf("%s's stored token was replaced", a.AmbassadorID)
		case i > 0 && tok.AccessToken == "":
			t.Errorf("%s got an empty token", a.AmbassadorID)
		}
	}
}
