// Package weibo is tongxin's adapter for the Weibo Open API v2
// (api.weibo.com): each ambassador authorizes the app once (OAuth2
// authorization code), and the adapter lists the ambassador's own statuses
// and fetches their counters.
//
// # Requests
//
//   - List: GET /2/statuses/user_timeline.json?uid=UID&count=N&page=P&trim_user=1
//     — the authorized user's own statuses, newest first. Since Weibo's 2014
//     upgrade uid may only be the token's own user (another uid answers 21335
//     "request uid's value must be the current user"), so each ambassador
//     must authorize. The cursor is the page number ("" = page 1, then "2",
//     "3", …); HasMore while a page comes back full and total_number says
//     there is more. Statuses marked "deleted" are skipped. The timeline
//     carries the counters, so a listing also yields snapshots.
//     Caveat: Weibo documents that this endpoint returns at most the newest
//     5 statuses (10 through the official mobile SDK) to ordinary apps, so a
//     production poll must list each account more often than it posts five
//     times (ambassadors post every day or two; the scheduler lists every
//     15 minutes). Older posts stay tracked by id through Fetch.
//   - Fetch: GET /2/statuses/count.json?ids=ID1,ID2,… — up to 100 ids per
//     request (MaxBatch); answers [{"id":…,"comments":…,"reposts":…,
//     "attitudes":…}]. Deleted and unknown ids are silently left out of the
//     answer ("不存在的id(或者已删除微博的id)在结果集中会直接忽略"); the ids
//     asked are the account's own, from its timeline, so one left out
//     becomes a snapshot with state "deleted".
//
// Ids (id, idstr, mid, and the uid) are 64-bit integers that pass 2^53:
// they are read as text (idstr first, else the number's own digits), never
// through a float64.
//
// # Private posts and reposts
//
// A status its author made private (仅自己可见) stays on the author's own
// timeline with visible.type ≠ 0 (1 private, 3 a friend group, 4 close
// friends; 0 is public). It becomes a snapshot with state "private" and no
// counters — the public no longer sees it, and the campaign's counts must
// neither go on nor drop to 0 — and statuses/count, which still answers
// its author, is not taken for it: the client remembers which statuses the
// timeline last showed private and answers Fetch for them with the private
// state until a listing shows them public again. (The real timeline shows
// only the newest statuses to ordinary apps; an older status made private
// is not seen as such.)
//
// A repost (转发) by an ambassador is one of their posts: it is their
// status on their timeline, with its own id and its own reposts, comments
// and attitudes, which is what their campaign work earned. The reposted
// original travels inside it as retweeted_status (another account's id,
// user and counters); it is not read, so the original's counters are never
// the ambassador's and its id never becomes one of their posts.
// OriginalsOnly (feature=1) leaves reposts out altogether.
//
// # Official accounts: amplification
//
// The roster's official accounts (西山发布, …; roster.Account.Official)
// are listed for the opposite reason: only their reposts matter, and a
// repost's retweeted_status says which post it reposted — Weibo is the one
// platform whose open API shows that (Douyin's video/list gives an
// account's own videos only; WeChat Channels has no per-post API). On an
// official account's timeline each status that carries a retweeted_status
// becomes a snapshot of the official's status with repost_of naming the
// original (its id read as text, above 2^53), its own counters and facts;
// the official's own statuses, which repost nothing, are left out: they
// are no campaign post. The aggregator keeps these snapshots apart
// (official_reposts), out of every rollup. user_timeline answers only the
// token's own user, so each official account authorizes the app as an
// ambassador does (the office holds these accounts); feature=1 is never
// sent for it. The scheduler lists an official account's newest page
// hourly and never fetches its statuses by id: statuses/count carries no
// retweeted_status.
//
// The access token travels in the "Authorization: OAuth2 TOKEN" header (as
// the platform's own SDKs send it), never in a URL, so no URL in a log or
// an error can carry it.
//
// # Metrics
//
//	attitudes (attitudes_count)   → likes    (表态/赞)
//	comments  (comments_count)    → comments
//	reposts   (reposts_count)     → shares   (转发; Weibo's forward *is* its
//	                                          share, so it is kept once, as
//	                                          shares, and forwards stays nil
//	                                          so no sum counts it twice)
//	plays, favorites, forwards, downloads, recommends, completion_rate,
//	avg_watch_seconds             → nil: the open API does not give them.
//
// Reads (阅读数) exist only in the commercial API (c.api.weibo.com, e.g.
// 2/media_statuses/count_sp/biz.json, for media accounts, on a commercial
// contract); they are out of scope, so plays stays absent, never zero.
// A counter the platform leaves out of an answer stays nil too. Counters
// are accepted as JSON numbers or numeric strings; a display string such as
// "1.2万" makes the answer KindMalformed. A status whose values break the
// snapshot rules (a negative or absurd counter, an id that is not an int64,
// a created_at that cannot be read or lies in the future) is left out
// alone and reported in Listing.Rejected / Fetched.Rejected.
//
// # Authorization and tokens
//
// AuthURL and Exchange implement `tongxin auth weibo AMBASSADOR`:
// https://api.weibo.com/oauth2/authorize?client_id=…&redirect_uri=…&response_type=code&state=…
// then POST /oauth2/access_token (client_id, client_secret,
// grant_type=authorization_code, code, redirect_uri) → {"access_token",
// "expires_in" (seconds), "remind_in" (deprecated, a string), "uid"}.
// Ordinary web apps get no refresh token (only apps using the official
// mobile SDK do), so an expiring token means the ambassador must authorize
// again. The lifetime depends on the app's level: 1 day for an app that has
// not passed review (test level), 7 days for a reviewed ordinary app, longer
// at higher levels (up to 30 days; 5 years for the app developer's own
// account) — expires_in is the authority, and TokenInfo (POST
// /oauth2/get_token_info) reads the remaining lifetime back.
//
// The adapter warns once per account and token, WarnBefore (default 3 days)
// ahead of expiry, naming the ambassador and never the token; TokenStatus
// reports each account's state for the scheduler's "reauthorization needed"
// report. An expired, revoked or invalid token — known from the stored
// expiry or from the platform's answer — is KindUnauthorized (not
// KindTokenExpired: nothing can refresh it, only the ambassador can, and
// the scheduler pauses an unauthorized account and looks again later); the
// error's Code keeps the platform's own code (21327 expired_token, 21332
// invalid_access_token, …) and the adapter makes no further request with a
// token the platform has refused.
//
// # Errors
//
// Weibo answers errors as {"request":"/2/…","error_code":21327,"error":
// "expired_token"} (error_code a number, or a string in older answers),
// with an HTTP 4xx/5xx status or sometimes 200; the OAuth2 endpoints add
// "error_description". The code decides the Kind; the HTTP status only
// when there is no envelope. Every code of the error table
// (open.weibo.com/wiki/Error_code) and of the OAuth2 table
// (open.weibo.com/wiki/Oauth2) is a row of errcode.Weibo, with its source
// and its Kind; in short:
//
//	10001–10003, 10009–10011, 21331        system trouble           → unavailable
//	10022, 10023, 10024 (HTTP 403)         IP / user / API rate limit → rate_limited (the whole app waits)
//	21327 expired_token, 21332 invalid_access_token, 21301, 21314–21317,
//	21319, 21325, 21330, 21335, 10006, 10015 the token or grant is refused → unauthorized
//	10013 invalid weibo user, 20003 user does not exist → account_blocked
//	10020 API not found, 10014, 10005, 10004, 21321, 21326, 21337
//	                                       the app may no longer do this → withdrawn
//	20101 status does not exist            → not_found
//	10007, 10008, 10012, 10016–10018, 10021, 20001, 20002, 20009,
//	21322–21324, 21328, 21329              our request is wrong     → invalid
//
// Rate limits are counted per user per app per hour, besides per-IP limits
// (the open platform's 接口访问频次权限 page: 150 requests/hour per user for a
// test-level app, 1000 for a reviewed ordinary app, per IP 1000/10000; later
// revisions say the numbers follow the app's assessed quality), and reset at
// the top of the hour (account/rate_limit_status reports reset_time on the
// hour). Weibo sends no Retry-After: the adapter takes the header when a
// proxy or the simulator sends one, and otherwise waits until the next full
// hour. Weibo gives no request id; the envelope's "request" path is kept in
// the message. A body that is not the documented JSON is KindMalformed.
package weibo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/snapshot"
)

