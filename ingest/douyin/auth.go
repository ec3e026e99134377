package douyin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/token"
)

// AuthURL is the consent page an ambassador opens to authorize the app;
// after approval Douyin redirects to redirectURI with ?code=…&state=….
func (c *Client) AuthURL(redirectURI, state string) string {
	q := url.Values{
		"client_key":    {c.cfg.ClientKey},
		"response_type": {"code"},
		"scope":         {strings.Join(c.cfg.Scopes, ",")},
		"redirect_uri":  {redirectURI},
		"state":         {state},
	}
	return c.cfg.BaseURL + "/platform/oauth/connect/?" + q.Encode()
}

// Exchange turns an authorization code (valid 10 minutes, once) into the
// account's tokens via POST /oauth/access_token/. The token's AccountID is
// the open_id of whoever approved; the caller stores it (see Authorize).
func (c *Client) Exchange(ctx context.Context, code string) (token.Token, error) {
	const op = "access_token"
	if c.cfg.ClientKey == "" || c.cfg.ClientSecret == "" {
		return token.Token{}, &ingest.Error{Platform: Platform, Op: op, Kind: ingest.KindInvalid, Message: "no client key or client secret configured"}
	}
	form := url.Values{
		"client_key": {c.cfg.ClientKey}, "client_secret": {c.cfg.ClientSecret},
		"code": {code}, "grant_type": {"authorization_code"},
	}
	td, arrived, reqID, err := c.oauth(ctx, op, "/oauth/access_token/", form)
	if err != nil {
		return token.Token{}, err
	}
	if td.AccessToken == "" || td.OpenID == "" || !td.ExpiresIn.Set {
		return token.Token{}, ingest.Malformed(Platform, op, reqID, "access_token answer lacks access_token, open_id or expires_in", nil)
	}
	t := token.Token{
		Platform: Platform, AccountID: td.OpenID,
		AccessToken: td.AccessToken, RefreshToken: td.RefreshToken,
		ExpiresAt: arrived.Add(time.Duration(td.ExpiresIn.V) * time.Second),
		Scope:     td.Scope, UpdatedAt: arrived,
	}
	if td.RefreshExpiresIn.Set {
		t.RefreshExpiresAt = arrived.Add(time.Duration(td.RefreshExpiresIn.V) * time.Second)
	} else if t.RefreshToken != "" {
		t.RefreshExpiresAt = arrived.Add(RefreshTokenTTL)
	}
	return t, nil
}

// Authorize exchanges code and stores the token for acct, checking that the
// ambassador approved with the Douyin account the roster names.
func (c *Client) Authorize(ctx context.Context, acct roster.Account, code string) (token.Token, error) {
	t, err := c.Exchange(ctx, code)
	if err != nil {
		return token.Token{}, err
	}
	if t.AccountID != acct.AccountID {
		return token.Token{}, &ingest.Error{Platform: Platform, Op: "access_token", Kind: ingest.KindInvalid,
			Message: fmt.Sprintf("ambassador %s approved with Douyin open_id %s, but the roster names %s", acct.AmbassadorID, t.AccountID, acct.AccountID)}
	}
	if err := c.cfg.Tokens.Put(t); err != nil {
		return token.Token{}, &ingest.Error{Platform: Platform, Op: "access_token", Kind: ingest.KindUnknown, Message: "storing the token", Err: err}
	}
	c.mu.Lock()
	delete(c.warned, acct.AccountID)
	c.mu.Unlock()
	c.cfg.Log.Info("douyin account authorized", "ambassador", acct.AmbassadorID, "account", acct.AccountID, "token", t)
	return t, nil
}

// TokenStatus is what the scheduler and metrics report about an account's
// authorization.
type TokenStatus struct {
	Authorized       bool      // a token is stored
	AccessExpiresAt  time.Time // zero when not authorized
	RefreshExpiresAt time.Time
	RenewalsLeft     int      // renewals of the refresh token left
	MissingScopes    []string // scopes List/Fetch need that the ambassador did not grant
	// NeedsReauth: the ambassador must authorize again, now (Expired) or
	// soon (the refresh token runs out within RenewLead and cannot be renewed).
	NeedsReauth bool
	Expired     bool   // no valid token is left: calls fail as unauthorized
	Reason      string // why, for humans
}

