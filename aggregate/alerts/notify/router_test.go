package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongxin/tongxin/aggregate/alerts"
)

// fast makes a receiver config quick to test: short waits, no rate limit.
func fast(rc ReceiverConfig) ReceiverConfig {
	if rc.RatePerMinute == nil {
		rc.RatePerMinute = ptr(0.0)
	}
	if rc.BackoffBase == 0 {
		rc.BackoffBase = 5 * time.Millisecond
	}
	if rc.BackoffMax == 0 {
		rc.BackoffMax = 20 * time.Millisecond
	}
	if rc.RateLimitWait == 0 {
		rc.RateLimitWait = 20 * time.Millisecond
	}
	return rc
}

func TestRoutingByKindAndState(t *testing.T) {
	viralRobot, lowRobot, hook := newRobot(t), newRobot(t), newRobot(t, reply{status: 200})
	h := newHarness(t, Config{Receivers: []ReceiverConfig{
		fast(ReceiverConfig{Name: "viral-only", Type: TypeWeCom, URL: Secret(viralRobot.srv.URL + "/?key=aaaa1111"), Kinds: []string{alerts.KindViral}}),
		fast(ReceiverConfig{Name: "low-only", Type: TypeWeCom, URL: Secret(lowRobot.srv.URL + "/?key=bbbb2222"), Kinds: []string{alerts.KindLowReach}}),
		fast(ReceiverConfig{Name: "all", Type: TypeWebhook, URL: Secret(hook.srv.URL + "/h")}),
	}}, nil)
	h.start(t)
	upd := sampleEvent()
	upd.State = alerts.StateUpdate
	for _, ev := range []alerts.Event{sampleEvent(), lowReachEvent(), upd, resolvedEvent()} {
		if err := h.r.Notify(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	hook.wait(4, 5*time.Second)
	eventually(t, 5*time.Second, "deliveries", func() bool {
		return h.count("viral-only", "viral", OutcomeSent) == 2 && h.count("low-only", "low_reach", OutcomeSent) == 1
	})
	// Chat robots get open and resolved, not updates; the webhook gets all.
	for _, rq := range viralRobot.requests() {
		if strings.Contains(string(rq.body), "低触达") || strings.Contains(string(rq.body), "（更新）") {
			t.Errorf("viral-only robot got %s", rq.body)
		}
	}
	if n := len(lowRobot.requests()); n != 1 {
		t.Errorf("low-only robot got %d requests", n)
	}
	eventually(t, 5*time.Second, "webhook counts", func() bool {
		return h.count("all", "viral", OutcomeSent) == 3 && h.count("all", "low_reach", OutcomeSent) == 1
	})
}

func TestRateLimitSpacesRequests(t *testing.T) {
	rb := newRobot(t)
	// 600 a minute = one every 100 ms, no burst beyond one, no merging.
	h := newHarness(t, Config{Receivers: []ReceiverConfig{fast(ReceiverConfig{
		Name: "w", Type: TypeWeCom, URL: Secret(rb.srv.URL + "/?key=kkkk1234"),
		RatePerMinute: ptr(600.0), Burst: 1, MaxBatch: 1,
	})}}, nil)
	h.start(t)
	for i := 0; i < 4; i++ {
		ev := sampleEvent()
		ev.PostID = string(rune('a' + i))
		if err := h.r.Notify(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	rs := rb.wait(4, 5*time.Second)
	// Tokens come every 100 ms; arrival times carry some scheduling noise.
	if span := rs[3].at.Sub(rs[0].at); span < 270*time.Millisecond {
		t.Errorf("4 requests within %v; the bucket allows one per 100 ms", span)
	}
	for i := 1; i < len(rs); i++ {
		if gap := rs[i].at.Sub(rs[i-1].at); gap < 60*time.Millisecond {
			t.Errorf("requests %d and %d only %v apart; the bucket allows one per 100 ms", i-1, i, gap)
		}
	}
}

func TestDefaultRatesMatchDocumentedLimits(t *testing.T) {
	// In any 60 s window a bucket lets through at most burst + rate·60 s
	// requests; that must not exceed what each API allows a minute.
	for typ, limit := range map[string]float64{TypeWeCom: 20, TypeDingTalk: 20, TypeFeishu: 100} {
		d := TypeDefaults(typ)
		if worst := float64(d.Burst) + d.RatePerMinute; worst > limit {
			t.Errorf("%s: up to %v requests a minute, the API allows %v", typ, worst, limit)
		}
		if d.RatePerMinute < 0.9*limit {
			t.Errorf("%s: %v a minute wastes the API's %v", typ, d.RatePerMinute, limit)
		}
	}
	if d := TypeDefaults(TypeFeishu); d.Burst > 5 {
		t.Errorf("feishu burst %d exceeds its 5 a second", d.Burst)
	}
}

func TestBucket(t *testing.T) {
	now := time.Unix(0, 0)
	b := newBucket(60, 2) // one a second, two saved
	b.now = func() time.Time { return now }
	b.last = now
	if b.reserve() != 0 || b.reserve() != 0 {
		t.Fatal("a full bucket of two should give two at once")
	}
	if d := b.reserve(); d != time.Second {
		t.Fatalf("third waits %v, want 1s", d)
	}
	now = now.Add(500 * time.Millisecond)
	if d := b.reserve(); d != 500*time.Millisecond {
		t.Fatalf("after half a second wait %v", d)
	}
	now = now.Add(time.Hour)
	if b.reserve() != 0 || b.reserve() != 0 || b.reserve() == 0 {
		t.Fatal("an idle bucket refills only to its burst")
	}
	if newBucket(0, 1) != nil {
		t.Fatal("rate 0 means no limit")
	}
	if err := (*bucket)(nil).wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestQueuedEventsMergeIntoDigest(t *testing.T) {
	rb := newRobot(t)
	// One request a second: the first event goes alone, the next four queue
	// behind the bucket and go as one digest.
	h := newHarness(t, Config{Receivers: []ReceiverConfig{fast(ReceiverConfig{
		Name: "w", Type: TypeWeCom, URL: Secret(rb.srv.URL + "/?key=kkkk1234"), RatePerMinute: ptr(60.0),
	})}}, nil)
	h.start(t)
	evs := []alerts.Event{sampleEvent(), lowReachEvent(), resolvedEvent(), sampleEvent(), lowReachEvent()}
	evs[3].PostID, evs[4].PostID = "p4", "p5"
	for i, ev := range evs {
		if err := h.r.Notify(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			rb.wait(1, 5*time.Second)
		}
	}
	rs := rb.wait(2, 5*time.Second)
	time.Sleep(50 * time.Millisecond)
	if n := len(rb.requests()); n != 2 {
		t.Fatalf("%d requests, want 2 (one alone, one digest)", n)
	}
	content := rs[1].json(t)["markdown"].(map[string]any)["content"].(string)
	mustContain(t, "digest", content, "### 📋 同心预警汇总（4 条：🔥1 ⚠️2 ✅1）", "作品 p4", "作品 p5", "限流期间合并发送")
	if len(content) > wecomMarkdownMax {
		t.Errorf("digest %d bytes", len(content))
	}
	if h.count("w", "viral", OutcomeSent) != 3 || h.count("w", "low_reach", OutcomeSent) != 2 {
		t.Errorf("sent viral %v low %v", h.count("w", "viral", OutcomeSent), h.count("w", "low_reach", OutcomeSent))
	}
}

func TestRetriesOnWeComRateLimit(t *testing.T) {
	rb := newRobot(t,
		reply{status: 200, body: `{"errcode":45009,"errmsg":"api freq out of limit"}`},
		reply{status: 200, body: `{"errcode":45009,"errmsg":"api freq out of limit"}`},
		reply{status: 200, body: `{"errcode":0,"errmsg":"ok"}`})
	h := newHarness(t, Config{Receivers: []ReceiverConfig{fast(ReceiverConfig{
		Name: "w", Type: TypeWeCom, URL: Secret(rb.srv.URL + "/?key=kkkk1234"), RateLimitWait: 80 * time.Millisecond,
	})}}, nil)
	h.start(t)
	h.r.Notify(context.Background(), sampleEvent())
	rs := rb.wait(3, 5*time.Second)
	eventually(t, 5*time.Second, "sent", func() bool { return h.count("w", "viral", OutcomeSent) == 1 })
	if h.retries("w", ReasonRateLimited) != 2 {
		t.Errorf("retries %v", h.retries("w", ReasonRateLimited))
	}
	// After a rate-limit answer the wait is at least RateLimitWait.
	for i := 1; i < 3; i++ {
		if gap := rs[i].at.Sub(rs[i-1].at); gap < 80*time.Millisecond {
			t.Errorf("retry %d after %v, want >= 80ms", i, gap)
		}
	}
}

func TestRetriesOnDingTalkRateLimitReSign(t *testing.T) {
	const secret = "SECretretretretretretretretret"
	rb := newRobot(t,
		reply{status: 200, body: `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`},
		reply{status: 200, body: `{"errcode":0,"errmsg":"ok"}`})
	var tick atomic.Int64
	now := func() time.Time { return fixedNow.Add(time.Duration(tick.Add(1)) * time.Second) }
	h := newHarness(t, Config{Receivers: []ReceiverConfig{fast(ReceiverConfig{
		Name: "d", Type: TypeDingTalk, Secret: secret, URL: Secret(rb.srv.URL + "/robot/send?access_token=tttt5678"),
	})}}, now)
	h.start(t)
	h.r.Notify(context.Background(), sampleEvent())
	rs := rb.wait(2, 5*time.Second)
	eventually(t, 5*time.Second, "sent", func() bool { return h.count("d", "viral", OutcomeSent) == 1 })
	var stamps []string
	for _, rq := range rs {
		q := parseQuery(t, rq.rawQuery)
		if q["sign"] != refDingTalk(secret, q["timestamp"]) {
			t.Errorf("sign %q does not match timestamp %q", q["sign"], q["timestamp"])
		}
		stamps = append(stamps, q["timestamp"])
	}
	if stamps[0] == stamps[1] {
		t.Error("the retry reused the first timestamp; each try must be signed afresh")
	}
	if h.retries("d", ReasonRateLimited) != 1 {
		t.Errorf("retries %v", h.retries("d", ReasonRateLimited))
	}
}

func TestRetriesOnFeishuFrequencyLimit(t *testing.T) {
	rb := newRobot(t,
		reply{status: 200, body: `{"code":11232,"msg":"frequency limited psm[lark.oapi.app_platform_runtime]appID[1]"}`},
		reply{status: 200, body: `{"code":0,"msg":"success"}`})
	h := newHarness(t, Config{Receivers: []ReceiverConfig{fast(ReceiverConfig{
		Name: "f", Type: TypeFeishu, Secret: "feishu-secret", URL: Secret(rb.srv.URL + "/open-apis/bot/v2/hook/hhhh-0000"),
	})}}, nil)
	h.start(t)
	h.r.Notify(context.Background(), sampleEvent())
	rb.wait(2, 5*time.Second)
	eventually(t, 5*time.Second, "sent", func() bool { return h.count("f", "viral", OutcomeSent) == 1 })
}

func TestHonoursRetryAfter(t *testing.T) {
	rb := newRobot(t,
		reply{status: 503, header: map[string]string{"Retry-After": "1"}},
		reply{status: 200})
	h := newHarness(t, Config{Receivers: []ReceiverConfig{fast(ReceiverConfig{Name: "h", Type: TypeWebhook, URL: Secret(rb.srv.URL + "/h")})}}, nil)
	h.start(t)
	h.r.Notify(context.Background(), sampleEvent())
	rs := rb.wait(2, 5*time.Second)
	if gap := rs[1].at.Sub(rs[0].at); gap < 950*time.Millisecond {
		t.Errorf("retried after %v; the server asked for 1 s", gap)
	}
	eventually(t, 5*time.Second, "sent", func() bool { return h.count("h", "viral", OutcomeSent) == 1 })
	if h.retries("h", ReasonServerError) != 1 {
		t.Errorf("retries %v", h.retries("h", ReasonServerError))
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	rb := newRobot(t, reply{status: 500, body: "down"})
	h := newHarness(t, Config{Receivers: []ReceiverConfig{fast(ReceiverConfig{Name: "h", Type: TypeWebhook, URL: Secret(rb.srv.URL + "/h"), MaxAttempts: 3})}}, nil)
	h.start(t)
	h.r.Notify(context.Background(), sampleEvent())
	eventually(t, 5*time.Second, "failed", func() bool { return h.count("h", "viral", OutcomeFailed) == 1 })
	if n := len(rb.requests()); n != 3 {
		t.Errorf("%d tries, want 3", n)
	}
	if h.retries("h", ReasonServerError) != 2 {
		t.Errorf("retries %v", h.retries("h", ReasonServerError))
	}
	mustContain(t, "logs", h.logs.String(), "notify: delivery failed", `"alert_ids":["viral-douyin-7301234567890/open"]`)
}

func TestNoRetryWhenRejected(t *testing.T) {
	rb := newRobot(t, reply{status: 200, body: `{"errcode":310000,"errmsg":"keywords not in content"}`})
	h := newHarness(t, Config{Receivers: []ReceiverConfig{fast(ReceiverConfig{Name: "d", Type: TypeDingTalk, URL: Secret(rb.srv.URL + "/robot/send?access_token=tttt5678")})}}, nil)
	h.start(t)
	h.r.Notify(context.Background(), sampleEvent())
	eventually(t, 5*time.Second, "failed", func() bool { return h.count("d", "viral", OutcomeFailed) == 1 })
	time.Sleep(30 * time.Millisecond)
	if n := len(rb.requests()); n != 1 {
		t.Errorf("%d tries of a refused message, want 1", n)
	}
}

func TestFullQueueDropsCountsAndLogs(t *testing.T) {
	rb := newRobot(t)
	rb.block = make(chan struct{})
	h := newHarness(t, Config{Receivers: []ReceiverConfig{fast(ReceiverConfig{
		Name: "slow", Type: TypeWeCom, URL: Secret(rb.srv.URL + "/?key=kkkk1234"), QueueSize: 2, MaxBatch: 1, Timeout: 10 * time.Second,
	})}}, nil)
	h.start(t)
	if err := h.r.Notify(context.Background(), sampleEvent()); err != nil {
		t.Fatal(err)
	}
	rb.wait(1, 5*time.Second) // in flight, held by the robot
	var dropped int
	start := time.Now()
	for i := 0; i < 5; i++ {
		ev := lowReachEvent()
		ev.AlertID = "low-" + string(rune('a'+i))
		if err := h.r.Notify(context.Background(), ev); err != nil {
			if !errors.Is(err, ErrDropped) {
				t.Fatalf("err %v", err)
			}
			dropped++
		}
	}
	if time.Since(start) > 100*time.Millisecond {
		t.Errorf("Notify blocked for %v behind a slow robot", time.Since(start))
	}
	if dropped != 3 {
		t.Errorf("dropped %d, want 3 (queue of 2)", dropped)
	}
	if h.count("slow", "low_reach", OutcomeDropped) != 3 {
		t.Errorf("dropped metric %v", h.count("slow", "low_reach", OutcomeDropped))
	}
	logs := h.logs.String()
	mustContain(t, "logs", logs, "notify: alert dropped: the receiver's queue is full", `"alert_id":"low-e"`)
	if got := exposition(t, h); !strings.Contains(got, `tongxin_alerts_notification_queue_length{receiver="slow"} 2`) ||
		!strings.Contains(got, `tongxin_alerts_notification_queue_capacity{receiver="slow"} 2`) {
		t.Errorf("queue gauges missing:\n%s", got)
	}
	close(rb.block)
	eventually(t, 5*time.Second, "drain", func() bool { return h.count("slow", "low_reach", OutcomeSent) == 2 })
}

func exposition(t *testing.T, h *harness) string {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			b.WriteString(mf.GetName() + "{")
			for i, l := range m.GetLabel() {
				if i > 0 {
					b.WriteString(",")
				}
				b.WriteString(l.GetName() + `="` + l.GetValue() + `"`)
			}
			b.WriteString("} ")
			switch {
			case m.Gauge != nil:
				b.WriteString(trimFloat(m.GetGauge().GetValue(), 3))
			case m.Counter != nil:
				b.WriteString(trimFloat(m.GetCounter().GetValue(), 3))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func TestShutdownAbandonsAndStops(t *testing.T) {
	rb := newRobot(t)
	rb.block = make(chan struct{})
	defer close(rb.block)
	h := newHarness(t, Config{Receivers: []ReceiverConfig{fast(ReceiverConfig{
		Name: "slow", Type: TypeWeCom, URL: Secret(rb.srv.URL + "/?key=kkkk1234"), MaxBatch: 1,
	})}}, nil)
	h.start(t)
	h.r.Notify(context.Background(), sampleEvent())
	rb.wait(1, 5*time.Second)
	h.r.Notify(context.Background(), lowReachEvent())
	h.r.Notify(context.Background(), lowReachEvent())
	h.stop() // fails the test if Run does not return promptly
	if h.count("slow", "viral", OutcomeAbandoned) != 1 || h.count("slow", "low_reach", OutcomeAbandoned) != 2 {
		t.Errorf("abandoned viral %v low %v", h.count("slow", "viral", OutcomeAbandoned), h.count("slow", "low_reach", OutcomeAbandoned))
	}
	mustContain(t, "logs", h.logs.String(), "notify: stopping with alerts undelivered")
	// After Run, Notify drops (counted) rather than queueing forever.
	if err := h.r.Notify(context.Background(), sampleEvent()); !errors.Is(err, ErrDropped) {
		t.Errorf("Notify after stop: %v", err)
	}
	if h.count("slow", "viral", OutcomeDropped) != 1 {
		t.Error("drop after stop not counted")
	}
	if err := h.r.Run(context.Background()); err == nil {
		t.Error("second Run accepted")
	}
}

func TestRunWithNoReceiversWaitsForContext(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.r.Run(ctx) }()
	select {
	case <-done:
		t.Fatal("Run returned before its context ended")
	case <-time.After(30 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := h.r.Notify(context.Background(), sampleEvent()); err != nil {
		t.Errorf("no receiver wants it: %v", err)
	}
}

func TestAlertmanagerResendsActiveAlerts(t *testing.T) {
	rb := newRobot(t, reply{status: 200})
	h := newHarness(t, Config{Receivers: []ReceiverConfig{fast(ReceiverConfig{
		Name: "am", Type: TypeAlertmanager, URL: Secret(rb.srv.URL), ResendInterval: 40 * time.Millisecond,
		States: []string{alerts.StateOpen}, // resolved is added: it must reach Alertmanager
	})}}, nil)
	h.start(t)
	h.r.Notify(context.Background(), sampleEvent())
	rs := rb.wait(3, 5*time.Second) // the event, then re-sends
	for _, rq := range rs[1:3] {
		var arr []PostableAlert
		if err := json.Unmarshal(rq.body, &arr); err != nil || len(arr) != 1 || arr[0].Labels["post_id"] != "7301234567890" || arr[0].EndsAt == "" {
			t.Fatalf("re-send %s (%v)", rq.body, err)
		}
	}
	h.r.Notify(context.Background(), resolvedEvent())
	eventually(t, 5*time.Second, "resolved sent", func() bool { return h.count("am", "viral", OutcomeSent) == 2 })
	time.Sleep(60 * time.Millisecond)
	n := len(rb.requests())
	time.Sleep(150 * time.Millisecond)
	if m := len(rb.requests()); m != n {
		t.Errorf("re-sending went on after the alert resolved: %d → %d requests", n, m)
	}
	if v := counterValue(h.r.m.resends.WithLabelValues("am", "ok")); v < 2 {
		t.Errorf("resends %v", v)
	}
}

func parseQuery(t *testing.T, raw string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		uv, err := url.QueryUnescape(v)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = uv
	}
	return out
}

func TestBackoffBounds(t *testing.T) {
	for attempt := 1; attempt <= 40; attempt++ {
		want := min(time.Second<<min(attempt-1, 20), time.Minute)
		for i := 0; i < 50; i++ {
			d := backoff(attempt, time.Second, time.Minute)
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
	rc := &receiver{cfg: resolved{ReceiverConfig: ReceiverConfig{BackoffBase: time.Millisecond, BackoffMax: time.Second, RateLimitWait: time.Minute}}}
	if d := rc.retryWait(1, &Error{Reason: ReasonRateLimited}); d < time.Minute || d > 66*time.Second {
		t.Errorf("rate-limited wait %v, want about RateLimitWait", d)
	}
	if d := rc.retryWait(1, &Error{Reason: ReasonServerError, RetryAfter: 3 * time.Second}); d != 3*time.Second {
		t.Errorf("Retry-After wait %v", d)
	}
	if d := rc.retryWait(1, &Error{Reason: ReasonRateLimited, RetryAfter: 48 * time.Hour}); d != maxRetryAfter {
		t.Errorf("absurd Retry-After wait %v, want the cap", d)
	}
}
