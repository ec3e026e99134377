package notify

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/tongxin/tongxin/aggregate/alerts"
)

// hostileEvent carries markup in every value that comes from outside: a
// post id from an export cell, the reason (it quotes post titles), an
// ambassador id the roster does not name, the alert id.
func hostileEvent() alerts.Event {
	ev := sampleEvent()
	ev.PostID = "730\n### 伪造标题\n> 假原因 [点我](http://evil.example/x) <@all> @all <at id=all></at> **粗** `码` ~~删~~ _斜_ &lt;at&gt;"
	ev.AmbassadorID = "A99<font color=\"info\">假</font>|表|\r\n# 标题"
	ev.Reason = "走红：标题《<at user_id=\"all\">所有人</at>》 ![图](https://evil.example/i.png) www 链接 http://evil.example"
	ev.AlertID = "viral-douyin-730\n[点我](http://evil.example)"
	return ev
}

// markup finds what would render as more than text in any of the dialects.
var markup = regexp.MustCompile(`(?m)^\s*(#|>|[-+*] |\d+\. )|\[|\]\(|<@|<at|@all|://|\*\*[^*]*\*\*|` + "`" + `|~~|(^|[^\pL\pN])_|&lt;|<[a-zA-Z/]`)

// checkInert fails if content, once the markup tongxin itself writes is
// taken out, holds any markup, or lost the words of the hostile values.
func checkInert(t *testing.T, what, content string) {
	t.Helper()
	var rest []string
	for _, line := range strings.Split(content, "\n") {
		for _, f := range []string{`<font color="warning">`, `<font color="comment">`, "</font>"} {
			line = strings.ReplaceAll(line, f, "")
		}
		line = strings.TrimPrefix(line, "### ")
		line = strings.TrimPrefix(line, "> ")
		if m := ourLabel.FindString(line); m != "" {
			line = line[len(m):]
		} else if strings.HasPrefix(line, "**") && strings.HasSuffix(line, "**") { // a digest's head line
			line = line[2 : len(line)-2]
		}
		rest = append(rest, line)
	}
	if m := markup.FindAllString(strings.Join(rest, "\n"), -1); len(m) > 0 {
		t.Errorf("%s: outside values make markup %q:\n%s", what, m, content)
	}
	for _, words := range []string{"伪造标题", "点我", "假原因", "所有人", "A99", "粗"} {
		if !strings.Contains(content, words) {
			t.Errorf("%s: %q is gone; escaping must keep the message readable:\n%s", what, words, content)
		}
	}
}

// ourLabel is a field's label as tongxin writes it, at the start of a line.
var ourLabel = regexp.MustCompile(`^(\*\*[\p{Han}]+\*\*|原因|说明)：`)

func TestRobotMarkdownEscapesOutsideValues(t *testing.T) {
	for _, c := range []struct {
		name string
		rc   func(url string) ReceiverConfig
		md   func(m map[string]any) string
	}{
		{"wecom", func(u string) ReceiverConfig {
			return ReceiverConfig{Name: "wecom", Type: TypeWeCom, URL: Secret(u + "/cgi-bin/webhook/send?key=k")}
		}, func(m map[string]any) string { return m["markdown"].(map[string]any)["content"].(string) }},
		{"dingtalk", func(u string) ReceiverConfig {
			return ReceiverConfig{Name: "ding", Type: TypeDingTalk, URL: Secret(u + "/robot/send?access_token=t")}
		}, func(m map[string]any) string { return m["markdown"].(map[string]any)["text"].(string) }},
		{"feishu", func(u string) ReceiverConfig {
			return ReceiverConfig{Name: "lark", Type: TypeFeishu, URL: Secret(u + "/open-apis/bot/v2/hook/h")}
		}, func(m map[string]any) string {
			els := m["card"].(map[string]any)["elements"].([]any)
			return els[0].(map[string]any)["text"].(map[string]any)["content"].(string)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reply := reply{status: 200, body: `{"errcode":0,"errmsg":"ok"}`}
			if c.name == "feishu" {
				reply.body = `{"code":0,"msg":"success"}`
			}
			rb := newRobot(t, reply, reply)
			n := notifier(t, c.rc(rb.srv.URL))
			ev := hostileEvent()
			if err := n.Notify(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			ev2 := hostileEvent()
			ev2.PostID += "-2"
			if err := n.(BatchNotifier).NotifyBatch(context.Background(), []alerts.Event{ev, ev2}); err != nil {
				t.Fatal(err)
			}
			rqs := rb.requests()
			if len(rqs) != 2 {
				t.Fatalf("%d requests, want 2", len(rqs))
			}
			checkInert(t, c.name+" single", c.md(rqs[0].json(t)))
			checkInert(t, c.name+" digest", c.md(rqs[1].json(t)))
		})
	}
}

// A text message keeps each value on its own line: no forged lines.
func TestRobotTextKeepsValuesOnOneLine(t *testing.T) {
	rb := newRobot(t, reply{status: 200, body: `{"errcode":0,"errmsg":"ok"}`})
	n := notifier(t, ReceiverConfig{Name: "wecom", Type: TypeWeCom, Format: FormatText, URL: Secret(rb.srv.URL + "/cgi-bin/webhook/send?key=k")})
	if err := n.Notify(context.Background(), hostileEvent()); err != nil {
		t.Fatal(err)
	}
	text := rb.requests()[0].json(t)["text"].(map[string]any)["content"].(string)
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "###") || strings.HasPrefix(line, ">") || strings.HasPrefix(line, "[") || strings.HasPrefix(line, "#") {
			t.Errorf("a value forged the line %q:\n%s", line, text)
		}
	}
	if !strings.Contains(text, "作品：730 ### 伪造标题 > 假原因") {
		t.Errorf("the post id is not on its line:\n%s", text)
	}
}
