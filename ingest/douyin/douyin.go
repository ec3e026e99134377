// Package douyin is tongxin's adapter for the Douyin Open Platform
// (抖音开放平台, https://open.douyin.com). Each ambassador authorizes the
// app for their own Douyin account (OAuth 2 authorization code, one open_id
// per account); the adapter then lists the account's videos and reads
// their counters with the account's access token.
//
// # Endpoints
//
//   - GET  /api/douyin/v1/video/video_list/?open_id=&cursor=&count=  (scope video.list.bind)
//     one page of the account's videos, newest first, with their statistics;
//     data.cursor and data.has_more page on.
//   - POST /api/douyin/v1/video/video_data/?open_id=  {"item_ids": [...]}  (scope video.data.bind)
//     the statistics of up to MaxBatch (10) given videos.
//
// # Private and deleted videos
//
// A video that is not public (不适宜公开, 好友可见, 私密视频) comes back
// blanked: create_time 0 and every statistic 0. (video_status, which named
// the reason, and is_reviewed were withdrawn on 2024-12-13 — 抖音开放平台公告
// 2024-11-15 — so the blanking is all that tells.) Those zeros are not counters: the video
// becomes a snapshot with state "private" and no counters, so the rollups
// keep its last counters instead of seeing it drop to 0. A video absent from
// video_data's list (the platform leaves deleted videos out; the ids asked
// are all this account's, from its listings) becomes a snapshot with state
// "deleted". The listing skips a non-public video whose create_time is
// blanked (it cannot be placed) and reports one that still has it as
// private.
//   - the OAuth endpoints: /platform/oauth/connect/ (consent page),
//     POST /oauth/access_token/, /oauth/refresh_token/ and
//     /oauth/renew_refresh_token/ (form-encoded).
//
// The access token travels in the access-token header, never in a URL.
//
// # Field → metric mapping
//
//	statistics.play_count     → plays
//	statistics.digg_count     → likes
//	statistics.comment_count  → comments
//	statistics.share_count    → shares
//	statistics.forward_count  → forwards   (extra)
//	statistics.download_count → downloads  (extra)
//	(none)                    → favorites, recommends, completion_rate, avg_watch_seconds: nil
//
// The open API gives no favorites (收藏) count, no completion rate and no
// watch time for these endpoints, so those metrics are absent, never zero.
// A statistics field the platform leaves out is likewise nil. Counters may
// come as JSON numbers or as strings ("300"); both are read.
//
// # Errors
//
// Errors come as HTTP 200 with data.error_code ≠ 0 and data.description
// (and extra.error_code / extra.sub_error_code, extra.logid), or on newer
// gateways as {"err_no", "err_msg", "log_id"}. The request id is taken from
// extra.logid, data.log_id, log_id or the X-Tt-Logid header. Every code
// the status-code page (状态码排查工具, 通用状态码 新 and 旧) and the OAuth
// pages list is a row of errcode.Douyin, with its source and the Kind it
// becomes; in short:
//
//	28001008, 2190008, 10008               access token expired   → token_expired (refreshed, call repeated once)
//	28001003, 2190002                      access token invalid   → unauthorized (after re-reading the token store)
//	28001012, 2190003, 28001015, 2190015,
//	10004, 10007, 10010, 10020             scope not granted, open_id mismatch, grant expired → unauthorized
//	28001045/46/47, 2100009, 28001020      deregistered, banned, private, not a tester → account_blocked
//	28001056, 28001019, 28001016, 2190016,
//	28001018, 2190004, 28001014, 2100007,
//	28001021, 28001017                     API offline, capability/app banned or not granted, test app expired → withdrawn
//	2190001, 28003017                      quota已用完 (per scope per day) → quota_exhausted, RetryAfter = next 00:00 UTC (08:00 Beijing)
//	2100004, 28003018, 28001052            busy, too frequent, risk control → rate_limited (the whole app waits)
//	HTTP 429                               gateway rate limit     → rate_limited, RetryAfter from Retry-After
//	28001005, 28001006, 10001, HTTP 5xx,
//	timeouts, connection errors            platform trouble       → unavailable
//	28001007, 2100005, 28004020, 100xx     bad request or app config → invalid
//	anything else                          → unknown
//
// A body that is not the documented JSON (truncated, wrong types, no data
// object) is malformed, with the request id when there is one. A video
// whose values break the snapshot rules (snapshot.ValidateAt on the
// client's clock: a negative or absurd counter, an impossible create_time,
// an item_id of the wrong shape) is not an error of the page: it is left
// out and reported in Listing.Rejected / Fetched.Rejected, naming the video
// and the field, and the rest of the page goes through.
//
// # Tokens
//
// Access tokens last 15 days, refresh tokens 30 days; /oauth/refresh_token/
// gives a new access token (the refresh token keeps its expiry) and
// /oauth/renew_refresh_token/ a new refresh token, at most 5 times; after
// that the ambassador must authorize again. The client refreshes the access
// token when less than Config.RefreshLead (48h) is left, renews the refresh
// token when less than Config.RenewLead (7 days) is left and renewals
// remain, and logs one warning per account when renewals are used up and
// the refresh token is about to expire. TokenStatus reports all of it.
//
// # Sources
//
// developer.open-douyin.com docs (查询授权账号视频列表 account-video-list,
// 查询特定视频的视频数据 video-data, 获取/刷新 access_token, 刷新 refresh_token,
// 状态码 OpenAPI-status_code), their mirrors and the official SDK samples
// (e.g. the SKIT.FlurlHttpClient.ByteDance sample DouyinVideoListV1Response
// with string counters); the recorded responses in testdata/ follow them.
package douyin

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
	"sync"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/snapshot"
)

