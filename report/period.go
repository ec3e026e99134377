package report

import (
	"fmt"
	"time"
)

// Beijing is the office's time zone: every day a report names is a Beijing
// day. Storage stays UTC. Beijing has had no daylight saving time since
// 1991, so a Beijing day is exactly [D-1 16:00, D 16:00) UTC.
var Beijing = time.FixedZone("Asia/Shanghai", 8*3600)

// Kind is daily (日报) or weekly (周报).
type Kind string

const (
	Daily  Kind = "daily"
	Weekly Kind = "weekly"
)

// ParseKind reads "daily" or "weekly".
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case Daily, Weekly:
		return Kind(s), nil
	}
	return "", fmt.Errorf("report kind %q: want daily or weekly", s)
}

// Title is the kind's Chinese name.
func (k Kind) Title() string {
	if k == Weekly {
		return "周报"
	}
	return "日报"
}

// Increase is what the period's increase is called: 日增 or 周增.
func (k Kind) Increase() string {
	if k == Weekly {
		return "周增"
	}
	return "日增"
}

// Period is what one report covers: Beijing days [First, Last], i.e. the
// UTC instants [From, To), and the period of the same length before it
// (for 环比), [PrevFrom, From).
type Period struct {
	Kind        Kind
	First, Last time.Time // Beijing midnights of the first and last day
	From, To    time.Time // UTC
	PrevFrom    time.Time // UTC
}

// NewPeriod is the period of kind that ends with Beijing day date: a daily
// report covers that day, a weekly report the 7 days ending with it.
func NewPeriod(kind Kind, date time.Time) Period {
	y, m, d := date.Date()
	last := time.Date(y, m, d, 0, 0, 0, 0, Beijing)
	days := 1
	if kind == Weekly {
		days = 7
	}
	first := last.AddDate(0, 0, -(days - 1))
	return Period{
		Kind: kind, First: first, Last: last,
		From: first.UTC(), To: last.AddDate(0, 0, 1).UTC(),
		PrevFrom: first.AddDate(0, 0, -days).UTC(),
	}
}

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

// Slug names the period's files: daily-2026-12-02, weekly-2026-12-02.
func (p Period) Slug() string { return string(p.Kind) + "-" + p.Last.Format("2006-01-02") }

// chartDays is how many Beijing days the daily chart shows, ending with the period.
const chartDays = 14

// Params are the query parameters of the period.
func (p Period) Params(c Config) Params {
	f := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }
	return Params{
		"from": f(p.From), "to": f(p.To), "prev_from": f(p.PrevFrom),
		"chart_from":     f(p.Last.AddDate(0, 0, -(chartDays - 1))),
		"topic":          c.Topic,
		"topic_platform": c.TopicPlatform,
		"target":         fmt.Sprint(c.Target),
	}
}