// TokenStatus reports acct's authorization as of the campaign clock.
func (c *Client) TokenStatus(acct roster.Account) (TokenStatus, error) {
	t, err := c.cfg.Tokens.Get(Platform, acct.AccountID)
	if errors.Is(err, token.ErrNotFound) {
		return TokenStatus{NeedsReauth: true, Expired: true, Reason: "never authorized"}, nil
	}
	if err != nil {
		return TokenStatus{}, err
	}
	now := c.cfg.Clock.Now()
	st := TokenStatus{
		Authorized: true, AccessExpiresAt: t.ExpiresAt, RefreshExpiresAt: t.RefreshExpiresAt,
		RenewalsLeft: max(MaxRefreshRenewals-t.RefreshRenewals, 0),
	}
	if t.Scope != "" {
		granted := map[string]bool{}
		for _, s := range strings.Split(t.Scope, ",") {
			granted[strings.TrimSpace(s)] = true
		}
		for _, s := range requiredScopes {
			if !granted[s] {
				st.MissingScopes = append(st.MissingScopes, s)
			}
		}
	}
	accessOK := now.Before(t.ExpiresAt)
	refreshOK := refreshValid(t, now)
	switch {
	case !accessOK && !refreshOK:
		st.NeedsReauth, st.Expired, st.Reason = true, true, "access and refresh tokens expired"
	case !refreshOK:
		st.NeedsReauth, st.Reason = true, fmt.Sprintf("refresh token expired; the access token works until %s", t.ExpiresAt.Format(time.RFC3339))
	case st.RenewalsLeft == 0 && !t.RefreshExpiresAt.IsZero() && t.RefreshExpiresAt.Sub(now) < c.cfg.RenewLead:
		st.NeedsReauth, st.Reason = true, fmt.Sprintf("refresh token renewals used up; it expires %s", t.RefreshExpiresAt.Format(time.RFC3339))
	case len(st.MissingScopes) > 0:
		st.NeedsReauth, st.Reason = true, "scopes not granted: "+strings.Join(st.MissingScopes, ",")
	}
	return st, nil
}

func refreshValid(t token.Token, now time.Time) bool {
	return t.RefreshToken != "" && (t.RefreshExpiresAt.IsZero() || now.Before(t.RefreshExpiresAt))
}

func (c *Client) lockFor(account string) *sync.Mutex {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.locks[account]
	if !ok {
		m = &sync.Mutex{}
		c.locks[account] = m
	}
	return m
}

func (c *Client) notAuthorized(op string, acct roster.Account, why string) error {
	return &ingest.Error{Platform: Platform, Op: op, Kind: ingest.KindUnauthorized,
		Message: fmt.Sprintf("%s; ambassador %s must authorize again (tongxin auth douyin %s)", why, acct.AmbassadorID, acct.AmbassadorID)}
}

// accessToken returns a usable token for acct, refreshing and renewing
// ahead of expiry.
func (c *Client) accessToken(ctx context.Context, acct roster.Account, op string) (token.Token, error) {
	t, err := c.cfg.Tokens.Get(Platform, acct.AccountID)
	if errors.Is(err, token.ErrNotFound) {
		return token.Token{}, &ingest.Error{Platform: Platform, Op: op, Kind: ingest.KindUnauthorized,
			Message: fmt.Sprintf("ambassador %s has not authorized the app (tongxin auth douyin %s)", acct.AmbassadorID, acct.AmbassadorID)}
	}
	if err != nil {
		return token.Token{}, &ingest.Error{Platform: Platform, Op: op, Kind: ingest.KindUnknown, Message: "reading the token store", Err: err}
	}
	if c.needsCare(t, c.cfg.Clock.Now()) {
		m := c.lockFor(acct.AccountID)
		m.Lock()
		defer m.Unlock()
		if t, err = c.cfg.Tokens.Get(Platform, acct.AccountID); err != nil {
			return token.Token{}, &ingest.Error{Platform: Platform, Op: op, Kind: ingest.KindUnknown, Message: "reading the token store", Err: err}
		}
		if t, err = c.maintain(ctx, acct, t); err != nil {
			return token.Token{}, err
		}
	}
	if !c.cfg.Clock.Now().Before(t.ExpiresAt) {
		return token.Token{}, c.notAuthorized(op, acct, "access token expired and cannot be refreshed")
	}
	return t, nil
}

