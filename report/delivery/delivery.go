// Package delivery pushes the office's daily report through the chat
// robots and webhooks the alerts already use (their configuration is
// notify.ReceiverConfig): WeCom gets a markdown summary and the PNG card as
// an image message; DingTalk and Feishu, whose custom robots cannot upload
// images, get the markdown summary with the card as a link under
// public_url; a generic webhook gets the files (HTML, PDF, PNG) as a signed
// multipart POST.
//
// Each receiver is rate-limited to its robot's documented limit
// (notify.TypeDefaults), each request is retried with backoff on network
// errors, 5xx, 429 and the robots' "too fast" codes, and a report version
// (its fingerprint) that reached a receiver is recorded in the
// report_deliveries table and never sent to it again.
package delivery

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/aggregate/alerts/notify"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/report"
)

// Config is the `report_delivery:` section of the config file.
type Config struct {
	// At is the Beijing time of day the daily report is made and sent, "08:30".
	At string `yaml:"at"`
	// PublicURL, if set, is where the output directory is served; DingTalk
	// and Feishu messages link the card under it.
	PublicURL string `yaml:"public_url"`
	// Receivers are the alerts' receiver settings (type wecom, dingtalk,
	// feishu or webhook; url or url_env; secret or secret_env; rate_per_minute,
	// max_attempts, backoff_base, backoff_max, timeout).
	Receivers []notify.ReceiverConfig `yaml:"receivers"`
}

// receiver is one resolved destination.
type receiver struct {
	notify.ReceiverConfig
	url, secret string
	interval    time.Duration // between requests (wall clock), from the rate
	last        time.Time
	client      *http.Client
}

// Deliverer sends reports to the configured receivers.
type Deliverer struct {
	conn      driver.Conn
	log       *slog.Logger
	publicURL string
	receivers []*receiver
	clock     clock.Clock // the wall clock: robots limit and answer in real seconds
}

// New resolves the receivers (their URLs and secrets from the environment
// where configured). conn holds the report_deliveries ledger.
func New(cfg Config, conn driver.Conn, log *slog.Logger) (*Deliverer, error) {
	d := &Deliverer{conn: conn, log: log, publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), clock: clock.Real()}
	for i, rc := range cfg.Receivers {
		r := &receiver{ReceiverConfig: rc, url: string(rc.URL), secret: string(rc.Secret)}
		where := fmt.Sprintf("report_delivery receiver %d (%s)", i+1, rc.Name)
		if rc.URLEnv != "" {
			if r.url = os.Getenv(rc.URLEnv); r.url == "" {
				return nil, fmt.Errorf("%s: environment variable %s is empty", where, rc.URLEnv)
			}
		}
		if rc.SecretEnv != "" {
			if r.secret = os.Getenv(rc.SecretEnv); r.secret == "" {
				return nil, fmt.Errorf("%s: environment variable %s is empty", where, rc.SecretEnv)
			}
		}
		switch rc.Type {
		case notify.TypeWeCom, notify.TypeDingTalk, notify.TypeFeishu, notify.TypeWebhook:
		default:
			return nil, fmt.Errorf("%s: type %q: want wecom, dingtalk, feishu or webhook", where, rc.Type)
		}
		if rc.Name == "" {
			return nil, fmt.Errorf("%s: a name is required (deliveries are recorded by it)", where)
		}
		if u, err := url.Parse(r.url); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("%s: url is not an http(s) URL", where)
		}
		rate := notify.TypeDefaults(rc.Type).RatePerMinute
		if rc.RatePerMinute != nil {
			rate = *rc.RatePerMinute
		}
		if rate > 0 {
			r.interval = time.Duration(float64(time.Minute) / rate)
		}
		if r.MaxAttempts == 0 {
			r.MaxAttempts = notify.DefaultMaxAttempts
		}
		if r.BackoffBase == 0 {
			r.BackoffBase = notify.DefaultBackoffBase
		}
		if r.BackoffMax == 0 {
			r.BackoffMax = notify.DefaultBackoffMax
		}
		if r.Timeout == 0 {
			r.Timeout = notify.DefaultTimeout
		}
		// Robot URLs carry their credential: never follow a redirect with it.
		r.client = &http.Client{Timeout: r.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		d.receivers = append(d.receivers, r)
	}
	return d, nil
}

// Result is what one Deliver did for one receiver.
type Result struct {
	Receiver string
	Sent     bool  // false: this version had reached it before (or err)
	Err      error // the last error after every attempt
}

// Deliver sends the report (written as files) to every receiver that has
// not had this version of it. A receiver's failure does not stop the others.
func (d *Deliverer) Deliver(ctx context.Context, r *report.Report, files report.Files) []Result {
	version := r.Fingerprint()
	slug := r.Period.Slug()
	var out []Result
	for _, rc := range d.receivers {
		res := Result{Receiver: rc.Name}
		done, err := d.delivered(ctx, rc.Name, slug, version)
		switch {
		case err != nil:
			res.Err = err
		case done:
		default:
			res.Err = d.send(ctx, rc, r, files)
			if res.Err == nil {
				res.Err = d.record(ctx, rc.Name, slug, version)
				res.Sent = true
			}
		}
		if res.Err != nil {
			d.log.Error("report delivery failed", "receiver", rc.Name, "report", slug, "err", res.Err)
		} else if res.Sent {
			d.log.Info("report delivered", "receiver", rc.Name, "report", slug, "version", version)
		}
		out = append(out, res)
	}
	return out
}

