package delivery

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongxin/tongxin/aggregate/alerts/notify"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/report"
	"github.com/tongxin/tongxin/report/reporttest"
)

// received is one request a local receiver got.
type received struct {
	at     time.Time
	query  string
	header http.Header
	body   []byte
}

// receiverServer is a robot on 127.0.0.1 that records every request and
// answers from answers in turn (the last one repeats).
func receiverServer(t *testing.T, answers ...string) (*httptest.Server, func() []received) {
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		n := len(got)
		got = append(got, received{time.Now(), r.URL.RawQuery, r.Header.Clone(), b})
		mu.Unlock()
		a := answers[min(n, len(answers)-1)]
		if code, err := strconv.Atoi(a); err == nil {
			w.WriteHeader(code)
			return
		}
		io.WriteString(w, a)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

func TestDailyReportReachesEveryRobotOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the ClickHouse engine and chromium; skipped with -short")
	}
	ctx := context.Background()
	s := reporttest.Seed(t, 5, time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
	p := report.NewPeriod(report.Daily, time.Date(2026, 11, 22, 0, 0, 0, 0, report.Beijing))
	r, err := report.Build(ctx, s.Conn, report.DefaultConfig(), p, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	files, err := report.Write(ctx, r, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	wecom, wecomGot := receiverServer(t, `{"errcode":45009,"errmsg":"api freq out of limit"}`, `{"errcode":0,"errmsg":"ok"}`)
	ding, dingGot := receiverServer(t, `503`, `{"errcode":0,"errmsg":"ok"}`)
	feishu, feishuGot := receiverServer(t, `{"code":0,"msg":"success"}`)
	hook, hookGot := receiverServer(t, `204`)
	perSecond := 60.0
	cfg := Config{PublicURL: "https://reports.example.org/out/", Receivers: []notify.ReceiverConfig{
		{Name: "office-wecom", Type: "wecom", URL: notify.Secret(wecom.URL + "/cgi-bin/webhook/send?key=K"), RatePerMinute: &perSecond, BackoffBase: 10 * time.Millisecond},
		{Name: "office-ding", Type: "dingtalk", URL: notify.Secret(ding.URL + "/robot/send?access_token=T"), Secret: "SECding", BackoffBase: 10 * time.Millisecond},
		{Name: "office-feishu", Type: "feishu", URL: notify.Secret(feishu.URL + "/open-apis/bot/v2/hook/H"), Secret: "feishu-secret"},
		{Name: "archive", Type: "webhook", URL: notify.Secret(hook.URL + "/reports"), Secret: "hook-secret"},
	}}
	d, err := New(cfg, s.Conn, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range d.Deliver(ctx, r, files) {
		if res.Err != nil || !res.Sent {
			t.Errorf("%s: sent %v, %v", res.Receiver, res.Sent, res.Err)
		}
	}
	summary := r.Summary(func(s string) string { return s })

	// WeCom: "too fast" is retried; then the markdown and the PNG as an
	// image message, the second a second later (rate 60/min).
	w := wecomGot()
	if len(w) != 3 {
		t.Fatalf("WeCom got %d requests, want 3 (a refused markdown, the markdown, the image)", len(w))
	}
	var md struct {
		MsgType  string `json:"msgtype"`
		Markdown struct{ Content string }
		Image    struct{ Base64, MD5 string }
	}
	json.Unmarshal(w[1].body, &md)
	if md.MsgType != "markdown" || !strings.Contains(md.Markdown.Content, summary[0]) || !strings.Contains(md.Markdown.Content, r.Title()) {
		t.Errorf("WeCom markdown lacks the title or the headline %q:\n%s", summary[0], w[1].body)
	}
	json.Unmarshal(w[2].body, &md)
	png, _ := os.ReadFile(files.PNG)
	img, _ := base64.StdEncoding.DecodeString(md.Image.Base64)
	sum := md5.Sum(png)
	if md.MsgType != "image" || !bytes.Equal(img, png) || md.Image.MD5 != hex.EncodeToString(sum[:]) {
		t.Errorf("WeCom image message is not the card PNG with its md5 (%d bytes, md5 %s)", len(img), md.Image.MD5)
	}
	if gap := w[2].at.Sub(w[1].at); gap < 900*time.Millisecond {
		t.Errorf("WeCom messages %v apart; the rate of 60/min allows one a second", gap)
	}

	// DingTalk: a 503 is retried; each try is signed afresh; the card is linked.
	g := dingGot()
	if len(g) != 2 {
		t.Fatalf("DingTalk got %d requests, want 2", len(g))
	}
	for _, req := range g {
		q, _ := url.ParseQuery(req.query)
		ts, _ := strconv.ParseInt(q.Get("timestamp"), 10, 64)
		if q.Get("access_token") != "T" || q.Get("sign") != notify.DingTalkSign("SECding", ts) {
			t.Errorf("DingTalk request not signed: %s", req.query)
		}
	}
	var dmd struct{ Markdown struct{ Title, Text string } }
	json.Unmarshal(g[1].body, &dmd)
	if !strings.Contains(dmd.Markdown.Text, "https://reports.example.org/out/"+filepath.Base(files.PNG)) || !strings.Contains(dmd.Markdown.Text, summary[1]) {
		t.Errorf("DingTalk markdown lacks the card link or the topic line:\n%s", dmd.Markdown.Text)
	}

	// Feishu: a signed card with the summary.
	f := feishuGot()
	var fc struct {
		Timestamp, Sign string
		MsgType         string `json:"msg_type"`
	}
	if len(f) != 1 {
		t.Fatalf("Feishu got %d requests", len(f))
	}
	json.Unmarshal(f[0].body, &fc)
	ts, _ := strconv.ParseInt(fc.Timestamp, 10, 64)
	if fc.MsgType != "interactive" || fc.Sign != notify.FeishuSign("feishu-secret", ts) || !strings.Contains(string(f[0].body), summary[2]) {
		t.Errorf("Feishu card not signed or without the 10万+ line: %s", f[0].body)
	}

	// Webhook: the three files, signed.
	h := hookGot()
	if len(h) != 1 {
		t.Fatalf("webhook got %d requests", len(h))
	}
	if !notify.VerifyWebhookSignature("hook-secret", h[0].body, h[0].header.Get(notify.SignatureHeader)) {
		t.Error("webhook body not signed")
	}
	_, params, _ := mime.ParseMediaType(h[0].header.Get("Content-Type"))
	mr := multipart.NewReader(bytes.NewReader(h[0].body), params["boundary"])
	gotFiles := map[string][]byte{}
	for {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(part)
		gotFiles[part.FileName()] = b
	}
	for _, fn := range []string{files.HTML, files.PDF, files.PNG} {
		want, _ := os.ReadFile(fn)
		if !bytes.Equal(gotFiles[filepath.Base(fn)], want) {
			t.Errorf("webhook file %s: %d bytes, want %d", filepath.Base(fn), len(gotFiles[filepath.Base(fn)]), len(want))
		}
	}

	// The same report version again: nothing is sent anywhere.
	for _, res := range d.Deliver(ctx, r, files) {
		if res.Err != nil || res.Sent {
			t.Errorf("second delivery to %s: sent %v, %v", res.Receiver, res.Sent, res.Err)
		}
	}
	if len(wecomGot()) != 3 || len(dingGot()) != 2 || len(feishuGot()) != 1 || len(hookGot()) != 1 {
		t.Errorf("the same version was sent again: %d %d %d %d requests", len(wecomGot()), len(dingGot()), len(feishuGot()), len(hookGot()))
	}
}

func TestNextRunIsTheNextBeijingTime(t *testing.T) {
	at, err := ParseAt("08:30")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ now, want string }{
		{"2026-12-02T23:00:00Z", "2026-12-03T00:30:00Z"}, // 07:00 Beijing → 08:30 the same Beijing day
		{"2026-12-03T00:30:00Z", "2026-12-04T00:30:00Z"}, // exactly at → tomorrow
		{"2026-12-03T15:59:00Z", "2026-12-04T00:30:00Z"}, // 23:59 Beijing
		{"2026-12-03T16:00:00Z", "2026-12-04T00:30:00Z"}, // 00:00 Beijing
	} {
		now, _ := time.Parse(time.RFC3339, c.now)
		if got := NextRun(now, at).UTC().Format(time.RFC3339); got != c.want {
			t.Errorf("NextRun(%s) = %s, want %s", c.now, got, c.want)
		}
	}
	if _, err := ParseAt("8.30"); err == nil {
		t.Error("ParseAt(8.30) accepted")
	}
}

// Started after the morning's time, Schedule sends yesterday's report at
// once, then each following morning at the time (Beijing) the day before's.
func TestScheduleRunsEachMorningForTheDayBefore(t *testing.T) {
	at, _ := ParseAt("08:30")
	c := clock.NewManual(time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)) // 09:00 Beijing
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []string
	err := Schedule(ctx, at, c, func(ctx context.Context, day time.Time) {
		got = append(got, day.Format("2006-01-02")+" at "+c.Now().In(report.Beijing).Format("01-02 15:04"))
		if len(got) == 3 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-12-02 at 12-03 09:00", "2026-12-03 at 12-04 08:30", "2026-12-04 at 12-05 08:30"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("runs %q, want %q", got, want)
	}
}
