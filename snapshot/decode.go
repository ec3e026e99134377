package snapshot

import (
	"strconv"
	"unicode/utf8"
)

// decodeFast reads the flat object Marshal writes — in any key order, with
// any whitespace, nulls for absent metrics — without reflection. It returns
// false, having possibly filled part of s, for anything else (escapes,
// unknown keys, a type it does not expect, invalid UTF-8, a post's "facts"
// object, which few snapshots carry): the caller then
// decodes with encoding/json, which accepts or rejects exactly as before.
func decodeFast(b []byte, s *Snapshot) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	next := 0 // the metric expected next: Marshal writes them in table order
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return false
		}
		j = skipSpace(b, j)
		if j >= len(b) || b[j] != ':' {
			return false
		}
		j = skipSpace(b, j+1)
		if j, ok = s.field(key, b, j, &next); !ok {
			return false
		}
		j = skipSpace(b, j)
		if j >= len(b) {
			return false
		}
		switch b[j] {
		case ',':
			i = skipSpace(b, j+1)
		case '}':
			return skipSpace(b, j+1) == len(b)
		default:
			return false
		}
	}
}

// field decodes the value at b[i:] into the field named key and returns
// where the value ends; next is the metric to look for first.
func (s *Snapshot) field(key string, b []byte, i int, next *int) (int, bool) {
	var str *string
	var num **int64
	var flt **float64
	switch key {
	case "schema":
		tok, j := numberToken(b, i)
		if !validNumber(tok) {
			return 0, false
		}
		v, err := strconv.ParseInt(string(tok), 10, 64)
		if err != nil || v != int64(int(v)) {
			return 0, false
		}
		s.Schema = int(v)
		return j, true
	case "platform":
		str = &s.Platform
	case "ambassador_id":
		str = &s.AmbassadorID
	case "account_id":
		str = &s.AccountID
	case "post_id":
		str = &s.PostID
	case "source":
		str = &s.Source
	case "state":
		str = &s.State
	case "published_at", "observed_at":
		_, j, ok := plainString(b, i)
		if !ok {
			return 0, false
		}
		t := &s.PublishedAt
		if key == "observed_at" {
			t = &s.ObservedAt
		}
		// The same parser encoding/json uses for time.Time.
		if t.UnmarshalJSON(b[i:j]) != nil {
			return 0, false
		}
		return j, true
	default:
		num, flt = s.metricField(key, next)
		if num == nil && flt == nil {
			return 0, false
		}
	}
	switch {
	case str != nil:
		v, j, ok := plainString(b, i)
		if !ok {
			return 0, false
		}
		*str = v
		return j, true
	case isNull(b, i):
		if num != nil {
			*num = nil
		} else {
			*flt = nil
		}
		return i + 4, true
	case num != nil:
		tok, j := numberToken(b, i)
		if !validNumber(tok) {
			return 0, false
		}
		v, err := strconv.ParseInt(string(tok), 10, 64)
		if err != nil {
			return 0, false
		}
		*num = &v
		return j, true
	default:
		tok, j := numberToken(b, i)
		if !validNumber(tok) {
			return 0, false
		}
		v, err := strconv.ParseFloat(string(tok), 64)
		if err != nil {
			return 0, false
		}
		*flt = &v
		return j, true
	}
}

// metricField is the Metrics field of the metric named key: a counter's or
// a gauge's, or neither for a key that names no metric. The search starts at
// metric *next (counters, then gauges), and *next moves past the one found:
// in what Marshal wrote, the first metric looked at is the one.
func (s *Snapshot) metricField(key string, next *int) (**int64, **float64) {
	const n = NumCounters + len(Gauges)
	for k, m := *next, *next+n; k < m; k++ {
		i := k % n
		if i < NumCounters && Counters[i].Name == key {
			*next = i + 1
			return Counters[i].Field(&s.Metrics), nil
		}
		if i >= NumCounters && Gauges[i-NumCounters].Name == key {
			*next = i + 1
			return nil, Gauges[i-NumCounters].Field(&s.Metrics)
		}
	}
	return nil, nil
}

// plainString reads a JSON string without escapes at b[i] and returns its
// contents and the index after its closing quote.
func plainString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			v := b[i+1 : j]
			if !utf8.Valid(v) {
				return "", 0, false
			}
			return string(v), j + 1, true
		case c == '\\' || c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}

// validNumber reports whether tok is a JSON number:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(tok []byte) bool {
	i := 0
	if i < len(tok) && tok[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(tok) && tok[i] >= '0' && tok[i] <= '9' {
			i++
			n++
		}
		return n
	}
	start := i
	if n := digits(); n == 0 || (n > 1 && tok[start] == '0') {
		return false
	}
	if i < len(tok) && tok[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(tok) && (tok[i] == 'e' || tok[i] == 'E') {
		i++
		if i < len(tok) && (tok[i] == '+' || tok[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(tok)
}

// numberToken returns the run of number characters at b[i].
func numberToken(b []byte, i int) ([]byte, int) {
	j := i
	for j < len(b) {
		c := b[j]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			j++
			continue
		}
		break
	}
	return b[i:j], j
}

func isNull(b []byte, i int) bool {
	return len(b)-i >= 4 && string(b[i:i+4]) == "null"
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
