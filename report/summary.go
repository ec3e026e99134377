package report

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// Fingerprint identifies the report's content: its period and every
// query's rows. Two runs over the same data have the same fingerprint (the
// time it was generated is left out), so a delivery can tell a report it
// already sent from a new version of it.
func (r *Report) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", r.Period.Slug())
	names := make([]string, 0, len(r.Rows))
	for n := range r.Rows {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, row := range r.Rows[n] {
			cols := make([]string, 0, len(row.Vals))
			for c := range row.Vals {
				cols = append(cols, c)
			}
			sort.Strings(cols)
			fmt.Fprintf(h, "%s\x00%s", n, row.Key)
			for _, c := range cols {
				fmt.Fprintf(h, "\x00%s=%v", c, row.Vals[c])
			}
			h.Write([]byte{'\n'})
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Title is the report's title line: 寻美西山传播日报 2026年11月22日.
func (r *Report) Title() string {
	return r.Config.Campaign + "传播" + r.Period.Kind.Title() + " " + r.Period.Label()
}

// Summary is the report's headline in plain lines, for the chat robots'
// markdown: every number from the same rows the HTML prints. Names and
// other text from the data pass through esc (each robot's markdown escape).
func (r *Report) Summary(esc func(string) string) []string {
	t := r.Find("platform_totals", "")
	tp := r.One("topic_progress")
	k := r.One("posts_100k")
	rs := r.One("roster_summary")
	inc := r.Period.Kind.Increase()
	lines := []string{
		fmt.Sprintf("%s播放 %s（环比 %s），%s互动 %s（环比 %s）", inc, formatValue(t.Get("plays_inc"), fmtWan), formatValue(t.Get("plays_change"), fmtSPct),
			inc, formatValue(t.Get("engagement_inc"), fmtWan), formatValue(t.Get("engagement_change"), fmtSPct)),
		fmt.Sprintf("话题“%s”累计 %s，目标 %s，完成 %s", esc(fmt.Sprint(tp.Get("topic"))), formatValue(tp.Get("value"), fmtWan), formatValue(tp.Get("target"), fmtWan),
			formatValue(tp.Get("progress"), fmtPct)),
		fmt.Sprintf("10万+作品 %s（本期新增 %s）", formatValue(k.Get("posts"), fmtInt), formatValue(k.Get("new_posts"), fmtInt)),
	}
	var top []string
	for _, row := range r.Rows["ambassador_ranking"][:min(3, len(r.Rows["ambassador_ranking"]))] {
		name, _ := row.Get("name").(string)
		top = append(top, fmt.Sprintf("%s %s", esc(name), formatValue(row.Get("engagement_inc"), fmtInt)))
	}
	if len(top) > 0 {
		lines = append(lines, "互动前三："+strings.Join(top, "、"))
	}
	var alerts []string
	for _, row := range r.Rows["alerts_summary"] {
		kind, _ := row.Get("kind").(string)
		name := map[string]string{"viral": "走红", "low_reach": "低传播"}[kind]
		if name == "" {
			name = esc(kind)
		}
		alerts = append(alerts, name+" "+formatValue(row.Get("opened"), fmtInt)+" 条")
	}
	if len(alerts) == 0 {
		alerts = []string{"无"}
	}
	lines = append(lines,
		fmt.Sprintf("本期发布 %s 人，未发布 %s 人；新开预警：%s", formatValue(rs.Get("posted"), fmtInt), formatValue(rs.Get("not_posted"), fmtInt), strings.Join(alerts, "，")))
	return lines
}
