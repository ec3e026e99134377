package notify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tongxin/tongxin/internal/enginetest"
)

// Secrets used below; none may appear in any error, log line or metric.
const (
	wecomKey     = "693a91f6-7aoc-4bc4-97a0-0ec2sifa5aaa"
	dingToken    = "50cb6e954c89afa14fb97754eafd886d658fcda27d05015a26b474e7bd2f0a59"
	dingSecretX  = "SEC5a3ecf88f2b3eb50db30ecfc00f53033ac909c99bf7f88fd612bda89d7f3a9dc"
	feishuToken  = "5e3d587e-d78e-4a07-bd07-265f269f86fd"
	feishuSecX   = "nIMtb7r3N9pkXyXdtAbx6e"
	hookPathTok  = "B0123ABCDEFxyz"
	hookQueryTok = "q-token-7f3a9dc5a3e"
	hookSecret   = "webhook-hmac-secret-42"
	amUser       = "tongxin-alerts"
	amPass       = "pa55-w0rd-!@#"
)

var allSecrets = []string{wecomKey, dingToken, dingSecretX, feishuToken, feishuSecX, hookPathTok, hookQueryTok, hookSecret, amUser, amPass,
	base64.StdEncoding.EncodeToString([]byte(amUser + ":" + amPass))}

// leaks reports which secrets (in any common spelling) appear in s.
func leaks(s string) []string {
	var out []string
	for _, sec := range allSecrets {
		for _, form := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec)} {
			if strings.Contains(s, form) {
				out = append(out, form)
			}
		}
	}
	return out
}

// errText is the text of every error in the chain.
func errText(err error) string {
	var b strings.Builder
	for e := err; e != nil; e = errors.Unwrap(e) {
		b.WriteString(e.Error())
		b.WriteString("\n")
	}
	return b.String()
}

// receiverURL builds the secret-laden URL of each type on a host.
func receiverURL(typ, host string) (u string, secret Secret) {
	switch typ {
	case TypeWeCom:
		return host + "/cgi-bin/webhook/send?key=" + wecomKey, ""
	case TypeDingTalk:
		return host + "/robot/send?access_token=" + dingToken, dingSecretX
	case TypeFeishu:
		return host + "/open-apis/bot/v2/hook/" + feishuToken, feishuSecX
	case TypeWebhook:
		return host + "/services/T01/" + hookPathTok + "?token=" + url.QueryEscape(hookQueryTok), hookSecret
	default:
		p, _ := url.Parse(host)
		p.User = url.UserPassword(amUser, amPass)
		return p.String(), ""
	}
}

// echo answers with everything it received — URL, headers, body — inside
// the given status and envelope, as a hostile or buggy server might.
func echo(status int, envelope string, hdr map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		all := fmt.Sprintf("url=%s uri=%s auth=%s body=%s", r.URL.String(), r.RequestURI, r.Header.Get("Authorization"), body)
		for k, v := range hdr {
			w.Header().Set(k, strings.ReplaceAll(v, "ECHO", r.RequestURI))
		}
		w.WriteHeader(status)
		if envelope == "" {
			io.WriteString(w, all)
			return
		}
		b, _ := json.Marshal(all)
		io.WriteString(w, strings.ReplaceAll(envelope, "ECHO", string(b)))
	}
}

type errorPath struct {
	name    string
	handler http.HandlerFunc // nil: connection refused
	timeout time.Duration
	cancel  bool
}

