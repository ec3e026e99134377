package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/aggregate/alerts"
)

func notifier(t *testing.T, rc ReceiverConfig) Notifier {
	t.Helper()
	n, err := NewNotifier(rc, Options{AmbassadorName: nameOf, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s lacks %q:\n%s", what, sub, s)
		}
	}
}

func TestWeComMarkdownPayload(t *testing.T) {
	rb := newRobot(t)
	n := notifier(t, ReceiverConfig{Name: "wecom", Type: TypeWeCom, URL: Secret(rb.srv.URL + "/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa")})
	if err := n.Notify(context.Background(), sampleEvent()); err != nil {
		t.Fatal(err)
	}
	rq := rb.requests()[0]
	if rq.method != "POST" || rq.path != "/cgi-bin/webhook/send" || rq.rawQuery != "key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa" {
		t.Errorf("request %s %s?%s", rq.method, rq.path, rq.rawQuery)
	}
	if ct := rq.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	m := rq.json(t)
	wantKeys(t, "body", m, "msgtype", "markdown")
	if m["msgtype"] != "markdown" {
		t.Errorf("msgtype %v", m["msgtype"])
	}
	md := m["markdown"].(map[string]any)
	wantKeys(t, "markdown", md, "content")
	content := md["content"].(string)
	mustContain(t, "content", content,
		"### 🔥 爆款预警", viralZH, `<font color="warning">`,
		"**代言人**：王小西（A017）", "**平台**：抖音", "**作品**：7301234567890",
		"**播放量**：12.3万", "**表现**：达到预期的 9 倍", "**数据新鲜度**：8 分钟前的数据",
		"**发布时间**：11-15 03:13（已发布 2 小时 40 分钟）", "**预警时间**：11-15 05:53",
		"编号 viral-douyin-7301234567890")
	if len(content) > 4096 {
		t.Errorf("content is %d bytes, WeCom allows 4096", len(content))
	}
}

