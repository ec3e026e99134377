package douyin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/snapshot"
)

const (
	item1 = "@9VwKzuuES8gmaHHgMoBgQc780mDqPP+KPpR0qQOmLVAXb/T060zdRmYqig357zEBq6CZRp4NVe6qLIJW/V/x1w=="
	item2 = "@9VwKzuuES8gmaHHgMoBgQc780mDqPP+KPpR0qQOmLVAXb/T060zdRmYqig357zEBzFVe3DYZbjcOsCcoq5F6bA=="
	item3 = "@9VwKzuuES8gmaHHgMoBgQc780mDqPP+KPpR0qQOmLVAXb/T060zdRmYqig357zEBKiWq8GmE3HY7ZBKEQE0ZQw=="
)

func i64(v int64) *int64 { return &v }

func eqPtr(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func fmtPtr(p *int64) string {
	if p == nil {
		return "nil"
	}
	return itoa(*p)
}

func itoa(v int64) string { b, _ := json.Marshal(v); return string(b) }

func checkMetrics(t *testing.T, s snapshot.Snapshot, plays, likes, comments, shares, forwards, downloads *int64) {
	t.Helper()
	for _, c := range []struct {
		name      string
		got, want *int64
	}{
		{"plays", s.Plays, plays}, {"likes", s.Likes, likes}, {"comments", s.Comments, comments},
		{"shares", s.Shares, shares}, {"forwards", s.Forwards, forwards}, {"downloads", s.Downloads, downloads},
	} {
		if !eqPtr(c.got, c.want) {
			t.Errorf("%s %s = %s, want %s", s.PostID, c.name, fmtPtr(c.got), fmtPtr(c.want))
		}
	}
	if s.Favorites != nil || s.Recommends != nil || s.CompletionRate != nil || s.AvgWatchSeconds != nil {
		t.Errorf("%s: metrics the open API does not give must be nil: %+v", s.PostID, s.Metrics)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("snapshot does not validate: %v", err)
	}
}

func TestListRecordedPage(t *testing.T) {
	f := newFixture(t)
	f.rp.on("GET /api/douyin/v1/video/video_list/", canned{file: "video_list_page1.json"})
	l, err := f.client.List(context.Background(), testAcct, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Posts) != 3 || len(l.Snapshots) != 3 {
		t.Fatalf("got %d posts, %d snapshots, want 3 and 3", len(l.Posts), len(l.Snapshots))
	}
	if !l.HasMore || l.Cursor != "1746316800000" {
		t.Errorf("paging: has_more=%v cursor=%q, want true and 1746316800000", l.HasMore, l.Cursor)
	}
	p := l.Posts[0]
	want := ingest.Post{Platform: "douyin", PostID: item1, AccountID: testOpenID, AmbassadorID: "amb01",
		PublishedAt: time.Unix(1746504000, 0).UTC(), Title: "西山的清晨，云雾绕着龙门 #同心西山# #寻美西山#"}
	if p != want {
		t.Errorf("post = %+v\nwant %+v", p, want)
	}
	s := l.Snapshots[0]
	if s.Source != "api" || s.AmbassadorID != "amb01" || s.AccountID != testOpenID || !s.ObservedAt.Equal(testStart) || !s.PublishedAt.Equal(want.PublishedAt) {
		t.Errorf("snapshot identity wrong: %+v", s)
	}
	checkMetrics(t, s, i64(15234), i64(412), i64(37), i64(29), i64(11), i64(6))
	checkMetrics(t, l.Snapshots[1], i64(208), i64(3), i64(0), i64(0), i64(0), i64(0))
	checkMetrics(t, l.Snapshots[2], i64(1083342), i64(20866), i64(1204), i64(2310), i64(977), i64(351))

	reqs := f.rp.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Header.Get("access-token") != seededAccess {
		t.Errorf("access-token header not sent")
	}
	if q := r.Query; q.Get("open_id") != testOpenID || q.Get("cursor") != "0" || q.Get("count") != "10" {
		t.Errorf("query = %v", q)
	}
	if r.Query.Has("access_token") {
		t.Errorf("the access token must not travel in the URL")
	}

	// The next page, numbers as strings.
	f.rp.on("GET /api/douyin/v1/video/video_list/", canned{file: "video_list_page2_strings.json"})
	l2, err := f.client.List(context.Background(), testAcct, l.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.rp.requests()[1].Query.Get("cursor"); got != "1746316800000" {
		t.Errorf("second page asked cursor %s", got)
	}
	if l2.HasMore || len(l2.Posts) != 1 {
		t.Fatalf("last page: has_more=%v, %d posts", l2.HasMore, len(l2.Posts))
	}
	checkMetrics(t, l2.Snapshots[0], i64(300), i64(200), i64(100), i64(10), i64(10), i64(10))
}

func TestFetchRecorded(t *testing.T) {
	f := newFixture(t)
	f.rp.on("POST /api/douyin/v1/video/video_data/", canned{file: "video_data.json"})
	posts := []ingest.Post{
		{Platform: "douyin", PostID: item1, AccountID: testOpenID, AmbassadorID: "amb01", PublishedAt: time.Unix(1746504000, 0).UTC()},
		{Platform: "douyin", PostID: item2, AccountID: testOpenID, AmbassadorID: "amb01", PublishedAt: time.Unix(1746417600, 0).UTC()},
		{Platform: "douyin", PostID: item3, AccountID: testOpenID, AmbassadorID: "amb01", PublishedAt: time.Unix(1746417600, 0).UTC()},
		{Platform: "douyin", PostID: "@9VwKzuuES8gmaHHgMoBgQcDeletedVideo==", AccountID: testOpenID, AmbassadorID: "amb01", PublishedAt: time.Unix(1746417600, 0).UTC()},
	}
	f.clk.Advance(time.Hour)
	got, err := f.client.Fetch(context.Background(), testAcct, posts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Snapshots) != 4 || got.Snapshots[0].PostID != item1 || len(got.Missing) != 0 {
		t.Fatalf("snapshots = %+v, missing %v; want one for each post asked", got.Snapshots, got.Missing)
	}
	s := got.Snapshots[0]
	// download_count is left out of the answer: absent, not zero.
	checkMetrics(t, s, i64(16870), i64(455), i64(41), i64(31), i64(12), nil)
	if !s.ObservedAt.Equal(testStart.Add(time.Hour)) {
		t.Errorf("observed_at = %s, want the clock's now", s.ObservedAt)
	}
	// The private video's zeroed statistics are not counters: a snapshot
	// with state private and none. The absent ones were deleted.
	for i, want := range []string{"", snapshot.StatePrivate, snapshot.StateDeleted, snapshot.StateDeleted} {
		g := got.Snapshots[i]
		if g.PostID != posts[i].PostID || g.State != want || (want != "" && g.HasCounters()) || !g.ObservedAt.Equal(testStart.Add(time.Hour)) {
			t.Errorf("snapshot %d: %s state %q counters %v, want %s state %q and no counters", i, g.PostID, g.State, g.HasCounters(), posts[i].PostID, want)
		}
		if want != "" && (!g.PublishedAt.Equal(posts[i].PublishedAt) || g.AmbassadorID != "amb01" || g.Validate() != nil) {
			t.Errorf("snapshot %d: %+v (%v)", i, g, g.Validate())
		}
	}
	r := f.rp.requests()[0]
	var body struct {
		ItemIDs []string `json:"item_ids"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || len(body.ItemIDs) != 4 || body.ItemIDs[0] != item1 {
		t.Errorf("request body %s", r.Body)
	}
	if r.Query.Get("open_id") != testOpenID || r.Header.Get("access-token") != seededAccess || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("request = %+v", r)
	}
}

func TestFetchBatchLimit(t *testing.T) {
	f := newFixture(t)
	posts := make([]ingest.Post, MaxBatch+1)
	for i := range posts {
		posts[i] = ingest.Post{PostID: "x" + itoa(int64(i)), AccountID: testOpenID}
	}
	_, err := f.client.Fetch(context.Background(), testAcct, posts)
	if ie := asIngestError(t, err); ie.Kind != ingest.KindInvalid {
		t.Errorf("kind = %s, want invalid", ie.Kind)
	}
	if n := len(f.rp.requests()); n != 0 {
		t.Errorf("%d requests made for a batch that cannot be sent", n)
	}
	if f.client.MaxBatch() != 10 {
		t.Errorf("MaxBatch = %d", f.client.MaxBatch())
	}
}

func TestErrorEnvelopes(t *testing.T) {
	for _, c := range []struct {
		file      string
		status    int
		header    map[string]string
		kind      ingest.Kind
		code      string
		requestID string
		retry     time.Duration // >0: RetryAfter must equal it; <0: must be >0
		msg       string
	}{
		{file: "error_token_invalid.json", kind: ingest.KindUnauthorized, code: "2190002", requestID: "2025050613051201019808210357059402", msg: "access_token无效"},
		{file: "error_scope_missing.json", kind: ingest.KindUnauthorized, code: "2190003", requestID: "2025050613051201019808210357059403", msg: "用户未授权该api"},
		{file: "error_no_ability.json", kind: ingest.KindWithdrawn, code: "2190004", requestID: "2025050613051201019808210357059404"},
		{file: "error_no_ability_errno.json", kind: ingest.KindWithdrawn, code: "28001018", requestID: "20250724161757EE2515F1BFF953756E80"},
		{file: "error_openid_mismatch.json", kind: ingest.KindUnauthorized, code: "2190015", requestID: "2025050613051201019808210357059408"},
		{file: "error_quota.json", kind: ingest.KindQuotaExhausted, code: "2190001", requestID: "2025050613051201019808210357059405", retry: 12 * time.Hour, msg: "quota已用完"},
		{file: "error_quota_errno.json", kind: ingest.KindQuotaExhausted, code: "28003017", requestID: "20250724161757EE2515F1BFF953756E79", retry: 12 * time.Hour},
		{file: "error_busy.json", kind: ingest.KindRateLimited, code: "2100004", requestID: "2025050613051201019808210357059406"},
		{file: "error_busy.json", status: 429, header: map[string]string{"Retry-After": "7"}, kind: ingest.KindRateLimited, code: "2100004", requestID: "2025050613051201019808210357059406", retry: 7 * time.Second},
		{file: "error_param.json", kind: ingest.KindInvalid, code: "2100005", requestID: "2025050613051201019808210357059407"},
		{file: "gateway_502.html", status: 502, header: map[string]string{"X-Tt-Logid": "20250506130512AABBCCDDEEFF001122"}, kind: ingest.KindUnavailable, requestID: "20250506130512AABBCCDDEEFF001122"},
		{file: "malformed_truncated.json", header: map[string]string{"X-Tt-Logid": "20250506130512AABBCCDDEEFF001133"}, kind: ingest.KindMalformed, requestID: "20250506130512AABBCCDDEEFF001133"},
		{file: "malformed_types.json", kind: ingest.KindMalformed, requestID: "2025050613051201019808210357059499"},
		{file: "gateway_502.html", kind: ingest.KindMalformed}, // an HTML page with 200
	} {
		t.Run(c.file+"/"+itoa(int64(c.status)), func(t *testing.T) {
			f := newFixture(t)
			f.rp.on("GET /api/douyin/v1/video/video_list/", canned{file: c.file, status: c.status, header: c.header})
			_, err := f.client.List(context.Background(), testAcct, "")
			ie := asIngestError(t, err)
			if ie.Kind != c.kind || ie.Code != c.code || ie.RequestID != c.requestID || ie.Platform != "douyin" || ie.Op != "list" {
				t.Errorf("got kind=%s code=%q request=%q op=%s, want %s %q %q", ie.Kind, ie.Code, ie.RequestID, ie.Op, c.kind, c.code, c.requestID)
			}
			if c.msg != "" && !strings.Contains(ie.Error(), c.msg) {
				t.Errorf("error %q does not carry the platform's description %q", ie.Error(), c.msg)
			}
			if c.retry > 0 && ie.RetryAfter != c.retry {
				t.Errorf("RetryAfter = %s, want %s", ie.RetryAfter, c.retry)
			}
			assertNoSecrets(t, "error", ie.Error())
		})
	}
}

func TestTokenExpiredRefreshesAndRepeats(t *testing.T) {
	for _, file := range []string{"error_token_expired.json", "error_token_expired_errno.json"} {
		t.Run(file, func(t *testing.T) {
			f := newFixture(t)
			f.rp.on("GET /api/douyin/v1/video/video_list/", canned{file: file}, canned{file: "video_list_page1.json"})
			f.rp.on("POST /oauth/refresh_token/", canned{file: "oauth_refresh_token.json"})
			l, err := f.client.List(context.Background(), testAcct, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Posts) != 3 {
				t.Fatalf("%d posts", len(l.Posts))
			}
			reqs := f.rp.requests()
			if len(reqs) != 3 {
				t.Fatalf("%d requests, want list, refresh, list", len(reqs))
			}
			form, _ := url.ParseQuery(reqs[1].Body)
			if form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != seededRefresh || form.Get("client_key") != "awtestclientkey01" {
				t.Errorf("refresh form = %v", form)
			}
			if reqs[2].Header.Get("access-token") != replayedAccess {
				t.Errorf("the repeated call did not use the new token")
			}
			tok, _ := f.store.Get(Platform, testOpenID)
			if tok.AccessToken != replayedAccess || !tok.ExpiresAt.Equal(testStart.Add(1296000*time.Second)) || !tok.RefreshExpiresAt.Equal(testStart.Add(1987200*time.Second)) {
				t.Errorf("stored token = %v", tok)
			}
			assertNoSecrets(t, "log", f.logs.String())
		})
	}
}

func TestTokenExpiredRefreshRefused(t *testing.T) {
	f := newFixture(t)
	f.rp.on("GET /api/douyin/v1/video/video_list/", canned{file: "error_token_expired.json"})
	f.rp.on("POST /oauth/refresh_token/", canned{file: "oauth_error_refresh_expired.json"})
	_, err := f.client.List(context.Background(), testAcct, "")
	ie := asIngestError(t, err)
	if ie.Kind != ingest.KindUnauthorized || ie.Code != "10010" || ie.Op != "refresh_token" || ie.RequestID != "2025050613051201019808210357059502" {
		t.Errorf("got %s %s %s %s", ie.Kind, ie.Code, ie.Op, ie.RequestID)
	}
	if !strings.Contains(ie.Error(), "amb01") {
		t.Errorf("the error should name the ambassador to reauthorize: %s", ie)
	}
	assertNoSecrets(t, "error", ie.Error())
	assertNoSecrets(t, "log", f.logs.String())
}

func TestInvalidTokenUsesTheStoresNewerToken(t *testing.T) {
	f := newFixture(t)
	f.rp.on("GET /api/douyin/v1/video/video_list/", canned{file: "error_token_invalid.json"}, canned{file: "video_list_page1.json"})
	// Another replica refreshed the token while our request was under way.
	f.rp.hook = func() {
		tok, _ := f.store.Get(Platform, testOpenID)
		if tok.AccessToken == seededAccess {
			tok.AccessToken = "act.other0replica0token0cccc3333"
			f.store.Put(tok)
		}
	}
	if _, err := f.client.List(context.Background(), testAcct, ""); err != nil {
		t.Fatal(err)
	}
	reqs := f.rp.requests()
	if len(reqs) != 2 || reqs[1].Header.Get("access-token") != "act.other0replica0token0cccc3333" {
		t.Errorf("want a repeat with the stored token; requests: %d", len(reqs))
	}
}

func TestNotAuthorized(t *testing.T) {
	f := newFixture(t)
	other := testAcct
	other.AccountID, other.AmbassadorID = "_000otherOpenId", "amb07"
	_, err := f.client.List(context.Background(), other, "")
	ie := asIngestError(t, err)
	if ie.Kind != ingest.KindUnauthorized || !strings.Contains(ie.Message, "amb07") {
		t.Errorf("got %v", ie)
	}
	if len(f.rp.requests()) != 0 {
		t.Errorf("no request should be made without a token")
	}
	st, err := f.client.TokenStatus(other)
	if err != nil || st.Authorized || !st.NeedsReauth {
		t.Errorf("status = %+v, %v", st, err)
	}
}

func TestTimeoutIsUnavailable(t *testing.T) {
	f := newFixture(t)
	f.client.cfg.HTTP = &http.Client{Timeout: 50 * time.Millisecond}
	f.rp.on("GET /api/douyin/v1/video/video_list/", canned{file: "video_list_page1.json", delay: time.Second})
	_, err := f.client.List(context.Background(), testAcct, "")
	ie := asIngestError(t, err)
	if ie.Kind != ingest.KindUnavailable || !ie.Kind.Retryable() {
		t.Errorf("timeout kind = %s", ie.Kind)
	}
	if strings.Contains(ie.Error(), f.rp.srv.URL) && strings.Contains(ie.Error(), "access") {
		t.Errorf("error should not echo request details: %s", ie)
	}
}

func TestExchangeAndAuthorize(t *testing.T) {
	f := newFixture(t)
	u, err := url.Parse(f.client.AuthURL("https://tongxin.example/callback", "st-123"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/platform/oauth/connect/" || q.Get("client_key") != "awtestclientkey01" || q.Get("response_type") != "code" ||
		q.Get("redirect_uri") != "https://tongxin.example/callback" || q.Get("state") != "st-123" ||
		q.Get("scope") != "user_info,video.list.bind,video.data.bind,renew_refresh_token" {
		t.Errorf("auth URL = %s", u)
	}
	if strings.Contains(u.String(), testSecret) {
		t.Errorf("the auth URL must not carry the client secret")
	}

	f.rp.on("POST /oauth/access_token/", canned{file: "oauth_access_token.json"})
	tok, err := f.client.Authorize(context.Background(), testAcct, "code-abc")
	if err != nil {
		t.Fatal(err)
	}
	form, _ := url.ParseQuery(f.rp.requests()[0].Body)
	if form.Get("client_secret") != testSecret || form.Get("code") != "code-abc" || form.Get("grant_type") != "authorization_code" {
		t.Errorf("exchange form = %v", form)
	}
	stored, _ := f.store.Get(Platform, testOpenID)
	if stored.AccessToken != "act.f7094fbffab2ecbfc45e9af9c32bc241oYdckvBKe82BPx8TtEsTtEsT" || stored != tok ||
		!tok.ExpiresAt.Equal(testStart.Add(15*24*time.Hour)) || !tok.RefreshExpiresAt.Equal(testStart.Add(30*24*time.Hour)) || tok.RefreshRenewals != 0 {
		t.Errorf("stored token = %v", stored)
	}
	assertNoSecrets(t, "log", f.logs.String(), tok.AccessToken, tok.RefreshToken)

	// An ambassador approving with another Douyin account is refused.
	f.rp.on("POST /oauth/access_token/", canned{file: "oauth_access_token.json"})
	other := testAcct
	other.AccountID = "_000someoneElse"
	_, err = f.client.Authorize(context.Background(), other, "code-def")
	if ie := asIngestError(t, err); ie.Kind != ingest.KindInvalid {
		t.Errorf("mismatch kind = %s", ie.Kind)
	}
	if _, err := f.store.Get(Platform, "_000someoneElse"); err == nil {
		t.Errorf("a mismatched token was stored")
	}

	for file, kind := range map[string]ingest.Kind{"oauth_error_code_expired.json": ingest.KindUnauthorized, "oauth_error_bad_secret.json": ingest.KindInvalid} {
		f.rp.on("POST /oauth/access_token/", canned{file: file})
		_, err := f.client.Exchange(context.Background(), "code-x")
		ie := asIngestError(t, err)
		if ie.Kind != kind || ie.Op != "access_token" {
			t.Errorf("%s: kind %s", file, ie.Kind)
		}
		assertNoSecrets(t, "error", ie.Error())
	}
}

func TestRefreshAheadAndRenew(t *testing.T) {
	f := newFixture(t)
	// 40h of access and 6 days of refresh left: both are due.
	tok, _ := f.store.Get(Platform, testOpenID)
	tok.ExpiresAt = testStart.Add(40 * time.Hour)
	tok.RefreshExpiresAt = testStart.Add(6 * 24 * time.Hour)
	tok.RefreshRenewals = 2
	f.store.Put(tok)
	f.rp.on("POST /oauth/renew_refresh_token/", canned{file: "oauth_renew_refresh_token.json"})
	f.rp.on("POST /oauth/refresh_token/", canned{file: "oauth_refresh_token.json"})
	f.rp.on("GET /api/douyin/v1/video/video_list/", canned{file: "video_list_page1.json"})
	if _, err := f.client.List(context.Background(), testAcct, ""); err != nil {
		t.Fatal(err)
	}
	reqs := f.rp.requests()
	if len(reqs) != 3 || reqs[0].Path != "/oauth/renew_refresh_token/" || reqs[1].Path != "/oauth/refresh_token/" {
		t.Fatalf("requests = %+v", reqs)
	}
	renewForm, _ := url.ParseQuery(reqs[0].Body)
	refreshForm, _ := url.ParseQuery(reqs[1].Body)
	if renewForm.Get("refresh_token") != seededRefresh || refreshForm.Get("refresh_token") != "rft.9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4dRenewedRefresh0003" {
		t.Errorf("the access token must be refreshed with the renewed refresh token")
	}
	got, _ := f.store.Get(Platform, testOpenID)
	if got.RefreshRenewals != 3 || got.AccessToken != replayedAccess || reqs[2].Header.Get("access-token") != replayedAccess {
		t.Errorf("token after maintenance = %v", got)
	}
	assertNoSecrets(t, "log", f.logs.String(), "rft.9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4dRenewedRefresh0003", "rft.713900b74edde9f30ec4e246b706da30tTeStReFrEsH0001")

	// A failed refresh while the access token still works is not fatal.
	f.clk.Advance(14*24*time.Hour - time.Hour) // the new access token has ~1h left
	f.rp.on("POST /oauth/refresh_token/", canned{file: "gateway_502.html", status: 502})
	f.rp.on("GET /api/douyin/v1/video/video_list/", canned{file: "video_list_page1.json"})
	if _, err := f.client.List(context.Background(), testAcct, ""); err != nil {
		t.Errorf("list with a still-valid token after a failed refresh: %v", err)
	}
	if !strings.Contains(f.logs.String(), "refresh failed") {
		t.Errorf("a failed refresh should be logged")
	}
}

func TestRenewLimitFromPlatform(t *testing.T) {
	f := newFixture(t)
	tok, _ := f.store.Get(Platform, testOpenID)
	tok.RefreshExpiresAt = testStart.Add(3 * 24 * time.Hour)
	f.store.Put(tok)
	f.rp.on("POST /oauth/renew_refresh_token/", canned{file: "oauth_error_renew_limit.json"})
	f.rp.on("GET /api/douyin/v1/video/video_list/", canned{file: "video_list_page1.json"}, canned{file: "video_list_page1.json"})
	for i := 0; i < 2; i++ {
		if _, err := f.client.List(context.Background(), testAcct, ""); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := f.store.Get(Platform, testOpenID)
	if got.RefreshRenewals != MaxRefreshRenewals {
		t.Errorf("after 10020 renewals = %d, want %d", got.RefreshRenewals, MaxRefreshRenewals)
	}
	if n := strings.Count(f.logs.String(), "renewals used up"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, f.logs.String())
	}
	if !strings.Contains(f.logs.String(), "ambassador=amb01") {
		t.Errorf("the warning should name the ambassador")
	}
	st, _ := f.client.TokenStatus(testAcct)
	if !st.NeedsReauth || st.Expired || st.RenewalsLeft != 0 {
		t.Errorf("status = %+v", st)
	}
	assertNoSecrets(t, "log", f.logs.String())
}

func TestConcurrentCallsRefreshOnce(t *testing.T) {
	f := newFixture(t)
	tok, _ := f.store.Get(Platform, testOpenID)
	tok.ExpiresAt = testStart.Add(time.Hour)
	f.store.Put(tok)
	const n = 8
	for i := 0; i < n; i++ {
		f.rp.on("GET /api/douyin/v1/video/video_list/", canned{file: "video_list_page1.json"})
	}
	f.rp.on("POST /oauth/refresh_token/", canned{file: "oauth_refresh_token.json"}) // only one
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() { _, err := f.client.List(context.Background(), testAcct, ""); errs <- err }()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	refreshes := 0
	for _, r := range f.rp.requests() {
		if r.Path == "/oauth/refresh_token/" {
			refreshes++
		} else if r.Header.Get("access-token") != replayedAccess {
			t.Errorf("a call used the old token")
		}
	}
	if refreshes != 1 {
		t.Errorf("%d refreshes, want 1", refreshes)
	}
}
