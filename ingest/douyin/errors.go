package douyin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/errcode"
)

// The codes and their Kinds are errcode.Douyin: one table, shared with the
// simulator, each row with its source.

// Codes that say the access token the request carried is not (or no
// longer) the account's: another replica may have refreshed it.
func invalidTokenCode(code string) bool { return code == "2190002" || code == "28001003" }

// Codes after which renewing the refresh token is pointless.
const codeRenewLimit = "10020"

// quotaReset is when the Open Platform's daily quotas come back: the next
// 08:00 Beijing time (00:00 UTC).
func quotaReset(now time.Time) time.Duration {
	next := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	return next.Sub(now)
}

// decode reads r's envelope: it returns the raw "data" object for a
// success, or the typed error the envelope (or the HTTP status) stands for.
func (c *Client) decode(op string, r *response) (json.RawMessage, error) {
	e := &ingest.Error{Platform: Platform, Op: op, RequestID: r.requestID}
	var env envelope
	jsonErr := json.Unmarshal(r.body, &env)
	var st status
	if jsonErr == nil && len(env.Data) > 0 && env.Data[0] == '{' {
		// The data object's own error fields; a type error here is a malformed body.
		if err := json.Unmarshal(env.Data, &st); err != nil {
			jsonErr = err
		}
	}
	if jsonErr == nil {
		if e.RequestID == "" {
			switch {
			case env.Extra != nil && env.Extra.LogID != "":
				e.RequestID = env.Extra.LogID
			case st.LogID != "":
				e.RequestID = st.LogID
			case env.LogID != "":
				e.RequestID = env.LogID
			}
			r.requestID = e.RequestID
		}
		switch {
		case st.ErrorCode.V != 0:
			e.Code, e.Message = strconv.FormatInt(st.ErrorCode.V, 10), st.Description
		case env.Extra != nil && env.Extra.ErrorCode.V != 0:
			e.Code, e.Message = strconv.FormatInt(env.Extra.ErrorCode.V, 10), firstNonEmpty(env.Extra.SubDescription, env.Extra.Description)
		case env.ErrNo.V != 0:
			e.Code, e.Message = strconv.FormatInt(env.ErrNo.V, 10), env.ErrMsg
		}
		if e.Code != "" && env.Extra != nil && env.Extra.SubErrorCode.V != 0 {
			e.Message = strings.TrimSpace(fmt.Sprintf("%s (sub_error_code %d %s)", e.Message, env.Extra.SubErrorCode.V, env.Extra.SubDescription))
		}
	}

	// The HTTP status decides first: a gateway answers 429 and 5xx before
	// the API's envelope means anything.
	switch {
	case r.status == http.StatusTooManyRequests:
		e.Kind = ingest.KindRateLimited
		e.RetryAfter, _ = ingest.RetryAfter(r.header, r.arrived)
		if e.Message == "" {
			e.Message = "too many requests"
		}
		return nil, e
	case r.status >= 500:
		e.Kind = ingest.KindUnavailable
		if e.Message == "" {
			e.Message = fmt.Sprintf("HTTP %d", r.status)
		}
		return nil, e
	case jsonErr != nil:
		if r.status != http.StatusOK {
			e.Kind, e.Message = statusKind(r.status), fmt.Sprintf("HTTP %d", r.status)
			return nil, e
		}
		e.Kind, e.Message, e.Err = ingest.KindMalformed, "response is not the documented JSON", jsonErr
		return nil, e
	case e.Code != "":
		code, _ := strconv.Atoi(e.Code)
		kind := errcode.Douyin.Kind(code)
		e.Kind = kind
		switch kind {
		case ingest.KindQuotaExhausted:
			e.RetryAfter = quotaReset(r.arrived)
		case ingest.KindRateLimited:
			e.RetryAfter, _ = ingest.RetryAfter(r.header, r.arrived)
		}
		return nil, e
	case r.status != http.StatusOK:
		e.Kind, e.Message = statusKind(r.status), fmt.Sprintf("HTTP %d", r.status)
		return nil, e
	case len(env.Data) == 0 || env.Data[0] != '{':
		e.Kind, e.Message = ingest.KindMalformed, "response has no data object"
		return nil, e
	}
	return env.Data, nil
}

func statusKind(status int) ingest.Kind {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ingest.KindUnauthorized
	case status == http.StatusRequestTimeout:
		return ingest.KindUnavailable
	case status >= 400 && status < 500:
		return ingest.KindInvalid
	}
	return ingest.KindUnknown
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
