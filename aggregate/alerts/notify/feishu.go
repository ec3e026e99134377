package notify

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/tongxin/tongxin/aggregate/alerts"
)

// Feishu posts to a Feishu/Lark (飞书) custom bot:
//
//	POST https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN
//	{"timestamp":"S","sign":"…","msg_type":"text","content":{"text":"…"}}
//	{"timestamp":"S","sign":"…","msg_type":"interactive","card":{…}}
//
// timestamp (seconds, a string) and sign = FeishuSign(secret, S) only when
// 签名校验 is configured. The answer is {"code":0,"msg":"success"} (older
// deployments: {"StatusCode":0}); code 11232 and 99991400 are frequency
// limits (100/min and 5/s per bot) and are retried, honouring
// x-ogw-ratelimit-reset; 9499 (bad request), 19021 (bad signature or
// timestamp), 19022 (IP), 19024 (keyword) are final.
type Feishu struct{ base }

var feishuRateLimit = map[int]bool{11232: true, 99991400: true}

func (f *Feishu) Notify(ctx context.Context, ev alerts.Event) error {
	return f.NotifyBatch(ctx, single(ev))
}

func (f *Feishu) NotifyBatch(ctx context.Context, evs []alerts.Event) error {
	if len(evs) == 0 {
		return errNoEvents(f.c)
	}
	// The card's header carries the title and its note the footer.
	title, md, text, footer := f.chatBody(evs, feishuMD, false, false)
	payload := map[string]any{}
	if f.format == FormatText {
		payload["msg_type"] = "text"
		payload["content"] = map[string]string{"text": truncate(text, f.max)}
	} else {
		payload["msg_type"] = "interactive"
		payload["card"] = map[string]any{
			"config": map[string]any{"wide_screen_mode": true},
			"header": map[string]any{
				"title":    map[string]string{"tag": "plain_text", "content": title},
				"template": cardColor(renderAll(evs, f.names)),
			},
			"elements": []any{
				map[string]any{"tag": "div", "text": map[string]string{"tag": "lark_md", "content": truncate(md, f.max)}},
				map[string]any{"tag": "note", "elements": []any{map[string]string{"tag": "plain_text", "content": footer}}},
			},
		}
	}
	if f.secret != "" {
		ts := f.now().Unix()
		payload["timestamp"] = strconv.FormatInt(ts, 10)
		payload["sign"] = FeishuSign(f.secret, ts)
	}
	body, err := marshal(f.c, payload)
	if err != nil {
		return err
	}
	resp, err := f.c.post(ctx, f.url, body, nil)
	if resp == nil {
		return err
	}
	return f.check(resp, err)
}

type feishuEnvelope struct {
	Code          *int   `json:"code"`
	Msg           string `json:"msg"`
	StatusCode    *int   `json:"StatusCode"`
	StatusMessage string `json:"StatusMessage"`
}

// check reads Feishu's answer, also on HTTP 4xx (frequency limits come back
// as HTTP 429 or, from older gateways, 400 with code 99991400).
func (f *Feishu) check(resp *response, httpErr error) error {
	var env feishuEnvelope
	if json.Unmarshal(resp.body, &env) != nil || (env.Code == nil && env.StatusCode == nil) {
		if httpErr != nil {
			return httpErr
		}
		return f.c.errorf(ReasonBadResponse, false, "feishu answered HTTP %d without a code: %s", resp.status, f.c.snippet(resp.body))
	}
	code, msg := 0, env.Msg
	if env.Code != nil {
		code = *env.Code
	} else {
		code, msg = *env.StatusCode, env.StatusMessage
	}
	switch {
	case code == 0 && httpErr == nil:
		return nil
	case code == 0:
		return httpErr
	case feishuRateLimit[code]:
		e := f.c.errorf(ReasonRateLimited, true, "feishu code %d (frequency limit): %s", code, f.c.oneLine(msg))
		e.Code, e.RetryAfter = code, retryAfter(resp.header, time.Now())
		return e
	case resp.status >= 500:
		e := f.c.errorf(ReasonServerError, true, "feishu HTTP %d code %d: %s", resp.status, code, f.c.oneLine(msg))
		e.Code, e.RetryAfter = code, retryAfter(resp.header, time.Now())
		return e
	default:
		e := f.c.errorf(ReasonRejected, false, "feishu code %d: %s", code, f.c.oneLine(msg))
		e.Code = code
		return e
	}
}

// cardColor is the header colour: the events' own when they agree (red
// viral, orange low reach, green resolved), blue for a mixed digest.
func cardColor(vs []view) string {
	color := vs[0].color
	for _, v := range vs[1:] {
		if v.color != color {
			return "blue"
		}
	}
	return color
}