// needsCare says whether t is due for a refresh, a renewal or a warning.
func (c *Client) needsCare(t token.Token, now time.Time) bool {
	if t.ExpiresAt.Sub(now) < c.cfg.RefreshLead {
		return true
	}
	return !t.RefreshExpiresAt.IsZero() && t.RefreshExpiresAt.Sub(now) < c.cfg.RenewLead
}

// maintain renews the refresh token and refreshes the access token when
// they are due. Failures are fatal only when no valid access token is left.
// The caller holds the account's lock.
func (c *Client) maintain(ctx context.Context, acct roster.Account, t token.Token) (token.Token, error) {
	now := c.cfg.Clock.Now()
	if refreshValid(t, now) && !t.RefreshExpiresAt.IsZero() && t.RefreshExpiresAt.Sub(now) < c.cfg.RenewLead {
		if t.RefreshRenewals < MaxRefreshRenewals {
			nt, err := c.renew(ctx, acct, t)
			switch {
			case err == nil:
				t = nt
			case ctx.Err() != nil:
				return t, err
			default:
				c.cfg.Log.Warn("douyin refresh token renewal failed; will retry", "ambassador", acct.AmbassadorID, "account", acct.AccountID, "err", err)
			}
		}
		if t.RefreshRenewals >= MaxRefreshRenewals && t.RefreshExpiresAt.Sub(now) < c.cfg.RenewLead {
			c.warnOnce(acct, t)
		}
	}
	now = c.cfg.Clock.Now()
	if t.ExpiresAt.Sub(now) < c.cfg.RefreshLead {
		if !refreshValid(t, now) {
			if now.Before(t.ExpiresAt) {
				c.warnOnce(acct, t)
				return t, nil // still usable until it expires
			}
			return t, c.notAuthorized("refresh_token", acct, "access and refresh tokens expired")
		}
		nt, err := c.refresh(ctx, acct, t)
		if err != nil {
			if now.Before(t.ExpiresAt) && ctx.Err() == nil {
				c.cfg.Log.Warn("douyin access token refresh failed; using the current token meanwhile", "ambassador", acct.AmbassadorID, "account", acct.AccountID, "expires_at", t.ExpiresAt, "err", err)
				return t, nil
			}
			return t, err
		}
		t = nt
	}
	return t, nil
}

func (c *Client) warnOnce(acct roster.Account, t token.Token) {
	c.mu.Lock()
	done := c.warned[acct.AccountID]
	c.warned[acct.AccountID] = true
	c.mu.Unlock()
	if done {
		return
	}
	c.cfg.Log.Warn("douyin authorization runs out: refresh token renewals used up; the ambassador must authorize again",
		"ambassador", acct.AmbassadorID, "account", acct.AccountID,
		"refresh_expires_at", t.RefreshExpiresAt, "access_expires_at", t.ExpiresAt,
		"command", "tongxin auth douyin "+acct.AmbassadorID)
}

// forceRefresh is called after the platform said the access token `used`
// expired: unless another caller already replaced it, refresh now.
func (c *Client) forceRefresh(ctx context.Context, acct roster.Account, used string) (token.Token, error) {
	m := c.lockFor(acct.AccountID)
	m.Lock()
	defer m.Unlock()
	t, err := c.cfg.Tokens.Get(Platform, acct.AccountID)
	if err != nil {
		return token.Token{}, &ingest.Error{Platform: Platform, Op: "refresh_token", Kind: ingest.KindUnknown, Message: "reading the token store", Err: err}
	}
	if t.AccessToken != used && c.cfg.Clock.Now().Before(t.ExpiresAt) {
		return t, nil
	}
	if !refreshValid(t, c.cfg.Clock.Now()) {
		return token.Token{}, c.notAuthorized("refresh_token", acct, "access token expired and the refresh token too")
	}
	return c.refresh(ctx, acct, t)
}

