package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
)

// Paths of the vendor feed (see the package doc).
const (
	feedPostsPath = "/wechat_channels/v1/accounts/%s/posts"
	feedStatsPath = "/wechat_channels/v1/stats"
	// APIKeyHeader carries the vendor's API key.
	APIKeyHeader = "X-Api-Key"
	// MaxBatch is how many posts one stats request may ask about.
	MaxBatch = 50
	// DefaultPageSize is how many posts one listing page asks for.
	DefaultPageSize = 20
	maxBody         = 8 << 20
)

// Config configures the feed client.
type Config struct {
	// BaseURL is the vendor feed's base URL (`--wechat-feed-url`).
	BaseURL string
	// HTTP is the client every request goes through (the scheduler's,
	// which charges the request budget).
	HTTP  *http.Client
	Clock clock.Clock
	// Tokens is not used: the feed authenticates with APIKey. It is here
	// so the adapters share one Config shape.
	Tokens token.Store
	Log    *slog.Logger
	// APIKey is the vendor's key, sent in X-Api-Key; never logged.
	APIKey string
	// PageSize is how many posts a listing page asks for (default 20, at most 50).
	PageSize int
}

// Client reads the vendor feed; it implements ingest.Source.
type Client struct {
	cfg Config
}

var _ ingest.Source = (*Client)(nil)

// New returns a feed client.
func New(cfg Config) *Client {
	cfg.HTTP = ingest.NoRedirects(snapshot.WeChatChannels, cfg.HTTP)
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	cfg.PageSize = min(cfg.PageSize, MaxBatch)
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Client{cfg: cfg}
}

func (c *Client) Platform() string { return snapshot.WeChatChannels }

func (c *Client) MaxBatch() int { return MaxBatch }

// feedStats is a post's counters in the feed. Counters are pointers: a
// counter the vendor leaves out or sets to null is absent.
type feedStats struct {
	Play           ingest.Int `json:"play"`
	Like           ingest.Int `json:"like"`
	Comment        ingest.Int `json:"comment"`
	Share          ingest.Int `json:"share"`
	Forward        ingest.Int `json:"forward"`
	Recommend      ingest.Int `json:"recommend"`
	CompletionRate *flexFloat `json:"completion_rate"`
	AvgPlaySeconds *flexFloat `json:"avg_play_seconds"`
}

type feedPost struct {
	ExportID    string     `json:"export_id"`
	FinderID    string     `json:"finder_id"`
	Description string     `json:"description"`
	PublishedAt string     `json:"published_at"`
	Stats       *feedStats `json:"stats"`
}

type feedList struct {
	Posts      []feedPost `json:"posts"`
	NextCursor string     `json:"next_cursor"`
	HasMore    *bool      `json:"has_more"`
	RequestID  string     `json:"request_id"`
}

type feedBatch struct {
	Stats     []feedPost `json:"stats"`
	Missing   []string   `json:"missing"`
	RequestID string     `json:"request_id"`
}

type feedError struct {
	Error *struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// flexFloat is a number written as a JSON number or a numeric string.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		s = strings.TrimSpace(str)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%s is not a number", quote(s))
	}
	*f = flexFloat(v)
	return nil
}

