package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tongxin/tongxin/ingest/errcode"
	"github.com/tongxin/tongxin/snapshot"
)

// The Douyin Open Platform as the simulator plays it. Paths, envelopes and
// error codes follow the real API (see ingest/douyin's package doc):
//
//	GET  /platform/oauth/connect/            consent page; auto-approves for the
//	                                         `account` hint (open_id or ambassador id)
//	                                         or the first Douyin account
//	POST /oauth/access_token/                code → tokens            (errors 10005, 10002, 10007)
//	POST /oauth/refresh_token/               refresh → access token   (error 10010)
//	POST /oauth/renew_refresh_token/         new refresh token, 5×    (errors 10010, 10020)
//	GET  /api/douyin/v1/video/video_list/    one page, newest first, time cursor
//	POST /api/douyin/v1/video/video_data/    stats of ≤10 item_ids; unknown/deleted ids absent
//
// A video its author made private (私密视频) stays in both answers with
// create_time 0, no title, cover or share_url, and every statistic 0
// (without is_reviewed and video_status, which the platform withdrew on
// 2024-12-13) — as the platform blanks a video that is not public; a deleted
// one is absent from both.
//
// Token errors: 2190002 (invalid/missing), 2190008 (expired), 2190015
// (open_id does not match the token). Bad parameters: 2100005. Injected
// faults: 429 with Retry-After and the 2100004 envelope; 5xx (an HTML
// gateway page or the 28001005 envelope); a hang; a malformed body
// (truncated, HTML, ill-typed, data not an object); an early-expired token
// answered with 2190008; the error envelope of a code from the adapter's
// table (ingest/errcode), with HTTP 200 as the platform sends them, in
// either envelope shape. Some successful answers carry numbers as strings,
// as the real platform's do.

const (
	douyinMaxBatch     = 10 // item_ids per video_data request
	douyinDefaultCount = 10
	douyinMaxCount     = 20 // the docs give no maximum; larger counts are cut to this
	douyinScope        = "user_info,video.list.bind,video.data.bind,renew_refresh_token"
)

var douyinRequests atomic.Uint64

func (s *Server) mountDouyin(mux *http.ServeMux) {
	mux.HandleFunc("GET /platform/oauth/connect/{$}", s.douyinConnect)
	mux.HandleFunc("POST /oauth/access_token/{$}", s.douyinGrantEndpoint("authorization_code", "code", 10007, s.ExchangeCode, "client_key", "client_secret", "code"))
	mux.HandleFunc("POST /oauth/refresh_token/{$}", s.douyinGrantEndpoint("refresh_token", "refresh_token", 10010, s.RefreshAccess, "client_key", "refresh_token"))
	mux.HandleFunc("POST /oauth/renew_refresh_token/{$}", s.douyinRenewRefreshToken)
	mux.HandleFunc("GET /api/douyin/v1/video/video_list/{$}", s.douyinVideoList)
	mux.HandleFunc("POST /api/douyin/v1/video/video_data/{$}", s.douyinVideoData)
}

// douyinLogID makes a log id in the platform's style: a timestamp and hex.
func (s *Server) douyinLogID() string {
	n := douyinRequests.Add(1)
	return s.Clock.Now().UTC().Format("20060102150405") + strings.ToUpper(fmt.Sprintf("%020x", hash("douyin", strconv.FormatUint(n, 10), strconv.FormatInt(s.Scenario.Seed, 10))))[:20]
}

func douyinWrite(w http.ResponseWriter, status int, logid string, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Tt-Logid", logid)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) douyinExtra(logid string, code int) map[string]any {
	return map[string]any{
		"error_code": code, "description": douyinText(code), "sub_error_code": 0, "sub_description": "",
		"logid": logid, "now": s.Clock.Now().UnixMilli(),
	}
}

// douyinText is the platform's description of code, from the adapter's table.
func douyinText(code int) string {
	c, _ := errcode.Douyin.Lookup(code)
	return c.Text
}

// douyinAPIError answers an OpenAPI error envelope.
func (s *Server) douyinAPIError(w http.ResponseWriter, status int, logid string, code int, desc string) {
	if desc == "" {
		desc = douyinText(code)
	}
	douyinWrite(w, status, logid, map[string]any{
		"data":  map[string]any{"error_code": code, "description": desc},
		"extra": s.douyinExtra(logid, code),
	})
}

// douyinOAuthError answers an OAuth endpoint's error envelope.
func (s *Server) douyinOAuthError(w http.ResponseWriter, logid string, code int) {
	douyinWrite(w, http.StatusOK, logid, map[string]any{
		"data":    map[string]any{"captcha": "", "desc_url": "", "description": douyinText(code), "error_code": code},
		"message": "error",
		"extra":   map[string]any{"logid": logid, "now": s.Clock.Now().UnixMilli()},
	})
}

