// Package ingest holds what every platform adapter shares: the Post a
// listing finds, the Source interface the scheduler drives, the typed
// errors the platforms' error envelopes become, and the plumbing of a
// platform client (client.go): ClientConfig, RetryAfter, TransportError,
// Malformed, Snippet, NoRedirects and Int. The adapters live in
// ingest/douyin, ingest/weibo and ingest/wechat; the scheduler, the request
// budget and the Kafka producer beside them.
//
// # An adapter's files
//
// Each adapter package names its files by role:
//
//   - <platform>.go (douyin.go, weibo.go, wechat.go): Config (which embeds
//     ClientConfig), Client, New, and the Source methods List, Fetch,
//     MaxBatch and PageSize, with the request path they share;
//   - wire.go: the platform's JSON shapes and how its envelope is read;
//   - errors.go: how an answer becomes an *Error, its Kind from the
//     platform's table in ingest/errcode (the WeChat feed's few codes
//     are mapped in its errors.go itself);
//   - auth.go: OAuth (consent URL, code exchange, token upkeep), where the
//     platform has it (the WeChat feed authenticates with an API key).
//
// Besides these, package wechat reads the creator console's exports
// (export.go, import.go, watcher.go and their helpers).
package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/redact"
	"github.com/tongxin/tongxin/snapshot"
)

// Post is one post of one ambassador's account, as a listing found it.
type Post struct {
	Platform     string
	PostID       string
	AccountID    string
	AmbassadorID string
	PublishedAt  time.Time
	Title        string
}

// Key is the post's Kafka key.
func (p Post) Key() string { return snapshot.Key(p.Platform, p.PostID) }

// Listing is one page of an account's posts, newest first. Snapshots holds
// the counters the listing carried (Douyin's and Weibo's do), observed now.
type Listing struct {
	Posts     []Post
	Snapshots []snapshot.Snapshot
	// Cursor fetches the next (older) page; HasMore says whether there is one.
	Cursor  string
	HasMore bool
	// Rejected are the page's items that break the snapshot rules: left
	// out of Posts and Snapshots, the rest of the page kept.
	Rejected []Rejected
}

// Fetched is the answer to one Fetch: a snapshot for every post the platform
// still shows, and the ids of those it no longer returns (deleted, hidden).
type Fetched struct {
	Snapshots []snapshot.Snapshot
	Missing   []string
	// Rejected are the answers that break the snapshot rules: left out of
	// Snapshots, the rest kept.
	Rejected []Rejected
}

// Rejected is one item of a platform's answer that an adapter would not
// emit because it breaks the snapshot rules (snapshot.ValidateAt, judged
// on the adapter's clock). The scheduler logs and counts it; nothing is
// dropped silently.
type Rejected struct {
	PostID string // as the platform sent it
	Err    error  // names the platform, the post and the field
}

// Reject makes a Rejected of a snapshot and what is wrong with it.
func Reject(s *snapshot.Snapshot, err error) Rejected {
	return Rejected{PostID: s.PostID, Err: fmt.Errorf("%s post %s: %w", s.Platform, snapshot.Clip(s.PostID), err)}
}

// Source is one platform's adapter. Each call is one API request, paid for
// from the platform's request budget by the scheduler before it is made.
type Source interface {
	Platform() string
	// List returns one page of the account's posts; cursor "" is the newest page.
	List(ctx context.Context, acct roster.Account, cursor string) (Listing, error)
	// Fetch returns the counters of up to MaxBatch posts of one account.
	Fetch(ctx context.Context, acct roster.Account, posts []Post) (Fetched, error)
	// MaxBatch is how many posts one Fetch request can carry.
	MaxBatch() int
	// PageSize is how many posts one List page holds: the scheduler
	// refreshes an account's PageSize newest posts through its listing.
	PageSize() int
}

// Kind classifies what went wrong with a platform request, so the scheduler
// knows whether to retry, wait, refresh a token or tell the office.
type Kind int

const (
	KindUnknown        Kind = iota
	KindRateLimited         // too many requests now: wait RetryAfter and retry
	KindQuotaExhausted      // the day's (or hour's) quota is used up: wait for the reset
	KindTokenExpired        // the access token expired: refresh it and retry
	KindUnauthorized        // the ambassador must authorize (again), or a scope is missing
	KindUnavailable         // 5xx, timeout, connection trouble: retry with backoff
	KindMalformed           // the response could not be read: counted, logged, retried later
	KindNotFound            // the post or account is gone
	KindInvalid             // the request was wrong: a bug or a config mistake, not retried
	// KindWithdrawn: the platform no longer lets the app do this at all —
	// the API was taken offline, the capability or the app itself was
	// banned, a test app expired. No ambassador can fix it and no retry
	// helps: the whole platform is paused and a person is told.
	KindWithdrawn
	// KindAccountBlocked: this account cannot be read any more — it was
	// deregistered, banned or made private, or is not a tester of a test
	// app. Re-authorizing does not help: the account is parked and a
	// person is told.
	KindAccountBlocked
)

var kindNames = [...]string{"unknown", "rate_limited", "quota_exhausted", "token_expired", "unauthorized", "unavailable", "malformed", "not_found", "invalid", "withdrawn", "account_blocked"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Retryable reports whether the same request may succeed later.
func (k Kind) Retryable() bool {
	switch k {
	case KindRateLimited, KindQuotaExhausted, KindTokenExpired, KindUnavailable, KindMalformed, KindUnknown:
		return true
	}
	return false
}

// Error is a platform's error envelope, or a transport failure, made typed.
// It never holds a token or secret.
type Error struct {
	Platform   string
	Op         string // "list", "fetch", "refresh_token", ...
	Kind       Kind
	Code       string        // the platform's own error code, if any
	Message    string        // the platform's description
	RequestID  string        // the platform's log/request id, for support tickets
	RetryAfter time.Duration // when the platform said how long to wait, on its clock (campaign time)
	Err        error         // the underlying error, if any
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s %s: %s", e.Platform, e.Op, e.Kind)
	if e.Code != "" {
		msg += " (code " + e.Code + ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.RequestID != "" {
		msg += " [request id " + e.RequestID + "]"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err: an *Error's, KindUnavailable for a
// context deadline (a timeout), KindUnknown otherwise.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return KindUnavailable
	}
	return KindUnknown
}

// redactedMark is what a secret reads as in an adapter's errors.
const redactedMark = "[redacted]"

// Redact replaces each secret (a token, a key, an OAuth code) in s: a
// platform may echo what it was sent, and its words end up in errors and logs.
func Redact(s string, secrets ...string) string {
	return redact.New(redactedMark, secrets...).String(s)
}

// RedactError is err with every secret redacted from its message (and
// from the errors it wraps). An error that shows none is returned as it is.
func RedactError(err error, secrets ...string) error {
	r := redact.New(redactedMark, secrets...)
	if err == nil || r.String(err.Error()) == err.Error() {
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		// Kept an *Error, so the scheduler still reads its Kind.
		c := *e
		c.Message = r.String(c.Message)
		c.RequestID = r.String(c.RequestID)
		c.Err = r.Error(c.Err)
		return &c
	}
	return r.Error(err)
}
