package report

import (
	"bytes"
	_ "embed"
	"html/template"
	"strings"
	"unicode"
)

//go:embed templates/style.css
var styleCSS string

//go:embed templates/report.html
var reportTemplate string

//go:embed templates/card.html
var cardTemplate string

// The PNG card's size in CSS pixels: wide enough for a chat robot's image
// preview, tall enough for the headline, the chart and the TOP5.
const (
	CardWidth  = 800
	CardHeight = 1000
)

var funcs = template.FuncMap{
	"num":          num,
	"platformName": func(v any) string { s, _ := v.(string); return platformName(s) },
	"kindName": func(v any) string {
		switch v {
		case "viral":
			return "走红"
		case "low_reach":
			return "低传播"
		}
		s, _ := v.(string)
		return s
	},
	"metricName": func(v any) string {
		if v == "engagement" {
			return "互动量"
		}
		return "播放量"
	},
	// reachName is a reach metric's Chinese name (amplifications).
	"reachName": func(v any) string {
		switch v {
		case "likes":
			return "点赞"
		case "plays":
			return "播放"
		}
		return "—"
	},
	"statusName": func(v any) string {
		if v == "open" {
			return "未解除"
		}
		return "已解除"
	},
	"chineseReason": chineseReason,
	"postTitle":     postTitle,
	"dailyChart":    dailyChart,
	"barChart":      barChart,
	"progressBar":   progressBar,
}

var (
	reportTmpl = template.Must(template.New("report").Funcs(funcs).Parse(reportTemplate))
	cardTmpl   = template.Must(template.New("card").Funcs(funcs).Parse(cardTemplate))
)

// view is what the templates see.
type view struct {
	*Report
	CSS                   template.CSS
	CardWidth, CardHeight int
}

// CutOff is the period's end as the office reads it.
func (v view) CutOff() string { return v.Period.To.In(Beijing).Format("2006-01-02 15:04") }

// GeneratedLabel is when the report was made, Beijing time.
func (v view) GeneratedLabel() string { return v.Generated.In(Beijing).Format("2006-01-02 15:04") }

// ChartDays are the Beijing days the daily charts show.
func (v view) ChartDays() []string {
	var out []string
	for i := chartDays - 1; i >= 0; i-- {
		out = append(out, v.Period.Last.AddDate(0, 0, -i).Format("2006-01-02"))
	}
	return out
}

// Top5 are the first five rows of the ambassador ranking, for the card.
func (v view) Top5() []Row {
	rows := v.Rows["ambassador_ranking"]
	return rows[:min(5, len(rows))]
}

// Head is the first n rows of a query.
func (v view) Head(query string, n int) []Row {
	rows := v.Rows[query]
	return rows[:min(n, len(rows))]
}

// NewerRanking says whether the ranking shown has versions before it
// (late data changed it after its first publication).
func (v view) NewerRanking(r Row) bool {
	x, _ := Number(r.Get("versions"))
	return x > 1
}

// HasEstimate says whether a row's estimated count is above zero.
func (v view) HasEstimate(r Row) bool {
	x, _ := Number(r.Get("estimated"))
	return x > 0
}

// chineseReason is the Chinese half of an alert's bilingual reason: from
// its first Han character on (the English comes first).
func chineseReason(v any) string {
	s, _ := v.(string)
	for i, r := range s {
		if unicode.Is(unicode.Han, r) {
			return strings.TrimSpace(s[i:])
		}
	}
	return s
}

// postTitle is a post's title (its id when it has none), cut to 40
// characters, linked to the post when its link is a web address.
func postTitle(r Row) template.HTML {
	title, _ := r.Get("title").(string)
	if title = strings.Join(strings.Fields(title), " "); title == "" {
		title, _ = r.Get("post_id").(string)
	}
	if rs := []rune(title); len(rs) > 40 {
		title = string(rs[:40]) + "…"
	}
	text := template.HTMLEscapeString(title)
	if u, _ := r.Get("url").(string); strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return template.HTML(`<a href="` + template.HTMLEscapeString(u) + `">` + text + `</a>`)
	}
	return template.HTML(text)
}

// HTML is the report as one self-contained page.
func (r *Report) HTML() ([]byte, error) { return r.exec(reportTmpl) }

// CardHTML is the summary card's page, CardWidth × CardHeight.
func (r *Report) CardHTML() ([]byte, error) { return r.exec(cardTmpl) }

func (r *Report) exec(t *template.Template) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, view{Report: r, CSS: template.CSS(styleCSS), CardWidth: CardWidth, CardHeight: CardHeight}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
