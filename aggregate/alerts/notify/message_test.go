package notify

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tongxin/tongxin/aggregate/alerts"
)

var update = flag.Bool("update", false, "rewrite testdata/messages/*.golden")

func TestCount(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0", 9876: "9876", 10_000: "1万", 38_000: "3.8万", 123_456: "12.3万", 999_999: "100万",
		1_234_567: "123万", 12_300_000: "1230万", 123_000_000: "1.23亿", -5: "-5", -38_000: "-3.8万",
	} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSpanAndFreshness(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second: "不到 1 分钟", 45 * time.Minute: "45 分钟", 3 * time.Hour: "3 小时",
		200 * time.Minute: "3 小时 20 分钟", 52 * time.Hour: "2 天 4 小时", 48 * time.Hour: "2 天",
	} {
		if got := span(d); got != want {
			t.Errorf("span(%v) = %q, want %q", d, got, want)
		}
	}
	if got := freshness(3 * time.Hour); got != "3 小时前的数据（⚠️ 数据偏旧，请以平台后台为准）" {
		t.Errorf("stale freshness %q", got)
	}
	if got := freshness(0); got != "未知" {
		t.Errorf("zero freshness %q", got)
	}
}

func TestTitles(t *testing.T) {
	ev := sampleEvent()
	for _, c := range []struct{ kind, state, want string }{
		{alerts.KindViral, alerts.StateOpen, "🔥 爆款预警"},
		{alerts.KindViral, alerts.StateUpdate, "🔥 爆款预警（更新）"},
		{alerts.KindViral, alerts.StateResolved, "✅ 已恢复：爆款预警"},
		{alerts.KindLowReach, alerts.StateOpen, "⚠️ 低触达"},
		{alerts.KindLowReach, alerts.StateResolved, "✅ 已恢复：低触达"},
	} {
		ev.Kind, ev.State = c.kind, c.state
		if _, got := titleOf(&ev); got != c.want {
			t.Errorf("%s/%s: %q, want %q", c.kind, c.state, got, c.want)
		}
	}
}

func TestTruncateKeepsUTF8(t *testing.T) {
	s := truncate("爆款预警爆款预警", 10)
	if len(s) > 10+len("…（已截断）") || !isValidUTF8(s) {
		t.Errorf("%q", s)
	}
	if truncate("short", 100) != "short" {
		t.Error("short strings stay")
	}
}

func isValidUTF8(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' {
			return false
		}
	}
	return true
}

// The rendered messages are kept as golden files so a reviewer can read
// exactly what the office will see.
func TestGoldenMessages(t *testing.T) {
	upd := sampleEvent()
	upd.State, upd.Plays, upd.Score = alerts.StateUpdate, 1_230_000, 14.5
	upd.UpdatedAt = fixedNow
	stale := lowReachEvent()
	stale.DataAge = 5 * time.Hour
	events := map[string]alerts.Event{
		"viral_open": sampleEvent(), "viral_update": upd, "viral_resolved": resolvedEvent(),
		"low_reach_open": lowReachEvent(), "low_reach_stale": stale,
	}
	for name, ev := range events {
		v := render(ev, nameOf)
		golden(t, name+".wecom.md", v.markdown(wecomMD, true, true))
		golden(t, name+".dingtalk.md", v.markdown(dingMD, true, true))
		golden(t, name+".txt", v.text())
	}
	vs := renderAll([]alerts.Event{sampleEvent(), lowReachEvent(), resolvedEvent()}, nameOf)
	golden(t, "digest.wecom.md", digestMarkdown(vs, wecomMD, true, true))
	golden(t, "digest.txt", digestText(vs))
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "messages", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestOfficeReason(t *testing.T) {
	for in, want := range map[string]string{
		viralReason: "走红：发布 2.7 小时播放 123,456 次，为同龄作品常见水平 13,700（该代言人近 12 条作品）的 9 倍；近 1 小时增加 38,000 次，为常见速度的 6.1 倍。数据为 8 分钟前。",
		"Closed: the post is 9 days old and no longer watched; last seen at 1,024 plays. Data 2 h old. 已关闭：作品发布已 9 天，不再跟踪；最新播放 1,024 次。数据为 2 小时前。": "已关闭：作品发布已 9 天，不再跟踪；最新播放 1,024 次。数据为 2 小时前。",
		"English only, 9× usual.": "English only, 9× usual.",
		"  纯中文原因。 ":               "纯中文原因。",
		"":                        "",
	} {
		if got := officeReason(in); got != want {
			t.Errorf("officeReason(%q) = %q, want %q", in, got, want)
		}
	}
}
