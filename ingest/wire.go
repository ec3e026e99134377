package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Int is a JSON integer a platform may send as a number or as a numeric
// string ("play_count": "300", "remind_in": "798114"). Set says whether the
// field was present and not null: an absent counter stays absent, never zero.
type Int struct {
	V   int64
	Set bool
}

// Ptr is the value as a counter: nil when absent.
func (n Int) Ptr() *int64 {
	if !n.Set {
		return nil
	}
	v := n.V
	return &v
}

func (n *Int) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*n = Int{}
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		s = strings.TrimSpace(str)
		if s == "" {
			*n = Int{}
			return nil
		}
	} else if b[0] != '-' && (b[0] < '0' || b[0] > '9') {
		return fmt.Errorf("want a number, got %.20s", s)
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = Int{V: v, Set: true}
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
		return fmt.Errorf("want an integer, got %.24q", s)
	}
	*n = Int{V: int64(f), Set: true}
	return nil
}