// Platform is the platform id this adapter serves.
const Platform = snapshot.Douyin

// DefaultBaseURL is the real Open Platform.
const DefaultBaseURL = "https://open.douyin.com"

// Limits of the Open Platform.
const (
	// MaxBatch is how many item_ids one video_data request carries
	// (the docs advise at most 10).
	MaxBatch = 10
	// DefaultPageSize is the count asked of video_list (the docs' example).
	DefaultPageSize = 10
	// MaxRefreshRenewals is how often a refresh token can be renewed.
	MaxRefreshRenewals = 5
	// AccessTokenTTL and RefreshTokenTTL are the documented lifetimes.
	AccessTokenTTL  = 15 * 24 * time.Hour
	RefreshTokenTTL = 30 * 24 * time.Hour
)

// DefaultScopes are the scopes the consent page asks for.
var DefaultScopes = []string{"user_info", "video.list.bind", "video.data.bind", "renew_refresh_token"}

// requiredScopes are those List and Fetch need.
var requiredScopes = []string{"video.list.bind", "video.data.bind"}

// Config configures a Client. BaseURL defaults to DefaultBaseURL; see
// ingest.ClientConfig for the rest of what every adapter shares.
type Config struct {
	ingest.ClientConfig
	// Tokens holds each account's tokens, keyed by open_id (default: in memory).
	Tokens token.Store

	// The app's credentials (应用的 client_key / client_secret).
	ClientKey    string
	ClientSecret string
	// Scopes asked on the consent page; default DefaultScopes.
	Scopes []string

	// RefreshLead: refresh the access token when less than this is left
	// (default 48h). Both leads are campaign time: token expiries are the
	// platform's times, read on Clock (the simulator's clock at any --speed).
	RefreshLead time.Duration
	// RenewLead: renew the refresh token when less than this is left (default 7 days).
	RenewLead time.Duration
	// PageSize is the count asked of video_list (default DefaultPageSize).
	PageSize int
}

// Client is the Douyin adapter; it implements ingest.Source.
type Client struct {
	cfg Config

	mu     sync.Mutex
	locks  map[string]*sync.Mutex // per account, around token maintenance
	warned map[string]bool        // accounts warned about renewals used up
}