func (d *Deliverer) delivered(ctx context.Context, name, slug, version string) (bool, error) {
	var n uint64
	if err := d.conn.QueryRow(ctx, `SELECT count() FROM report_deliveries WHERE receiver = ? AND report = ? AND version = ?`,
		name, slug, version).Scan(&n); err != nil {
		return false, fmt.Errorf("report_deliveries: %w", err)
	}
	return n > 0, nil
}

func (d *Deliverer) record(ctx context.Context, name, slug, version string) error {
	if err := d.conn.Exec(ctx, `INSERT INTO report_deliveries (receiver, report, version, sent_at) VALUES (?, ?, ?, ?)`,
		name, slug, version, d.clock.Now().UTC()); err != nil {
		return fmt.Errorf("report_deliveries: %w", err)
	}
	return nil
}

// send builds the receiver's requests and sends each with retries.
func (d *Deliverer) send(ctx context.Context, rc *receiver, r *report.Report, files report.Files) error {
	card := ""
	if d.publicURL != "" && files.PNG != "" {
		card = d.publicURL + "/" + filepath.Base(files.PNG)
	}
	switch rc.Type {
	case notify.TypeWeCom:
		md := markdown(r, wecomEscape, "", "")
		if err := d.post(ctx, rc, jsonBody(map[string]any{"msgtype": "markdown", "markdown": map[string]any{"content": md}})); err != nil {
			return err
		}
		if files.PNG == "" {
			return nil
		}
		png, err := os.ReadFile(files.PNG)
		if err != nil {
			return err
		}
		sum := md5.Sum(png)
		return d.post(ctx, rc, jsonBody(map[string]any{"msgtype": "image", "image": map[string]any{
			"base64": base64.StdEncoding.EncodeToString(png), "md5": hex.EncodeToString(sum[:])}}))
	case notify.TypeDingTalk:
		md := markdown(r, dingEscape, card, "")
		return d.post(ctx, rc, jsonBody(map[string]any{"msgtype": "markdown", "markdown": map[string]any{"title": r.Title(), "text": md}}))
	case notify.TypeFeishu:
		md := markdown(r, dingEscape, card, "feishu")
		return d.post(ctx, rc, func(ts time.Time) (string, []byte, http.Header, error) {
			p := map[string]any{"msg_type": "interactive", "card": map[string]any{
				"header":   map[string]any{"title": map[string]any{"tag": "plain_text", "content": r.Title()}, "template": "red"},
				"elements": []any{map[string]any{"tag": "markdown", "content": md}}}}
			if rc.secret != "" {
				p["timestamp"] = strconv.FormatInt(ts.Unix(), 10)
				p["sign"] = notify.FeishuSign(rc.secret, ts.Unix())
			}
			b, err := json.Marshal(p)
			return rc.url, b, http.Header{"Content-Type": {"application/json"}}, err
		})
	default:
		return d.post(ctx, rc, func(time.Time) (string, []byte, http.Header, error) {
			body, ctype, err := multipartFiles(r, files)
			hdr := http.Header{"Content-Type": {ctype}, "X-Tongxin-Event": {"report"},
				"X-Tongxin-Delivery": {r.Period.Slug() + "/" + r.Fingerprint()}}
			if rc.secret != "" {
				hdr.Set(notify.SignatureHeader, notify.WebhookSignature(rc.secret, body))
			}
			return rc.url, body, hdr, err
		})
	}
}

// A request builder makes a fresh request for each try (signatures carry
// the time).
type request func(now time.Time) (target string, body []byte, hdr http.Header, err error)

func jsonBody(v any) request {
	return func(time.Time) (string, []byte, http.Header, error) {
		b, err := json.Marshal(v)
		return "", b, http.Header{"Content-Type": {"application/json"}}, err
	}
}

// errRetry marks an answer worth another try.
var errRetry = errors.New("retryable")