// douyinFault plays the injected fault f; it reports whether it answered.
func (s *Server) douyinFault(w http.ResponseWriter, r *http.Request, logid string, f Fault, access string) bool {
	v := hash(logid) % 4
	switch f {
	case FaultRateLimit:
		w.Header().Set("Retry-After", strconv.Itoa(1+int(v%3)))
		s.douyinAPIError(w, http.StatusTooManyRequests, logid, 2100004, "")
	case FaultServerError:
		if v%2 == 0 {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("X-Tt-Logid", logid)
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>tengine</center></body></html>\n")
		} else {
			s.douyinAPIError(w, http.StatusInternalServerError, logid, 28001005, "")
		}
	case FaultTimeout:
		Hang(w, r)
	case FaultMalformed:
		s.douyinMalformed(w, logid, v)
	case FaultExpire:
		if access == "" {
			return false // nothing to expire on this endpoint
		}
		s.ExpireToken(access)
		s.douyinAPIError(w, http.StatusOK, logid, 2190008, "")
	case FaultEnvelope:
		if access == "" {
			return false // the OAuth endpoints have codes of their own
		}
		c, _ := s.envelopeCode(snapshot.Douyin, errcode.Douyin)
		if v%2 == 0 {
			s.douyinAPIError(w, c.Status, logid, c.Code, "")
		} else { // the newer gateways' shape
			douyinWrite(w, c.Status, logid, map[string]any{"err_no": c.Code, "err_msg": c.Text, "log_id": logid})
		}
	default:
		return false
	}
	return true
}

// douyinMalformed answers a body that is not what the API documents.
func (s *Server) douyinMalformed(w http.ResponseWriter, logid string, variant uint64) {
	w.Header().Set("X-Tt-Logid", logid)
	switch variant {
	case 0: // cut off mid-body
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"data":{"cursor":%d,"description":"","error_code":0,"has_more":true,"list":[{"item_id":"@9VwKzuuES8gmaHHgMo`, s.Clock.Now().UnixMilli())
	case 1: // an HTML page with 200
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!DOCTYPE html><html><head><title>抖音开放平台</title></head><body>服务暂时不可用</body></html>")
	case 2: // ill-typed fields
		douyinWrite(w, http.StatusOK, logid, map[string]any{
			"data":  map[string]any{"error_code": 0, "description": "", "list": "n/a", "has_more": "maybe", "access_token": 0, "expires_in": "soon", "refresh_token": 0},
			"extra": s.douyinExtra(logid, 0),
		})
	default: // data is not an object
		douyinWrite(w, http.StatusOK, logid, map[string]any{"data": []any{}, "extra": s.douyinExtra(logid, 0)})
	}
}

// douyinAccess is the access token a request carries.
func douyinAccess(r *http.Request) string {
	if t := r.Header.Get("access-token"); t != "" {
		return t
	}
	return r.URL.Query().Get("access_token")
}

// douyinRequest begins an API request: its log id, the fault drawn for
// it, then its token and open_id; it answers a fault or an error and
// returns false when the handler must not go on.
func (s *Server) douyinRequest(w http.ResponseWriter, r *http.Request) (logid, acct string, ok bool) {
	logid = s.douyinLogID()
	access := douyinAccess(r)
	if s.douyinFault(w, r, logid, s.Draw(snapshot.Douyin), access) {
		return logid, "", false
	}
	acct, ok = s.douyinAccount(w, r, logid, access)
	return logid, acct, ok
}

// douyinAccount checks the request's token and open_id; it answers the
// error and returns false when they do not hold.
func (s *Server) douyinAccount(w http.ResponseWriter, r *http.Request, logid, access string) (string, bool) {
	if access == "" {
		s.douyinAPIError(w, http.StatusOK, logid, 2190002, "")
		return "", false
	}
	acct, err := s.CheckToken(snapshot.Douyin, access)
	switch err {
	case nil:
	case ErrTokenExpired:
		s.douyinAPIError(w, http.StatusOK, logid, 2190008, "")
		return "", false
	default:
		s.douyinAPIError(w, http.StatusOK, logid, 2190002, "")
		return "", false
	}
	openID := r.URL.Query().Get("open_id")
	if openID == "" {
		s.douyinAPIError(w, http.StatusOK, logid, 2100005, "参数不合法: open_id 缺失")
		return "", false
	}
	if openID != acct {
		s.douyinAPIError(w, http.StatusOK, logid, 2190015, "")
		return "", false
	}
	return acct, true
}

// douyinStringy says whether this answer carries its numbers as strings.
func douyinStringy(logid string) bool { return hash(logid, "stringy")%3 == 0 }

func douyinNum(v int64, stringy bool) any {
	if stringy {
		return strconv.FormatInt(v, 10)
	}
	return v
}

// douyinVideo is one data.list item with the counters the open API gives.
func douyinVideo(p *Post, c Counters, stringy bool, at time.Time) map[string]any {
	h := hash(p.PostID)
	if p.PrivateAt(at) {
		zero := douyinNum(0, stringy)
		return map[string]any{
			"item_id": p.PostID, "title": "", "create_time": 0, "cover": "", "share_url": "",
			"is_top": false, "media_type": 4,
			"statistics": map[string]any{"play_count": zero, "digg_count": zero, "comment_count": zero,
				"share_count": zero, "forward_count": zero, "download_count": zero},
		}
	}
	return map[string]any{
		"item_id":     p.PostID,
		"title":       p.Title,
		"create_time": p.PublishedAt.Unix(),
		"cover":       fmt.Sprintf("https://p3-sign.douyinpic.com/tos-cn-p-0015/%016x~c5_300x400.jpeg", h),
		"share_url":   p.URL(),
		"is_top":      false,
		"media_type":  4,
		"statistics": map[string]any{
			"play_count":     douyinNum(c.Plays, stringy),
			"digg_count":     douyinNum(c.Likes, stringy),
			"comment_count":  douyinNum(c.Comments, stringy),
			"share_count":    douyinNum(c.Shares, stringy),
			"forward_count":  douyinNum(c.Forwards, stringy),
			"download_count": douyinNum(c.Downloads, stringy),
		},
	}
}

func (s *Server) douyinVideoList(w http.ResponseWriter, r *http.Request) {
	logid, acct, ok := s.douyinRequest(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	count := douyinDefaultCount
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.douyinAPIError(w, http.StatusOK, logid, 2100005, "参数不合法: count")
			return
		}
		count = min(n, douyinMaxCount)
	}
	var cursor int64
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.douyinAPIError(w, http.StatusOK, logid, 2100005, "参数不合法: cursor")
			return
		}
		cursor = n
	}
	now := s.Clock.Now()
	// The cursor is the create time (ms) of the last video of the previous
	// page: the next page is what was published before it, so posts
	// published or deleted between pages shift nothing.
	var posts []*Post
	for _, p := range s.Scenario.PostsOf(snapshot.Douyin, acct, now) {
		if cursor == 0 || p.PublishedAt.UnixMilli() < cursor {
			posts = append(posts, p)
		}
	}
	page := posts[:min(count, len(posts))]
	stringy := douyinStringy(logid)
	list := make([]any, 0, len(page))
	for _, p := range page {
		list = append(list, douyinVideo(p, s.Observe(p, now), stringy, now))
	}
	next := int64(0)
	if len(page) > 0 {
		next = page[len(page)-1].PublishedAt.UnixMilli()
	}
	data := map[string]any{
		"cursor": douyinNum(next, stringy), "has_more": len(posts) > len(page), "list": list,
		"error_code": douyinNum(0, stringy), "description": "",
	}
	douyinWrite(w, http.StatusOK, logid, map[string]any{"data": data, "extra": s.douyinExtra(logid, 0)})
}

