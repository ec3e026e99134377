package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/snapshot"
)

// Paths of the vendor feed (see the package doc).
const (
	feedPostsPath = "/wechat_channels/v1/accounts/%s/posts"
	feedStatsPath = "/wechat_channels/v1/stats"
	// APIKeyHeader carries the vendor's API key.
	APIKeyHeader = "X-Api-Key"
	// notDocumented is what a malformed answer's error says.
	notDocumented = "the feed's answer is not in the documented shape"
	// MaxBatch is how many posts one stats request may ask about.
	MaxBatch = 50
	// DefaultPageSize is how many posts one listing page asks for.
	DefaultPageSize = 20
)

// Config configures the feed client. BaseURL is the vendor feed's base
// URL (`--wechat-feed-url`); it has no default. See ingest.ClientConfig.
type Config struct {
	ingest.ClientConfig
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

// New returns a feed client; zero fields of cfg get their defaults.
func New(cfg Config) *Client {
	cfg.ClientConfig = cfg.ClientConfig.WithDefaults(snapshot.WeChatChannels, "")
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	cfg.PageSize = min(cfg.PageSize, MaxBatch)
	return &Client{cfg: cfg}
}

func (c *Client) Platform() string { return snapshot.WeChatChannels }

func (c *Client) MaxBatch() int { return MaxBatch }

func (c *Client) PageSize() int { return c.cfg.PageSize }

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
		return ingest.Listing{}, ingest.Malformed(snapshot.WeChatChannels, "list", rid, notDocumented, errors.New(`the page has no "posts" or "has_more"`))
	}
	if *page.HasMore && page.NextCursor == "" {
		return ingest.Listing{}, ingest.Malformed(snapshot.WeChatChannels, "list", rid, notDocumented, errors.New(`"has_more" is true but "next_cursor" is empty`))
	}
	now := c.cfg.Clock.Now().UTC()
	out := ingest.Listing{Cursor: page.NextCursor, HasMore: *page.HasMore}
	for i, fp := range page.Posts {
		if fp.ExportID == "" {
			return ingest.Listing{}, ingest.Malformed(snapshot.WeChatChannels, "list", rid, notDocumented, fmt.Errorf(`posts[%d]: no "export_id"`, i))
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
	if err := ingest.OverBatch(snapshot.WeChatChannels, "the feed's stats", len(posts), MaxBatch); err != nil {
		return ingest.Fetched{}, err
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
		return ingest.Fetched{}, ingest.Malformed(snapshot.WeChatChannels, "fetch", rid, notDocumented, errors.New(`the answer has no "stats"`))
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
			return ingest.Fetched{}, ingest.Malformed(snapshot.WeChatChannels, "fetch", rid, notDocumented, fmt.Errorf("stats[%d]: no \"stats\" object", i))
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
			out.Snapshots = append(out.Snapshots, ingest.StateSnapshot(post, snapshot.StateDeleted, now, c.cfg.Source))
		default:
			unanswered = append(unanswered, p.PostID)
		}
	}
	if len(unanswered) > 0 {
		// Every asked post is in "stats" or "missing"; silence is not "deleted".
		return ingest.Fetched{}, ingest.Malformed(snapshot.WeChatChannels, "fetch", rid, notDocumented, fmt.Errorf("the answer says nothing about %d of the %d posts asked for (first %s)", len(unanswered), len(posts), unanswered[0]))
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
		PublishedAt: published, ObservedAt: now, Metrics: m, Source: c.cfg.Source,
	}
	if fp.Description != "" {
		// The description (with its #话题) is the title; the feed gives no
		// web link (a Channels video opens only inside WeChat). The stats
		// answers carry no description and leave the facts alone.
		snap.Facts = snapshot.NewFacts(snapshot.WeChatChannels, fp.Description, "")
	}
	err := snap.ValidateAt(now)
	if perr != nil && err != nil {
		err = fmt.Errorf("%w; %v", perr, err)
	} else if perr != nil {
		err = perr
	}
	return post, snap, err
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
	if err != nil {
		return "", ingest.TransportError(ctx, snapshot.WeChatChannels, op, err)
	}
	defer resp.Body.Close()
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, ingest.MaxBody+1))
	rid := resp.Header.Get("X-Request-Id")
	c.cfg.Log.Debug("wechat feed", "op", op, "method", method, "path", req.URL.Path, "status", resp.StatusCode, "request_id", rid, "took", time.Since(start))
	if rerr != nil {
		e := ingest.TransportError(ctx, snapshot.WeChatChannels, op, rerr)
		e.RequestID = rid
		return rid, e
	}
	if len(b) > ingest.MaxBody {
		return rid, ingest.Malformed(snapshot.WeChatChannels, op, rid, notDocumented, fmt.Errorf("answer larger than %d MB", ingest.MaxBody>>20))
	}
	if resp.StatusCode != http.StatusOK {
		return rid, statusError(op, resp, b, rid, c.cfg.Clock.Now())
	}
	if err := json.Unmarshal(b, out); err != nil {
		var probe struct {
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal(b, &probe) == nil && probe.RequestID != "" && rid == "" {
			rid = probe.RequestID
		}
		return rid, ingest.Malformed(snapshot.WeChatChannels, op, rid, notDocumented, err)
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
