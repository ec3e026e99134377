package report

import "testing"

// The number check the engine test relies on tells a right print from a
// wrong one, and the formatter prints what it accepts.
func TestPrintedNumbersAreCheckedAgainstTheirValues(t *testing.T) {
	for _, c := range []struct {
		v    any
		f    string
		text string
		ok   bool
	}{
		{int64(12345), fmtInt, "12,345", true},
		{int64(12345), fmtInt, "12,346", false},
		{uint64(7053561), fmtWan, "705.4万", true},
		{uint64(7053561), fmtWan, "705.3万", false},
		{0.5732, fmtPct, "57.3%", true},
		{0.5732, fmtPct, "57.4%", false},
		{-0.155, fmtSPct, "-15.5%", true},
		{0.011, fmtSPct, "1.1%", false}, // a rise needs its +
		{nil, fmtSPct, "—", true},
		{nil, fmtInt, "0", false}, // NULL is never printed as zero
		{2826.86, fmtDec, "2826.9", true},
	} {
		err := matches(c.text, c.v, c.f)
		if (err == nil) != c.ok {
			t.Errorf("matches(%q, %v, %s) = %v, want ok %v", c.text, c.v, c.f, err, c.ok)
		}
		if c.ok {
			if got := formatValue(c.v, c.f); got != c.text {
				t.Errorf("formatValue(%v, %s) = %q, want %q", c.v, c.f, got, c.text)
			}
		}
	}
}