const (
	// DefaultBaseURL is the real API.
	DefaultBaseURL = "https://api.weibo.com"
	// MaxBatch is how many ids one statuses/count request carries.
	MaxBatch = 100
	// MaxPageSize is the most statuses user_timeline returns per page.
	MaxPageSize = 100
	// DefaultWarnBefore is how long before expiry the adapter warns that an
	// ambassador must authorize again.
	DefaultWarnBefore = 3 * 24 * time.Hour
	// TimeLayout is Weibo's created_at: "Tue May 31 17:46:55 +0800 2011".
	TimeLayout = "Mon Jan 02 15:04:05 -0700 2006"
)

// Config configures a Client. BaseURL defaults to DefaultBaseURL; see
// ingest.ClientConfig for the rest of what every adapter shares.
type Config struct {
	ingest.ClientConfig
	// Tokens holds each account's token, keyed by the Weibo uid.
	Tokens token.Store

	// AppKey and AppSecret are the app's client_id and client_secret.
	AppKey, AppSecret string
	// RedirectURI is the app's registered callback (授权回调页).
	RedirectURI string

	// WarnBefore is how long ahead of expiry to warn that an ambassador must
	// authorize again; 0 means DefaultWarnBefore, negative turns it off.
	// Campaign time: token expiries are read on Clock.
	WarnBefore time.Duration
	// PageSize is the count per user_timeline page (1..100, default 100).
	PageSize int
	// OriginalsOnly lists only original statuses (feature=1), not reposts
	// of others' statuses.
	OriginalsOnly bool
}

