package redact_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/tongxin/tongxin/internal/redact"
)

// Secrets of the shapes tongxin meets; none may survive in any spelling.
const (
	accessToken = "act.3f9a1c0b7e2d4c5fa8b9e0d1c2b3a4f5+/="                          // a platform token, with characters URLs escape
	dingToken   = "50cb6e954c89afa14fb97754eafd886d658fcda27d05015a26b474e7bd2f0a59" // a DingTalk robot's access_token
	dingSecret  = "SEC5a3ecf88f2b3eb50db30ecfc00f53033ac909c99bf7f88fd612bda89d7f3a9dc"
	wecomKey    = "693a91f6-7aoc-4bc4-97a0-0ec2sifa5aaa"
	feishuHook  = "5e3d587e-d78e-4a07-bd07-265f269f86fd"
	dsnToken    = "Nx3-OaQn_1JNdvymU_cF0LeAwoxDNC3"
)

// leaks is every spelling of every secret found in s.
func leaks(s string, secrets ...string) []string {
	var out []string
	for _, sec := range secrets {
		for _, form := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec)} {
			if strings.Contains(s, form) {
				out = append(out, form)
			}
		}
	}
	return out
}

func TestNewHidesEverySpelling(t *testing.T) {
	r := redact.New("[redacted]", accessToken, "", "k1")
	in := fmt.Sprintf("GET /video/list?access_token=%s&open_id=u1 echoed %q path /t/%s, then key k1",
		url.QueryEscape(accessToken), accessToken, url.PathEscape(accessToken))
	got := r.String(in)
	if l := leaks(got, accessToken, "k1"); len(l) > 0 {
		t.Errorf("left %q in %q", l, got)
	}
	want := `GET /video/list?access_token=[redacted]&open_id=u1 echoed "[redacted]" path /t/[redacted], then key [redacted]`
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// An empty secret hides nothing (it would match between every byte).
	if got := redact.New("x").String("plain words"); got != "plain words" {
		t.Errorf("no secrets changed the text to %q", got)
	}
}

func TestLongestSecretFirst(t *testing.T) {
	// The refresh token holds the access token: replacing the short one
	// first would leave the rest of the long one showing.
	access, refresh := "tok-abcdef", "tok-abcdef-refresh-998877"
	got := redact.New("*", access, refresh).String("a=" + access + " r=" + refresh)
	if got != "a=* r=*" {
		t.Errorf("got %q, want %q", got, "a=* r=*")
	}
}

func TestErrorKeepsACleanErrorWhole(t *testing.T) {
	r := redact.New("xxxxx", dsnToken)
	if r.Error(nil) != nil {
		t.Error("nil became an error")
	}
	cause := errors.New("connection refused")
	clean := fmt.Errorf("dial 127.0.0.1:8123: %w", cause)
	if got := r.Error(clean); got != clean || !errors.Is(got, cause) {
		t.Errorf("an error showing no secret was replaced: %v", got)
	}
	dirty := fmt.Errorf("parse %q: invalid port: %w", "http://default:"+dsnToken+"@127.0.0.1:x/db", cause)
	got := r.Error(dirty)
	if l := leaks(got.Error(), dsnToken); len(l) > 0 {
		t.Errorf("error still shows %q: %v", l, got)
	}
	if !strings.Contains(got.Error(), "http://default:xxxxx@127.0.0.1:x/db") {
		t.Errorf("the error should keep its words with the secret hidden: %v", got)
	}
	if errors.Is(got, cause) {
		t.Error("the redacted error still wraps the error that shows the secret")
	}
}

