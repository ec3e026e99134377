package simulator

// The simulator's clients: what tongxin runs against a simulator instead
// of a person or a platform console — its clock, and ambassadors' consent.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
)

// ReadClock reads the clock of the simulator at base, so a separate
// process (ingest, aggregate) runs on the simulator's campaign time.
func ReadClock(ctx context.Context, base string) (*clock.Scaled, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(base, "/")+"/sim/clock", nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req) // wall
	if err != nil {
		return nil, fmt.Errorf("reading the simulator's clock: %w", err)
	}
	defer resp.Body.Close()
	var c struct {
		Now   time.Time `json:"now"`
		Speed float64   `json:"speed"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || c.Now.IsZero() {
		return nil, fmt.Errorf("reading the simulator's clock at %s: not a simulator (%v)", base, err)
	}
	return clock.NewScaled(c.Now, c.Speed), nil
}

// OAuth is one platform's OAuth flow as tongxin runs it against the
// platform: the consent link, and the exchange of the code the consent
// page redirects with for a token, which it stores.
type OAuth interface {
	AuthURL(redirectURI, state string) string
	Authorize(ctx context.Context, acct roster.Account, code, redirectURI string) (token.Token, error)
}

// consentRedirect is where the simulated consent page sends the code;
// nothing listens there: Consent reads the redirect itself.
const consentRedirect = "http://127.0.0.1/tongxin-sim-callback"

// Consent authorizes acct through the simulator: its consent page approves
// at once for the account named in the URL, and the code goes through the
// platform's real exchange in flow, as `tongxin auth` does.
func Consent(ctx context.Context, flow OAuth, acct roster.Account) error {
	u := flow.AuthURL(consentRedirect, "sim") + "&account=" + url.QueryEscape(acct.AccountID)
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	noRedirect := &http.Client{Timeout: 10 * time.Second /* wall */, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		return fmt.Errorf("simulator consent for %s: %w", acct.AmbassadorID, err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		return fmt.Errorf("simulator consent for %s %s: no code in the redirect (HTTP %d)", acct.Platform, acct.AmbassadorID, resp.StatusCode)
	}
	_, err = flow.Authorize(ctx, acct, loc.Query().Get("code"), consentRedirect)
	return err
}

// ConsentAll gives each of accts that has no token in tokens one through
// Consent. The simulator injects its faults here too: what may pass is
// retried.
func ConsentAll(ctx context.Context, flow OAuth, tokens token.Store, accts []roster.Account) error {
	for _, a := range accts {
		if _, err := tokens.Get(a.Platform, a.AccountID); err == nil {
			continue
		}
		var err error
		for attempt := 0; attempt < 20; attempt++ {
			if err = Consent(ctx, flow, a); err == nil || !ingest.KindOf(err).Retryable() {
				break
			}
			t := time.NewTimer(time.Duration(attempt+1) * 50 * time.Millisecond) // wall: a retry of an HTTP call
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// AuthorizeAll stores a token for every Douyin and Weibo account of r
// (the official accounts' too), as if each had gone through the consent page: `tongxin run`
// starts with the whole simulated roster authorized.
func (s *Server) AuthorizeAll(r *roster.Roster, tokens token.Store) error {
	now := s.Clock.Now()
	for _, platform := range []string{snapshot.Douyin, snapshot.Weibo} {
		for _, a := range r.Watched(platform) {
			g := s.IssueToken(platform, a.AccountID)
			if err := tokens.Put(token.Token{Platform: platform, AccountID: a.AccountID, AccessToken: g.AccessToken, RefreshToken: g.RefreshToken,
				ExpiresAt: now.Add(g.ExpiresIn), RefreshExpiresAt: now.Add(g.RefreshIn), Scope: "user_info,video.list.bind,video.data.bind", UpdatedAt: now}); err != nil {
				return err
			}
		}
	}
	return nil
}
