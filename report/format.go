package report

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// The number formats the report prints. Each printed number is wrapped in a
// span that names its query, row key and column and its format, so the
// printed text can be checked against a fresh run of the query.
const (
	fmtInt  = "int"  // 12,345
	fmtWan  = "wan"  // 1234.5万 (one decimal of 万)
	fmtPct  = "pct"  // 12.3%
	fmtSPct = "spct" // +12.3% (环比)
	fmtDec  = "dec"  // 12.3
	fmtSInt = "sint" // +1,234 (a signed difference)
)

// formatValue prints v in format f; NULL is "—".
func formatValue(v any, f string) string {
	x, ok := Number(v)
	if !ok {
		if s, isStr := v.(string); isStr {
			return s
		}
		return "—"
	}
	switch f {
	case fmtWan:
		if math.Abs(x) < 1e4 {
			return groupThousands(int64(math.Round(x)))
		}
		return strconv.FormatFloat(x/1e4, 'f', 1, 64) + "万"
	case fmtPct:
		return strconv.FormatFloat(x*100, 'f', 1, 64) + "%"
	case fmtSPct:
		s := strconv.FormatFloat(x*100, 'f', 1, 64) + "%"
		if x >= 0 {
			s = "+" + s
		}
		return s
	case fmtDec:
		return strconv.FormatFloat(x, 'f', 1, 64)
	case fmtSInt:
		s := groupThousands(int64(math.Round(x)))
		if math.Round(x) > 0 {
			s = "+" + s
		}
		return s
	default:
		if u, isU := v.(uint64); isU {
			return groupThousandsU(u)
		}
		return groupThousands(int64(math.Round(x)))
	}
}

func groupThousands(n int64) string {
	if n < 0 {
		return "-" + groupThousandsU(uint64(-n))
	}
	return groupThousandsU(uint64(n))
}

func groupThousandsU(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// numAttrs are the attributes that tie a printed number to its query.
func numAttrs(r Row, col, f string) string {
	return fmt.Sprintf(`data-q="%s" data-k="%s" data-f="%s" data-fmt="%s"`,
		template.HTMLEscapeString(r.Query), template.HTMLEscapeString(r.Key), template.HTMLEscapeString(col), f)
}

// num is a printed number as HTML: <span class="n" data-q=…>12,345</span>.
func num(r Row, col, f string) template.HTML {
	return template.HTML(fmt.Sprintf(`<span class="n" %s>%s</span>`, numAttrs(r, col, f),
		template.HTMLEscapeString(formatValue(r.Get(col), f))))
}