func TestURLRobotWebhooks(t *testing.T) {
	hook := func(segs []string, i int) bool { return i > 0 && segs[i-1] == "hook" }
	for _, c := range []struct {
		name, raw   string
		hide        func([]string, int) bool
		extra       []string
		secrets     []string
		wantDisplay string
	}{
		{"dingtalk token and signing secret", "https://oapi.dingtalk.com/robot/send?access_token=" + dingToken, nil,
			[]string{dingSecret}, []string{dingToken, dingSecret}, "https://oapi.dingtalk.com/robot/send?access_token=R"},
		{"wecom key", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + wecomKey, nil,
			nil, []string{wecomKey}, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=R"},
		{"feishu hook token in the path", "https://open.feishu.cn/open-apis/bot/v2/hook/" + feishuHook, hook,
			nil, []string{feishuHook}, "https://open.feishu.cn/open-apis/bot/v2/hook/R"},
		{"a long path segment whatever the API", "https://hooks.example/services/T01/B0123ABCDEFxyz0123", nil,
			nil, []string{"B0123ABCDEFxyz0123"}, "https://hooks.example/services/T01/R"},
		{"user and password, fragment", "http://tongxin-bot:pa55-w0rd-!@am.example:9093/api/v2/alerts#" + dsnToken, nil,
			nil, []string{"tongxin-bot", "pa55-w0rd-!", base64.StdEncoding.EncodeToString([]byte("tongxin-bot:pa55-w0rd-!")), dsnToken},
			"http://R@am.example:9093/api/v2/alerts"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := redact.URL(c.raw, "R", c.hide, c.extra...)
			if got := r.Display(); got != c.wantDisplay {
				t.Errorf("display %q, want %q", got, c.wantDisplay)
			}
			text := "POST " + c.raw + " failed; echoed " + url.QueryEscape(c.raw)
			for _, s := range c.secrets {
				text += " | " + s + " | " + url.QueryEscape(s)
			}
			got := r.String(text)
			if l := leaks(got, c.secrets...); len(l) > 0 {
				t.Errorf("left %q in %q", l, got)
			}
			if !strings.HasPrefix(got, "POST "+c.wantDisplay+" failed; echoed "+c.wantDisplay+" |") {
				t.Errorf("the URL, raw and escaped, should read as its display form: %q", got)
			}
		})
	}
}

// Short query values are hidden in the display form but are no secret in
// text: "1" in a message stays, a signing secret named by the caller goes
// however short.
func TestURLShortPieces(t *testing.T) {
	r := redact.URL("https://h.example/send?debug=1&key="+wecomKey, "R", nil, "s3")
	if got, want := r.Display(), "https://h.example/send?debug=R&key=R"; got != want {
		t.Errorf("display %q, want %q", got, want)
	}
	if got, want := r.String("retry 1 of 3 with s3"), "retry 1 of 3 with R"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestURLThatDoesNotParseIsHiddenWhole(t *testing.T) {
	raw := "::" + dingToken
	r := redact.URL(raw, "R", nil)
	if r.Display() != "<url R>" {
		t.Errorf("display %q, want <url R>", r.Display())
	}
	if got := r.String("bad URL " + raw); strings.Contains(got, dingToken) {
		t.Errorf("left the token in %q", got)
	}
}

func TestDSN(t *testing.T) {
	for _, c := range []struct{ dsn, want string }{
		{"http://default:" + dsnToken + "@127.0.0.1:8123/tongxin", "http://default:xxxxx@127.0.0.1:8123/tongxin"},
		{"clickhouse://u:p%40ss%3Aword@ch:9000/db?dial_timeout=1s", "clickhouse://u:xxxxx@ch:9000/db?dial_timeout=1s"},
		{"http://127.0.0.1:8123/tongxin?username=u&password=hunter22", "http://127.0.0.1:8123/tongxin?username=u&password=xxxxx"},
		{"http://127.0.0.1:8123/tongxin?Password=hunter22&secure=true", "http://127.0.0.1:8123/tongxin?Password=xxxxx&secure=true"},
		{"http://127.0.0.1:8123/tongxin", "http://127.0.0.1:8123/tongxin"},
		{"http://user@127.0.0.1:8123/tongxin", "http://user@127.0.0.1:8123/tongxin"},
	} {
		if got := redact.DSN(c.dsn); got != c.want {
			t.Errorf("DSN(%q) = %q, want %q", c.dsn, got, c.want)
		}
	}
	// A driver's error may quote the password unescaped.
	pw := redact.DSNPasswords("clickhouse://u:p%40ss%3Aword@ch:9000/db")
	err := redact.New(redact.DSNMark, pw...).Error(errors.New("auth failed for u:p@ss:word"))
	if strings.Contains(err.Error(), "p@ss:word") || !strings.Contains(err.Error(), "u:xxxxx") {
		t.Errorf("unescaped password not hidden: %v", err)
	}
}
