package snapshot

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Marshal encodes a snapshot as the topic's JSON value, times in UTC. It
// writes the fixed schema directly (the producer's hot path); the result is
// what encoding/json makes of the Snapshot type, field for field.
func Marshal(s *Snapshot) ([]byte, error) {
	return AppendJSON(make([]byte, 0, 384), s), nil
}

// AppendJSON appends the JSON value of s to b.
func AppendJSON(b []byte, s *Snapshot) []byte {
	b = append(b, `{"schema":`...)
	b = strconv.AppendInt(b, SchemaVersion, 10)
	b = appendField(b, "platform", s.Platform)
	b = appendField(b, "ambassador_id", s.AmbassadorID)
	b = appendField(b, "account_id", s.AccountID)
	b = appendField(b, "post_id", s.PostID)
	b = appendTime(b, "published_at", s.PublishedAt)
	b = appendTime(b, "observed_at", s.ObservedAt)
	if s.State != "" {
		b = appendField(b, "state", s.State)
	}
	for i := range Counters {
		b = appendInt(b, Counters[i].Name, Counters[i].Get(&s.Metrics))
	}
	for i := range Gauges {
		b = appendFloat(b, Gauges[i].Name, Gauges[i].Get(&s.Metrics))
	}
	b = appendField(b, "source", s.Source)
	if f := s.Facts; f != nil {
		b = append(appendKey(b, "facts"), `{"title":`...)
		b = appendString(b, f.Title)
		if f.URL != "" {
			b = appendField(b, "url", f.URL)
		}
		if len(f.Topics) > 0 {
			b = append(appendKey(b, "topics"), '[')
			for i, t := range f.Topics {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, t)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	if r := s.RepostOf; r != nil {
		b = append(appendKey(b, "repost_of"), `{"platform":`...)
		b = appendString(b, r.Platform)
		b = appendField(b, "post_id", r.PostID)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendKey(b []byte, k string) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func appendField(b []byte, k, v string) []byte {
	return appendString(appendKey(b, k), v)
}

func appendTime(b []byte, k string, t time.Time) []byte {
	b = append(appendKey(b, k), '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendInt(b []byte, k string, v *int64) []byte {
	if v == nil {
		return b // absent, never zero
	}
	return strconv.AppendInt(appendKey(b, k), *v, 10)
}

func appendFloat(b []byte, k string, v *float64) []byte {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return b // JSON has no NaN or infinity: absent
	}
	// As encoding/json: the shortest form that round-trips, in exponent
	// form only for very small or very large values, as 1e-07 → 1e-7.
	f, format := *v, byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(appendKey(b, k), f, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b
}

const hex = "0123456789abcdef"

// appendString writes a JSON string: quotes, backslashes and control
// characters escaped, and <, >, & as encoding/json does; invalid UTF-8
// becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
