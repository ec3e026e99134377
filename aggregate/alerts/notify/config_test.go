package notify

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/internal/enginetest"
)

func TestExampleConfig(t *testing.T) {
	b, err := os.ReadFile("testdata/notify.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Receivers) != 5 {
		t.Fatalf("%d receivers", len(cfg.Receivers))
	}
	env := map[string]string{
		"TONGXIN_WECOM_WEBHOOK":    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + wecomKey,
		"TONGXIN_DINGTALK_WEBHOOK": "https://oapi.dingtalk.com/robot/send?access_token=" + dingToken,
		"TONGXIN_DINGTALK_SECRET":  dingSecretX,
		"TONGXIN_FEISHU_WEBHOOK":   "https://open.feishu.cn/open-apis/bot/v2/hook/" + feishuToken,
		"TONGXIN_FEISHU_SECRET":    feishuSecX,
		"TONGXIN_WEBHOOK_SECRET":   hookSecret,
	}
	var logs enginetest.Buffer
	r, err := New(cfg, Options{Getenv: func(k string) string { return env[k] }, Registerer: prometheus.NewRegistry(),
		Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*receiver{}
	for _, rc := range r.receivers {
		byName[rc.name] = rc
	}
	w := byName["office-wecom"]
	if w.cfg.rate != 19 || w.cfg.Burst != 1 || w.maxBatch != 8 || w.cfg.Format != FormatMarkdown || w.cfg.RateLimitWait != time.Minute || cap(w.queue) != DefaultQueueSize {
		t.Errorf("wecom defaults %+v", w.cfg)
	}
	if d := byName["leads-dingtalk"]; d.cfg.secret != dingSecretX || d.cfg.RateLimitWait != 10*time.Minute || d.cfg.rate != 19 {
		t.Errorf("dingtalk %+v", d.cfg)
	}
	if f := byName["media-feishu"]; f.cfg.rate != 95 || f.cfg.Burst != 5 || f.cfg.Format != FormatCard || len(f.cfg.states) != 3 {
		t.Errorf("feishu %+v", f.cfg)
	}
	if h := byName["ops-webhook"]; h.cfg.rate != 120 || h.cfg.Timeout != 5*time.Second || h.maxBatch != 1 || h.cfg.secret != hookSecret {
		t.Errorf("webhook %+v", h.cfg)
	}
	if a := byName["alertmanager"]; a.cfg.rate != 0 || a.limit != nil || a.cfg.ResendInterval != time.Minute || a.cfg.Labels["team"] != "publicity" {
		t.Errorf("alertmanager %+v", a.cfg)
	}
	// Run logs each receiver's (redacted) endpoint; no secret may show.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	eventually(t, 5*time.Second, "ready logs", func() bool { return strings.Count(logs.String(), "receiver ready") == 5 })
	cancel()
	<-done
	mustContain(t, "logs", logs.String(), `"endpoint":"https://open.feishu.cn/open-apis/bot/v2/hook/REDACTED"`,
		`"endpoint":"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=REDACTED"`)
	if l := leaks(logs.String()); len(l) > 0 {
		t.Errorf("logs leak %q:\n%s", l, logs.String())
	}
}

func TestConfigMistakes(t *testing.T) {
	cases := map[string]string{
		"unknown key":       "receivers:\n  - name: a\n    type: wecom\n    url: https://x/?key=abcd\n    colour: red\n",
		"bad type":          "receivers:\n  - name: a\n    type: slack\n    url: https://x/\n",
		"bad kind":          "receivers:\n  - name: a\n    type: webhook\n    url: https://x/\n    kinds: [trending]\n",
		"bad state":         "receivers:\n  - name: a\n    type: webhook\n    url: https://x/\n    states: [closed]\n",
		"no url":            "receivers:\n  - name: a\n    type: webhook\n",
		"url twice":         "receivers:\n  - name: a\n    type: webhook\n    url: https://x/\n    url_env: X\n",
		"bad name":          "receivers:\n  - name: 'a b'\n    type: webhook\n    url: https://x/\n",
		"duplicate":         "receivers:\n  - name: a\n    type: webhook\n    url: https://x/\n  - name: a\n    type: webhook\n    url: https://y/\n",
		"wecom no key":      "receivers:\n  - name: a\n    type: wecom\n    url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send\n",
		"wecom secret":      "receivers:\n  - name: a\n    type: wecom\n    url: https://x/?key=abcd\n    secret: s3cr3t-s3cr3t\n",
		"dingtalk no token": "receivers:\n  - name: a\n    type: dingtalk\n    url: https://oapi.dingtalk.com/robot/send\n",
		"feishu no token":   "receivers:\n  - name: a\n    type: feishu\n    url: https://open.feishu.cn/open-apis/bot/v2/hook/\n",
		"format":            "receivers:\n  - name: a\n    type: dingtalk\n    url: https://x/?access_token=t\n    format: card\n",
		"negative":          "receivers:\n  - name: a\n    type: webhook\n    url: https://x/\n    queue_size: -1\n",
		"negative rate":     "receivers:\n  - name: a\n    type: webhook\n    url: https://x/\n    rate_per_minute: -3\n",
		"bad duration":      "receivers:\n  - name: a\n    type: webhook\n    url: https://x/\n    timeout: 10\n",
		"am secret":         "receivers:\n  - name: a\n    type: alertmanager\n    url: http://am:9093\n    secret: nope-nope\n",
		"not http":          "receivers:\n  - name: a\n    type: webhook\n    url: file:///etc/passwd\n",
	}
	for name, y := range cases {
		if _, err := ParseConfig([]byte(y)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestEnvIndirection(t *testing.T) {
	cfg := Config{Receivers: []ReceiverConfig{{Name: "w", Type: TypeWeCom, URLEnv: "WECOM_URL"}}}
	if _, err := New(cfg, Options{Getenv: func(string) string { return "" }}); err == nil || !strings.Contains(err.Error(), "WECOM_URL is empty") {
		t.Errorf("empty variable: %v", err)
	}
	_, err := New(cfg, Options{Getenv: func(string) string { return "https://qyapi.weixin.qq.com/cgi-bin/webhook/send" }})
	if err == nil || !strings.Contains(err.Error(), "?key=") {
		t.Errorf("variable holding a bad URL: %v", err)
	}
}

func TestZeroRateMeansUnlimited(t *testing.T) {
	cfg, err := ParseConfig([]byte("receivers:\n  - name: a\n    type: wecom\n    url: https://x/?key=abcd\n    rate_per_minute: 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.receivers[0].limit != nil {
		t.Error("rate_per_minute: 0 should turn the limiter off")
	}
}

func TestEmptyConfig(t *testing.T) {
	for _, y := range []string{"", "receivers: []\n"} {
		c, err := ParseConfig([]byte(y))
		if err != nil || len(c.Receivers) != 0 {
			t.Errorf("%q: %v %v", y, c, err)
		}
	}
}
