package notify

import (
	"context"
	"net/url"
	"strconv"

	"github.com/tongxin/tongxin/aggregate/alerts"
)

// DingTalk posts to a DingTalk (钉钉) custom robot, signed when a secret
// (加签) is configured:
//
//	POST https://oapi.dingtalk.com/robot/send?access_token=…&timestamp=MS&sign=SIGN
//	{"msgtype":"markdown","markdown":{"title":"…","text":"…"}}
//	{"msgtype":"text","text":{"content":"…"}}
//
// with SIGN = urlencode(DingTalkSign(secret, MS)); the timestamp must be
// within an hour of DingTalk's clock. The answer is {"errcode":0,
// "errmsg":"ok"}; errcode 130101 ("send too fast, exceed 20 times per
// minute") is retried after RateLimitWait (DingTalk throttles an offending
// robot for 10 minutes); -1 (busy) is retried; 310000 (sign, keyword or IP
// check failed) and others are final.
type DingTalk struct{ base }

const dingtalkRateLimit = 130101

func (d *DingTalk) Notify(ctx context.Context, ev alerts.Event) error {
	return d.NotifyBatch(ctx, single(ev))
}

func (d *DingTalk) NotifyBatch(ctx context.Context, evs []alerts.Event) error {
	if len(evs) == 0 {
		return errNoEvents(d.c)
	}
	title, md, text, _ := d.chatBody(evs, dingMD, true, true)
	var payload any
	if d.format == FormatText {
		payload = map[string]any{"msgtype": "text", "text": map[string]string{"content": truncate(text, d.max)}}
	} else {
		// title is what the chat list and the phone notification show.
		payload = map[string]any{"msgtype": "markdown", "markdown": map[string]string{"title": title, "text": truncate(md, d.max)}}
	}
	body, err := marshal(d.c, payload)
	if err != nil {
		return err
	}
	resp, err := d.c.post(ctx, d.target(), body, nil)
	if resp == nil {
		return err
	}
	return checkErrcode(d.c, resp, err, dingtalkRateLimit, "dingtalk")
}

// target is the URL with timestamp and sign added (a fresh pair each try).
func (d *DingTalk) target() string {
	if d.secret == "" {
		return d.url
	}
	u, err := url.Parse(d.url)
	if err != nil { // validated at construction; keep the URL as is
		return d.url
	}
	ts := d.now().UnixMilli()
	q := u.Query()
	q.Set("timestamp", strconv.FormatInt(ts, 10))
	q.Set("sign", DingTalkSign(d.secret, ts))
	u.RawQuery = q.Encode()
	return u.String()
}
