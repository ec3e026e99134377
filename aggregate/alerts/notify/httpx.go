package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tongxin/tongxin/internal/redact"
)

// Reasons a delivery failed, as in the retries metric and Error.Reason.
const (
	ReasonRateLimited = "rate_limited" // the API's rate-limit errcode, or HTTP 429
	ReasonServerError = "server_error" // HTTP 5xx, or an errcode meaning "busy, try again"
	ReasonTimeout     = "timeout"
	ReasonNetwork     = "network"
	ReasonRejected    = "rejected"     // the API refused the message (bad key, bad signature, bad payload)
	ReasonBadResponse = "bad_response" // an answer that is not the API's envelope
	ReasonCanceled    = "canceled"     // our context ended
)

// Error is a failed delivery. Its text never holds a secret: URLs appear
// redacted, and anything the server echoed is scrubbed.
type Error struct {
	Receiver string
	Reason   string
	// Retryable says the same request may succeed later.
	Retryable bool
	// RetryAfter is how long the server asked us to wait (0: not said).
	RetryAfter time.Duration
	// Code is the API's own error code (errcode / code), if any.
	Code int
	msg  string
	// cause is kept only when it cannot carry a secret (context errors).
	cause error
}

func (e *Error) Error() string { return e.msg }

// Unwrap gives context.Canceled / DeadlineExceeded to errors.Is; nothing else.
func (e *Error) Unwrap() error { return e.cause }

// client posts JSON to one receiver and turns every failure into an *Error
// with secrets removed.
type client struct {
	name string
	http *http.Client
	red  *redact.Redactor
}

func newClient(name string, timeout time.Duration, base http.RoundTripper, red *redact.Redactor) *client {
	if base == nil {
		base = http.DefaultTransport
	}
	return &client{
		name: name,
		red:  red,
		http: &http.Client{
			Transport: base,
			Timeout:   timeout,
			// A robot that redirects is misconfigured; following would turn
			// the POST into a GET and carry the key to another host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// errorf builds an *Error, scrubbing the text.
func (c *client) errorf(reason string, retryable bool, format string, args ...any) *Error {
	return &Error{
		Receiver: c.name, Reason: reason, Retryable: retryable,
		msg: "notify " + c.name + ": " + c.red.String(fmt.Sprintf(format, args...)),
	}
}

// response is what came back.
type response struct {
	status int
	header http.Header
	body   []byte
}

const maxResponse = 64 << 10

// post sends body to rawURL. Transport trouble and HTTP 429/5xx/3xx/4xx
// are returned as *Error; a 2xx is returned for the caller to read the
// API's envelope.
func (c *client) post(ctx context.Context, rawURL string, body []byte, hdr http.Header) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		// The message of a URL parse error quotes the URL: leave it out.
		return nil, c.errorf(ReasonRejected, false, "building request to %s failed", c.red.Display())
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	req.Header.Set("User-Agent", "tongxin-notify/1")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if rerr != nil && ctx.Err() == nil {
		return nil, c.transportError(ctx, rerr)
	}
	r := &response{status: resp.StatusCode, header: resp.Header, body: b}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e := c.errorf(ReasonRateLimited, true, "POST %s: HTTP 429: %s", c.red.Display(), c.snippet(b))
		e.RetryAfter = retryAfter(resp.Header, time.Now())
		return r, e
	case resp.StatusCode >= 500:
		e := c.errorf(ReasonServerError, true, "POST %s: HTTP %d: %s", c.red.Display(), resp.StatusCode, c.snippet(b))
		e.RetryAfter = retryAfter(resp.Header, time.Now())
		return r, e
	case resp.StatusCode >= 300:
		return r, c.errorf(ReasonRejected, false, "POST %s: HTTP %d: %s", c.red.Display(), resp.StatusCode, c.snippet(b))
	}
	return r, nil
}

// transportError classifies a failure to get a response. The *url.Error
// wrapper (which quotes the full URL, key and all) is dropped.
func (c *client) transportError(ctx context.Context, err error) *Error {
	if ctx.Err() != nil {
		e := c.errorf(ReasonCanceled, false, "POST %s: %v", c.red.Display(), ctx.Err())
		e.cause = ctx.Err()
		return e
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return c.errorf(ReasonTimeout, true, "POST %s: timed out: %v", c.red.Display(), err)
	}
	return c.errorf(ReasonNetwork, true, "POST %s: %v", c.red.Display(), err)
}

// snippet is a short, single-line excerpt of a response body, scrubbed
// before it is cut (a cut secret would slip past the scrubber).
func (c *client) snippet(b []byte) string {
	s := c.oneLine(string(b))
	if s == "" {
		return "(empty body)"
	}
	return s
}

// oneLine is an API's message, scrubbed, on one line and short.
func (c *client) oneLine(s string) string {
	return truncateRunes(strings.Join(strings.Fields(c.red.String(s)), " "), 200)
}

// retryAfter reads how long a server asked us to wait: Retry-After in
// seconds or as an HTTP date (RFC 9110 §10.2.3), or Feishu's
// x-ogw-ratelimit-reset in seconds.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := t.Sub(now); d > 0 {
				return d
			}
			return 0
		}
	}
	if v := strings.TrimSpace(h.Get("X-Ogw-Ratelimit-Reset")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second))
		}
	}
	return 0
}
