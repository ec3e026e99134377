package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
)

// MaxBody bounds how much of one answer an adapter reads.
const MaxBody = 8 << 20

// ClientConfig is what every adapter's Config starts with (embedded).
type ClientConfig struct {
	// BaseURL is the API's base; the adapter's DefaultBaseURL when empty.
	// A proxy or the simulator can stand in.
	BaseURL string
	// HTTP makes every request (the scheduler's, which charges the request
	// budget). Defaults, and NoRedirects: see WithDefaults.
	HTTP *http.Client
	// Clock is the campaign clock: observed_at, token expiry, Retry-After.
	Clock clock.Clock
	Log   *slog.Logger
	// Source marks the snapshots: snapshot.SourceAPI unless set
	// (snapshot.SourceSim when BaseURL is the simulator).
	Source string
}

// WithDefaults returns cfg with its zero fields set for platform: BaseURL
// defaultBaseURL (without a trailing slash), an HTTP client that follows
// no redirect (NoRedirects), the real clock, a logger that discards and
// labels every line with the platform, and source snapshot.SourceAPI.
func (cfg ClientConfig) WithDefaults(platform, defaultBaseURL string) ClientConfig {
	if cfg.BaseURL == "" {
		cfg.BaseURL = defaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.HTTP = NoRedirects(platform, cfg.HTTP)
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Log = cfg.Log.With("platform", platform)
	if cfg.Source == "" {
		cfg.Source = snapshot.SourceAPI
	}
	return cfg
}

// RetryAfter reads a Retry-After header, seconds or an HTTP date; a date
// counts from now, the time the answer arrived on the adapter's clock (the
// platform's clock is the campaign's). ok is false when the header is
// absent or unreadable; a date already past is 0.
func RetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// TransportError types a request that got no (whole) answer: the redirect
// a NoRedirects client refused (see Redirected), or else KindUnavailable —
// a timeout or connection trouble, retried with backoff. Only the cause is
// kept, not the URL net/http names: no URL is needed, and a query may hold
// what an error should not.
func TransportError(ctx context.Context, platform, op string, err error) *Error {
	if e := Redirected(err, op); e != nil {
		return e
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := "request failed"
	if ctx.Err() != nil {
		if !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			msg = "request canceled"
		}
	}
	return &Error{Platform: platform, Op: op, Kind: KindUnavailable, Message: msg, Err: err}
}

// Malformed is the error of an answer that is not in the documented shape:
// what says what is wrong, err is the decoder's complaint (if any). A body
// is not quoted here: token answers carry fresh tokens; see Snippet.
func Malformed(platform, op, requestID, what string, err error) *Error {
	return &Error{Platform: platform, Op: op, Kind: KindMalformed, RequestID: requestID, Message: what, Err: err}
}

// Snippet is the start of a body for an error message: on one line, at
// most 120 characters, each secret redacted (before it is cut, so no
// part of one shows).
func Snippet(body []byte, secrets ...string) string {
	s := Redact(strings.Join(strings.Fields(string(bytes.ToValidUTF8(body, nil))), " "), secrets...)
	if utf8.RuneCountInString(s) > 120 {
		s = string([]rune(s)[:120]) + "…"
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}

// OverBatch is the error of a Fetch of n posts when endpoint takes at
// most max in one request; nil when they fit.
func OverBatch(platform, endpoint string, n, max int) error {
	if n <= max {
		return nil
	}
	return &Error{Platform: platform, Op: "fetch", Kind: KindInvalid, Message: fmt.Sprintf("%d posts in one fetch; %s takes at most %d", n, endpoint, max)}
}
