package notify

import (
	"context"
	"net/http"
	"strconv"

	"github.com/tongxin/tongxin/aggregate/alerts"
)

// Webhook posts each event as JSON to any HTTP endpoint: the fields of
// alerts.Event (as on tongxin.alerts.v1) plus "title", "text" and
// "markdown" renderings in Chinese. With a secret, the body is signed like
// GitHub's webhooks:
//
//	X-Tongxin-Signature: sha256=<hex HmacSHA256(key = secret, message = body)>
//
// X-Tongxin-Delivery identifies the event (alert id, state, update time) so
// the receiver can drop a retried duplicate. Any 2xx is success; 429 and
// 5xx are retried (honouring Retry-After); other statuses are final.
type Webhook struct{ base }

// WebhookPayload is the body the generic webhook sends.
type WebhookPayload struct {
	alerts.Event
	Title    string `json:"title"`
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

func (w *Webhook) Notify(ctx context.Context, ev alerts.Event) error {
	v := render(ev, w.names)
	body, err := marshal(w.c, WebhookPayload{Event: ev, Title: v.title, Text: v.text(), Markdown: v.markdown(feishuMD, true, true)})
	if err != nil {
		return err
	}
	hdr := http.Header{}
	hdr.Set("X-Tongxin-Event", "alert")
	hdr.Set("X-Tongxin-Delivery", ev.AlertID+"/"+ev.State+"/"+strconv.FormatInt(ev.UpdatedAt.UnixMilli(), 10))
	if w.secret != "" {
		hdr.Set(SignatureHeader, WebhookSignature(w.secret, body))
	}
	_, err = w.c.post(ctx, w.url, body, hdr)
	return err
}
