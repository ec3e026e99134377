package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tongxin/tongxin/aggregate/alerts"
)

// Documented size limits of the messages (bytes of UTF-8).
const (
	wecomMarkdownMax = 4096 // WeCom markdown.content: 最长不超过4096个字节
	wecomTextMax     = 2048 // WeCom text.content: 最长不超过2048个字节
	// DingTalk does not document a limit for its robot messages; 4000
	// bytes keeps a digest readable on a phone and well clear of trouble.
	dingtalkMax = 4000
	// Feishu: the request body may not exceed 20 KB; the text leaves room
	// for the JSON around it.
	feishuMax = 18000
)

// maxReasonRunes bounds the reason in a message (≈ 900 bytes of Chinese),
// so even WeCom's 2048-byte text keeps every field.
const maxReasonRunes = 300

// beijing is China Standard Time (no DST), without needing tzdata.
var beijing = time.FixedZone("CST", 8*3600)

// platformNames are the names the office uses.
var platformNames = map[string]string{
	"douyin":          "抖音",
	"weibo":           "微博",
	"wechat_channels": "视频号",
}

// PlatformName is the Chinese name of a platform id (the id itself if unknown).
func PlatformName(id string) string {
	if n, ok := platformNames[id]; ok {
		return n
	}
	return id
}

// field is one labelled line of a message.
type field struct{ label, value string }

// view is an event made readable: what every format renders.
type view struct {
	ev     alerts.Event
	icon   string // 🔥 ⚠️ ✅
	title  string // "🔥 爆款预警"
	color  string // feishu header template: red, orange, green
	font   string // wecom font colour: warning, comment, info
	reason string
	fields []field
	footer string
}

// Titles by kind and state.
func titleOf(ev *alerts.Event) (icon, title string) {
	name := "爆款预警"
	icon = "🔥"
	if ev.Kind == alerts.KindLowReach {
		name, icon = "低触达", "⚠️"
	} else if ev.Kind != alerts.KindViral {
		name, icon = "预警（"+ev.Kind+"）", "🔔"
	}
	switch ev.State {
	case alerts.StateResolved:
		return "✅", "✅ 已恢复：" + name
	case alerts.StateUpdate:
		return icon, icon + " " + name + "（更新）"
	default:
		return icon, icon + " " + name
	}
}

// render builds the readable view of an event. names maps an ambassador id
// to a name (nil: ids only).
func render(ev alerts.Event, names func(string) string) view {
	v := view{ev: ev}
	v.icon, v.title = titleOf(&ev)
	switch {
	case ev.State == alerts.StateResolved:
		v.color, v.font = "green", "info"
	case ev.Kind == alerts.KindLowReach:
		v.color, v.font = "orange", "warning"
	default:
		v.color, v.font = "red", "warning"
	}
	// A runaway reason must not push the facts out of a size-limited message.
	v.reason = truncateRunes(officeReason(ev.Reason), maxReasonRunes)
	if v.reason == "" {
		v.reason = "（未给出原因）"
	}
	judged := ev.UpdatedAt
	if judged.IsZero() {
		judged = ev.OpenedAt
	}
	v.fields = append(v.fields,
		field{"代言人", ambassador(ev.AmbassadorID, names)},
		field{"平台", PlatformName(ev.Platform)},
		field{"作品", ev.PostID},
	)
	if !ev.PublishedAt.IsZero() {
		pub := clock(ev.PublishedAt)
		if !judged.IsZero() && judged.After(ev.PublishedAt) {
			pub += "（已发布 " + span(judged.Sub(ev.PublishedAt)) + "）"
		}
		v.fields = append(v.fields, field{"发布时间", pub})
	}
	v.fields = append(v.fields, field{playsLabel(ev.Platform), Count(ev.Plays)})
	if s := scoreText(&ev); s != "" {
		v.fields = append(v.fields, field{"表现", s})
	}
	v.fields = append(v.fields, field{"数据新鲜度", freshness(ev.DataAge)})
	switch ev.State {
	case alerts.StateResolved:
		end := judged
		if ev.ResolvedAt != nil {
			end = *ev.ResolvedAt
		}
		t := clock(end)
		if !ev.OpenedAt.IsZero() && end.After(ev.OpenedAt) {
			t += "（持续 " + span(end.Sub(ev.OpenedAt)) + "）"
		}
		v.fields = append(v.fields, field{"恢复时间", t})
	case alerts.StateUpdate:
		v.fields = append(v.fields, field{"首次预警", clock(ev.OpenedAt)}, field{"更新时间", clock(judged)})
	default:
		v.fields = append(v.fields, field{"预警时间", clock(ev.OpenedAt)})
	}
	v.footer = "同心监测 · 时间为北京时间 · 编号 " + ev.AlertID
	return v
}