// Client is the Weibo adapter; it implements ingest.Source and is safe for
// concurrent use.
type Client struct {
	cfg Config

	mu      sync.Mutex
	warned  map[string]string    // account → fingerprint of the token warned about
	dead    map[string]deadToken // account → a token the platform (or the clock) refused
	private map[string]bool      // status ids the timeline last showed private
}

// deadToken remembers a token that no longer works, by fingerprint only.
type deadToken struct {
	fp      string
	code    string
	message string
}

var _ ingest.Source = (*Client)(nil)

// New returns a Client; zero fields of cfg get their defaults.
func New(cfg Config) *Client {
	cfg.ClientConfig = cfg.ClientConfig.WithDefaults(snapshot.Weibo, DefaultBaseURL)
	if cfg.WarnBefore == 0 {
		cfg.WarnBefore = DefaultWarnBefore
	}
	if cfg.PageSize <= 0 || cfg.PageSize > MaxPageSize {
		cfg.PageSize = MaxPageSize
	}
	return &Client{cfg: cfg, warned: map[string]string{}, dead: map[string]deadToken{}, private: map[string]bool{}}
}

func (c *Client) Platform() string { return snapshot.Weibo }
func (c *Client) MaxBatch() int    { return MaxBatch }
func (c *Client) PageSize() int    { return c.cfg.PageSize }

func (c *Client) now() time.Time { return c.cfg.Clock.Now().UTC() }

