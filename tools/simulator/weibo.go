package simulator

// Weibo Open API v2 (api.weibo.com) as the simulator serves it. The paths,
// parameters, bodies and error envelopes follow the real API (see the
// package doc of ingest/weibo for the sources):
//
//	GET  /oauth2/authorize        consent page; with a simulator-only hint
//	                              account=UID (or uid=UID) it approves at once
//	                              and redirects to redirect_uri?code=…&state=…
//	POST /oauth2/access_token     code → {"access_token","remind_in","expires_in","uid"}
//	                              (no refresh_token: ordinary web apps get none)
//	POST /oauth2/get_token_info   {"uid","appkey","scope","create_at","expire_in"}
//	GET  /2/statuses/user_timeline.json
//	                              the token's own account only (uid of another
//	                              account → 21335), count ≤ 100, page ≥ 1
//	GET  /2/statuses/count.json   ids (≤ 100); deleted and unknown ids are left
//	                              out of the answer without a word
//
// Status ids (id, idstr, mid) are above 2^53, as Weibo's will be: id is a
// JSON number that a float64 cannot hold. A status the author made private
// (仅自己可见) stays on their own timeline with visible.type 1 (0 public, 1
// private, 3 a friend group, 4 close friends) and in statuses/count, since
// its author may read it; a deleted one is gone from both. Some statuses
// are reposts (转发): the ambassador's own status, with its own id and
// counters, carrying another account's original as retweeted_status. The
// roster's official accounts (西山发布 …) have timelines of reposts of
// ambassadors' posts (Scenario.Reposts), each retweeted_status the
// ambassador's post with its counters at the time of the request.
// Access tokens last WeiboTokenTTL: 7 days for a reviewed app (the
// default), 1 day for one not yet reviewed (`--weibo-app-reviewed=false`).
//
// The access token is read from "Authorization: OAuth2 TOKEN" or from the
// access_token parameter, as the real API accepts both. Errors are the
// platform's envelope {"error":…,"error_code":…,"request":…}; injected
// faults: FaultRateLimit → HTTP 403 with error_code 10023 ("User requests
// out of rate limit!", the code and status Weibo uses) plus a Retry-After
// header the real API does not send; FaultServerError → 10001/10002
// envelopes with 500/503 or a bare nginx 502 page; FaultTimeout → Hang;
// FaultMalformed → a truncated body, counters as display strings ("1.2万")
// or an HTML page with status 200; FaultExpire → the caller's token expires
// and the answer is 21327 expired_token; FaultEnvelope → the envelope of a
// code from the adapter's table (ingest/errcode), with the row's status or
// with 200.
//
// Not simulated: since_id/max_id (the simulator's post ids are not ordered by
// time as Weibo's are), and the real timeline's cap — after Weibo's 2014
// upgrade user_timeline returns only the newest 5 statuses to apps not using
// the official mobile SDK; the simulator pages through the whole history.

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tongxin/tongxin/ingest/errcode"
	"github.com/tongxin/tongxin/snapshot"
)

// WeiboTimeLayout is how Weibo writes created_at: "Tue May 31 17:46:55 +0800 2011".
const WeiboTimeLayout = "Mon Jan 02 15:04:05 -0700 2006"

// weiboZone is Beijing time, in which Weibo writes every created_at.
var weiboZone = time.FixedZone("CST", 8*3600)

// weiboAppKey is the appkey get_token_info reports for the simulated app.
const weiboAppKey = "3960571234"

func (s *Server) mountWeibo(mux *http.ServeMux) {
	mux.HandleFunc("GET /oauth2/authorize", s.weiboAuthorize)
	mux.HandleFunc("POST /oauth2/authorize", s.weiboAuthorize)
	mux.HandleFunc("POST /oauth2/access_token", s.weiboAccessToken)
	mux.HandleFunc("POST /oauth2/get_token_info", s.weiboTokenInfo)
	mux.HandleFunc("GET /2/statuses/user_timeline.json", s.weiboUserTimeline)
	mux.HandleFunc("GET /2/statuses/count.json", s.weiboCount)
}

// weiboJSON writes v as Weibo does: JSON, UTF-8.
func weiboJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // Weibo sends source's <a href=…> as is
	enc.Encode(v)
}

// weiboError writes the API's error envelope.
func weiboError(w http.ResponseWriter, r *http.Request, status, code int, msg string) {
	weiboJSON(w, status, map[string]any{"error": msg, "error_code": code, "request": r.URL.Path})
}

