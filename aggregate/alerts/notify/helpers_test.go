package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tongxin/tongxin/aggregate/alerts"
	"github.com/tongxin/tongxin/internal/enginetest"
)

// fixedNow is 1700000000 s after the epoch (2023-11-14 22:13:20 UTC).
var fixedNow = time.Unix(1700000000, 0).UTC()

// request is what a fake robot received.
type request struct {
	at       time.Time
	method   string
	path     string
	rawQuery string
	header   http.Header
	body     []byte
}

func (r request) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// reply is one canned answer.
type reply struct {
	status int
	header map[string]string
	body   string
	delay  time.Duration
}

// robot is a fake robot API on 127.0.0.1 that records requests and plays
// canned replies in order (the last one repeats).
type robot struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []request
	replies []reply
	got     chan struct{}
	block   chan struct{} // if set, each request waits on it
}

func newRobot(t *testing.T, replies ...reply) *robot {
	t.Helper()
	if len(replies) == 0 {
		replies = []reply{{status: 200, body: `{"errcode":0,"errmsg":"ok"}`}}
	}
	rb := &robot{t: t, replies: replies, got: make(chan struct{}, 1000)}
	rb.srv = httptest.NewServer(http.HandlerFunc(rb.serve))
	t.Cleanup(rb.srv.Close)
	return rb
}

func (rb *robot) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rb.mu.Lock()
	rb.reqs = append(rb.reqs, request{at: time.Now(), method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, header: r.Header.Clone(), body: body})
	n := len(rb.reqs)
	rep := rb.replies[min(n, len(rb.replies))-1]
	block := rb.block
	rb.mu.Unlock()
	rb.got <- struct{}{}
	if block != nil {
		select {
		case <-block:
		case <-r.Context().Done():
			return
		}
	}
	if rep.delay > 0 {
		select {
		case <-time.After(rep.delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

func (rb *robot) requests() []request {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return slices.Clone(rb.reqs)
}

// wait blocks until n requests arrived in all.
func (rb *robot) wait(n int, within time.Duration) []request {
	rb.t.Helper()
	deadline := time.After(within)
	for {
		if rs := rb.requests(); len(rs) >= n {
			return rs
		}
		select {
		case <-rb.got:
		case <-deadline:
			rb.t.Fatalf("robot got %d requests, want %d", len(rb.requests()), n)
		}
	}
}

// Reasons as the detector writes them: English, then Chinese.
const (
	viralReason = "Taking off: 123,456 plays at 2.7 h old, 9× the usual 13,700 at that age (this ambassador's 12 recent posts); " +
		"+38,000 plays in the last hour, 6.1× the usual pace. Data 8 min old. " +
		"走红：发布 2.7 小时播放 123,456 次，为同龄作品常见水平 13,700（该代言人近 12 条作品）的 9 倍；近 1 小时增加 38,000 次，为常见速度的 6.1 倍。数据为 8 分钟前。"
	lowReason = "Low reach: 12 likes at 24 h old, 3rd percentile of 40 comparable posts (this ambassador's 40 recent posts) " +
		"(Weibo gives no plays: likes measure reach), 8% of the usual 150; the 10th percentile is 30. Data 8 min old. " +
		"传播偏低：发布 24 小时点赞 12 次，处于 40 条同类作品（该代言人近 40 条作品）的第 3 百分位，为常见水平 150 的 8%。数据为 8 分钟前。"
	viralZH = "走红：发布 2.7 小时播放 123,456 次"
)

// sampleEvent is a viral alert on a Douyin post.
func sampleEvent() alerts.Event {
	opened := fixedNow.Add(-20 * time.Minute)
	return alerts.Event{
		Schema: 1, AlertID: "viral-douyin-7301234567890", Kind: alerts.KindViral, State: alerts.StateOpen,
		Platform: "douyin", AmbassadorID: "A017", PostID: "7301234567890",
		PublishedAt: fixedNow.Add(-3 * time.Hour), OpenedAt: opened, UpdatedAt: opened,
		Reason: viralReason,
		Score:  9, DataAge: 8 * time.Minute, Plays: 123_456,
	}
}

func lowReachEvent() alerts.Event {
	ev := sampleEvent()
	ev.AlertID, ev.Kind = "low_reach-weibo-5012", alerts.KindLowReach
	ev.Platform, ev.PostID, ev.AmbassadorID = "weibo", "5012", "A003"
	ev.Reason, ev.Score, ev.Plays = lowReason, 3, 12
	return ev
}

func resolvedEvent() alerts.Event {
	ev := sampleEvent()
	ev.State = alerts.StateResolved
	r := fixedNow.Add(-time.Minute)
	ev.ResolvedAt, ev.UpdatedAt = &r, r
	return ev
}

var names = map[string]string{"A017": "王小西", "A003": "李山"}

func nameOf(id string) string { return names[id] }

// harness is a Router with its logs and metrics captured.
type harness struct {
	r    *Router
	reg  *prometheus.Registry
	logs *enginetest.Buffer
	stop func()
	done chan error
}

func newHarness(t *testing.T, cfg Config, now func() time.Time) *harness {
	t.Helper()
	h := &harness{reg: prometheus.NewRegistry(), logs: &enginetest.Buffer{}}
	if now == nil {
		now = time.Now
	}
	r, err := New(cfg, Options{
		Log:            slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer:     h.reg,
		AmbassadorName: nameOf,
		Now:            now,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.r = r
	return h
}

func (h *harness) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.done = make(chan error, 1)
	go func() { h.done <- h.r.Run(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-h.done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("Run did not return within 5 s of its context ending")
			}
		})
	}
	t.Cleanup(h.stop)
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func (h *harness) count(receiver, kind, outcome string) float64 {
	return counterValue(h.r.m.notifications.WithLabelValues(receiver, kind, outcome))
}

func (h *harness) retries(receiver, reason string) float64 {
	return counterValue(h.r.m.retries.WithLabelValues(receiver, reason))
}

// eventually polls cond for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }

// Independent re-implementations of the documented signatures, used by the
// fake robots to check what the package sent.
func refDingTalk(secret, ts string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	io.WriteString(mac, ts+"\n"+secret)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func refFeishu(secret, ts string) string {
	mac := hmac.New(sha256.New, []byte(ts+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func keys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func wantKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := keys(m); !slices.Equal(got, want) {
		t.Errorf("%s has keys %v, want exactly %v", what, got, want)
	}
}