// List returns one page of an account's posts, newest first, with the
// counters the page carried.
func (c *Client) List(ctx context.Context, acct roster.Account, cursor string) (ingest.Listing, error) {
	q := url.Values{"limit": {strconv.Itoa(c.cfg.PageSize)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	u := fmt.Sprintf(feedPostsPath, url.PathEscape(acct.AccountID)) + "?" + q.Encode()
	var page feedList
	rid, err := c.do(ctx, "list", http.MethodGet, u, nil, &page)
	if err != nil {
		return ingest.Listing{}, err
	}
	if page.Posts == nil || page.HasMore == nil {
		return ingest.Listing{}, c.malformed("list", rid, errors.New(`the page has no "posts" or "has_more"`))
	}
	if *page.HasMore && page.NextCursor == "" {
		return ingest.Listing{}, c.malformed("list", rid, errors.New(`"has_more" is true but "next_cursor" is empty`))
	}
	now := c.cfg.Clock.Now().UTC()
	out := ingest.Listing{Cursor: page.NextCursor, HasMore: *page.HasMore}
	for i, fp := range page.Posts {
		if fp.ExportID == "" {
			return ingest.Listing{}, c.malformed("list", rid, fmt.Errorf(`posts[%d]: no "export_id"`, i))
		}
		post, snap, err := c.convert(acct, fp, time.Time{}, now)
		if err != nil {
			out.Rejected = append(out.Rejected, ingest.Reject(snap, err))
			continue
		}
		out.Posts = append(out.Posts, post)
		if fp.Stats != nil {
			out.Snapshots = append(out.Snapshots, *snap)
		}
	}
	return out, nil
}

// Fetch returns the counters of up to MaxBatch posts of one account.
func (c *Client) Fetch(ctx context.Context, acct roster.Account, posts []ingest.Post) (ingest.Fetched, error) {
	if len(posts) == 0 {
		return ingest.Fetched{}, nil
	}
	if len(posts) > MaxBatch {
		return ingest.Fetched{}, &ingest.Error{Platform: snapshot.WeChatChannels, Op: "fetch", Kind: ingest.KindInvalid,
			Message: fmt.Sprintf("%d posts in one batch; the feed takes at most %d", len(posts), MaxBatch)}
	}
	req := struct {
		FinderID  string   `json:"finder_id"`
		ExportIDs []string `json:"export_ids"`
	}{FinderID: acct.AccountID}
	byID := map[string]ingest.Post{}
	for _, p := range posts {
		req.ExportIDs = append(req.ExportIDs, p.PostID)
		byID[p.PostID] = p
	}
	body, _ := json.Marshal(req)
	var batch feedBatch
	rid, err := c.do(ctx, "fetch", http.MethodPost, feedStatsPath, body, &batch)
	if err != nil {
		return ingest.Fetched{}, err
	}
	if batch.Stats == nil {
		return ingest.Fetched{}, c.malformed("fetch", rid, errors.New(`the answer has no "stats"`))
	}
	now := c.cfg.Clock.Now().UTC()
	var out ingest.Fetched
	got := map[string]bool{}
	for i, fp := range batch.Stats {
		asked, ok := byID[fp.ExportID]
		if !ok {
			continue // not asked for: ignore
		}
		if fp.Stats == nil {
			return ingest.Fetched{}, c.malformed("fetch", rid, fmt.Errorf("stats[%d]: no \"stats\" object", i))
		}
		got[fp.ExportID] = true
		_, snap, err := c.convert(acct, fp, asked.PublishedAt, now)
		if err != nil {
			out.Rejected = append(out.Rejected, ingest.Reject(snap, err))
			continue
		}
		out.Snapshots = append(out.Snapshots, *snap)
	}
	gone := map[string]bool{}
	for _, id := range batch.Missing {
		gone[id] = true
	}
	var unanswered []string
	for _, p := range posts {
		switch {
		case got[p.PostID]:
		case gone[p.PostID]:
			// No longer in the creator console's data: deleted (the feed
			// does not tell deleted from hidden). A state snapshot without
			// counters, so the rollups keep the last ones.
			post := p
			post.Platform, post.AccountID, post.AmbassadorID = snapshot.WeChatChannels, acct.AccountID, acct.AmbassadorID
			out.Snapshots = append(out.Snapshots, ingest.StateSnapshot(post, snapshot.StateDeleted, now, snapshot.SourceAPI))
		default:
			unanswered = append(unanswered, p.PostID)
		}
	}
	if len(unanswered) > 0 {
		// Every asked post is in "stats" or "missing"; silence is not "deleted".
		return ingest.Fetched{}, c.malformed("fetch", rid, fmt.Errorf("the answer says nothing about %d of the %d posts asked for (first %s)", len(unanswered), len(posts), unanswered[0]))
	}
	return out, nil
}

// convert turns a feed post into a Post and its snapshot (without
// metrics when the post carries no stats), checked with the snapshot rules
// at now: on error the snapshot is still returned, to name the post.
func (c *Client) convert(acct roster.Account, fp feedPost, published, now time.Time) (ingest.Post, *snapshot.Snapshot, error) {
	var perr error
	if fp.PublishedAt != "" {
		t, err := time.Parse(time.RFC3339, fp.PublishedAt)
		if err != nil {
			perr = fmt.Errorf(`published_at: %s is not an RFC 3339 time`, quote(fp.PublishedAt))
		}
		published = t.UTC()
	}
	post := ingest.Post{Platform: snapshot.WeChatChannels, PostID: fp.ExportID, AccountID: acct.AccountID,
		AmbassadorID: acct.AmbassadorID, PublishedAt: published, Title: fp.Description}
	var m snapshot.Metrics
	if st := fp.Stats; st != nil {
		m.Plays, m.Likes, m.Comments = st.Play.Ptr(), st.Like.Ptr(), st.Comment.Ptr()
		m.Shares, m.Forwards, m.Recommends = st.Share.Ptr(), st.Forward.Ptr(), st.Recommend.Ptr()
		if st.CompletionRate != nil {
			v := float64(*st.CompletionRate)
			m.CompletionRate = &v
		}
		if st.AvgPlaySeconds != nil {
			v := float64(*st.AvgPlaySeconds)
			m.AvgWatchSeconds = &v
		}
	}
	snap := &snapshot.Snapshot{
		Schema: snapshot.SchemaVersion, Platform: snapshot.WeChatChannels,
		AmbassadorID: acct.AmbassadorID, AccountID: acct.AccountID, PostID: fp.ExportID,
		PublishedAt: published, ObservedAt: now, Metrics: m, Source: snapshot.SourceAPI,
	}
	err := snap.ValidateAt(now)
	if perr != nil && err != nil {
		err = fmt.Errorf("%w; %v", perr, err)
	} else if perr != nil {
		err = perr
	}
	return post, snap, err
}

func (c *Client) malformed(op, rid string, err error) error {
	return &ingest.Error{Platform: snapshot.WeChatChannels, Op: op, Kind: ingest.KindMalformed, RequestID: rid,
		Message: "the feed's answer is not in the documented shape", Err: err}
}

// do sends one request and decodes a 200 answer into out; any other answer
// becomes an *ingest.Error. It returns the request id.
func (c *Client) do(ctx context.Context, op, method, pathAndQuery string, body []byte, out any) (string, error) {
	fail := func(kind ingest.Kind, msg string, err error) error {
		return &ingest.Error{Platform: snapshot.WeChatChannels, Op: op, Kind: kind, Message: msg, Err: err}
	}
	if c.cfg.BaseURL == "" {
		return "", fail(ingest.KindInvalid, "no feed URL configured (--wechat-feed-url)", nil)
	}
	if c.cfg.APIKey == "" {
		return "", fail(ingest.KindUnauthorized, "no API key configured for the feed", nil)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.BaseURL+pathAndQuery, rd)
	if err != nil {
		return "", fail(ingest.KindInvalid, "bad request", err)
	}
	req.Header.Set(APIKeyHeader, c.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.cfg.HTTP.Do(req)
	if e := ingest.Redirected(err, op); e != nil {
		return "", e
	}
	if err != nil {
		// net/http's error names the URL, which holds no secret (the key
		// travels in a header).
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "", fail(ingest.KindUnavailable, "request cancelled", ctx.Err())
		}
		return "", fail(ingest.KindUnavailable, "request failed", err)
	}
	defer resp.Body.Close()
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	rid := resp.Header.Get("X-Request-Id")
	c.cfg.Log.Debug("wechat feed", "op", op, "method", method, "path", req.URL.Path, "status", resp.StatusCode, "request_id", rid, "took", time.Since(start))
	if rerr != nil {
		return rid, &ingest.Error{Platform: snapshot.WeChatChannels, Op: op, Kind: ingest.KindUnavailable, RequestID: rid, Message: "reading the answer failed", Err: rerr}
	}
	if len(b) > maxBody {
		return rid, c.malformed(op, rid, fmt.Errorf("answer larger than %d MB", maxBody>>20))
	}
	if resp.StatusCode != http.StatusOK {
		return rid, c.statusError(op, resp, b, rid)
	}
	if err := json.Unmarshal(b, out); err != nil {
		var probe struct {
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal(b, &probe) == nil && probe.RequestID != "" && rid == "" {
			rid = probe.RequestID
		}
		return rid, c.malformed(op, rid, err)
	}
	if rid == "" {
		var probe struct {
			RequestID string `json:"request_id"`
		}
		_ = json.Unmarshal(b, &probe)
		rid = probe.RequestID
	}
	return rid, nil
}

// statusError makes an error answer typed.
func (c *Client) statusError(op string, resp *http.Response, b []byte, rid string) error {
	e := &ingest.Error{Platform: snapshot.WeChatChannels, Op: op, RequestID: rid}
	var env feedError
	if json.Unmarshal(b, &env) == nil && env.Error != nil {
		e.Code, e.Message = env.Error.Code, env.Error.Message
		if env.Error.RequestID != "" {
			e.RequestID = env.Error.RequestID
		}
	} else {
		e.Message = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	switch code := e.Code; {
	case resp.StatusCode == http.StatusTooManyRequests && code == "quota_exhausted":
		e.Kind = ingest.KindQuotaExhausted
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Kind = ingest.KindRateLimited
	case code == "session_expired":
		e.Kind = ingest.KindTokenExpired
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		e.Kind = ingest.KindUnauthorized
	case resp.StatusCode == http.StatusNotFound:
		e.Kind = ingest.KindNotFound
	case resp.StatusCode >= 500:
		e.Kind = ingest.KindUnavailable
	case resp.StatusCode == http.StatusRequestTimeout:
		e.Kind = ingest.KindUnavailable
	case resp.StatusCode >= 400:
		e.Kind = ingest.KindInvalid
	default:
		e.Kind = ingest.KindMalformed
		e.Message = fmt.Sprintf("unexpected HTTP %d", resp.StatusCode)
	}
	return e
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