// weiboOAuthError writes the OAuth2 endpoints' error envelope.
func weiboOAuthError(w http.ResponseWriter, r *http.Request, status, code int, errName, desc string) {
	weiboJSON(w, status, map[string]any{
		"error": errName, "error_code": code, "request": r.URL.Path,
		"error_uri": r.URL.Path, "error_description": desc,
	})
}

// weiboIntN draws from the server's seeded generator.
func (s *Server) weiboIntN(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.IntN(n)
}

// weiboAccessToken extracts the caller's token as the real API does.
func weiboAccessToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "OAuth2") || strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
	}
	return r.FormValue("access_token")
}

// weiboFault answers an injected fault and reports whether it did.
func (s *Server) weiboFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch f {
	case FaultTimeout:
		Hang(w, r)
		return true
	case FaultRateLimit:
		// Weibo answers its hourly per-user limit with 403 and 10023; the
		// Retry-After header is the simulator's addition (the real API
		// resets at the top of the hour and says nothing).
		w.Header().Set("Retry-After", strconv.Itoa(1+s.weiboIntN(5)))
		weiboError(w, r, http.StatusForbidden, 10023, "User requests out of rate limit!")
		return true
	case FaultServerError:
		switch s.weiboIntN(3) {
		case 0:
			weiboError(w, r, http.StatusInternalServerError, 10001, "system error!")
		case 1:
			weiboError(w, r, http.StatusServiceUnavailable, 10002, "service unavailable!")
		default:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
		}
		return true
	case FaultEnvelope:
		// A code from the adapter's own table, with its status or with 200.
		c, ok200 := s.envelopeCode(snapshot.Weibo, errcode.Weibo)
		status := c.Status
		if ok200 {
			status = http.StatusOK
		}
		weiboError(w, r, status, c.Code, c.Text)
		return true
	case FaultExpire:
		if tok := weiboAccessToken(r); tok != "" {
			s.ExpireToken(tok)
		}
		weiboError(w, r, http.StatusUnauthorized, 21327, "expired_token")
		return true
	}
	return false
}

// weiboCaller checks the caller's token and returns its account, or answers
// the platform's error.
func (s *Server) weiboCaller(w http.ResponseWriter, r *http.Request) (string, bool) {
	tok := weiboAccessToken(r)
	if tok == "" {
		weiboError(w, r, http.StatusBadRequest, 10006, "source paramter (appkey) is missing")
		return "", false
	}
	acct, err := s.CheckToken(snapshot.Weibo, tok)
	switch err {
	case nil:
		return acct, true
	case ErrTokenExpired:
		weiboError(w, r, http.StatusUnauthorized, 21327, "expired_token")
	default:
		weiboError(w, r, http.StatusUnauthorized, 21332, "invalid_access_token")
	}
	return "", false
}

// weiboDisplay writes a counter as Weibo's pages do ("1.2万").
func weiboDisplay(v int64) string {
	return fmt.Sprintf("%.1f万", float64(v)/10000)
}