func errorPaths(typ string) []errorPath {
	paths := []errorPath{
		{name: "connection refused"},
		{name: "timeout", handler: func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body) // lets the server notice the client hanging up
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}, timeout: 50 * time.Millisecond},
		{name: "canceled", handler: func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}, cancel: true},
		{name: "5xx echo", handler: echo(502, "", nil)},
		{name: "429 echo", handler: echo(429, "", map[string]string{"Retry-After": "0"})},
		{name: "4xx echo", handler: echo(403, "", nil)},
		{name: "redirect to key", handler: echo(302, "", map[string]string{"Location": "http://elsewhere.invalid/ECHO"})},
	}
	switch typ {
	case TypeWeCom, TypeDingTalk, TypeFeishu: // they read an envelope from 2xx
		paths = append(paths, errorPath{name: "2xx not json", handler: echo(200, "", nil)})
	}
	switch typ {
	case TypeWeCom:
		paths = append(paths,
			errorPath{name: "errcode echo", handler: echo(200, `{"errcode":93000,"errmsg":ECHO}`, nil)},
			errorPath{name: "rate limit echo", handler: echo(200, `{"errcode":45009,"errmsg":ECHO}`, nil)})
	case TypeDingTalk:
		paths = append(paths,
			errorPath{name: "errcode echo", handler: echo(200, `{"errcode":310000,"errmsg":ECHO}`, nil)},
			errorPath{name: "rate limit echo", handler: echo(200, `{"errcode":130101,"errmsg":ECHO}`, nil)})
	case TypeFeishu:
		paths = append(paths,
			errorPath{name: "code echo", handler: echo(200, `{"code":19021,"msg":ECHO}`, nil)},
			errorPath{name: "rate limit echo", handler: echo(400, `{"code":99991400,"msg":ECHO}`, nil)})
	}
	return paths
}

func TestSecretsNeverInErrorsLogsOrMetrics(t *testing.T) {
	for _, typ := range []string{TypeWeCom, TypeDingTalk, TypeFeishu, TypeWebhook, TypeAlertmanager} {
		for _, p := range errorPaths(typ) {
			t.Run(typ+"/"+p.name, func(t *testing.T) {
				var host string
				if p.handler == nil {
					srv := httptest.NewServer(http.NotFoundHandler())
					host = srv.URL
					srv.Close() // nothing listens there now
				} else {
					srv := httptest.NewServer(p.handler)
					t.Cleanup(srv.Close)
					host = srv.URL
				}
				raw, secret := receiverURL(typ, host)
				timeout := p.timeout
				if timeout == 0 {
					timeout = 2 * time.Second
				}
				rc := fast(ReceiverConfig{Name: "r", Type: typ, URL: Secret(raw), Secret: secret, Timeout: timeout, MaxAttempts: 2})

				// The notifier's own error, whole chain.
				n, err := NewNotifier(rc, Options{Now: func() time.Time { return fixedNow }})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				if p.cancel {
					time.AfterFunc(30*time.Millisecond, cancel)
				}
				err = n.Notify(ctx, sampleEvent())
				cancel()
				if err == nil {
					t.Fatal("no error on an error path")
				}
				if l := leaks(errText(err)); len(l) > 0 {
					t.Errorf("error leaks %q:\n%s", l, errText(err))
				}
				if testing.Verbose() {
					t.Logf("error: %v", err)
				}

				// Through the router: logs (retries, failures) and metrics.
				if p.cancel {
					return
				}
				h := newHarness(t, Config{Receivers: []ReceiverConfig{rc}}, nil)
				h.start(t)
				h.r.Notify(context.Background(), sampleEvent())
				eventually(t, 10*time.Second, "the delivery to fail", func() bool { return h.count("r", "viral", OutcomeFailed) == 1 })
				h.stop()
				logs := h.logs.String()
				if !strings.Contains(logs, "notify: delivery failed") {
					t.Errorf("failure not logged:\n%s", logs)
				}
				if l := leaks(logs); len(l) > 0 {
					t.Errorf("logs leak %q:\n%s", l, logs)
				}
				if l := leaks(exposition(t, h)); len(l) > 0 {
					t.Errorf("metrics leak %q", l)
				}
			})
		}
	}
}