// officeReason is the part of a reason the office reads. The detector
// writes its reasons twice, English then Chinese, in one string ("Taking
// off: … Data 8 min old. 走红：…。数据为 8 分钟前。"); the Chinese half starts
// at the first word beginning with a Han character. A reason without
// Chinese is shown whole.
func officeReason(reason string) string {
	reason = strings.TrimSpace(reason)
	prevSpace := true
	for i, r := range reason {
		if prevSpace && unicode.Is(unicode.Han, r) {
			return strings.TrimSpace(reason[i:])
		}
		prevSpace = unicode.IsSpace(r)
	}
	return reason
}

func ambassador(id string, names func(string) string) string {
	if names != nil {
		if n := strings.TrimSpace(names(id)); n != "" && n != id {
			return n + "（" + id + "）"
		}
	}
	return id
}

// playsLabel: the contract's Plays is likes where a platform has no plays
// (Weibo gives no reads in its open API).
func playsLabel(platform string) string {
	if platform == "weibo" {
		return "点赞量"
	}
	return "播放量"
}

func scoreText(ev *alerts.Event) string {
	if ev.Score <= 0 {
		return ""
	}
	switch ev.Kind {
	case alerts.KindViral:
		return "达到预期的 " + trimFloat(ev.Score, 1) + " 倍"
	case alerts.KindLowReach:
		return "同类作品中第 " + trimFloat(ev.Score, 1) + " 百分位"
	}
	return trimFloat(ev.Score, 2)
}

// freshness tells how old the data behind the judgement was.
func freshness(age time.Duration) string {
	switch {
	case age <= 0:
		return "未知"
	case age < time.Minute:
		return "1 分钟内的数据"
	case age <= 2*time.Hour:
		return span(age) + "前的数据"
	default:
		return span(age) + "前的数据（⚠️ 数据偏旧，请以平台后台为准）"
	}
}

// clock formats a time for the office, in Beijing time.
func clock(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(beijing).Format("01-02 15:04")
}

// span is a duration in Chinese: "3 小时 20 分钟", "2 天 4 小时", "45 分钟".
func span(d time.Duration) string {
	if d < time.Minute {
		return "不到 1 分钟"
	}
	m := int64(d / time.Minute)
	days, hours, mins := m/(24*60), m/60%24, m%60
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%d 天 %d 小时", days, hours)
	case days > 0:
		return fmt.Sprintf("%d 天", days)
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%d 小时 %d 分钟", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%d 小时", hours)
	}
	return fmt.Sprintf("%d 分钟", mins)
}

// Count formats a count the way Chinese media do: 9876, 3.8万, 1230万, 1.2亿.
func Count(n int64) string {
	neg := ""
	if n < 0 {
		neg, n = "-", -n
	}
	switch {
	case n < 10_000:
		return neg + strconv.FormatInt(n, 10)
	case n < 100_000_000:
		digits := 1
		if n >= 1_000_000 {
			digits = 0
		}
		return neg + trimFloat(float64(n)/10_000, digits) + "万"
	default:
		return neg + trimFloat(float64(n)/100_000_000, 2) + "亿"
	}
}