func (s *Server) weiboAuthorize(w http.ResponseWriter, r *http.Request) {
	clientID, redirect, state := r.FormValue("client_id"), r.FormValue("redirect_uri"), r.FormValue("state")
	if clientID == "" {
		weiboOAuthError(w, r, http.StatusBadRequest, 21323, "invalid_request", "miss client_id")
		return
	}
	if redirect == "" {
		weiboOAuthError(w, r, http.StatusBadRequest, 21323, "invalid_request", "miss redirect uri")
		return
	}
	to, err := url.Parse(redirect)
	if err != nil || !to.IsAbs() {
		weiboOAuthError(w, r, http.StatusBadRequest, 21322, "redirect_uri_mismatch", "redirect uri is illegal")
		return
	}
	known := s.Scenario.Accounts(snapshot.Weibo)
	hint := r.FormValue("account")
	if hint == "" {
		hint = r.FormValue("uid")
	}
	if hint == "" {
		// The consent page: one link per simulated account.
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		fmt.Fprint(w, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>微博授权 · tongxin simulator</title></head><body><h1>授权应用访问你的微博帐号</h1><ul>")
		for _, uid := range known {
			q := r.URL.Query()
			q.Set("account", uid)
			fmt.Fprintf(w, "<li><a href=\"%s\">授权 uid %s</a></li>", html.EscapeString(r.URL.Path+"?"+q.Encode()), html.EscapeString(uid))
		}
		fmt.Fprint(w, "</ul></body></html>")
		return
	}
	q := to.Query()
	if i := sort.SearchStrings(known, hint); i == len(known) || known[i] != hint {
		q.Set("error", "access_denied")
		q.Set("error_code", "21330")
		q.Set("error_description", "user "+hint+" is not a simulated weibo account")
	} else {
		q.Set("code", s.Authorize(snapshot.Weibo, hint))
	}
	if state != "" {
		q.Set("state", state)
	}
	to.RawQuery = q.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

func (s *Server) weiboAccessToken(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.FormValue("client_id") == "" || r.FormValue("client_secret") == "":
		weiboOAuthError(w, r, http.StatusBadRequest, 21324, "invalid_client", "client_id or client_secret is missing")
		return
	case r.FormValue("grant_type") != "authorization_code":
		weiboOAuthError(w, r, http.StatusBadRequest, 21328, "unsupported_grant_type", "unsupported grant_type "+r.FormValue("grant_type"))
		return
	case r.FormValue("redirect_uri") == "":
		weiboOAuthError(w, r, http.StatusBadRequest, 21323, "invalid_request", "miss redirect uri")
		return
	}
	g, err := s.ExchangeCode(snapshot.Weibo, r.FormValue("code"))
	if err != nil {
		weiboOAuthError(w, r, http.StatusBadRequest, 21325, "invalid_grant", "invalid authorization code")
		return
	}
	secs := int64(g.ExpiresIn / time.Second)
	weiboJSON(w, http.StatusOK, map[string]any{
		"access_token": g.AccessToken,
		"remind_in":    strconv.FormatInt(secs, 10), // a string, as Weibo sends it
		"expires_in":   secs,
		"uid":          g.Account,
		"isRealName":   "true",
	})
}

func (s *Server) weiboTokenInfo(w http.ResponseWriter, r *http.Request) {
	tok := weiboAccessToken(r)
	now := s.Clock.Now()
	s.mu.Lock()
	g, ok := s.tokens[tok]
	valid := ok && g.platform == snapshot.Weibo && g.access == tok
	var expires time.Time
	var account string
	if valid {
		expires, account = g.expires, g.account
	}
	s.mu.Unlock()
	switch {
	case tok == "":
		weiboError(w, r, http.StatusBadRequest, 10006, "source paramter (appkey) is missing")
		return
	case !valid:
		weiboError(w, r, http.StatusUnauthorized, 21332, "invalid_access_token")
		return
	case !now.Before(expires):
		weiboError(w, r, http.StatusUnauthorized, 21327, "expired_token")
		return
	}
	uid, _ := strconv.ParseInt(account, 10, 64)
	created := expires.Add(-s.TokenTTL[snapshot.Weibo])
	weiboJSON(w, http.StatusOK, map[string]any{
		"uid":       uid,
		"appkey":    weiboAppKey,
		"scope":     nil,
		"create_at": created.Unix(),
		"expire_in": int64(expires.Sub(now) / time.Second),
	})
}

// weiboStatus is one status as user_timeline returns it (trimmed to the
// fields tongxin reads plus the usual company).
type weiboStatus struct {
	CreatedAt        string         `json:"created_at"`
	ID               json.Number    `json:"id"`
	IDStr            string         `json:"idstr"`
	MID              string         `json:"mid"`
	CanEdit          bool           `json:"can_edit"`
	Text             string         `json:"text"`
	TextLength       int            `json:"textLength"`
	SourceAllowClick int            `json:"source_allowclick"`
	SourceType       int            `json:"source_type"`
	Source           string         `json:"source"`
	Favorited        bool           `json:"favorited"`
	Truncated        bool           `json:"truncated"`
	InReplyToStatus  string         `json:"in_reply_to_status_id"`
	InReplyToUser    string         `json:"in_reply_to_user_id"`
	InReplyToName    string         `json:"in_reply_to_screen_name"`
	PicURLs          []any          `json:"pic_urls"`
	Geo              any            `json:"geo"`
	User             map[string]any `json:"user"`
	RepostsCount     any            `json:"reposts_count"`
	CommentsCount    any            `json:"comments_count"`
	AttitudesCount   any            `json:"attitudes_count"`
	PendingApproval  int            `json:"pending_approval_count"`
	IsLongText       bool           `json:"isLongText"`
	MLevel           int            `json:"mlevel"`
	Visible          map[string]int `json:"visible"`
	BizFeature       int64          `json:"biz_feature"`
	DarwinTags       []any          `json:"darwin_tags"`
	HotWeiboTags     []any          `json:"hot_weibo_tags"`
	TextTagTips      []any          `json:"text_tag_tips"`
	MBlogType        int            `json:"mblogtype"`
	CommentManage    map[string]int `json:"comment_manage_info"`
	RetweetedStatus  map[string]any `json:"retweeted_status,omitempty"`
}

// weiboOriginal is a repost's retweeted_status: the other account's status
// with its own counters, which are not the reposter's. An official
// account's repost carries the ambassador's post as it is at now.
func weiboOriginal(o *Original, trim bool, now time.Time) map[string]any {
	uid, _ := strconv.ParseInt(o.UID, 10, 64)
	user := map[string]any{"id": uid, "idstr": o.UID}
	if !trim && o.Post != nil {
		user["screen_name"] = "同心西山代言人" + o.UID[max(len(o.UID)-4, 0):]
	} else if !trim {
		user["screen_name"] = "西山文旅" + o.UID[max(len(o.UID)-4, 0):]
		user["verified"] = true
	}
	reposts, comments, attitudes := o.Reposts, o.Comments, o.Attitudes
	if o.Post != nil {
		c := o.Post.CountersAt(now)
		reposts, comments, attitudes = c.Shares, c.Comments, c.Likes
	}
	return map[string]any{
		"created_at": o.PublishedAt.In(weiboZone).Format(WeiboTimeLayout),
		"id":         json.Number(o.ID), "idstr": o.ID, "mid": o.ID, "text": o.Text,
		"user": user, "reposts_count": reposts, "comments_count": comments, "attitudes_count": attitudes,
		"visible": map[string]int{"type": 0, "list_id": 0}, "pic_urls": []any{}, "isLongText": false,
	}
}

func (s *Server) weiboUserTimeline(w http.ResponseWriter, r *http.Request) {
	f := s.Draw(snapshot.Weibo)
	if s.weiboFault(w, r, f) {
		return
	}
	acct, ok := s.weiboCaller(w, r)
	if !ok {
		return
	}
	if uid := r.FormValue("uid"); uid != "" && uid != acct {
		weiboError(w, r, http.StatusBadRequest, 21335, "request uid's value must be the current user")
		return
	}
	count, page := 20, 1
	if v := r.FormValue("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			weiboError(w, r, http.StatusBadRequest, 10017, fmt.Sprintf("parameter (count)'s value invalid,expect (count >= 1), but get (%s), see doc for more info.", v))
			return
		}
		count = min(n, 100) // more than 100 is taken as 100
	}
	if v := r.FormValue("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			weiboError(w, r, http.StatusBadRequest, 10017, fmt.Sprintf("parameter (page)'s value invalid,expect (page >= 1), but get (%s), see doc for more info.", v))
			return
		}
		page = max(n, 1)
	}
	now := s.Clock.Now()
	posts := s.Scenario.PostsOf(snapshot.Weibo, acct, now)
	from := min((page-1)*count, len(posts))
	to := min(from+count, len(posts))
	uid, _ := strconv.ParseInt(acct, 10, 64)
	user := map[string]any{"id": uid, "idstr": acct}
	if r.FormValue("trim_user") != "1" {
		user["class"] = 1
		user["screen_name"] = "同心西山代言人" + acct[max(len(acct)-4, 0):]
		user["profile_url"] = "u/" + acct
		user["verified"] = false
		if len(posts) > 0 && posts[0].Official {
			user["screen_name"] = "西山官方号" + acct[max(len(acct)-4, 0):]
			user["verified"] = true // the district's accounts are verified (蓝V)
		}
		user["followers_count"] = 1000 + uid%9000
	}
	shown := posts[from:to]
	counters := make([]Counters, len(shown))
	for i, p := range shown {
		counters[i] = s.Observe(p, now)
	}
	build := func(display bool) any {
		statuses := make([]weiboStatus, 0, len(shown))
		for i, p := range shown {
			c := counters[i]
			st := weiboStatus{
				CreatedAt: p.PublishedAt.In(weiboZone).Format(WeiboTimeLayout),
				ID:        json.Number(p.PostID), IDStr: p.PostID, MID: p.PostID,
				Text: p.Title, SourceType: 1,
				Source:  `<a href="https://app.weibo.com/t/feed/6vtZb0" rel="nofollow">微博 weibo.com</a>`,
				PicURLs: []any{}, User: user,
				RepostsCount: c.Shares, CommentsCount: c.Comments, AttitudesCount: c.Likes,
				Visible:    map[string]int{"type": 0, "list_id": 0},
				DarwinTags: []any{}, HotWeiboTags: []any{}, TextTagTips: []any{},
				CommentManage: map[string]int{"comment_permission_type": -1, "approval_comment_type": 0},
			}
			if p.PrivateAt(now) {
				st.Visible["type"] = 1 // 仅自己可见
			}
			if p.RepostOf != nil {
				st.RetweetedStatus = weiboOriginal(p.RepostOf, r.FormValue("trim_user") == "1", now)
			}
			st.TextLength = len([]rune(st.Text)) * 2
			if display {
				st.RepostsCount, st.CommentsCount, st.AttitudesCount = weiboDisplay(c.Shares), weiboDisplay(c.Comments), weiboDisplay(c.Likes)
			}
			statuses = append(statuses, st)
		}
		return map[string]any{
			"statuses": statuses, "marks": []any{}, "hasvisible": false,
			"previous_cursor": 0, "next_cursor": 0, "total_number": len(posts), "interval": 0,
		}
	}
	s.weiboAnswer(w, f, build)
}