var _ ingest.Source = (*Client)(nil)

// New returns a client; zero fields of cfg get their defaults.
func New(cfg Config) *Client {
	cfg.ClientConfig = cfg.ClientConfig.WithDefaults(Platform, DefaultBaseURL)
	if cfg.Tokens == nil {
		cfg.Tokens = token.NewMemoryStore()
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = DefaultScopes
	}
	if cfg.RefreshLead <= 0 {
		cfg.RefreshLead = 48 * time.Hour
	}
	if cfg.RenewLead <= 0 {
		cfg.RenewLead = 7 * 24 * time.Hour
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	return &Client{cfg: cfg, locks: map[string]*sync.Mutex{}, warned: map[string]bool{}}
}

func (c *Client) Platform() string { return Platform }
func (c *Client) MaxBatch() int    { return MaxBatch }
func (c *Client) PageSize() int    { return c.cfg.PageSize }

// List returns one page of the account's videos, newest first, with the
// counters the listing carries.
func (c *Client) List(ctx context.Context, acct roster.Account, cursor string) (ingest.Listing, error) {
	const op = "list"
	cur := int64(0)
	if cursor != "" {
		v, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || v < 0 {
			return ingest.Listing{}, &ingest.Error{Platform: Platform, Op: op, Kind: ingest.KindInvalid, Message: fmt.Sprintf("cursor %q is not a video_list cursor", cursor)}
		}
		cur = v
	}
	q := url.Values{"open_id": {acct.AccountID}, "cursor": {strconv.FormatInt(cur, 10)}, "count": {strconv.Itoa(c.cfg.PageSize)}}
	data, resp, err := c.authorized(ctx, acct, op, http.MethodGet, "/api/douyin/v1/video/video_list/?"+q.Encode(), nil)
	if err != nil {
		return ingest.Listing{}, err
	}
	var vl videoList
	if err := json.Unmarshal(data, &vl); err != nil {
		return ingest.Listing{}, ingest.Malformed(Platform, op, resp.requestID, "video_list data is not the documented shape", err)
	}
	out := ingest.Listing{HasMore: bool(vl.HasMore)}
	if vl.HasMore {
		if !vl.Cursor.Set {
			return ingest.Listing{}, ingest.Malformed(Platform, op, resp.requestID, "video_list says has_more but gives no cursor", nil)
		}
		out.Cursor = strconv.FormatInt(vl.Cursor.V, 10)
	}
	for _, v := range vl.List {
		if v.ItemID == "" {
			return ingest.Listing{}, ingest.Malformed(Platform, op, resp.requestID, "video_list item without item_id", nil)
		}
		if v.CreateTime.V <= 0 {
			continue // not public: the platform blanks create_time
		}
		p := ingest.Post{
			Platform: Platform, PostID: v.ItemID, AccountID: acct.AccountID, AmbassadorID: acct.AmbassadorID,
			PublishedAt: time.Unix(v.CreateTime.V, 0).UTC(), Title: v.Title,
		}
		if notPublic(v) {
			out.Posts = append(out.Posts, p)
			out.Snapshots = append(out.Snapshots, ingest.StateSnapshot(p, snapshot.StatePrivate, resp.arrived, c.cfg.Source))
			continue
		}
		s, err := c.snapshot(p, v, resp.arrived)
		if err != nil {
			return ingest.Listing{}, ingest.Malformed(Platform, op, resp.requestID, err.Error(), nil)
		}
		if err := s.ValidateAt(resp.arrived); err != nil {
			out.Rejected = append(out.Rejected, ingest.Reject(&s, err))
			continue
		}
		out.Posts = append(out.Posts, p)
		out.Snapshots = append(out.Snapshots, s)
	}
	return out, nil
}

// Fetch returns the counters of up to MaxBatch videos of one account.
func (c *Client) Fetch(ctx context.Context, acct roster.Account, posts []ingest.Post) (ingest.Fetched, error) {
	const op = "fetch"
	if len(posts) == 0 {
		return ingest.Fetched{}, nil
	}
	if err := ingest.OverBatch(Platform, "video_data", len(posts), MaxBatch); err != nil {
		return ingest.Fetched{}, err
	}
	ids := make([]string, len(posts))
	for i, p := range posts {
		if p.AccountID != "" && p.AccountID != acct.AccountID {
			return ingest.Fetched{}, &ingest.Error{Platform: Platform, Op: op, Kind: ingest.KindInvalid, Message: fmt.Sprintf("post %s belongs to account %s, not %s", p.PostID, p.AccountID, acct.AccountID)}
		}
		ids[i] = p.PostID
	}
	body, _ := json.Marshal(map[string][]string{"item_ids": ids})
	q := url.Values{"open_id": {acct.AccountID}}
	data, resp, err := c.authorized(ctx, acct, op, http.MethodPost, "/api/douyin/v1/video/video_data/?"+q.Encode(), body)
	if err != nil {
		return ingest.Fetched{}, err
	}
	var vd videoData
	if err := json.Unmarshal(data, &vd); err != nil {
		return ingest.Fetched{}, ingest.Malformed(Platform, op, resp.requestID, "video_data data is not the documented shape", err)
	}
	got := map[string]video{}
	for _, v := range vd.List {
		if v.ItemID == "" {
			return ingest.Fetched{}, ingest.Malformed(Platform, op, resp.requestID, "video_data item without item_id", nil)
		}
		got[v.ItemID] = v
	}
	var out ingest.Fetched
	for _, p := range posts {
		v, ok := got[p.PostID]
		p.Platform, p.AccountID, p.AmbassadorID = Platform, acct.AccountID, acct.AmbassadorID
		var s snapshot.Snapshot
		switch {
		case !ok:
			s = ingest.StateSnapshot(p, snapshot.StateDeleted, resp.arrived, c.cfg.Source)
		case notPublic(v):
			s = ingest.StateSnapshot(p, snapshot.StatePrivate, resp.arrived, c.cfg.Source)
		default:
			if v.CreateTime.V > 0 {
				p.PublishedAt = time.Unix(v.CreateTime.V, 0).UTC()
			}
			var err error
			if s, err = c.snapshot(p, v, resp.arrived); err != nil {
				return ingest.Fetched{}, ingest.Malformed(Platform, op, resp.requestID, err.Error(), nil)
			}
		}
		if err := s.ValidateAt(resp.arrived); err != nil {
			out.Rejected = append(out.Rejected, ingest.Reject(&s, err))
			continue
		}
		out.Snapshots = append(out.Snapshots, s)
	}
	return out, nil
}

// notPublic reports whether the platform says the video is not public
// (its statistics are then zeros, not counters).
func notPublic(v video) bool {
	return v.CreateTime.Set && v.CreateTime.V <= 0
}

// snapshot maps one video's statistics to a snapshot observed at. The
// caller checks it with snapshot.ValidateAt: a video that breaks the rules
// (a negative or absurd counter, an impossible create_time, an id that is
// not an item_id) is rejected alone, the rest of its page kept.
func (c *Client) snapshot(p ingest.Post, v video, at time.Time) (snapshot.Snapshot, error) {
	s := snapshot.Snapshot{
		Schema: snapshot.SchemaVersion, Platform: Platform,
		AmbassadorID: p.AmbassadorID, AccountID: p.AccountID, PostID: p.PostID,
		PublishedAt: p.PublishedAt.UTC(), ObservedAt: at.UTC(), Source: c.cfg.Source,
	}
	if v.Statistics == nil {
		return s, fmt.Errorf("video %s has no statistics", v.ItemID)
	}
	// The title (with its #话题) and the share link: the post's facts,
	// sent on when they are new (the scheduler decides).
	s.Facts = snapshot.NewFacts(Platform, v.Title, v.ShareURL)
	st := v.Statistics
	for _, f := range []struct {
		n   ingest.Int
		dst **int64
	}{
		{st.PlayCount, &s.Plays}, {st.DiggCount, &s.Likes}, {st.CommentCount, &s.Comments},
		{st.ShareCount, &s.Shares}, {st.ForwardCount, &s.Forwards}, {st.DownloadCount, &s.Downloads},
	} {
		if !f.n.Set {
			continue // not given: absent, never zero
		}
		*f.dst = snapshot.Counter(f.n.V) // bounds: snapshot.Validate
	}
	return s, nil
}

// authorized performs one API request with the account's access token,
// refreshing the token ahead of expiry, and once more after a
// token-expired answer (refresh, then repeat the request).
func (c *Client) authorized(ctx context.Context, acct roster.Account, op, method, path string, body []byte) (_ json.RawMessage, _ *response, err error) {
	tok, err := c.accessToken(ctx, acct, op)
	if err != nil {
		return nil, nil, err
	}
	// The platform's words may echo a token it was sent.
	used := []string{tok.AccessToken, tok.RefreshToken}
	defer func() { err = ingest.RedactError(err, used...) }()
	data, resp, err := c.api(ctx, op, method, path, body, tok.AccessToken)
	if err == nil {
		return data, resp, nil
	}
	var ie *ingest.Error
	if !errors.As(err, &ie) {
		return nil, resp, err
	}
	switch {
	case ie.Kind == ingest.KindTokenExpired:
		fresh, rerr := c.forceRefresh(ctx, acct, tok.AccessToken)
		if rerr != nil {
			return nil, resp, rerr
		}
		used = append(used, fresh.AccessToken, fresh.RefreshToken)
		return c.api(ctx, op, method, path, body, fresh.AccessToken)
	case invalidTokenCode(ie.Code):
		// Another replica may have refreshed the token (invalidating ours).
		now, nerr := c.cfg.Tokens.Get(Platform, acct.AccountID)
		if nerr == nil && now.AccessToken != tok.AccessToken && now.AccessToken != "" {
			used = append(used, now.AccessToken, now.RefreshToken)
			return c.api(ctx, op, method, path, body, now.AccessToken)
		}
		ie.Message = firstNonEmpty(ie.Message, "access token invalid") + fmt.Sprintf("; ambassador %s must authorize again (tongxin auth douyin %s)", acct.AmbassadorID, acct.AmbassadorID)
	}
	return nil, resp, err
}

// api performs one request against the Open Platform and decodes its envelope.
func (c *Client) api(ctx context.Context, op, method, path string, body []byte, accessToken string) (json.RawMessage, *response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.BaseURL+path, rd)
	if err != nil {
		return nil, nil, &ingest.Error{Platform: Platform, Op: op, Kind: ingest.KindInvalid, Message: "bad request URL", Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if accessToken != "" {
		req.Header.Set("access-token", accessToken)
	}
	resp, err := c.do(op, req)
	if err != nil {
		return nil, nil, err
	}
	data, err := c.decode(op, resp)
	return data, resp, err
}

// do sends req through the configured HTTP client and reads the answer.
func (c *Client) do(op string, req *http.Request) (*response, error) {
	req.Header.Set("Accept", "application/json")
	hr, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return nil, ingest.TransportError(req.Context(), Platform, op, err)
	}
	defer hr.Body.Close()
	b, err := io.ReadAll(io.LimitReader(hr.Body, ingest.MaxBody))
	if err != nil {
		return nil, ingest.TransportError(req.Context(), Platform, op, err)
	}
	return &response{
		status: hr.StatusCode, header: hr.Header, body: b,
		requestID: hr.Header.Get("X-Tt-Logid"), arrived: c.cfg.Clock.Now().UTC(),
	}, nil
}
