package report

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
)

// Platform names and colours as the office sees them.
var (
	platformNames = map[string]string{"douyin": "抖音", "weibo": "微博", "wechat_channels": "视频号", "": "合计"}
	// Distinct hues, so a colour in a picture says which platform drew it.
	platformColors = map[string]string{"douyin": "#3b5bdb", "weibo": "#f08c00", "wechat_channels": "#2f9e44"}
	platformOrder  = []string{"douyin", "weibo", "wechat_channels"}
)

func platformName(p string) string {
	if n, ok := platformNames[p]; ok {
		return n
	}
	return p
}

// niceStep is a round axis step for a maximum of max over about n ticks.
func niceStep(max float64, n int) float64 {
	if max <= 0 {
		return 1
	}
	raw := max / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

func axisLabel(v float64) string {
	if v >= 1e4 {
		return fmt.Sprintf("%g万", v/1e4)
	}
	return fmt.Sprintf("%g", v)
}

// dailyChart draws the series rows (daily_series: day, platform, col) as
// stacked bars per Beijing day. The bars are the data; the axis ticks are
// only a scale.
func dailyChart(rows []Row, days []string, col, title string, width, height int) template.HTML {
	vals := map[string]map[string]float64{}
	plats := map[string]bool{}
	for _, r := range rows {
		day, _ := r.Get("day").(string)
		p, _ := r.Get("platform").(string)
		x, ok := Number(r.Get(col))
		if !ok {
			continue
		}
		if vals[day] == nil {
			vals[day] = map[string]float64{}
		}
		vals[day][p] += x
		plats[p] = true
	}
	maxV := 0.0
	for _, d := range days {
		s := 0.0
		for _, v := range vals[d] {
			s += math.Max(v, 0)
		}
		maxV = math.Max(maxV, s)
	}
	step := niceStep(maxV, 4)
	top := math.Max(step*math.Ceil(maxV/step), step)
	const left, right, topPad, bottom = 56, 10, 30, 40
	pw, ph := float64(width-left-right), float64(height-topPad-bottom)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`, width, height, width, height, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14" font-weight="bold" fill="#222">%s</text>`, left, template.HTMLEscapeString(title))
	for v := 0.0; v <= top+step/2; v += step {
		y := float64(topPad) + ph - v/top*ph
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, left, width-right, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#666">%s</text>`, left-4, y+4, axisLabel(v))
	}
	bw := pw / float64(len(days))
	for i, d := range days {
		x := float64(left) + float64(i)*bw + bw*0.15
		y := float64(topPad) + ph
		for _, p := range platformOrder {
			v := math.Max(vals[d][p], 0)
			if v == 0 {
				continue
			}
			h := v / top * ph
			y -= h
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s %.0f</title></rect>`,
				x, y, bw*0.7, h, platformColors[p], d, platformName(p), v)
		}
		label := d
		if len(d) == len("2006-01-02") {
			label = d[5:]
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle" fill="#444">%s</text>`, x+bw*0.35, height-bottom+14, label)
	}
	lx := left
	var ps []string
	for p := range plats {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return indexOf(platformOrder, ps[i]) < indexOf(platformOrder, ps[j]) })
	for _, p := range ps {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" font-size="12" fill="#333">%s</text>`,
			lx, height-16, platformColors[p], lx+16, height-6, platformName(p))
		lx += 80
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return len(xs)
}

// barChart draws rows as horizontal bars of col, labelled with labelCol and
// the printed value (marked with its query like every printed number).
func barChart(rows []Row, labelCol, col, f, color string, width int) template.HTML {
	const rowH, left, right = 26, 120, 110
	height := rowH*len(rows) + 10
	maxV := 0.0
	for _, r := range rows {
		if x, ok := Number(r.Get(col)); ok {
			maxV = math.Max(maxV, x)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`, width, height, width, height)
	pw := float64(width - left - right)
	for i, r := range rows {
		y := 5 + i*rowH
		label, _ := r.Get(labelCol).(string)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13" text-anchor="end" fill="#222">%s</text>`, left-8, y+17, template.HTMLEscapeString(label))
		x, _ := Number(r.Get(col))
		w := 0.0
		if maxV > 0 {
			w = math.Max(x, 0) / maxV * pw
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`, left, y+3, w, rowH-8, color)
		fmt.Fprintf(&b, `<text class="n" %s x="%.1f" y="%d" font-size="12" fill="#222">%s</text>`, numAttrs(r, col, f),
			float64(left)+w+6, y+17, template.HTMLEscapeString(formatValue(r.Get(col), f)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// progressBar draws the topic's progress against its target.
func progressBar(r Row, width int) template.HTML {
	p, _ := Number(r.Get("progress"))
	w := math.Min(math.Max(p, 0), 1) * float64(width-4)
	return template.HTML(fmt.Sprintf(`<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="28" viewBox="0 0 %d 28">`+
		`<rect x="2" y="4" width="%d" height="20" rx="4" fill="#e9ecef"/>`+
		`<rect x="2" y="4" width="%.1f" height="20" rx="4" fill="#c92a2a"/></svg>`, width, width, width-4, w))
}