func TestEndpointShownRedacted(t *testing.T) {
	cases := map[string]string{
		TypeWeCom:        "http://h/cgi-bin/webhook/send?key=REDACTED",
		TypeDingTalk:     "http://h/robot/send?access_token=REDACTED",
		TypeFeishu:       "http://h/open-apis/bot/v2/hook/REDACTED",
		TypeWebhook:      "http://h/REDACTED/REDACTED/REDACTED?token=REDACTED",
		TypeAlertmanager: "http://REDACTED@h/api/v2/alerts",
	}
	for typ, want := range cases {
		raw, secret := receiverURL(typ, "http://h")
		n, err := NewNotifier(ReceiverConfig{Name: "r", Type: typ, URL: Secret(raw), Secret: secret}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := n.(interface{ endpointDisplay() string }).endpointDisplay()
		if got != want {
			t.Errorf("%s: shown as %q, want %q", typ, got, want)
		}
	}
}

func TestSecretTypeNeverPrints(t *testing.T) {
	raw, _ := receiverURL(TypeDingTalk, "https://oapi.dingtalk.com")
	rc := ReceiverConfig{Name: "d", Type: TypeDingTalk, URL: Secret(raw), Secret: dingSecretX}
	cfg := Config{Receivers: []ReceiverConfig{rc}}
	var logs enginetest.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", cfg, "rc", rc, "url", rc.URL, "secret", rc.Secret)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "cfg", cfg, "url", rc.URL, "secret", rc.Secret)
	j, _ := json.Marshal(cfg)
	y, _ := yaml.Marshal(cfg)
	out := fmt.Sprintf("%v %+v %#v %s %q", cfg, rc, rc, rc.URL, rc.Secret) + string(j) + string(y) + logs.String()
	if l := leaks(out); len(l) > 0 {
		t.Errorf("leaks %q in:\n%s", l, out)
	}
	if !strings.Contains(out, "<secret>") {
		t.Errorf("no mask shown:\n%s", out)
	}
}

func TestConfigErrorsDoNotQuoteURL(t *testing.T) {
	bad := []ReceiverConfig{
		{Name: "w", Type: TypeWeCom, URL: Secret("ftp://x/cgi-bin/webhook/send?key=" + wecomKey)},
		{Name: "w", Type: TypeWeCom, URL: Secret("https://x/cgi-bin/webhook/send?k=" + wecomKey)},
		{Name: "w", Type: TypeWeCom, URL: Secret("https://x/?key=" + wecomKey), Secret: hookSecret},
		{Name: "d", Type: TypeDingTalk, URL: Secret("::" + dingToken)},
		{Name: "f", Type: TypeFeishu, URL: Secret("https://open.feishu.cn/" + feishuToken)},
		{Name: "a", Type: TypeAlertmanager, URL: Secret("http://" + amUser + ":" + amPass + "@%zz/")},
	}
	for _, rc := range bad {
		err := Config{Receivers: []ReceiverConfig{rc}}.Validate()
		if err == nil {
			t.Errorf("%+v accepted", rc)
			continue
		}
		if l := leaks(err.Error()); len(l) > 0 {
			t.Errorf("config error leaks %q: %v", l, err)
		}
	}
}

func TestScrub(t *testing.T) {
	raw, _ := receiverURL(TypeWebhook, "https://hooks.example")
	r := newRedactor(TypeWebhook, raw, hookSecret)
	in := "got " + raw + " and " + url.QueryEscape(raw) + " and " + hookSecret + " and " + url.PathEscape(hookPathTok) + " token=" + url.QueryEscape(hookQueryTok)
	out := r.String(in)
	if l := leaks(out); len(l) > 0 {
		t.Errorf("scrub left %q in %q", l, out)
	}
	if !strings.Contains(out, "https://hooks.example/REDACTED") {
		t.Errorf("the URL should read as its redacted form: %q", out)
	}
}

func TestScrubBeforeCutting(t *testing.T) {
	raw, _ := receiverURL(TypeWeCom, "https://qyapi.weixin.qq.com")
	c := newClient("w", time.Second, nil, newRedactor(TypeWeCom, raw))
	// The key straddles the 200-rune cut: cutting first would leave its head.
	msg := strings.Repeat("字", 195) + " key=" + wecomKey
	for _, got := range []string{c.oneLine(msg), c.snippet([]byte(msg))} {
		if strings.Contains(got, wecomKey[:6]) {
			t.Errorf("a piece of the key survived: %q", got)
		}
	}
}
