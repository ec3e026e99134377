package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/aggregate/alerts"
	"github.com/tongxin/tongxin/internal/redact"
)

// Notifier delivers one alert event to one destination, in one attempt.
// Failures are *Error values (with Retryable and RetryAfter set); the
// Router adds queueing, rate limiting and retries around it.
type Notifier interface {
	Notify(ctx context.Context, ev alerts.Event) error
}

// BatchNotifier can deliver several events in one request: a digest
// message for the chat robots, one array for Alertmanager.
type BatchNotifier interface {
	Notifier
	NotifyBatch(ctx context.Context, evs []alerts.Event) error
}

// runner is a notifier with background work of its own (Alertmanager's
// re-sending); the Router runs it under its own context.
type runner interface {
	run(ctx context.Context)
}

// Options are the parts of a Router or Notifier that do not come from YAML.
type Options struct {
	Log        *slog.Logger
	Registerer prometheus.Registerer
	// Transport carries the HTTP requests (nil: http.DefaultTransport).
	Transport http.RoundTripper
	// AmbassadorName turns an ambassador id into a name for messages
	// (nil, or "" returned: the id alone).
	AmbassadorName func(id string) string
	// Now is the clock for signatures and Alertmanager times (nil: time.Now).
	Now func() time.Time
	// Getenv reads url_env / secret_env (nil: os.Getenv).
	Getenv func(string) string
}

func (o *Options) fill() {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// NewNotifier builds the notifier for one receiver config.
func NewNotifier(rc ReceiverConfig, opts Options) (Notifier, error) {
	opts.fill()
	r, err := rc.resolve(opts.Getenv)
	if err != nil {
		return nil, err
	}
	return newNotifier(&r, opts, nil), nil
}

// base is what every HTTP notifier shares.
type base struct {
	name   string
	url    string
	secret string
	format string
	max    int
	names  func(string) string
	now    func() time.Time
	c      *client
	red    *redact.Redactor
}

func newBase(r *resolved, opts Options) base {
	red := newRedactor(r.Type, r.url, r.secret)
	return base{
		name: r.Name, url: r.url, secret: r.secret, format: r.Format, max: r.maxBytes,
		names: opts.AmbassadorName, now: opts.Now,
		c:   newClient(r.Name, r.Timeout, opts.Transport, red),
		red: red,
	}
}

func newNotifier(r *resolved, opts Options, m *metrics) Notifier {
	b := newBase(r, opts)
	switch r.Type {
	case TypeWeCom:
		return &WeCom{base: b}
	case TypeDingTalk:
		return &DingTalk{base: b}
	case TypeFeishu:
		return &Feishu{base: b}
	case TypeAlertmanager:
		return newAlertmanager(b, r, opts.Log, m)
	default:
		return &Webhook{base: b}
	}
}

func marshal(c *client, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, c.errorf(ReasonRejected, false, "encoding message: %v", err)
	}
	return b, nil
}

// codeEnvelope reads the {"errcode","errmsg"} answer of WeCom and DingTalk.
type codeEnvelope struct {
	ErrCode *int   `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// checkErrcode turns an errcode answer into nil or an *Error. rateLimit is
// the API's "too fast" code.
func checkErrcode(c *client, resp *response, httpErr error, rateLimit int, api string) error {
	var env codeEnvelope
	if json.Unmarshal(resp.body, &env) != nil || env.ErrCode == nil {
		if httpErr != nil {
			return httpErr
		}
		return c.errorf(ReasonBadResponse, false, "%s answered HTTP %d without an errcode: %s", api, resp.status, c.snippet(resp.body))
	}
	switch code := *env.ErrCode; {
	case code == 0 && httpErr == nil:
		return nil
	case code == 0:
		return httpErr
	case code == rateLimit:
		e := c.errorf(ReasonRateLimited, true, "%s errcode %d (rate limit): %s", api, code, c.oneLine(env.ErrMsg))
		e.Code, e.RetryAfter = code, retryAfter(resp.header, time.Now())
		return e
	case code == -1: // 系统繁忙 (system busy) in both APIs
		e := c.errorf(ReasonServerError, true, "%s errcode %d (busy): %s", api, code, c.oneLine(env.ErrMsg))
		e.Code = code
		return e
	default:
		e := c.errorf(ReasonRejected, false, "%s errcode %d: %s", api, code, c.oneLine(env.ErrMsg))
		e.Code = code
		return e
	}
}

// single wraps one event for NotifyBatch.
func single(ev alerts.Event) []alerts.Event { return []alerts.Event{ev} }

// chatBody renders events as one markdown (or text) message for a chat
// robot; footer is the closing line (alert id, or the digest's note).
func (b *base) chatBody(evs []alerts.Event, st mdStyle, withTitle, withFooter bool) (title, md, text, footer string) {
	vs := renderAll(evs, b.names)
	if len(vs) == 1 {
		return vs[0].title, vs[0].markdown(st, withTitle, withFooter), vs[0].text(), vs[0].footer
	}
	return digestTitle(vs), digestMarkdown(vs, st, withTitle, withFooter), digestText(vs), digestFooter
}

func errNoEvents(c *client) error {
	return c.errorf(ReasonRejected, false, "no events to send")
}