func trimFloat(f float64, digits int) string {
	s := strconv.FormatFloat(f, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	const mark = "…（已截断）"
	cut := n - len(mark)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// Markdown flavours differ: WeCom keeps single newlines and knows <font>;
// DingTalk needs a blank line between paragraphs; Feishu's lark_md keeps
// newlines.
type mdStyle struct {
	sep  string // between lines
	font bool   // <font color="…"> allowed (WeCom)
}

var (
	wecomMD  = mdStyle{sep: "\n", font: true}
	dingMD   = mdStyle{sep: "\n\n"}
	feishuMD = mdStyle{sep: "\n"}
)

// markdown renders one event; withTitle adds a heading line, withFooter
// the alert id line.
func (v *view) markdown(st mdStyle, withTitle, withFooter bool) string {
	var lines []string
	if withTitle {
		lines = append(lines, "### "+mdEscape(v.title))
	}
	reason := mdEscape(v.reason)
	if st.font {
		reason = `<font color="` + v.font + `">` + reason + `</font>`
	}
	lines = append(lines, "> "+v.reasonLabel()+"："+reason)
	for _, f := range v.fields {
		lines = append(lines, "**"+f.label+"**："+mdEscape(f.value))
	}
	if withFooter {
		foot := mdEscape(v.footer)
		if st.font {
			foot = `<font color="comment">` + foot + `</font>`
		}
		lines = append(lines, foot)
	}
	return strings.Join(lines, st.sep)
}

// reasonLabel: a resolution explains rather than gives a cause.
func (v *view) reasonLabel() string {
	if v.ev.State == alerts.StateResolved {
		return "说明"
	}
	return "原因"
}

// text renders one event as plain text.
func (v *view) text() string {
	var b strings.Builder
	b.WriteString("【" + oneLine(v.title) + "】\n")
	b.WriteString(v.reasonLabel() + "：" + oneLine(v.reason) + "\n")
	for _, f := range v.fields {
		b.WriteString(f.label + "：" + oneLine(f.value) + "\n")
	}
	b.WriteString(oneLine(v.footer))
	return b.String()
}

// digestTitle summarises a batch: "📋 同心预警汇总（3 条：🔥2 ⚠️1）".
func digestTitle(vs []view) string {
	order := []string{"🔥", "⚠️", "✅", "🔔"}
	counts := map[string]int{}
	for _, v := range vs {
		counts[v.icon]++
	}
	var parts []string
	for _, ic := range order {
		if counts[ic] > 0 {
			parts = append(parts, ic+strconv.Itoa(counts[ic]))
		}
	}
	return fmt.Sprintf("📋 同心预警汇总（%d 条：%s）", len(vs), strings.Join(parts, " "))
}

// digestLine is one event of a digest in one or two lines.
func (v *view) digestLine(md bool) string {
	amb := v.fields[0].value
	head := v.title + " · " + amb + " · " + PlatformName(v.ev.Platform) + " · 作品 " + v.ev.PostID
	info := playsLabel(v.ev.Platform) + " " + Count(v.ev.Plays) + " · " + freshness(v.ev.DataAge)
	reason := truncateRunes(v.reason, 80)
	if md {
		return "**" + mdEscape(head) + "**\n> " + mdEscape(reason) + "\n> " + mdEscape(info)
	}
	return oneLine(head) + "\n  " + oneLine(reason) + "\n  " + oneLine(info)
}

const digestFooter = "同心监测 · 限流期间合并发送 · 详情见看板"

// digestMarkdown renders several events as one markdown message.
func digestMarkdown(vs []view, st mdStyle, withTitle, withFooter bool) string {
	var parts []string
	if withTitle {
		parts = append(parts, "### "+digestTitle(vs))
	}
	for i := range vs {
		parts = append(parts, vs[i].digestLine(true))
	}
	if withFooter {
		foot := digestFooter
		if st.font {
			foot = `<font color="comment">` + foot + `</font>`
		}
		parts = append(parts, foot)
	}
	return strings.Join(parts, "\n\n")
}

// digestText renders several events as one plain-text message.
func digestText(vs []view) string {
	parts := []string{"【" + digestTitle(vs) + "】"}
	for i := range vs {
		parts = append(parts, vs[i].digestLine(false))
	}
	parts = append(parts, digestFooter)
	return strings.Join(parts, "\n\n")
}

// renderAll renders a batch.
func renderAll(evs []alerts.Event, names func(string) string) []view {
	vs := make([]view, len(evs))
	for i, ev := range evs {
		vs[i] = render(ev, names)
	}
	return vs
}

// Values from outside (post ids, titles and reasons, ambassador names, alert
// ids) go into the robots' markdown: a post id from an export cell must not
// add a heading, a link, an @all or an <at> mention to the office's group.
// WeCom, DingTalk and Feishu each document a markdown subset but no escape
// syntax (a backslash may show as it is), so the characters that carry
// markup become their full-width forms, which read the same to the office
// (Chinese text uses them anyway), and line breaks become spaces: a value
// cannot start a line, so no heading (#), quote (>) or list; "://" is broken
// so that no bare URL becomes a link. Underscores
// inside a word stay, as they cannot open emphasis there and ids keep them.
var mdFullWidth = map[rune]rune{
	'*': '＊', '`': '｀', '~': '～', '[': '［', ']': '］', '<': '＜', '>': '＞',
	'#': '＃', '@': '＠', '|': '｜', '\\': '＼', '&': '＆',
}

// mdEscape makes an outside value inert in WeCom, DingTalk and Feishu
// (lark_md) markdown.
func mdEscape(s string) string {
	// A bare URL would still be made a link: its "://" is broken up.
	s = strings.ReplaceAll(oneLine(s), "://", "：／／")
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if fw, ok := mdFullWidth[r]; ok {
			b.WriteRune(fw)
			continue
		}
		if r == '_' && !(i > 0 && isWordRune(rs[i-1]) && i+1 < len(rs) && isWordRune(rs[i+1])) {
			b.WriteRune('＿')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// oneLine keeps a value on its line in any message: line breaks and other
// control characters become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\u0085' {
			return ' '
		}
		return r
	}, s)
}
