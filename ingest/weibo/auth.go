package weibo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/snapshot"
)

// AuthURL is the consent page an ambassador opens to authorize the app;
// Weibo redirects to redirectURI?code=CODE&state=STATE. An empty
// redirectURI means Config.RedirectURI; it must be the app's registered
// callback, and Exchange must be given the same one.
func (c *Client) AuthURL(redirectURI, state string) string {
	if redirectURI == "" {
		redirectURI = c.cfg.RedirectURI
	}
	q := url.Values{
		"client_id":     {c.cfg.AppKey},
		"redirect_uri":  {redirectURI},
		"response_type": {"code"},
	}
	if state != "" {
		q.Set("state", state)
	}
	return c.cfg.BaseURL + "/oauth2/authorize?" + q.Encode()
}

// accessTokenAnswer is POST /oauth2/access_token's answer.
type accessTokenAnswer struct {
	AccessToken  string     `json:"access_token"`
	ExpiresIn    ingest.Int `json:"expires_in"`
	RemindIn     ingest.Int `json:"remind_in"` // deprecated twin of expires_in
	UID          id         `json:"uid"`
	RefreshToken string     `json:"refresh_token"` // mobile-SDK apps only
	Scope        string     `json:"scope"`
}

// Exchange turns the code from the consent page's redirect into the
// ambassador's token (one request), with Config.RedirectURI. The token is
// not stored: the caller checks that its AccountID (the Weibo uid) is the
// ambassador's roster account before putting it into the token store.
func (c *Client) Exchange(ctx context.Context, code string) (token.Token, error) {
	return c.ExchangeRedirect(ctx, code, c.cfg.RedirectURI)
}

// ExchangeRedirect is Exchange with an explicit redirect URI (the one given
// to AuthURL).
func (c *Client) ExchangeRedirect(ctx context.Context, code, redirectURI string) (token.Token, error) {
	const op = "exchange_code"
	if c.cfg.AppKey == "" || c.cfg.AppSecret == "" {
		return token.Token{}, &ingest.Error{Platform: snapshot.Weibo, Op: op, Kind: ingest.KindInvalid,
			Message: "the app key and secret (client_id, client_secret) are not configured"}
	}
	if code == "" {
		return token.Token{}, &ingest.Error{Platform: snapshot.Weibo, Op: op, Kind: ingest.KindInvalid, Message: "empty authorization code"}
	}
	form := url.Values{
		"client_id":     {c.cfg.AppKey},
		"client_secret": {c.cfg.AppSecret},
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {redirectURI},
	}
	body, now, e := c.post(ctx, op, "/oauth2/access_token", form, c.cfg.AppSecret, code)
	if e != nil {
		return token.Token{}, e
	}
	var a accessTokenAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return token.Token{}, ingest.Malformed(snapshot.Weibo, op, "", "access_token answer is not the documented JSON", err)
	}
	if a.AccessToken == "" || a.UID == "" {
		return token.Token{}, ingest.Malformed(snapshot.Weibo, op, "", "access_token answer without access_token or uid", nil)
	}
	life := a.ExpiresIn
	if !life.Set {
		life = a.RemindIn
	}
	t := token.Token{
		Platform: snapshot.Weibo, AccountID: string(a.UID), AccessToken: a.AccessToken,
		RefreshToken: a.RefreshToken, Scope: a.Scope, UpdatedAt: now,
	}
	if life.Set && life.V > 0 {
		t.ExpiresAt = now.Add(time.Duration(life.V) * time.Second)
	}
	return t, nil
}

// TokenInfo is what POST /oauth2/get_token_info says of a token.
type TokenInfo struct {
	UID       string
	AppKey    string
	Scope     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

type tokenInfoAnswer struct {
	UID      id              `json:"uid"`
	AppKey   id              `json:"appkey"`
	Scope    json.RawMessage `json:"scope"`
	CreateAt ingest.Int      `json:"create_at"`
	ExpireIn ingest.Int      `json:"expire_in"`
}

// TokenInfo asks Weibo about the account's stored token (one request) and,
// when the platform's expiry differs from the stored one, updates the store.
// A token of another uid than the account's is KindUnauthorized.
func (c *Client) TokenInfo(ctx context.Context, acct roster.Account) (TokenInfo, error) {
	const op = "token_info"
	tok, e := c.token(op, acct)
	if e != nil {
		return TokenInfo{}, e
	}
	body, now, e := c.postAs(ctx, op, &acct, "/oauth2/get_token_info", url.Values{"access_token": {tok}}, tok)
	if e != nil {
		return TokenInfo{}, e
	}
	var a tokenInfoAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return TokenInfo{}, ingest.Malformed(snapshot.Weibo, op, "", "get_token_info answer is not the documented JSON", err)
	}
	if a.UID == "" || !a.ExpireIn.Set {
		return TokenInfo{}, ingest.Malformed(snapshot.Weibo, op, "", "get_token_info answer without uid or expire_in", nil)
	}
	info := TokenInfo{UID: string(a.UID), AppKey: string(a.AppKey), ExpiresAt: now.Add(time.Duration(a.ExpireIn.V) * time.Second)}
	if s := strings.Trim(string(a.Scope), `" `); s != "null" {
		info.Scope = s
	}
	if a.CreateAt.Set {
		info.CreatedAt = time.Unix(a.CreateAt.V, 0).UTC()
	}
	if info.UID != acct.AccountID {
		c.markDead(acct, fingerprint(tok), "", "the token belongs to weibo uid "+info.UID)
		return info, &ingest.Error{Platform: snapshot.Weibo, Op: op, Kind: ingest.KindUnauthorized,
			Message: fmt.Sprintf("the stored token belongs to weibo uid %s, not %s", info.UID, acct.AccountID), Err: reauthHint(acct)}
	}
	if t, err := c.cfg.Tokens.Get(snapshot.Weibo, acct.AccountID); err == nil && t.AccessToken == tok {
		if d := t.ExpiresAt.Sub(info.ExpiresAt); d > time.Minute || d < -time.Minute {
			t.ExpiresAt, t.UpdatedAt = info.ExpiresAt, now
			if info.Scope != "" {
				t.Scope = info.Scope
			}
			if err := c.cfg.Tokens.Put(t); err != nil {
				return info, &ingest.Error{Platform: snapshot.Weibo, Op: op, Kind: ingest.KindUnknown, Message: "token store", Err: err}
			}
		}
	}
	return info, nil
}

