package wechat

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/tongxin/tongxin/ingest"
)

// feedStats is a post's counters in the feed. Counters are pointers: a
// counter the vendor leaves out or sets to null is absent.
type feedStats struct {
	Play           ingest.Int `json:"play"`
	Like           ingest.Int `json:"like"`
	Comment        ingest.Int `json:"comment"`
	Share          ingest.Int `json:"share"`
	Forward        ingest.Int `json:"forward"`
	Recommend      ingest.Int `json:"recommend"`
	CompletionRate *flexFloat `json:"completion_rate"`
	AvgPlaySeconds *flexFloat `json:"avg_play_seconds"`
}

type feedPost struct {
	ExportID    string     `json:"export_id"`
	FinderID    string     `json:"finder_id"`
	Description string     `json:"description"`
	PublishedAt string     `json:"published_at"`
	Stats       *feedStats `json:"stats"`
}

type feedList struct {
	Posts      []feedPost `json:"posts"`
	NextCursor string     `json:"next_cursor"`
	HasMore    *bool      `json:"has_more"`
	RequestID  string     `json:"request_id"`
}

type feedBatch struct {
	Stats     []feedPost `json:"stats"`
	Missing   []string   `json:"missing"`
	RequestID string     `json:"request_id"`
}

type feedError struct {
	Error *struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// flexFloat is a number written as a JSON number or a numeric string.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		s = strings.TrimSpace(str)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%s is not a number", quote(s))
	}
	*f = flexFloat(v)
	return nil
}