// List returns one page of the account's statuses, newest first, with the
// counters the timeline carries.
func (c *Client) List(ctx context.Context, acct roster.Account, cursor string) (ingest.Listing, error) {
	const op = "list"
	page := 1
	if cursor != "" {
		p, err := strconv.Atoi(cursor)
		if err != nil || p < 1 {
			return ingest.Listing{}, &ingest.Error{Platform: snapshot.Weibo, Op: op, Kind: ingest.KindInvalid,
				Message: fmt.Sprintf("cursor %q is not a page number", cursor)}
		}
		page = p
	}
	tok, e := c.token(op, acct)
	if e != nil {
		return ingest.Listing{}, e
	}
	q := url.Values{
		"uid":       {acct.AccountID},
		"count":     {strconv.Itoa(c.cfg.PageSize)},
		"page":      {strconv.Itoa(page)},
		"trim_user": {"1"},
	}
	if c.cfg.OriginalsOnly && !acct.Official {
		q.Set("feature", "1")
	}
	body, now, e := c.get(ctx, op, acct, tok, "/2/statuses/user_timeline.json", q)
	if e != nil {
		return ingest.Listing{}, e
	}
	var tl timeline
	if err := json.Unmarshal(body, &tl); err != nil {
		return ingest.Listing{}, ingest.Malformed(snapshot.Weibo, op, "", "user_timeline is not the documented JSON", err)
	}
	if tl.Statuses == nil {
		return ingest.Listing{}, ingest.Malformed(snapshot.Weibo, op, "", "user_timeline answer has no statuses", nil)
	}
	var out ingest.Listing
	for i, st := range *tl.Statuses {
		if st.Deleted.Set && st.Deleted.V != 0 {
			continue // "此微博已被作者删除。"
		}
		pid := st.IDStr
		if pid == "" {
			pid = string(st.ID)
		}
		if pid == "" {
			pid = string(st.MID)
		}
		if pid == "" {
			return ingest.Listing{}, ingest.Malformed(snapshot.Weibo, op, "", fmt.Sprintf("status %d has no id", i), nil)
		}
		author := st.UID
		if st.User != nil && st.User.ID != "" {
			author = st.User.ID
		}
		if author != "" && string(author) != acct.AccountID {
			c.cfg.Log.Warn("weibo timeline holds a status of another user; skipped",
				"ambassador", acct.AmbassadorID, "account", acct.AccountID, "post_id", pid, "author", string(author))
			continue
		}
		var of *snapshot.PostRef
		if acct.Official {
			orig := st.repostOf()
			if orig == "" {
				continue // the official's own status: no campaign post
			}
			of = &snapshot.PostRef{Platform: snapshot.Weibo, PostID: orig}
		}
		post := ingest.Post{
			Platform: snapshot.Weibo, PostID: pid, AccountID: acct.AccountID, AmbassadorID: acct.AmbassadorID,
			Title: title(st.Text),
		}
		published, perr := time.Parse(TimeLayout, st.CreatedAt)
		post.PublishedAt = published.UTC()
		s := c.snapshot(post, metrics(st.Attitudes, st.Comments, st.Reposts), now)
		s.RepostOf = of
		err := s.ValidateAt(now)
		if perr != nil { // the zero time fails ValidateAt too: say why
			err = fmt.Errorf("published_at: created_at %s is not Weibo's time format; %v", snapshot.Clip(st.CreatedAt), err)
		}
		if err != nil {
			out.Rejected = append(out.Rejected, ingest.Reject(&s, err))
			continue
		}
		out.Posts = append(out.Posts, post)
		private := st.Visible != nil && st.Visible.Type.Set && st.Visible.Type.V != 0
		c.mu.Lock()
		if private {
			c.private[pid] = true
		} else {
			delete(c.private, pid)
		}
		c.mu.Unlock()
		if private {
			s = ingest.StateSnapshot(post, snapshot.StatePrivate, now, c.cfg.Source)
			s.RepostOf = of
		} else {
			// The status's text without its markup, and its link.
			s.Facts = snapshot.NewFacts(snapshot.Weibo, plainText(st.Text), StatusURL(acct.AccountID, pid))
		}
		out.Snapshots = append(out.Snapshots, s)
	}
	n := len(*tl.Statuses)
	if n >= c.cfg.PageSize && (!tl.TotalNumber.Set || int64(page)*int64(c.cfg.PageSize) < tl.TotalNumber.V) {
		out.HasMore = true
		out.Cursor = strconv.Itoa(page + 1)
	}
	return out, nil
}