func TestWeComTextPayload(t *testing.T) {
	rb := newRobot(t)
	n := notifier(t, ReceiverConfig{Name: "wecom", Type: TypeWeCom, Format: FormatText, URL: Secret(rb.srv.URL + "/cgi-bin/webhook/send?key=k-123456")})
	ev := lowReachEvent()
	ev.Reason = strings.Repeat("很长的原因", 400) // 6000 bytes: the reason is cut, the facts stay
	if err := n.Notify(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	m := rb.requests()[0].json(t)
	wantKeys(t, "body", m, "msgtype", "text")
	txt := m["text"].(map[string]any)
	wantKeys(t, "text", txt, "content")
	c := txt["content"].(string)
	mustContain(t, "content", c, "【⚠️ 低触达】", "平台：微博", "点赞量：12", "李山（A003）", "原因…\n", "编号 low_reach-weibo-5012")
	if len(c) > 2048 {
		t.Errorf("text is %d bytes, WeCom allows 2048", len(c))
	}
}

func TestDingTalkSignedMarkdownPayload(t *testing.T) {
	const secret = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	rb := newRobot(t)
	n := notifier(t, ReceiverConfig{Name: "ding", Type: TypeDingTalk, Secret: secret,
		URL: Secret(rb.srv.URL + "/robot/send?access_token=ding-token-0123456789")})
	if err := n.Notify(context.Background(), lowReachEvent()); err != nil {
		t.Fatal(err)
	}
	rq := rb.requests()[0]
	if rq.path != "/robot/send" {
		t.Errorf("path %s", rq.path)
	}
	q, err := url.ParseQuery(rq.rawQuery)
	if err != nil {
		t.Fatal(err)
	}
	if q.Get("access_token") != "ding-token-0123456789" {
		t.Errorf("access_token %q", q.Get("access_token"))
	}
	if q.Get("timestamp") != "1700000000000" {
		t.Errorf("timestamp %q, want milliseconds 1700000000000", q.Get("timestamp"))
	}
	// Recomputed here, and equal to the known answer computed with Python's hmac.
	if got, want := q.Get("sign"), refDingTalk(secret, q.Get("timestamp")); got != want || got != dingKAT {
		t.Errorf("sign %q, recomputed %q, known answer %q", got, want, dingKAT)
	}
	// The sign is URL-encoded in the query: '+' as %2B, '=' as %3D.
	if !strings.Contains(rq.rawQuery, "sign="+dingKATEscaped) {
		t.Errorf("raw query %q lacks the URL-encoded sign %q", rq.rawQuery, dingKATEscaped)
	}
	m := rq.json(t)
	wantKeys(t, "body", m, "msgtype", "markdown")
	md := m["markdown"].(map[string]any)
	wantKeys(t, "markdown", md, "title", "text")
	if md["title"] != "⚠️ 低触达" {
		t.Errorf("title %q", md["title"])
	}
	mustContain(t, "text", md["text"].(string), "### ⚠️ 低触达", "\n\n**平台**：微博", "**点赞量**：12", "同类作品中第 3 百分位")
	if strings.Contains(md["text"].(string), "<font") {
		t.Error("DingTalk markdown has no <font>")
	}
}

func TestDingTalkUnsigned(t *testing.T) {
	rb := newRobot(t)
	n := notifier(t, ReceiverConfig{Name: "ding", Type: TypeDingTalk, Format: FormatText,
		URL: Secret(rb.srv.URL + "/robot/send?access_token=tok-abcdef")})
	if err := n.Notify(context.Background(), sampleEvent()); err != nil {
		t.Fatal(err)
	}
	rq := rb.requests()[0]
	if rq.rawQuery != "access_token=tok-abcdef" {
		t.Errorf("unsigned robot got query %q", rq.rawQuery)
	}
	m := rq.json(t)
	wantKeys(t, "body", m, "msgtype", "text")
	wantKeys(t, "text", m["text"].(map[string]any), "content")
}

func TestFeishuSignedCardPayload(t *testing.T) {
	const secret = "demo-secret-for-kat"
	rb := newRobot(t, reply{status: 200, body: `{"code":0,"msg":"success","data":{}}`})
	n := notifier(t, ReceiverConfig{Name: "lark", Type: TypeFeishu, Secret: secret,
		URL: Secret(rb.srv.URL + "/open-apis/bot/v2/hook/5e3d587e-d78e-4a07-bd07-265f269f86fd")})
	if err := n.Notify(context.Background(), sampleEvent()); err != nil {
		t.Fatal(err)
	}
	rq := rb.requests()[0]
	if rq.path != "/open-apis/bot/v2/hook/5e3d587e-d78e-4a07-bd07-265f269f86fd" || rq.rawQuery != "" {
		t.Errorf("request %s?%s", rq.path, rq.rawQuery)
	}
	m := rq.json(t)
	wantKeys(t, "body", m, "timestamp", "sign", "msg_type", "card")
	ts, ok := m["timestamp"].(string)
	if !ok || ts != "1700000000" {
		t.Errorf("timestamp %#v, want the string of seconds 1700000000", m["timestamp"])
	}
	if got, want := m["sign"], refFeishu(secret, ts); got != want {
		t.Errorf("sign %v, recomputed %v", got, want)
	}
	if m["msg_type"] != "interactive" {
		t.Errorf("msg_type %v", m["msg_type"])
	}
	card := m["card"].(map[string]any)
	wantKeys(t, "card", card, "config", "header", "elements")
	hdr := card["header"].(map[string]any)
	if hdr["template"] != "red" {
		t.Errorf("header template %v", hdr["template"])
	}
	title := hdr["title"].(map[string]any)
	if title["tag"] != "plain_text" || title["content"] != "🔥 爆款预警" {
		t.Errorf("header title %v", title)
	}
	els := card["elements"].([]any)
	if len(els) != 2 {
		t.Fatalf("elements %v", els)
	}
	div := els[0].(map[string]any)
	text := div["text"].(map[string]any)
	if div["tag"] != "div" || text["tag"] != "lark_md" {
		t.Errorf("first element %v", div)
	}
	mustContain(t, "card text", text["content"].(string), "**代言人**：王小西（A017）", "**播放量**：12.3万")
	note := els[1].(map[string]any)
	if note["tag"] != "note" {
		t.Errorf("second element %v", note)
	}
}

func TestFeishuTextUnsigned(t *testing.T) {
	rb := newRobot(t, reply{status: 200, body: `{"StatusCode":0,"StatusMessage":"success"}`})
	n := notifier(t, ReceiverConfig{Name: "lark", Type: TypeFeishu, Format: FormatText,
		URL: Secret(rb.srv.URL + "/open-apis/bot/v2/hook/tok-0000-1111")})
	if err := n.Notify(context.Background(), resolvedEvent()); err != nil {
		t.Fatal(err)
	}
	m := rb.requests()[0].json(t)
	wantKeys(t, "body", m, "msg_type", "content")
	c := m["content"].(map[string]any)
	wantKeys(t, "content", c, "text")
	mustContain(t, "text", c["text"].(string), "【✅ 已恢复：爆款预警】", "恢复时间：11-15 06:12（持续 19 分钟）")
}

func TestWebhookPayloadAndSignature(t *testing.T) {
	const secret = "shared-secret-xyz"
	rb := newRobot(t, reply{status: 204})
	n := notifier(t, ReceiverConfig{Name: "hook", Type: TypeWebhook, Secret: secret, URL: Secret(rb.srv.URL + "/tongxin")})
	ev := sampleEvent()
	if err := n.Notify(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	rq := rb.requests()[0]
	if got, want := rq.header.Get("X-Tongxin-Signature"), "sha256="+refHex(secret, rq.body); got != want {
		t.Errorf("signature %q, recomputed %q", got, want)
	}
	if !VerifyWebhookSignature(secret, rq.body, rq.header.Get("X-Tongxin-Signature")) {
		t.Error("VerifyWebhookSignature rejects what was sent")
	}
	if got := rq.header.Get("X-Tongxin-Delivery"); got != ev.AlertID+"/open/1699998800000" {
		t.Errorf("delivery id %q", got)
	}
	var back WebhookPayload
	if err := json.Unmarshal(rq.body, &back); err != nil {
		t.Fatal(err)
	}
	if back.AlertID != ev.AlertID || back.Plays != ev.Plays || back.DataAge != ev.DataAge || !back.OpenedAt.Equal(ev.OpenedAt) || back.Reason != ev.Reason {
		t.Errorf("event did not survive: %+v", back.Event)
	}
	mustContain(t, "text", back.Text, "【🔥 爆款预警】", "代言人：王小西（A017）")
	if back.Title != "🔥 爆款预警" || back.Markdown == "" {
		t.Errorf("title %q markdown %q", back.Title, back.Markdown)
	}
	m := rq.json(t)
	for _, k := range []string{"schema", "alert_id", "kind", "state", "platform", "ambassador_id", "post_id", "published_at", "opened_at", "updated_at", "reason", "score", "data_age_ns", "plays", "text", "title", "markdown"} {
		if _, ok := m[k]; !ok {
			t.Errorf("body lacks %q", k)
		}
	}
}

func TestWebhookUnsignedHasNoSignature(t *testing.T) {
	rb := newRobot(t, reply{status: 200})
	n := notifier(t, ReceiverConfig{Name: "hook", Type: TypeWebhook, URL: Secret(rb.srv.URL + "/x")})
	if err := n.Notify(context.Background(), sampleEvent()); err != nil {
		t.Fatal(err)
	}
	if h := rb.requests()[0].header.Get("X-Tongxin-Signature"); h != "" {
		t.Errorf("unsigned webhook sent signature %q", h)
	}
}

func TestAlertmanagerPayload(t *testing.T) {
	rb := newRobot(t, reply{status: 200})
	n := notifier(t, ReceiverConfig{Name: "am", Type: TypeAlertmanager, URL: Secret(rb.srv.URL),
		Labels: map[string]string{"team": "publicity", "alertname": "ignored"}, GeneratorURL: "https://grafana.example/d/tongxin"})
	am := n.(*Alertmanager)
	if err := n.Notify(context.Background(), sampleEvent()); err != nil {
		t.Fatal(err)
	}
	rq := rb.requests()[0]
	if rq.path != "/api/v2/alerts" {
		t.Errorf("path %s", rq.path)
	}
	var arr []map[string]any
	if err := json.Unmarshal(rq.body, &arr); err != nil || len(arr) != 1 {
		t.Fatalf("body is not a one-element array: %v %s", err, rq.body)
	}
	a := arr[0]
	wantKeys(t, "alert", a, "labels", "annotations", "startsAt", "endsAt", "generatorURL")
	labels := a["labels"].(map[string]any)
	want := map[string]any{"alertname": "TongxinViralPost", "kind": "viral", "platform": "douyin",
		"ambassador_id": "A017", "post_id": "7301234567890", "severity": "info", "team": "publicity"}
	if len(labels) != len(want) {
		t.Errorf("labels %v, want %v", labels, want)
	}
	for k, v := range want {
		if labels[k] != v {
			t.Errorf("label %s = %v, want %v", k, labels[k], v)
		}
	}
	ann := a["annotations"].(map[string]any)
	mustContain(t, "summary", ann["summary"].(string), "🔥 爆款预警", "王小西（A017）", "抖音")
	mustContain(t, "description", ann["description"].(string), viralZH)
	if ann["alert_id"] != "viral-douyin-7301234567890" || ann["plays"] != "123456" {
		t.Errorf("annotations %v", ann)
	}
	if a["startsAt"] != "2023-11-14T21:53:20.000Z" {
		t.Errorf("startsAt %v", a["startsAt"])
	}
	// Open: endsAt four resend intervals (default 1 min) ahead.
	if a["endsAt"] != "2023-11-14T22:17:20.000Z" {
		t.Errorf("endsAt %v", a["endsAt"])
	}
	if a["generatorURL"] != "https://grafana.example/d/tongxin?var-platform=douyin&var-post_id=7301234567890" {
		t.Errorf("generatorURL %v", a["generatorURL"])
	}
	if len(am.Active()) != 1 {
		t.Errorf("active %d", len(am.Active()))
	}

	// Resolve: endsAt is the resolution time, and the alert leaves the active set.
	if err := n.Notify(context.Background(), resolvedEvent()); err != nil {
		t.Fatal(err)
	}
	arr = nil
	if err := json.Unmarshal(rb.requests()[1].body, &arr); err != nil {
		t.Fatal(err)
	}
	if arr[0]["endsAt"] != "2023-11-14T22:12:20.000Z" {
		t.Errorf("resolved endsAt %v", arr[0]["endsAt"])
	}
	if len(am.Active()) != 0 {
		t.Errorf("active after resolve %d", len(am.Active()))
	}
}

func TestAlertmanagerLowReachAndBasePath(t *testing.T) {
	rb := newRobot(t, reply{status: 200})
	n := notifier(t, ReceiverConfig{Name: "am", Type: TypeAlertmanager, URL: Secret(rb.srv.URL + "/alertmanager/")})
	if err := n.(BatchNotifier).NotifyBatch(context.Background(), []alerts.Event{lowReachEvent(), sampleEvent()}); err != nil {
		t.Fatal(err)
	}
	rq := rb.requests()[0]
	if rq.path != "/alertmanager/api/v2/alerts" {
		t.Errorf("path %s", rq.path)
	}
	var arr []PostableAlert
	if err := json.Unmarshal(rq.body, &arr); err != nil || len(arr) != 2 {
		t.Fatalf("%v %s", err, rq.body)
	}
	if arr[0].Labels["alertname"] != AlertNameLowReach || arr[0].Labels["severity"] != "warning" {
		t.Errorf("labels %v", arr[0].Labels)
	}
}

func TestAlertmanagerRejects400(t *testing.T) {
	rb := newRobot(t, reply{status: 400, body: `"labels must not be empty"`})
	n := notifier(t, ReceiverConfig{Name: "am", Type: TypeAlertmanager, URL: Secret(rb.srv.URL)})
	err := n.Notify(context.Background(), sampleEvent())
	var e *Error
	if !errors.As(err, &e) || e.Retryable || e.Reason != ReasonRejected {
		t.Fatalf("err %v", err)
	}
}

// Each API's answers are classified as documented.
func TestAnswerClassification(t *testing.T) {
	cases := []struct {
		name      string
		typ       string
		url       string
		rep       reply
		ok        bool
		retryable bool
		reason    string
		code      int
		after     time.Duration
	}{
		{"wecom ok", TypeWeCom, "/cgi-bin/webhook/send?key=kkkk", reply{status: 200, body: `{"errcode":0,"errmsg":"ok"}`}, true, false, "", 0, 0},
		{"wecom 45009", TypeWeCom, "/cgi-bin/webhook/send?key=kkkk", reply{status: 200, body: `{"errcode":45009,"errmsg":"api freq out of limit"}`}, false, true, ReasonRateLimited, 45009, 0},
		{"wecom busy", TypeWeCom, "/cgi-bin/webhook/send?key=kkkk", reply{status: 200, body: `{"errcode":-1,"errmsg":"system busy"}`}, false, true, ReasonServerError, -1, 0},
		{"wecom 93000", TypeWeCom, "/cgi-bin/webhook/send?key=kkkk", reply{status: 200, body: `{"errcode":93000,"errmsg":"invalid webhook url"}`}, false, false, ReasonRejected, 93000, 0},
		{"wecom html", TypeWeCom, "/cgi-bin/webhook/send?key=kkkk", reply{status: 200, body: `<html>proxy</html>`}, false, false, ReasonBadResponse, 0, 0},
		{"wecom 502", TypeWeCom, "/cgi-bin/webhook/send?key=kkkk", reply{status: 502, body: `bad gateway`}, false, true, ReasonServerError, 0, 0},
		{"dingtalk 130101", TypeDingTalk, "/robot/send?access_token=tttt", reply{status: 200, body: `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`}, false, true, ReasonRateLimited, 130101, 0},
		{"dingtalk 310000", TypeDingTalk, "/robot/send?access_token=tttt", reply{status: 200, body: `{"errcode":310000,"errmsg":"sign not match"}`}, false, false, ReasonRejected, 310000, 0},
		{"feishu ok", TypeFeishu, "/open-apis/bot/v2/hook/hhhh", reply{status: 200, body: `{"code":0,"msg":"success","data":{}}`}, true, false, "", 0, 0},
		{"feishu 11232", TypeFeishu, "/open-apis/bot/v2/hook/hhhh", reply{status: 200, body: `{"code":11232,"msg":"frequency limited"}`}, false, true, ReasonRateLimited, 11232, 0},
		{"feishu 429", TypeFeishu, "/open-apis/bot/v2/hook/hhhh", reply{status: 429, header: map[string]string{"x-ogw-ratelimit-reset": "7"}, body: `{"code":99991400,"msg":"request trigger frequency limit"}`}, false, true, ReasonRateLimited, 99991400, 7 * time.Second},
		{"feishu old 400", TypeFeishu, "/open-apis/bot/v2/hook/hhhh", reply{status: 400, header: map[string]string{"x-ogw-ratelimit-reset": "3"}, body: `{"code":99991400,"msg":"request trigger frequency limit"}`}, false, true, ReasonRateLimited, 99991400, 3 * time.Second},
		{"feishu 9499", TypeFeishu, "/open-apis/bot/v2/hook/hhhh", reply{status: 200, body: `{"code":9499,"msg":"Bad Request","data":{}}`}, false, false, ReasonRejected, 9499, 0},
		{"feishu 19021", TypeFeishu, "/open-apis/bot/v2/hook/hhhh", reply{status: 200, body: `{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}`}, false, false, ReasonRejected, 19021, 0},
		{"webhook 503 retry-after", TypeWebhook, "/h", reply{status: 503, header: map[string]string{"Retry-After": "120"}}, false, true, ReasonServerError, 0, 2 * time.Minute},
		{"webhook 429", TypeWebhook, "/h", reply{status: 429, header: map[string]string{"Retry-After": "5"}}, false, true, ReasonRateLimited, 0, 5 * time.Second},
		{"webhook 404", TypeWebhook, "/h", reply{status: 404}, false, false, ReasonRejected, 0, 0},
		{"webhook redirect", TypeWebhook, "/h", reply{status: 302, header: map[string]string{"Location": "/elsewhere"}}, false, false, ReasonRejected, 0, 0},
		{"alertmanager 500", TypeAlertmanager, "", reply{status: 500, body: "oops"}, false, true, ReasonServerError, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rb := newRobot(t, tc.rep)
			n := notifier(t, ReceiverConfig{Name: "r", Type: tc.typ, URL: Secret(rb.srv.URL + tc.url)})
			err := n.Notify(context.Background(), sampleEvent())
			if tc.ok {
				if err != nil {
					t.Fatalf("err %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v (%T), want *Error", err, err)
			}
			if e.Retryable != tc.retryable || e.Reason != tc.reason || e.Code != tc.code || e.RetryAfter != tc.after {
				t.Errorf("got retryable=%v reason=%s code=%d after=%v, want %v %s %d %v (%v)",
					e.Retryable, e.Reason, e.Code, e.RetryAfter, tc.retryable, tc.reason, tc.code, tc.after, err)
			}
		})
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	h := map[string][]string{"Retry-After": {"Wed, 01 May 2024 12:00:30 GMT"}}
	if got := retryAfter(h, now); got != 30*time.Second {
		t.Errorf("got %v", got)
	}
}

func TestTimeoutIsRetryable(t *testing.T) {
	rb := newRobot(t, reply{status: 200, delay: time.Second, body: `{"errcode":0}`})
	n := notifier(t, ReceiverConfig{Name: "w", Type: TypeWeCom, Timeout: 50 * time.Millisecond, URL: Secret(rb.srv.URL + "/?key=abcd1234")})
	err := n.Notify(context.Background(), sampleEvent())
	var e *Error
	if !errors.As(err, &e) || !e.Retryable || e.Reason != ReasonTimeout {
		t.Fatalf("err %v", err)
	}
}

func TestCanceledContextIsNotRetryable(t *testing.T) {
	rb := newRobot(t, reply{status: 200, delay: time.Second, body: `{"errcode":0}`})
	n := notifier(t, ReceiverConfig{Name: "w", Type: TypeWeCom, URL: Secret(rb.srv.URL + "/?key=abcd1234")})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := n.Notify(ctx, sampleEvent())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want DeadlineExceeded in the chain", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Retryable {
		t.Fatalf("err %v", err)
	}
}
