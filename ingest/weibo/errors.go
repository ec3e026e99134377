package weibo

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/errcode"
	"github.com/tongxin/tongxin/snapshot"
)

// oauthKinds maps the OAuth2 "error" names, for an envelope that brings
// no code: the names are the texts of the OAuth2 rows of errcode.Weibo.
var oauthKinds = func() map[string]ingest.Kind {
	m := map[string]ingest.Kind{}
	for _, r := range errcode.Weibo.Rows {
		if !strings.ContainsAny(r.Text, " %") && strings.ToLower(r.Text) == r.Text {
			m[r.Text] = r.Kind
		}
	}
	return m
}()

// deadCode reports whether a code says the token itself no longer works
// (or belongs to someone else), so it must not be used again.
func deadCode(code int) bool {
	switch code {
	case 21301, 21314, 21315, 21316, 21317, 21319, 21327, 21332, 21335:
		return true
	}
	return false
}

// errAppPermission is the hint for KindWithdrawn errors.
var errAppPermission = errors.New("the app itself may no longer do this (its access level, review or API permissions on open.weibo.com), not the ambassador: a person must look")

// kindOf decides the Kind of an envelope: by code, then by the OAuth2 error
// name, then by the HTTP status.
func kindOf(code int, name string, status int) ingest.Kind {
	if c, ok := errcode.Weibo.Lookup(code); ok {
		return c.Kind
	}
	if k, ok := oauthKinds[name]; ok {
		return k
	}
	switch {
	case status == http.StatusTooManyRequests:
		return ingest.KindRateLimited
	case status >= 500:
		return ingest.KindUnavailable
	case status == http.StatusUnauthorized:
		return ingest.KindUnauthorized
	case status == http.StatusNotFound:
		return ingest.KindNotFound
	case code >= 21300 && code < 21400: // the OAuth family
		return ingest.KindUnauthorized
	case code >= 10000 && code < 20000 && status >= 500:
		return ingest.KindUnavailable
	}
	return ingest.KindUnknown
}

// apiError types an error envelope.
func (c *Client) apiError(op string, resp *http.Response, env envelope, now time.Time, secrets []string) *ingest.Error {
	code := env.code()
	e := &ingest.Error{Platform: snapshot.Weibo, Op: op, Kind: kindOf(code, env.Error, resp.StatusCode)}
	if code != 0 {
		e.Code = strconv.Itoa(code)
	}
	msg := env.Error
	if env.Description != "" && env.Description != env.Error {
		msg = strings.TrimSpace(msg + ": " + env.Description)
	}
	if env.Request != "" {
		msg += " (request " + env.Request + ")"
	}
	if resp.StatusCode != http.StatusOK {
		msg += fmt.Sprintf(" [HTTP %d]", resp.StatusCode)
	}
	e.Message = ingest.Redact(strings.TrimSpace(msg), secrets...)
	if e.Kind == ingest.KindRateLimited {
		e.RetryAfter = limitWait(resp.Header, now)
	}
	return e
}

// limitWait is how long a rate limit lasts: the Retry-After header when
// a proxy or the simulator sends one, else until the next full hour, when
// Weibo's hourly limits reset (now is the campaign clock).
func limitWait(h http.Header, now time.Time) time.Duration {
	if d, ok := ingest.RetryAfter(h, now); ok {
		return d
	}
	next := now.Truncate(time.Hour).Add(time.Hour)
	return max(next.Sub(now), time.Second)
}

// statusError types an answer with an error status and no envelope.
func statusError(op string, resp *http.Response, body []byte, now time.Time, secrets []string) *ingest.Error {
	e := &ingest.Error{Platform: snapshot.Weibo, Op: op, Message: fmt.Sprintf("HTTP %d: %s", resp.StatusCode, ingest.Snippet(body, secrets...))}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests:
		e.Kind = ingest.KindRateLimited
		e.RetryAfter, _ = ingest.RetryAfter(resp.Header, now)
	case s >= 500:
		e.Kind = ingest.KindUnavailable
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		e.Kind = ingest.KindUnauthorized
	case s == http.StatusNotFound:
		e.Kind = ingest.KindNotFound
	case s >= 400:
		e.Kind = ingest.KindInvalid
	default:
		e.Kind = ingest.KindMalformed
	}
	return e
}