// post sends a form; secrets are kept out of any error text.
func (c *Client) post(ctx context.Context, op, path string, form url.Values, secrets ...string) ([]byte, time.Time, *ingest.Error) {
	return c.postAs(ctx, op, nil, path, form, secrets...)
}

func (c *Client) postAs(ctx context.Context, op string, acct *roster.Account, path string, form url.Values, secrets ...string) ([]byte, time.Time, *ingest.Error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, time.Time{}, &ingest.Error{Platform: snapshot.Weibo, Op: op, Kind: ingest.KindInvalid, Message: "base URL", Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req, op, acct, secrets...)
}

// TokenState is where an account's authorization stands.
type TokenState string

const (
	TokenOK       TokenState = "ok"
	TokenExpiring TokenState = "expiring" // within WarnBefore: ask the ambassador now
	TokenExpired  TokenState = "expired"  // past its expiry by the campaign clock
	TokenRefused  TokenState = "refused"  // the platform refused it (revoked, invalid, expired early)
	TokenMissing  TokenState = "missing"  // the ambassador never authorized
	TokenUnknown  TokenState = "unknown"  // the token store could not be read
)

// TokenStatus is one account's authorization, for the "reauthorization
// needed" report. It never holds the token.
type TokenStatus struct {
	AmbassadorID string
	AccountID    string
	State        TokenState
	ExpiresAt    time.Time     // zero when unknown
	Remaining    time.Duration // until ExpiresAt; 0 once expired or unknown
	Reason       string        // for people: what happened and what to do
}

// NeedsReauthorization reports whether the office should ask the
// ambassador to authorize the app (again) now.
func (s TokenStatus) NeedsReauthorization() bool { return s.State != TokenOK }

// TokenStatus reports the account's authorization without a request: from
// the token store, the campaign clock and what the platform answered
// earlier.
func (c *Client) TokenStatus(acct roster.Account) TokenStatus {
	st := TokenStatus{AmbassadorID: acct.AmbassadorID, AccountID: acct.AccountID}
	cmd := "tongxin auth weibo " + acct.AmbassadorID
	if c.cfg.Tokens == nil {
		st.State, st.Reason = TokenUnknown, "no token store configured"
		return st
	}
	t, err := c.cfg.Tokens.Get(snapshot.Weibo, acct.AccountID)
	switch {
	case errors.Is(err, token.ErrNotFound) || (err == nil && t.AccessToken == ""):
		st.State = TokenMissing
		st.Reason = fmt.Sprintf("ambassador %s has not authorized the app: %s", acct.AmbassadorID, cmd)
		return st
	case err != nil:
		st.State, st.Reason = TokenUnknown, "token store: "+err.Error()
		return st
	}
	now := c.now()
	st.ExpiresAt = t.ExpiresAt
	if !t.ExpiresAt.IsZero() && t.ExpiresAt.After(now) {
		st.Remaining = t.ExpiresAt.Sub(now)
	}
	c.mu.Lock()
	d, dead := c.dead[acct.AccountID]
	c.mu.Unlock()
	refused := dead && d.fp == fingerprint(t.AccessToken)
	switch {
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		st.State = TokenExpired
		st.Reason = fmt.Sprintf("authorization expired at %s; ambassador %s must authorize again: %s", t.ExpiresAt.UTC().Format(time.RFC3339), acct.AmbassadorID, cmd)
	case refused && d.code != "":
		st.State = TokenRefused
		st.Reason = fmt.Sprintf("Weibo refused the token (code %s: %s); ambassador %s must authorize again: %s", d.code, d.message, acct.AmbassadorID, cmd)
	case refused:
		st.State = TokenRefused
		st.Reason = fmt.Sprintf("%s; ambassador %s must authorize again: %s", d.message, acct.AmbassadorID, cmd)
	case c.cfg.WarnBefore >= 0 && !t.ExpiresAt.IsZero() && t.ExpiresAt.Sub(now) <= c.cfg.WarnBefore:
		st.State = TokenExpiring
		st.Reason = fmt.Sprintf("authorization expires at %s (in %s); ambassador %s should authorize again now: %s",
			t.ExpiresAt.UTC().Format(time.RFC3339), st.Remaining.Round(time.Minute), acct.AmbassadorID, cmd)
	default:
		st.State = TokenOK
	}
	return st
}
