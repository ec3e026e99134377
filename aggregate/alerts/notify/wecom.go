package notify

import (
	"context"

	"github.com/tongxin/tongxin/aggregate/alerts"
)

// WeCom posts to a WeCom (企业微信) group robot:
//
//	POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY
//	{"msgtype":"markdown","markdown":{"content":"…"}}   (≤ 4096 bytes)
//	{"msgtype":"text","text":{"content":"…"}}           (≤ 2048 bytes)
//
// and reads {"errcode":0,"errmsg":"ok"}. errcode 45009 is the rate limit
// (20 messages a minute per robot) and is retried; -1 (busy) is retried;
// any other errcode (93000 invalid webhook URL, …) is final. The key in
// the URL is the robot's only credential.
type WeCom struct{ base }

const wecomRateLimit = 45009

func (w *WeCom) Notify(ctx context.Context, ev alerts.Event) error {
	return w.NotifyBatch(ctx, single(ev))
}

func (w *WeCom) NotifyBatch(ctx context.Context, evs []alerts.Event) error {
	if len(evs) == 0 {
		return errNoEvents(w.c)
	}
	_, md, text, _ := w.chatBody(evs, wecomMD, true, true)
	var payload any
	if w.format == FormatText {
		payload = map[string]any{"msgtype": "text", "text": map[string]string{"content": truncate(text, wecomTextMax)}}
	} else {
		payload = map[string]any{"msgtype": "markdown", "markdown": map[string]string{"content": truncate(md, wecomMarkdownMax)}}
	}
	body, err := marshal(w.c, payload)
	if err != nil {
		return err
	}
	resp, err := w.c.post(ctx, w.url, body, nil)
	if resp == nil {
		return err
	}
	return checkErrcode(w.c, resp, err, wecomRateLimit, "wecom")
}