// Fetch returns the counters of up to MaxBatch statuses in one request;
// the ones Weibo leaves out come back as deleted, the ones the timeline
// last showed private as private (see the package doc).
func (c *Client) Fetch(ctx context.Context, acct roster.Account, posts []ingest.Post) (ingest.Fetched, error) {
	const op = "fetch"
	if len(posts) == 0 {
		return ingest.Fetched{}, nil
	}
	if err := ingest.OverBatch(snapshot.Weibo, "statuses/count", len(posts), MaxBatch); err != nil {
		return ingest.Fetched{}, err
	}
	var ids []string
	seen := map[string]bool{}
	for _, p := range posts {
		if snapshot.PlatformRules[snapshot.Weibo].PostID(p.PostID) != nil {
			return ingest.Fetched{}, &ingest.Error{Platform: snapshot.Weibo, Op: op, Kind: ingest.KindInvalid,
				Message: fmt.Sprintf("post id %q is not a Weibo status id", p.PostID)}
		}
		if !seen[p.PostID] {
			seen[p.PostID] = true
			ids = append(ids, p.PostID)
		}
	}
	tok, e := c.token(op, acct)
	if e != nil {
		return ingest.Fetched{}, e
	}
	body, now, e := c.get(ctx, op, acct, tok, "/2/statuses/count.json", url.Values{"ids": {strings.Join(ids, ",")}})
	if e != nil {
		return ingest.Fetched{}, e
	}
	var entries []countEntry
	if err := json.Unmarshal(body, &entries); err != nil {
		return ingest.Fetched{}, ingest.Malformed(snapshot.Weibo, op, "", "statuses/count is not the documented JSON", err)
	}
	got := map[string]snapshot.Metrics{}
	for i, en := range entries {
		pid := en.IDStr
		if pid == "" {
			pid = string(en.ID)
		}
		if pid == "" {
			return ingest.Fetched{}, ingest.Malformed(snapshot.Weibo, op, "", fmt.Sprintf("count entry %d has no id", i), nil)
		}
		got[pid] = metrics(en.Attitudes, en.Comments, en.Reposts)
	}
	var out ingest.Fetched
	done := map[string]bool{}
	for _, p := range posts {
		if done[p.PostID] {
			continue
		}
		done[p.PostID] = true
		m, ok := got[p.PostID]
		post := p
		post.Platform = snapshot.Weibo
		if post.AccountID == "" {
			post.AccountID = acct.AccountID
		}
		if post.AmbassadorID == "" {
			post.AmbassadorID = acct.AmbassadorID
		}
		c.mu.Lock()
		private := c.private[p.PostID]
		if !ok {
			delete(c.private, p.PostID)
		}
		c.mu.Unlock()
		var s snapshot.Snapshot
		switch {
		case !ok:
			s = ingest.StateSnapshot(post, snapshot.StateDeleted, now, c.cfg.Source)
		case private:
			s = ingest.StateSnapshot(post, snapshot.StatePrivate, now, c.cfg.Source)
		default:
			s = c.snapshot(post, m, now)
		}
		if err := s.ValidateAt(now); err != nil {
			out.Rejected = append(out.Rejected, ingest.Reject(&s, err))
			continue
		}
		out.Snapshots = append(out.Snapshots, s)
	}
	return out, nil
}

