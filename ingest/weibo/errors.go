package weibo

import (
	"bytes"
	"encoding/json"
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

// num is ingest.Int: a number or numeric string; Set says it was there.
type num = ingest.Int

// id is a status or user id, sent as a JSON number or string; it is kept
// as its decimal text so 64-bit ids never pass through a float.
type id string

func (i *id) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*i = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*i = id(strings.TrimSpace(s))
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want an id, got %.24s", b)
		}
		if _, err := strconv.ParseUint(string(n), 10, 64); err != nil {
			return fmt.Errorf("want an integer id, got %.24s", b)
		}
		*i = id(n)
	}
	return nil
}

// envelope is Weibo's error answer: {"request","error_code","error"}, plus
// "error_description" on the OAuth2 endpoints.
type envelope struct {
	Request     string          `json:"request"`
	ErrorCode   json.RawMessage `json:"error_code"`
	Error       string          `json:"error"`
	Description string          `json:"error_description"`
}

func (e envelope) code() int {
	var n num
	if json.Unmarshal(e.ErrorCode, &n) != nil || !n.Set {
		return 0
	}
	return int(n.V)
}

// parseEnvelope reports whether body is an error envelope.
func parseEnvelope(body []byte) (envelope, bool) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' {
		return envelope{}, false
	}
	var e envelope
	if json.Unmarshal(b, &e) != nil {
		return envelope{}, false
	}
	if len(e.ErrorCode) == 0 || string(e.ErrorCode) == "null" {
		// An OAuth2 answer may carry only "error".
		if e.Error == "" || bytes.Contains(b, []byte(`"access_token"`)) || bytes.Contains(b, []byte(`"statuses"`)) {
			return envelope{}, false
		}
	}
	return e, true
}

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
	e.Message = redact(strings.TrimSpace(msg), secrets)
	if e.Kind == ingest.KindRateLimited {
		e.RetryAfter = retryAfter(resp.Header, now)
	}
	return e
}

// retryAfter reads a Retry-After header (seconds or an HTTP date). Weibo
// sends none: its hourly limits reset at the top of the hour, so without
// the header the wait is until then (now zero: unknown, the caller decides).
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			ref := now
			if ref.IsZero() {
				ref = time.Now()
			}
			return max(t.Sub(ref), 0)
		}
	}
	if now.IsZero() {
		return 0
	}
	next := now.Truncate(time.Hour).Add(time.Hour)
	return max(next.Sub(now), time.Second)
}