func (s *Server) douyinVideoData(w http.ResponseWriter, r *http.Request) {
	logid, acct, ok := s.douyinRequest(w, r)
	if !ok {
		return
	}
	var body struct {
		ItemIDs []string `json:"item_ids"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		s.douyinAPIError(w, http.StatusOK, logid, 2100005, "参数不合法: body")
		return
	}
	if len(body.ItemIDs) == 0 || len(body.ItemIDs) > douyinMaxBatch {
		s.douyinAPIError(w, http.StatusOK, logid, 2100005, fmt.Sprintf("参数不合法: item_ids 需 1-%d 个", douyinMaxBatch))
		return
	}
	now := s.Clock.Now()
	stringy := douyinStringy(logid)
	seen := map[string]bool{}
	list := []any{}
	for _, id := range body.ItemIDs {
		p, ok := s.Scenario.Post(snapshot.Douyin, id)
		if !ok || seen[id] || p.AccountID != acct || !p.VisibleAt(now) {
			continue // unknown, someone else's, deleted or not yet published: absent
		}
		seen[id] = true
		list = append(list, douyinVideo(p, s.Observe(p, now), stringy, now))
	}
	douyinWrite(w, http.StatusOK, logid, map[string]any{
		"data":  map[string]any{"list": list, "error_code": douyinNum(0, stringy), "description": ""},
		"extra": s.douyinExtra(logid, 0),
	})
}

// douyinForm reads an OAuth request's parameters, form-encoded (as
// documented) or JSON (as the newer docs' examples send them).
func douyinForm(r *http.Request) url.Values {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		out := url.Values{}
		if json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&m) == nil {
			for k, v := range m {
				out.Set(k, fmt.Sprint(v))
			}
		}
		return out
	}
	if err := r.ParseForm(); err != nil {
		return url.Values{}
	}
	return r.Form
}

func (s *Server) douyinConnect(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_key") == "" || q.Get("response_type") != "code" {
		http.Error(w, "授权失败: client_key 或 response_type 错误 (10003)", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme == "" || redirect.Host == "" {
		http.Error(w, "授权失败: 非法重定向 URI (10006)", http.StatusBadRequest)
		return
	}
	acct := s.douyinAccountFor(q.Get("account"))
	if acct == "" {
		http.Error(w, "授权失败: 没有可授权的抖音账号", http.StatusBadRequest)
		return
	}
	code := s.Authorize(snapshot.Douyin, acct)
	rq := redirect.Query()
	rq.Set("code", code)
	rq.Set("state", q.Get("state"))
	rq.Set("scopes", q.Get("scope"))
	redirect.RawQuery = rq.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// douyinAccountFor resolves the consent page's account hint: an open_id, an
// ambassador id, or (empty) the first Douyin account.
func (s *Server) douyinAccountFor(hint string) string {
	accts := s.Scenario.Accounts(snapshot.Douyin)
	if hint == "" {
		if len(accts) == 0 {
			return ""
		}
		return accts[0]
	}
	for _, a := range accts {
		if a == hint {
			return a
		}
	}
	for _, p := range s.Scenario.Posts {
		if p.Platform == snapshot.Douyin && p.AmbassadorID == hint {
			return p.AccountID
		}
	}
	return ""
}

func (s *Server) douyinOAuthFault(w http.ResponseWriter, r *http.Request, logid string) bool {
	f := s.Draw(snapshot.Douyin)
	if f == FaultExpire {
		return false
	}
	return s.douyinFault(w, r, logid, f, "")
}

func (s *Server) douyinGrant(w http.ResponseWriter, logid string, g Grant, stringy bool) {
	data := map[string]any{
		"access_token": g.AccessToken, "refresh_token": g.RefreshToken, "open_id": g.Account,
		"expires_in":         douyinNum(int64(g.ExpiresIn/time.Second), stringy),
		"refresh_expires_in": douyinNum(int64(g.RefreshIn/time.Second), stringy),
		"scope":              douyinScope, "captcha": "", "desc_url": "", "description": "",
		"error_code": douyinNum(0, stringy), "log_id": logid,
	}
	douyinWrite(w, http.StatusOK, logid, map[string]any{"data": data, "message": "success"})
}

// douyinOAuthRequest answers an OAuth request's fault, its missing
// fields (10005) and a wrong grant_type (10002; grantType "" takes any);
// ok says the handler goes on with the form.
func (s *Server) douyinOAuthRequest(w http.ResponseWriter, r *http.Request, logid, grantType string, required ...string) (_ url.Values, ok bool) {
	if s.douyinOAuthFault(w, r, logid) {
		return nil, false
	}
	f := douyinForm(r)
	for _, k := range required {
		if f.Get(k) == "" {
			s.douyinOAuthError(w, logid, 10005)
			return nil, false
		}
	}
	if grantType != "" && f.Get("grant_type") != grantType {
		s.douyinOAuthError(w, logid, 10002)
		return nil, false
	}
	return f, true
}

// douyinGrantEndpoint answers an OAuth endpoint that issues a grant from the
// form's secret (the code, or the refresh token): /oauth/access_token/
// and /oauth/refresh_token/. failCode is the answer when issue refuses.
func (s *Server) douyinGrantEndpoint(grantType, secret string, failCode int, issue func(platform, secret string) (Grant, error), required ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		logid := s.douyinLogID()
		f, ok := s.douyinOAuthRequest(w, r, logid, grantType, required...)
		if !ok {
			return
		}
		g, err := issue(snapshot.Douyin, f.Get(secret))
		if err != nil {
			s.douyinOAuthError(w, logid, failCode)
			return
		}
		s.douyinGrant(w, logid, g, douyinStringy(logid))
	}
}

func (s *Server) douyinRenewRefreshToken(w http.ResponseWriter, r *http.Request) {
	logid := s.douyinLogID()
	f, ok := s.douyinOAuthRequest(w, r, logid, "", "client_key", "refresh_token")
	if !ok {
		return
	}
	g, err := s.RenewRefresh(snapshot.Douyin, f.Get("refresh_token"))
	if err != nil {
		code := 10010
		if strings.Contains(err.Error(), "renewed") {
			code = 10020
		}
		s.douyinOAuthError(w, logid, code)
		return
	}
	stringy := douyinStringy(logid)
	douyinWrite(w, http.StatusOK, logid, map[string]any{
		"data": map[string]any{
			"refresh_token": g.RefreshToken, "expires_in": douyinNum(int64(g.RefreshIn/time.Second), stringy),
			"description": "", "error_code": douyinNum(0, stringy),
		},
		"message": "success",
	})
}
