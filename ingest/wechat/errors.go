package wechat

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/snapshot"
)

// statusError makes an error answer typed.
func statusError(op string, resp *http.Response, b []byte, rid string, now time.Time) error {
	e := &ingest.Error{Platform: snapshot.WeChatChannels, Op: op, RequestID: rid}
	var env feedError
	if json.Unmarshal(b, &env) == nil && env.Error != nil {
		e.Code, e.Message = env.Error.Code, env.Error.Message
		if env.Error.RequestID != "" {
			e.RequestID = env.Error.RequestID
		}
	} else {
		e.Message = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	e.RetryAfter, _ = ingest.RetryAfter(resp.Header, now)
	switch code := e.Code; {
	case resp.StatusCode == http.StatusTooManyRequests && code == "quota_exhausted":
		e.Kind = ingest.KindQuotaExhausted
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Kind = ingest.KindRateLimited
	case code == "session_expired":
		e.Kind = ingest.KindTokenExpired
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		e.Kind = ingest.KindUnauthorized
	case resp.StatusCode == http.StatusNotFound:
		e.Kind = ingest.KindNotFound
	case resp.StatusCode >= 500:
		e.Kind = ingest.KindUnavailable
	case resp.StatusCode == http.StatusRequestTimeout:
		e.Kind = ingest.KindUnavailable
	case resp.StatusCode >= 400:
		e.Kind = ingest.KindInvalid
	default:
		e.Kind = ingest.KindMalformed
		e.Message = fmt.Sprintf("unexpected HTTP %d", resp.StatusCode)
	}
	return e
}
