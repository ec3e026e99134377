package alerts

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tongxin/tongxin/snapshot"
)

// The reasons are written for the publicity office: one English sentence
// with the numbers, then the same in Chinese.

var platformNames = map[string][2]string{
	snapshot.Douyin:         {"Douyin", "抖音"},
	snapshot.Weibo:          {"Weibo", "微博"},
	snapshot.WeChatChannels: {"WeChat Channels", "视频号"},
}

func platformName(p string, zh bool) string {
	if n, ok := platformNames[p]; ok {
		if zh {
			return n[1]
		}
		return n[0]
	}
	return p
}

// metricWords names the reach measure: "plays"/"播放", or on a platform
// without plays "likes"/"点赞".
func (d *Detector) metricWords(platform string) (en, zh string) {
	if d.cfg.ReachMetric[platform] == MetricLikes {
		return "likes", "点赞"
	}
	return "plays", "播放"
}

// num formats a count with thousands separators: 38,000.
func num(x float64) string {
	n := int64(math.Round(x))
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// times formats a ratio: 9.0×, 15×.
func times(x float64) string {
	switch {
	case math.IsInf(x, 0) || x > 1e6:
		return ">1,000,000×"
	case x >= 10:
		return num(x) + "×"
	}
	return strconv.FormatFloat(x, 'f', 1, 64) + "×"
}

// span formats a duration for people: 45 min, 3 h, 2.5 h, 3 d 4 h.
func span(d time.Duration, zh bool) string {
	minU, hU, dU := " min", " h", " d"
	if zh {
		minU, hU, dU = " 分钟", " 小时", " 天"
	}
	switch {
	case d < time.Hour:
		return strconv.Itoa(int(d.Round(time.Minute)/time.Minute)) + minU
	case d < 10*time.Hour:
		h := math.Round(d.Hours()*2) / 2
		return strconv.FormatFloat(h, 'f', -1, 64) + hU
	case d < 72*time.Hour:
		return strconv.Itoa(int(math.Round(d.Hours()))) + hU
	}
	days := int(d.Hours() / 24)
	h := int(math.Round(d.Hours())) - days*24
	if h == 0 {
		return strconv.Itoa(days) + dU
	}
	return strconv.Itoa(days) + dU + " " + strconv.Itoa(h) + hU
}

func hours(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }

func dataAge(age time.Duration) (en, zh string) {
	age = max(age, 0)
	return "Data " + span(age, false) + " old.", "数据为 " + span(age, true) + "前。"
}

// usual describes the baseline a judgement used.
func (d *Detector) usual(platform string, own bool, n int, reach float64, zh bool) string {
	if own {
		switch {
		case n <= 0 && zh:
			return "该代言人近期作品"
		case n <= 0:
			return "this ambassador's recent posts"
		case zh:
			return fmt.Sprintf("该代言人近 %d 条作品", n)
		}
		return fmt.Sprintf("this ambassador's %d recent posts", n)
	}
	if zh {
		return fmt.Sprintf("本活动%s作品，按该代言人影响力（%.2g 倍）折算", platformName(platform, true), reach)
	}
	return fmt.Sprintf("the campaign's %s posts, scaled to this ambassador's reach (%.2g×)", platformName(platform, false), reach)
}

func (d *Detector) viralReason(p *post, n viralNumbers, now time.Time, state string) string {
	m, mz := d.metricWords(p.platform)
	age := hours(n.age)
	win, winZ := "the last hour", "近 1 小时"
	if n.span.Round(time.Minute) != time.Hour {
		win, winZ = "the last "+span(n.span, false), "近 "+span(n.span, true)
	}
	da, daZ := dataAge(now.Sub(p.newest().at))
	base, baseZ := d.usual(p.platform, n.own, n.ownN, n.reach, false), d.usual(p.platform, n.own, n.ownN, n.reach, true)
	note, noteZ := "", ""
	if m == "likes" {
		note, noteZ = " (Weibo gives no plays: likes measure reach)", "（微博无播放量，以点赞计）"
	}
	if state == StateResolved {
		return fmt.Sprintf("Calmed down: +%s %s in %s, %s the usual pace (below %s for %s); %s %s at %s old, %s the usual %s%s. %s "+
			"热度回落：%s增加 %s 次%s，为常见速度的 %s（已连续%s低于 %s）；发布 %s共 %s 次，为常见水平 %s 的 %s。%s",
			num(n.gain), m, win, times(n.vratio), times(d.cfg.ViralResolveVelocityRatio), span(d.cfg.ViralResolveAfter, false),
			num(n.actual), m, span(age, false), times(n.ratio), num(n.expected), note, da,
			winZ, num(n.gain), mz, times(n.vratio), span(d.cfg.ViralResolveAfter, true), times(d.cfg.ViralResolveVelocityRatio),
			span(age, true), num(n.actual), num(n.expected), times(n.ratio), daZ)
	}
	head, headZ := "Taking off", "走红"
	if state == StateUpdate {
		head, headZ = "Still taking off", "持续走红"
	}
	return fmt.Sprintf("%s: %s %s at %s old, %s the usual %s at that age (%s)%s; +%s %s in %s, %s the usual pace. %s "+
		"%s：发布 %s%s %s 次%s，为同龄作品常见水平 %s（%s）的 %s；%s增加 %s 次，为常见速度的 %s。%s",
		head, num(n.actual), m, span(age, false), times(n.ratio), num(n.expected), base, note, num(n.gain), m, win, times(n.vratio), da,
		headZ, span(age, true), mz, num(n.actual), noteZ, num(n.expected), baseZ, times(n.ratio), winZ, num(n.gain), times(n.vratio), daZ)
}

func ordinal(pct float64) string {
	n := int(math.Round(pct))
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}

func (d *Detector) lowReason(p *post, n lowNumbers, now time.Time, state string) string {
	m, mz := d.metricWords(p.platform)
	da, daZ := dataAge(now.Sub(p.newest().at))
	base, baseZ := d.usual(p.platform, n.own, 0, n.reach, false), d.usual(p.platform, n.own, 0, n.reach, true)
	head, headZ := "Low reach", "传播偏低"
	switch state {
	case StateResolved:
		head, headZ = "Recovered", "已回升"
	case StateUpdate:
		head, headZ = "Still low reach", "仍然偏低"
	}
	note := ""
	if m == "likes" {
		note = " (Weibo gives no plays: likes measure reach)"
	}
	return fmt.Sprintf("%s: %s %s at %s old, %s percentile of %d comparable posts (%s)%s, %.0f%% of the usual %s; the %s percentile is %s. %s "+
		"%s：发布 %s%s %s 次，处于 %d 条同类作品（%s）的第 %.0f 百分位，为常见水平 %s 的 %.0f%%。%s",
		head, num(n.value), m, span(n.checkpoint, false), ordinal(n.pct), n.n, base, note, n.share*100, num(n.expected),
		ordinal(d.cfg.LowReachPercentile), num(n.p10), da,
		headZ, span(n.checkpoint, true), mz, num(n.value), n.n, baseZ, n.pct, num(n.expected), n.share*100, daZ)
}

func (d *Detector) expireReason(p *post, now time.Time) string {
	age := now.Sub(p.published)
	if len(p.series) == 0 {
		return fmt.Sprintf("Closed: the post is %s old and no longer watched; no data since the restart. 已关闭：作品发布已 %s，不再跟踪；重启后无新数据。",
			span(age, false), span(age, true))
	}
	m, mz := d.metricWords(p.platform)
	da, daZ := dataAge(now.Sub(p.newest().at))
	return fmt.Sprintf("Closed: the post is %s old and no longer watched; last seen at %s %s. %s 已关闭：作品发布已 %s，不再跟踪；最新%s %s 次。%s",
		span(age, false), num(p.newest().v), m, da, span(age, true), mz, num(p.newest().v), daZ)
}
