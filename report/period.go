package report

import (
	"fmt"
	"time"
)

// Beijing is the office's time zone: every day a report names is a Beijing
// day. Storage stays UTC. Beijing has had no daylight saving time since
// 1991, so a Beijing day is exactly [D-1 16:00, D 16:00) UTC.
var Beijing = time.FixedZone("Asia/Shanghai", 8*3600)

// Kind is daily (日报), weekly (周报) or monthly (月榜: rankings only).
type Kind string

const (
	Daily   Kind = "daily"
	Weekly  Kind = "weekly"
	Monthly Kind = "monthly"
)

// ParseKind reads a report's kind: "daily" or "weekly".
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case Daily, Weekly:
		return Kind(s), nil
	}
	return "", fmt.Errorf("report kind %q: want daily or weekly", s)
}

// Title is the kind's Chinese name.
func (k Kind) Title() string {
	switch k {
	case Weekly:
		return "周报"
	case Monthly:
		return "月报"
	}
	return "日报"
}

// Board is the kind's ranking: 日榜, 周榜, 月榜.
func (k Kind) Board() string {
	switch k {
	case Weekly:
		return "周榜"
	case Monthly:
		return "月榜"
	}
	return "日榜"
}

// Increase is what the period's increase is called: 日增, 周增 or 月增.
func (k Kind) Increase() string {
	switch k {
	case Weekly:
		return "周增"
	case Monthly:
		return "月增"
	}
	return "日增"
}

// Previous is how the period before is called, for 环比.
func (k Kind) Previous() string {
	switch k {
	case Weekly:
		return "上周"
	case Monthly:
		return "上月"
	}
	return "前一日"
}

// Period is what one report or ranking covers: Beijing days [First, Last],
// i.e. the UTC instants [From, To), and the period of the same kind before
// it (for 环比), [PrevFrom, From).
type Period struct {
	Kind        Kind
	First, Last time.Time // Beijing midnights of the first and last day
	From, To    time.Time // UTC
	PrevFrom    time.Time // UTC
}

// NewPeriod is the period of kind that holds Beijing day date: the day
// itself, its week (Monday to Sunday, as Chinese calendars count) or its
// calendar month.
func NewPeriod(kind Kind, date time.Time) Period {
	y, m, d := date.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, Beijing)
	var first, next, prev time.Time
	switch kind {
	case Weekly:
		first = day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		next, prev = first.AddDate(0, 0, 7), first.AddDate(0, 0, -7)
	case Monthly:
		first = time.Date(y, m, 1, 0, 0, 0, 0, Beijing)
		next, prev = first.AddDate(0, 1, 0), first.AddDate(0, -1, 0)
	default:
		first = day
		next, prev = day.AddDate(0, 0, 1), day.AddDate(0, 0, -1)
	}
	return Period{Kind: kind, First: first, Last: next.AddDate(0, 0, -1), From: first.UTC(), To: next.UTC(), PrevFrom: prev.UTC()}
}

// Days is how many Beijing days the period holds.
func (p Period) Days() int { return int(p.To.Sub(p.From) / (24 * time.Hour)) }

// ParseDate reads YYYY-MM-DD as a Beijing day.
func ParseDate(s string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02", s, Beijing)
	if err != nil {
		return time.Time{}, fmt.Errorf("--date %q: want a Beijing day as YYYY-MM-DD", s)
	}
	return t, nil
}

// Yesterday is the Beijing day before now's: the morning report's day.
func Yesterday(now time.Time) time.Time {
	return now.In(Beijing).AddDate(0, 0, -1)
}

// Label is the period as the office writes it: 2026年12月2日 or
// 2026年11月26日—12月2日.
func (p Period) Label() string {
	if p.First.Equal(p.Last) {
		return p.First.Format("2006年1月2日")
	}
	if p.First.Year() != p.Last.Year() {
		return p.First.Format("2006年1月2日") + "—" + p.Last.Format("2006年1月2日")
	}
	return p.First.Format("2006年1月2日") + "—" + p.Last.Format("1月2日")
}

// Slug names the period's files by its first day: daily-2026-12-02,
// weekly-2026-11-30.
func (p Period) Slug() string { return string(p.Kind) + "-" + p.First.Format("2006-01-02") }

// chartDays is how many Beijing days the daily chart shows, ending with the period.
const chartDays = 14

// Params are the query parameters of the period.
func (p Period) Params(c Config) Params {
	f := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }
	ps := c.Index.params()
	for k, v := range map[string]string{
		"from": f(p.From), "to": f(p.To), "prev_from": f(p.PrevFrom),
		"chart_from":   f(p.Last.AddDate(0, 0, -(chartDays - 1))),
		"first_day":    p.First.Format("2006-01-02"),
		"last_day":     p.Last.Format("2006-01-02"),
		"days":         fmt.Sprint(p.Days()),
		"period":       string(p.Kind),
		"period_start": p.First.Format("2006-01-02"),
	} {
		ps[k] = v
	}
	return ps
}