func (c *Client) snapshot(p ingest.Post, m snapshot.Metrics, now time.Time) snapshot.Snapshot {
	return snapshot.Snapshot{
		Schema: snapshot.SchemaVersion, Platform: snapshot.Weibo,
		AmbassadorID: p.AmbassadorID, AccountID: p.AccountID, PostID: p.PostID,
		PublishedAt: p.PublishedAt, ObservedAt: now, Metrics: m, Source: c.cfg.Source,
	}
}

// metrics maps Weibo's three counters; an absent one stays nil. Their
// bounds (no negative, nothing absurd) are snapshot.Validate's.
func metrics(attitudes, comments, reposts ingest.Int) snapshot.Metrics {
	return snapshot.Metrics{Likes: attitudes.Ptr(), Comments: comments.Ptr(), Shares: reposts.Ptr()}
}

// StatusURL is the web link of a user's status.
func StatusURL(uid, id string) string { return "https://weibo.com/" + uid + "/" + id }

// markup matches the HTML tags a status's text may hold (topic and
// mention links, line breaks).
var markup = regexp.MustCompile(`(?i)<br\s*/?>|<[^>]*>`)

// plainText is a status's text without HTML: line breaks kept as such,
// other tags dropped, entities decoded.
func plainText(text string) string {
	text = markup.ReplaceAllStringFunc(text, func(tag string) string {
		if len(tag) > 2 && (tag[1] == 'b' || tag[1] == 'B') && (tag[2] == 'r' || tag[2] == 'R') {
			return "\n"
		}
		return ""
	})
	return html.UnescapeString(text)
}

// title is the first line of a status, at most 60 characters.
func title(text string) string {
	text, _, _ = strings.Cut(strings.TrimSpace(text), "\n")
	if utf8.RuneCountInString(text) > 60 {
		r := []rune(text)
		text = string(r[:60]) + "…"
	}
	return text
}

// fingerprint names a token without revealing it.
func fingerprint(access string) string {
	h := sha256.Sum256([]byte(access))
	return hex.EncodeToString(h[:8])
}

// reauthHint is what the office must do about an account.
func reauthHint(acct roster.Account) error {
	amb := acct.AmbassadorID
	if amb == "" {
		amb = "the ambassador of weibo account " + acct.AccountID
	}
	return fmt.Errorf("ambassador %s must authorize the app again: tongxin auth weibo %s", amb, acct.AmbassadorID)
}

// token loads the account's token, refusing without a request one that is
// missing, expired by the campaign clock or already refused by the
// platform, and warning once ahead of expiry.
func (c *Client) token(op string, acct roster.Account) (string, *ingest.Error) {
	if c.cfg.Tokens == nil {
		return "", &ingest.Error{Platform: snapshot.Weibo, Op: op, Kind: ingest.KindInvalid, Message: "no token store configured"}
	}
	t, err := c.cfg.Tokens.Get(snapshot.Weibo, acct.AccountID)
	if errors.Is(err, token.ErrNotFound) || (err == nil && t.AccessToken == "") {
		return "", &ingest.Error{Platform: snapshot.Weibo, Op: op, Kind: ingest.KindUnauthorized,
			Message: "no token for weibo account " + acct.AccountID,
			Err:     fmt.Errorf("ambassador %s has not authorized the app: tongxin auth weibo %s", acct.AmbassadorID, acct.AmbassadorID)}
	}
	if err != nil {
		return "", &ingest.Error{Platform: snapshot.Weibo, Op: op, Kind: ingest.KindUnknown, Message: "token store", Err: err}
	}
	fp := fingerprint(t.AccessToken)
	now := c.now()
	c.mu.Lock()
	d, dead := c.dead[acct.AccountID]
	if dead && d.fp != fp {
		delete(c.dead, acct.AccountID) // re-authorized since
		dead = false
	}
	c.mu.Unlock()
	if dead {
		return "", &ingest.Error{Platform: snapshot.Weibo, Op: op, Kind: ingest.KindUnauthorized,
			Code: d.code, Message: d.message + " (the platform refused this token earlier; no request made)", Err: reauthHint(acct)}
	}
	if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		msg := "access token expired at " + t.ExpiresAt.UTC().Format(time.RFC3339)
		c.markDead(acct, fp, "", msg)
		return "", &ingest.Error{Platform: snapshot.Weibo, Op: op, Kind: ingest.KindUnauthorized, Message: msg, Err: reauthHint(acct)}
	}
	c.warnExpiry(acct, t, fp, now)
	return t.AccessToken, nil
}

