package wechat

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// chinaTime is the console's time zone (China has no daylight saving time).
var chinaTime = time.FixedZone("CST", 8*3600)

// normalizeCell folds full-width digits and punctuation to ASCII and trims.
func normalizeCell(s string) string {
	s = strings.TrimSpace(strings.Trim(s, "\ufeff\u00a0\u3000 \t"))
	if s == "" {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case r == '，':
			b.WriteRune(',')
		case r == '．':
			b.WriteRune('.')
		case r == '％':
			b.WriteRune('%')
		case r == '：':
			b.WriteRune(':')
		case r == '／':
			b.WriteRune('/')
		case r == '＋':
			b.WriteRune('+')
		case r == '－':
			b.WriteRune('-')
		case r == '\u00a0' || r == '\u3000':
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// absent reports whether a cell means "no value".
func absent(s string) bool {
	switch s {
	case "", "-", "--", "—", "/", "N/A", "n/a", "暂无", "暂无数据":
		return true
	}
	return false
}

var errNegative = errors.New("negative count")

// parseCount reads a counter: "1234", "1,234", "1.2万", "3.4w", "1.1亿",
// "10万+", "1.2345E4" (a spreadsheet number). nil for an absent value.
func parseCount(raw string) (*int64, error) {
	s := normalizeCell(raw)
	if absent(s) {
		return nil, nil
	}
	s = strings.TrimSuffix(s, "+")
	s = strings.TrimSuffix(strings.TrimSuffix(s, "次"), "个")
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "万"):
		mult, s = 1e4, strings.TrimSuffix(s, "万")
	case strings.HasSuffix(s, "亿"):
		mult, s = 1e8, strings.TrimSuffix(s, "亿")
	case strings.HasSuffix(s, "w"), strings.HasSuffix(s, "W"):
		mult, s = 1e4, s[:len(s)-1]
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1e3, s[:len(s)-1]
	}
	s = strings.TrimSpace(s)
	if mult == 1 && !strings.ContainsAny(s, ".eE") {
		if !validThousands(s) {
			return nil, fmt.Errorf("not a count")
		}
		v, err := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("not a count")
		}
		if v < 0 {
			return nil, errNegative
		}
		return &v, nil
	}
	if strings.Contains(s, ",") && !validThousands(s) {
		return nil, fmt.Errorf("not a count")
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("not a count")
	}
	f *= mult
	if f < 0 {
		return nil, errNegative
	}
	if f > 1e15 {
		return nil, fmt.Errorf("count out of range")
	}
	r := math.Round(f)
	if mult == 1 && math.Abs(f-r) > 1e-6 {
		return nil, fmt.Errorf("a count must be a whole number")
	}
	v := int64(r)
	return &v, nil
}

// validThousands accepts "1234", "1,234", "12,345,678" and an optional
// fraction after them; it rejects "1,2,3".
var thousandsRE = regexp.MustCompile(`^-?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?$`)

func validThousands(s string) bool { return thousandsRE.MatchString(s) }

// parseRate reads 完播率: "4.41%" → 0.0441. A bare number is a fraction when
// it is at most 1 (a spreadsheet cell 0.0441) and a percentage above
// (44.1 → 0.441). nil for an absent value.
func parseRate(raw string) (*float64, error) {
	s := normalizeCell(raw)
	if absent(s) {
		return nil, nil
	}
	pct := strings.HasSuffix(s, "%")
	s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("not a percentage")
	}
	if pct || f > 1 {
		f /= 100
	}
	if f < 0 || f > 1 {
		return nil, fmt.Errorf("a completion rate must be from 0%% to 100%%")
	}
	f = math.Round(f*1e9) / 1e9 // drop float noise from "4.41" / 100
	return &f, nil
}

var durationRE = regexp.MustCompile(`^(?:(\d+(?:\.\d+)?)\s*(?:小时|时|h))?\s*(?:(\d+(?:\.\d+)?)\s*(?:分钟|分|min|m))?\s*(?:(\d+(?:\.\d+)?)\s*(?:秒|s|sec))?$`)

// parseSeconds reads 平均播放时长: "14.73秒", "14.73s", "14.73", "1分5秒",
// "01:05", "1:02:03". nil for an absent value.
func parseSeconds(raw string) (*float64, error) {
	s := normalizeCell(raw)
	if absent(s) {
		return nil, nil
	}
	var secs float64
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) > 3 {
			return nil, fmt.Errorf("not a duration")
		}
		for _, p := range parts {
			f, err := strconv.ParseFloat(p, 64)
			if err != nil || f < 0 {
				return nil, fmt.Errorf("not a duration")
			}
			secs = secs*60 + f
		}
	} else if f, err := strconv.ParseFloat(s, 64); err == nil {
		secs = f
	} else {
		m := durationRE.FindStringSubmatch(s)
		if m == nil || (m[1] == "" && m[2] == "" && m[3] == "") {
			return nil, fmt.Errorf("not a duration")
		}
		for i, unit := range []float64{3600, 60, 1} {
			if m[i+1] != "" {
				f, _ := strconv.ParseFloat(m[i+1], 64)
				secs += f * unit
			}
		}
	}
	if secs < 0 || math.IsNaN(secs) || math.IsInf(secs, 0) || secs > 366*24*3600 {
		return nil, fmt.Errorf("not a duration")
	}
	secs = math.Round(secs*1e6) / 1e6
	return &secs, nil
}

var dateTimeRE = regexp.MustCompile(`^(\d{4})\s*[/\-.年]\s*(\d{1,2})\s*[/\-.月]\s*(\d{1,2})\s*日?(?:\s*[T ]?\s*(\d{1,2})\s*[:时]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2})(?:\.\d+)?\s*秒?)?\s*分?)?$`)

// parseTime reads 发布时间 in China time: "2026/06/25", "2026/06/25 18:30",
// "2026-06-25 18:30:05", "2026年06月25日 18时30分", RFC 3339, or a number
// (unix seconds or milliseconds, or a spreadsheet date serial).
func parseTime(raw string) (time.Time, error) {
	s := normalizeCell(raw)
	if absent(s) {
		return time.Time{}, errors.New("empty")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if m := dateTimeRE.FindStringSubmatch(s); m != nil {
		n := make([]int, 6)
		for i := range n {
			if m[i+1] != "" {
				n[i], _ = strconv.Atoi(m[i+1])
			}
		}
		t := time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], 0, chinaTime)
		if t.Year() != n[0] || int(t.Month()) != n[1] || t.Day() != n[2] || t.Hour() != n[3] || t.Minute() != n[4] || t.Second() != n[5] {
			return time.Time{}, errors.New("not a valid date")
		}
		return t.UTC(), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		switch {
		case f > 1e11: // unix milliseconds
			return time.UnixMilli(int64(f)).UTC(), nil
		case f > 1e8: // unix seconds
			return time.Unix(int64(f), 0).UTC(), nil
		case f >= 1 && f < 2958466: // a spreadsheet serial, 1900 date system
			return excelTime(f, false), nil
		}
	}
	return time.Time{}, errors.New("not a date and time")
}

// excelTime converts a spreadsheet date serial (China wall time) to UTC.
func excelTime(serial float64, date1904 bool) time.Time {
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, chinaTime)
	if date1904 {
		base = time.Date(1904, 1, 1, 0, 0, 0, 0, chinaTime)
	}
	days := math.Floor(serial)
	secs := math.Round((serial - days) * 86400)
	return base.AddDate(0, 0, int(days)).Add(time.Duration(secs) * time.Second).UTC()
}

// quote shows a cell value in an error message, shortened.
func quote(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}