// weiboAnswer writes build's answer, or a broken version of it when the
// request drew the malformed fault.
func (s *Server) weiboAnswer(w http.ResponseWriter, f Fault, build func(display bool) any) {
	resp := build(false)
	if f != FaultMalformed {
		weiboJSON(w, http.StatusOK, resp)
		return
	}
	body, _ := json.Marshal(resp)
	switch s.weiboIntN(3) {
	case 0: // cut off half way
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		w.Write(body[:len(body)/2])
	case 1: // counters as the display strings of Weibo's pages
		weiboJSON(w, http.StatusOK, build(true))
	default: // an error page with status 200
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, "<!DOCTYPE html><html><head><title>微博-出错了</title></head><body><p>系统繁忙，请稍后再试。</p></body></html>")
	}
}

func (s *Server) weiboCount(w http.ResponseWriter, r *http.Request) {
	f := s.Draw(snapshot.Weibo)
	if s.weiboFault(w, r, f) {
		return
	}
	if _, ok := s.weiboCaller(w, r); !ok {
		return
	}
	raw := strings.TrimSpace(r.FormValue("ids"))
	if raw == "" {
		weiboError(w, r, http.StatusBadRequest, 20001, "IDs is null")
		return
	}
	ids := strings.Split(raw, ",")
	if len(ids) > 100 {
		weiboError(w, r, http.StatusBadRequest, 20009, "IDs is too many")
		return
	}
	for i, id := range ids {
		ids[i] = strings.TrimSpace(id)
		if _, err := strconv.ParseUint(ids[i], 10, 64); err != nil {
			weiboError(w, r, http.StatusBadRequest, 10017, fmt.Sprintf("parameter (ids)'s value invalid,expect (ids must be numbers), but get (%s), see doc for more info.", id))
			return
		}
	}
	now := s.Clock.Now()
	type found struct {
		id string
		c  Counters
	}
	var shown []found
	for _, id := range ids {
		p, ok := s.Scenario.Post(snapshot.Weibo, id)
		if !ok || !p.VisibleAt(now) {
			continue // deleted or unknown: silently left out, as Weibo does
		}
		shown = append(shown, found{id, s.Observe(p, now)})
	}
	build := func(display bool) any {
		out := make([]map[string]any, 0, len(shown))
		for _, e := range shown {
			m := map[string]any{
				"id": json.Number(e.id), "idstr": e.id,
				"comments": e.c.Comments, "reposts": e.c.Shares, "attitudes": e.c.Likes,
				"number_display_strategy": map[string]any{
					"apply_scenario_flag": 3, "display_text_min_number": 1000000, "display_text": "100万+",
				},
			}
			if display {
				m["comments"], m["reposts"], m["attitudes"] = weiboDisplay(e.c.Comments), weiboDisplay(e.c.Shares), weiboDisplay(e.c.Likes)
			}
			out = append(out, m)
		}
		return out
	}
	s.weiboAnswer(w, f, build)
}