// markDead remembers that the account's current token no longer works and
// says so once.
func (c *Client) markDead(acct roster.Account, fp, code, msg string) {
	c.mu.Lock()
	_, already := c.dead[acct.AccountID]
	c.dead[acct.AccountID] = deadToken{fp: fp, code: code, message: msg}
	c.mu.Unlock()
	if !already {
		c.cfg.Log.Error("weibo authorization no longer works; the ambassador must authorize the app again",
			"ambassador", acct.AmbassadorID, "account", acct.AccountID, "code", code, "reason", msg,
			"command", "tongxin auth weibo "+acct.AmbassadorID)
	}
}

// warnExpiry logs once per account and token when the token expires within
// WarnBefore.
func (c *Client) warnExpiry(acct roster.Account, t token.Token, fp string, now time.Time) {
	if c.cfg.WarnBefore < 0 || t.ExpiresAt.IsZero() || t.ExpiresAt.Sub(now) > c.cfg.WarnBefore {
		return
	}
	c.mu.Lock()
	if c.warned[acct.AccountID] == fp {
		c.mu.Unlock()
		return
	}
	c.warned[acct.AccountID] = fp
	c.mu.Unlock()
	c.cfg.Log.Warn("weibo authorization expires soon; the ambassador must authorize the app again (Weibo gives no refresh token)",
		"ambassador", acct.AmbassadorID, "account", acct.AccountID,
		"expires_at", t.ExpiresAt.UTC(), "remaining", t.ExpiresAt.Sub(now).Round(time.Minute).String(),
		"command", "tongxin auth weibo "+acct.AmbassadorID)
}

// get makes one GET request and returns the body of a successful answer
// and when it arrived.
func (c *Client) get(ctx context.Context, op string, acct roster.Account, tok, path string, q url.Values) ([]byte, time.Time, *ingest.Error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.BaseURL+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, time.Time{}, &ingest.Error{Platform: snapshot.Weibo, Op: op, Kind: ingest.KindInvalid, Message: "base URL", Err: err}
	}
	req.Header.Set("Authorization", "OAuth2 "+tok)
	return c.do(req, op, &acct, tok)
}

// do sends req and sorts out the answer. acct, when given, is the account
// whose token made the request: a token error marks it dead.
func (c *Client) do(req *http.Request, op string, acct *roster.Account, secrets ...string) ([]byte, time.Time, *ingest.Error) {
	req.Header.Set("Accept", "application/json")
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return nil, time.Time{}, ingest.TransportError(req.Context(), snapshot.Weibo, op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, ingest.MaxBody))
	now := c.now()
	if err != nil {
		return nil, now, ingest.TransportError(req.Context(), snapshot.Weibo, op, err)
	}
	if env, ok := parseEnvelope(body); ok {
		e := c.apiError(op, resp, env, now, secrets)
		if acct != nil && deadCode(env.code()) {
			c.markDead(*acct, fingerprint(secrets[0]), e.Code, e.Message)
			e.Err = reauthHint(*acct)
		} else if e.Kind == ingest.KindWithdrawn {
			e.Err = errAppPermission
		}
		return nil, now, e
	}
	if resp.StatusCode >= 300 {
		return nil, now, statusError(op, resp, body, now, secrets)
	}
	return body, now, nil
}