// post sends one message: waits for the receiver's rate, tries up to
// MaxAttempts times with exponential backoff (wall clock).
func (d *Deliverer) post(ctx context.Context, rc *receiver, build request) error {
	var last error
	for attempt := 1; attempt <= rc.MaxAttempts; attempt++ {
		if wait := rc.interval - d.clock.Now().Sub(rc.last); rc.interval > 0 && !rc.last.IsZero() && wait > 0 {
			if err := d.clock.Sleep(ctx, wait); err != nil {
				return err
			}
		}
		now := d.clock.Now()
		rc.last = now
		target, body, hdr, err := build(now)
		if err != nil {
			return err
		}
		if target == "" {
			target = rc.target(now)
		}
		last = rc.do(ctx, target, body, hdr)
		if last == nil || !errors.Is(last, errRetry) {
			return last
		}
		if attempt < rc.MaxAttempts {
			backoff := rc.BackoffBase << (attempt - 1)
			if backoff > rc.BackoffMax || backoff <= 0 {
				backoff = rc.BackoffMax
			}
			if err := d.clock.Sleep(ctx, backoff); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("receiver %s: gave up after %d attempts: %w", rc.Name, rc.MaxAttempts, last)
}

// target is the receiver's URL; DingTalk's carries a fresh signature.
func (rc *receiver) target(now time.Time) string {
	if rc.Type != notify.TypeDingTalk || rc.secret == "" {
		return rc.url
	}
	u, err := url.Parse(rc.url)
	if err != nil {
		return rc.url
	}
	q := u.Query()
	ts := now.UnixMilli()
	q.Set("timestamp", strconv.FormatInt(ts, 10))
	q.Set("sign", notify.DingTalkSign(rc.secret, ts))
	u.RawQuery = q.Encode()
	return u.String()
}

// do sends one request and judges the answer. Errors never quote the URL
// (it carries the robot's credential).
func (rc *receiver) do(ctx context.Context, target string, body []byte, hdr http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("receiver %s: bad request", rc.Name)
	}
	req.Header = hdr
	resp, err := rc.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("receiver %s: network error (%T): %w", rc.Name, errors.Unwrap(err), errRetry)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return fmt.Errorf("receiver %s: HTTP %d: %w", rc.Name, resp.StatusCode, errRetry)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("receiver %s: HTTP %d", rc.Name, resp.StatusCode)
	}
	if rc.Type == notify.TypeWebhook {
		return nil
	}
	var env struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
		Code    *int   `json:"code"`
		Msg     string `json:"msg"`
	}
	if err := json.Unmarshal(answer, &env); err != nil {
		return fmt.Errorf("receiver %s: the answer is not JSON", rc.Name)
	}
	code, msg := 0, env.ErrMsg
	if env.ErrCode != nil {
		code = *env.ErrCode
	} else if env.Code != nil {
		code, msg = *env.Code, env.Msg
	}
	switch {
	case code == 0:
		return nil
	case code == 45009 || code == 130101 || code == -1 || code == 11232 || code == 99991400:
		// The robots' "too fast" (and DingTalk's "busy") answers.
		return fmt.Errorf("receiver %s: code %d: %w", rc.Name, code, errRetry)
	}
	return fmt.Errorf("receiver %s: code %d %q", rc.Name, code, oneLine(msg))
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// markdown is the summary message: a title and the report's headline lines.
func markdown(r *report.Report, esc func(string) string, cardURL, style string) string {
	var b strings.Builder
	if style != "feishu" {
		fmt.Fprintf(&b, "**%s**\n", esc(r.Title()))
	}
	for _, l := range r.Summary(esc) {
		fmt.Fprintf(&b, "> %s\n", l)
	}
	if cardURL != "" {
		if style == "feishu" {
			fmt.Fprintf(&b, "\n[查看卡片](%s)\n", cardURL)
		} else {
			fmt.Fprintf(&b, "\n![%s](%s)\n", esc(r.Title()), cardURL)
		}
	}
	return b.String()
}

// The robots' markdown: text from the data (names, topics) is escaped so it
// cannot add headings, links or mentions.
var mdSpecial = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`,
	"#", `\#`, "`", "\\`", ">", `\>`, "<", "&lt;", "@", "＠", "!", `\!`, "|", `\|`, "~", `\~`)

func dingEscape(s string) string { return mdSpecial.Replace(oneLine(s)) }

// WeCom's markdown has no backslash escapes: the special characters become
// their full-width forms.
var wecomSpecial = strings.NewReplacer("*", "＊", "_", "＿", "[", "［", "]", "］", "(", "（", ")", "）", "#", "＃",
	"`", "｀", ">", "＞", "<", "＜", "@", "＠", "!", "！", "|", "｜", "~", "～")

func wecomEscape(s string) string { return wecomSpecial.Replace(oneLine(s)) }

// multipartFiles is the webhook's body: a JSON part "report" (title,
// period, version, summary) and the files.
func multipartFiles(r *report.Report, files report.Files) ([]byte, string, error) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	meta, _ := json.Marshal(map[string]any{
		"title": r.Title(), "kind": r.Period.Kind, "first_day": r.Period.First.Format("2006-01-02"),
		"last_day": r.Period.Last.Format("2006-01-02"), "version": r.Fingerprint(), "summary": r.Summary(func(s string) string { return s }),
	})
	if err := w.WriteField("report", string(meta)); err != nil {
		return nil, "", err
	}
	for _, f := range []string{files.HTML, files.PDF, files.PNG} {
		if f == "" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, "", err
		}
		part, err := w.CreateFormFile("file", filepath.Base(f))
		if err != nil {
			return nil, "", err
		}
		part.Write(data)
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return b.Bytes(), w.FormDataContentType(), nil
}
