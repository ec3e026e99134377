package ingest

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// DefaultTimeout bounds one platform request when the caller gives no
// client of its own (wall clock: it is the network's time, not the campaign's).
const DefaultTimeout = 30 * time.Second

// NoRedirects returns a client like c (a default one when c is nil) that
// follows no redirect. Platform APIs never redirect a call they answer, and
// net/http would re-send custom headers (Douyin's access-token, the feed's
// X-Api-Key) to whatever host the Location names, and a 307 would re-post
// an OAuth form with the client secret and the code. A redirect becomes an
// *Error of KindInvalid naming the status and the target host; see Redirected.
// The copy shares c's Transport, so budgets and connection pools still apply.
func NoRedirects(platform string, c *http.Client) *http.Client {
	var out http.Client
	if c == nil {
		out.Timeout = DefaultTimeout
	} else {
		out = *c
	}
	out.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		status := 0
		if req.Response != nil {
			status = req.Response.StatusCode
		}
		// Only the host: the Location's path and query may echo a secret.
		return &Error{Platform: platform, Kind: KindInvalid,
			Message: fmt.Sprintf("the API answered HTTP %d, a redirect to host %q; platform requests do not follow redirects (is the base URL right?)", status, req.URL.Host),
			Err:     ErrRedirect}
	}
	return &out
}

// ErrRedirect is the cause of every refused redirect (errors.Is).
var ErrRedirect = errors.New("redirect refused")

// Redirected returns the redirect error of a client made by NoRedirects
// within err (what http.Client.Do returned), with its Op set to op; nil when
// err is not one.
func Redirected(err error, op string) *Error {
	var e *Error
	if !errors.As(err, &e) || !errors.Is(e.Err, ErrRedirect) {
		return nil
	}
	out := *e
	out.Op = op
	return &out
}
