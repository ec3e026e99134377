package weibo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/tongxin/tongxin/ingest"
)

// id is a status or user id, sent as a JSON number or string; it is kept
// as its decimal text so 64-bit ids never pass through a float.
type id string

func (i *id) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*i = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*i = id(strings.TrimSpace(s))
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want an id, got %.24s", b)
		}
		if _, err := strconv.ParseUint(string(n), 10, 64); err != nil {
			return fmt.Errorf("want an integer id, got %.24s", b)
		}
		*i = id(n)
	}
	return nil
}

// envelope is Weibo's error answer: {"request","error_code","error"}, plus
// "error_description" on the OAuth2 endpoints.
type envelope struct {
	Request     string          `json:"request"`
	ErrorCode   json.RawMessage `json:"error_code"`
	Error       string          `json:"error"`
	Description string          `json:"error_description"`
}

func (e envelope) code() int {
	var n ingest.Int
	if json.Unmarshal(e.ErrorCode, &n) != nil || !n.Set {
		return 0
	}
	return int(n.V)
}

// parseEnvelope reports whether body is an error envelope.
func parseEnvelope(body []byte) (envelope, bool) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' {
		return envelope{}, false
	}
	var e envelope
	if json.Unmarshal(b, &e) != nil {
		return envelope{}, false
	}
	if len(e.ErrorCode) == 0 || string(e.ErrorCode) == "null" {
		// An OAuth2 answer may carry only "error".
		if e.Error == "" || bytes.Contains(b, []byte(`"access_token"`)) || bytes.Contains(b, []byte(`"statuses"`)) {
			return envelope{}, false
		}
	}
	return e, true
}

// timeline is user_timeline's answer.
type timeline struct {
	Statuses    *[]status  `json:"statuses"`
	TotalNumber ingest.Int `json:"total_number"`
}

type status struct {
	CreatedAt string     `json:"created_at"`
	ID        id         `json:"id"`
	IDStr     string     `json:"idstr"`
	MID       id         `json:"mid"`
	Text      string     `json:"text"`
	Deleted   ingest.Int `json:"deleted"`
	User      *struct {
		ID id `json:"id"`
	} `json:"user"`
	UID       id         `json:"uid"`
	Reposts   ingest.Int `json:"reposts_count"`
	Comments  ingest.Int `json:"comments_count"`
	Attitudes ingest.Int `json:"attitudes_count"`
	// Visible.Type: 0 public, 1 private, 3 a friend group, 4 close friends.
	Visible *struct {
		Type ingest.Int `json:"type"`
	} `json:"visible"`
	// RetweetedStatus is the original a repost carries; read only on an
	// official account's timeline (see the package doc).
	RetweetedStatus *struct {
		ID    id     `json:"id"`
		IDStr string `json:"idstr"`
		MID   id     `json:"mid"`
	} `json:"retweeted_status"`
}

// repostOf is the id of the status st reposts, or "".
func (st *status) repostOf() string {
	r := st.RetweetedStatus
	switch {
	case r == nil:
		return ""
	case r.IDStr != "":
		return r.IDStr
	case r.ID != "":
		return string(r.ID)
	}
	return string(r.MID)
}

// countEntry is one element of statuses/count's answer.
type countEntry struct {
	ID        id         `json:"id"`
	IDStr     string     `json:"idstr"`
	Comments  ingest.Int `json:"comments"`
	Reposts   ingest.Int `json:"reposts"`
	Attitudes ingest.Int `json:"attitudes"`
}