// refresh gets a new access token (POST /oauth/refresh_token/) and stores it.
func (c *Client) refresh(ctx context.Context, acct roster.Account, t token.Token) (token.Token, error) {
	const op = "refresh_token"
	form := url.Values{"client_key": {c.cfg.ClientKey}, "grant_type": {"refresh_token"}, "refresh_token": {t.RefreshToken}}
	td, arrived, reqID, err := c.oauth(ctx, op, "/oauth/refresh_token/", form)
	if err != nil {
		var ie *ingest.Error
		if errors.As(err, &ie) && ie.Kind == ingest.KindUnauthorized {
			ie.Message += fmt.Sprintf("; ambassador %s must authorize again (tongxin auth douyin %s)", acct.AmbassadorID, acct.AmbassadorID)
		}
		return t, err
	}
	if td.AccessToken == "" || !td.ExpiresIn.Set {
		return t, ingest.Malformed(Platform, op, reqID, "refresh_token answer lacks access_token or expires_in", nil)
	}
	if td.OpenID != "" && td.OpenID != acct.AccountID {
		return t, ingest.Malformed(Platform, op, reqID, fmt.Sprintf("refresh_token answered for open_id %s, not %s", td.OpenID, acct.AccountID), nil)
	}
	t.AccessToken = td.AccessToken
	t.ExpiresAt = arrived.Add(time.Duration(td.ExpiresIn.V) * time.Second)
	if td.RefreshToken != "" {
		t.RefreshToken = td.RefreshToken
	}
	if td.RefreshExpiresIn.Set && td.RefreshExpiresIn.V > 0 {
		t.RefreshExpiresAt = arrived.Add(time.Duration(td.RefreshExpiresIn.V) * time.Second)
	}
	if td.Scope != "" {
		t.Scope = td.Scope
	}
	t.UpdatedAt = arrived
	if err := c.cfg.Tokens.Put(t); err != nil {
		return t, &ingest.Error{Platform: Platform, Op: op, Kind: ingest.KindUnknown, Message: "storing the refreshed token", Err: err}
	}
	c.cfg.Log.Info("douyin access token refreshed", "ambassador", acct.AmbassadorID, "token", t)
	return t, nil
}

// renew gets a new refresh token (POST /oauth/renew_refresh_token/) and stores it.
func (c *Client) renew(ctx context.Context, acct roster.Account, t token.Token) (token.Token, error) {
	const op = "renew_refresh_token"
	form := url.Values{"client_key": {c.cfg.ClientKey}, "refresh_token": {t.RefreshToken}}
	td, arrived, reqID, err := c.oauth(ctx, op, "/oauth/renew_refresh_token/", form)
	if err != nil {
		var ie *ingest.Error
		if errors.As(err, &ie) && ie.Code == codeRenewLimit {
			// The platform counts renewals; ours may have drifted.
			t.RefreshRenewals = MaxRefreshRenewals
			t.UpdatedAt = c.cfg.Clock.Now().UTC()
			_ = c.cfg.Tokens.Put(t)
		}
		return t, err
	}
	if td.RefreshToken == "" || !td.ExpiresIn.Set {
		return t, ingest.Malformed(Platform, op, reqID, "renew_refresh_token answer lacks refresh_token or expires_in", nil)
	}
	t.RefreshToken = td.RefreshToken
	t.RefreshExpiresAt = arrived.Add(time.Duration(td.ExpiresIn.V) * time.Second)
	t.RefreshRenewals++
	t.UpdatedAt = arrived
	if err := c.cfg.Tokens.Put(t); err != nil {
		return t, &ingest.Error{Platform: Platform, Op: op, Kind: ingest.KindUnknown, Message: "storing the renewed token", Err: err}
	}
	c.cfg.Log.Info("douyin refresh token renewed", "ambassador", acct.AmbassadorID, "token", t)
	return t, nil
}

// oauth posts a form to an OAuth endpoint and decodes the token answer.
func (c *Client) oauth(ctx context.Context, op, path string, form url.Values) (tokenData, time.Time, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return tokenData{}, time.Time{}, "", &ingest.Error{Platform: Platform, Op: op, Kind: ingest.KindInvalid, Message: "bad request URL", Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.do(op, req)
	if err != nil {
		return tokenData{}, time.Time{}, "", err
	}
	data, err := c.decode(op, resp)
	if err != nil {
		// The platform's words may echo what it was sent.
		secrets := []string{form.Get("client_secret"), form.Get("code"), form.Get("refresh_token")}
		return tokenData{}, resp.arrived, resp.requestID, ingest.RedactError(err, secrets...)
	}
	var td tokenData
	if err := json.Unmarshal(data, &td); err != nil {
		return tokenData{}, resp.arrived, resp.requestID, ingest.Malformed(Platform, op, resp.requestID, "token answer is not the documented shape", err)
	}
	return td, resp.arrived, resp.requestID, nil
}
