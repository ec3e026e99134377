package notify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tongxin/tongxin/aggregate/alerts"
)

// Receiver types.
const (
	TypeWeCom        = "wecom"
	TypeDingTalk     = "dingtalk"
	TypeFeishu       = "feishu"
	TypeWebhook      = "webhook"
	TypeAlertmanager = "alertmanager"
)

// Message formats a chat robot can be asked for.
const (
	FormatMarkdown = "markdown" // wecom, dingtalk (their default)
	FormatText     = "text"     // wecom, dingtalk, feishu
	FormatCard     = "card"     // feishu interactive card (its default)
)

// Config is the notify section of the service's YAML config, for example
//
//	notify:
//	  receivers:
//	    - name: office-wecom
//	      type: wecom
//	      url_env: TONGXIN_WECOM_WEBHOOK   # https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…
//	      kinds: [viral, low_reach]
//	    - name: ops-dingtalk
//	      type: dingtalk
//	      url: https://oapi.dingtalk.com/robot/send?access_token=…
//	      secret_env: TONGXIN_DINGTALK_SECRET
//	      kinds: [low_reach]
//
// Every receiver gets its own queue, rate limiter and retry policy, so a
// slow or throttled robot never holds back another one or the aggregator.
type Config struct {
	Receivers []ReceiverConfig `yaml:"receivers" json:"receivers"`
}

// ReceiverConfig is one destination. Zero values take the defaults of the
// receiver's type (see Defaults).
type ReceiverConfig struct {
	// Name identifies the receiver in logs and metrics: letters, digits,
	// '_' and '-'.
	Name string `yaml:"name" json:"name"`
	// Type is wecom, dingtalk, feishu, webhook or alertmanager.
	Type string `yaml:"type" json:"type"`
	// URL is the robot's webhook address, key or token included
	// (alertmanager: its base URL, e.g. http://alertmanager:9093). It is a
	// secret: it is never logged or put in an error as written.
	URL Secret `yaml:"url" json:"url"`
	// URLEnv names an environment variable holding the URL instead.
	URLEnv string `yaml:"url_env" json:"url_env"`
	// Secret is the signing secret: DingTalk's 加签 secret (SEC…), Feishu's
	// 签名校验 secret, or the generic webhook's HMAC key. Optional.
	Secret Secret `yaml:"secret" json:"secret"`
	// SecretEnv names an environment variable holding the secret instead.
	SecretEnv string `yaml:"secret_env" json:"secret_env"`

	// Kinds the receiver wants (viral, low_reach); empty means all.
	Kinds []string `yaml:"kinds" json:"kinds"`
	// States the receiver wants (open, update, resolved). Empty means open
	// and resolved for the chat robots (an update every judgement would
	// drown a group chat) and all three for webhook and alertmanager.
	States []string `yaml:"states" json:"states"`
	// Format: markdown or text (wecom, dingtalk); card or text (feishu).
	Format string `yaml:"format" json:"format"`

	// RatePerMinute caps requests to the receiver (a token bucket). Unset
	// means the type's documented limit (see Defaults); 0 means no limit.
	RatePerMinute *float64 `yaml:"rate_per_minute" json:"rate_per_minute"`
	// Burst is the bucket's size (requests that may go back to back).
	Burst int `yaml:"burst" json:"burst"`
	// QueueSize bounds the events waiting for this receiver; when full,
	// new events are dropped, counted and logged.
	QueueSize int `yaml:"queue_size" json:"queue_size"`
	// MaxBatch is how many queued events may be merged into one message (a
	// digest) while the receiver is rate limited; 1 turns merging off.
	MaxBatch int `yaml:"max_batch" json:"max_batch"`
	// Timeout bounds one HTTP request. Every duration of a receiver is
	// wall time: robots limit and answer in real seconds, whatever --speed.
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// MaxAttempts bounds the tries of one delivery (1 = no retry).
	MaxAttempts int `yaml:"max_attempts" json:"max_attempts"`
	// BackoffBase and BackoffMax shape the exponential backoff (with jitter)
	// between tries.
	BackoffBase time.Duration `yaml:"backoff_base" json:"backoff_base"`
	BackoffMax  time.Duration `yaml:"backoff_max" json:"backoff_max"`
	// RateLimitWait is the least wait after the API said "too fast" without
	// a Retry-After: WeCom's and Feishu's windows are a minute, DingTalk
	// throttles an offending robot for 10 minutes.
	RateLimitWait time.Duration `yaml:"rate_limit_wait" json:"rate_limit_wait"`

	// Labels are extra labels on every Alertmanager alert (e.g. team).
	Labels map[string]string `yaml:"labels" json:"labels"`
	// GeneratorURL, for alertmanager, is a link back (e.g. the Grafana
	// dashboard); platform and post_id are appended as query parameters.
	GeneratorURL string `yaml:"generator_url" json:"generator_url"`
	// ResendInterval, for alertmanager: active alerts are re-sent this
	// often, as Alertmanager expects of its clients, each valid for four
	// intervals, so they expire on their own if tongxin stops.
	ResendInterval time.Duration `yaml:"resend_interval" json:"resend_interval"`
}

// Secret is a string that never shows itself: fmt, slog, JSON and YAML all
// print "<secret>" (or nothing when empty).
type Secret string

const secretMask = "<secret>"

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return secretMask
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `notify.Secret("` + s.String() + `")` }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON keeps encoding/json from printing the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalYAML keeps yaml from printing the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// Defaults are the per-type settings a ReceiverConfig falls back to.
type Defaults struct {
	RatePerMinute float64
	Burst         int
	MaxBatch      int
	RateLimitWait time.Duration
	Format        string
	States        []string
	// MaxBytes bounds the rendered message (the API's documented limit).
	MaxBytes int
}

// TypeDefaults returns the defaults of a receiver type. The chat robots'
// rates sit 5% under the documented per-robot limits (WeCom and DingTalk
// 20/min, Feishu 100/min and 5/s) with a bucket of one (five for Feishu),
// so no 60-second window can ever hold more than the limit even when
// requests arrive a little bunched.
func TypeDefaults(typ string) Defaults {
	chat := []string{alerts.StateOpen, alerts.StateResolved}
	all := []string{alerts.StateOpen, alerts.StateUpdate, alerts.StateResolved}
	switch typ {
	case TypeWeCom:
		return Defaults{RatePerMinute: 19, Burst: 1, MaxBatch: 8, RateLimitWait: time.Minute,
			Format: FormatMarkdown, States: chat, MaxBytes: wecomMarkdownMax}
	case TypeDingTalk:
		return Defaults{RatePerMinute: 19, Burst: 1, MaxBatch: 8, RateLimitWait: 10 * time.Minute,
			Format: FormatMarkdown, States: chat, MaxBytes: dingtalkMax}
	case TypeFeishu:
		return Defaults{RatePerMinute: 95, Burst: 5, MaxBatch: 10, RateLimitWait: 10 * time.Second,
			Format: FormatCard, States: chat, MaxBytes: feishuMax}
	case TypeAlertmanager:
		return Defaults{RatePerMinute: 0, Burst: 1, MaxBatch: 64, RateLimitWait: 5 * time.Second, States: all}
	default: // webhook
		return Defaults{RatePerMinute: 0, Burst: 1, MaxBatch: 1, RateLimitWait: 5 * time.Second, States: all}
	}
}

// Common defaults (durations: wall time).
const (
	DefaultQueueSize      = 256
	DefaultTimeout        = 10 * time.Second
	DefaultMaxAttempts    = 5
	DefaultBackoffBase    = time.Second
	DefaultBackoffMax     = 2 * time.Minute
	DefaultResendInterval = time.Minute
	// maxRetryAfter caps a server's Retry-After so a bogus value cannot
	// park a receiver for days.
	maxRetryAfter = 15 * time.Minute
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ParseConfig decodes YAML strictly (unknown keys are errors) and
// validates the result.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("notify config: %w", err)
	}
	return c, c.Validate()
}

// Validate reports every mistake in the config, naming the receiver.
// Environment indirections are resolved by New, not here.
func (c Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, rc := range c.Receivers {
		where := fmt.Sprintf("notify receiver %d (%s)", i+1, rc.Name)
		if !nameRE.MatchString(rc.Name) {
			errs = append(errs, fmt.Errorf("%s: name must be 1-64 of A-Z a-z 0-9 _ -", where))
		}
		if seen[rc.Name] {
			errs = append(errs, fmt.Errorf("%s: name given twice", where))
		}
		seen[rc.Name] = true
		if err := rc.validate(false); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
	}
	return errors.Join(errs...)
}

// validate checks one receiver; resolved says the URL must be present.
func (rc *ReceiverConfig) validate(resolved bool) error {
	var errs []error
	switch rc.Type {
	case TypeWeCom, TypeDingTalk, TypeFeishu, TypeWebhook, TypeAlertmanager:
	default:
		return fmt.Errorf("type %q: want wecom, dingtalk, feishu, webhook or alertmanager", rc.Type)
	}
	if rc.URL == "" && rc.URLEnv == "" {
		errs = append(errs, errors.New("url or url_env is required"))
	}
	if rc.URL != "" && rc.URLEnv != "" {
		errs = append(errs, errors.New("give url or url_env, not both"))
	}
	if rc.Secret != "" && rc.SecretEnv != "" {
		errs = append(errs, errors.New("give secret or secret_env, not both"))
	}
	if rc.URL != "" || resolved {
		if err := checkURL(rc.Type, string(rc.URL)); err != nil {
			errs = append(errs, err)
		}
	}
	if rc.Type == TypeAlertmanager && (rc.Secret != "" || rc.SecretEnv != "") {
		errs = append(errs, errors.New("alertmanager takes no secret (put basic auth in the url)"))
	}
	if rc.Type == TypeWeCom && (rc.Secret != "" || rc.SecretEnv != "") {
		errs = append(errs, errors.New("wecom robots have no signing secret: the key in the url is the secret"))
	}
	for _, k := range rc.Kinds {
		if k != alerts.KindViral && k != alerts.KindLowReach {
			errs = append(errs, fmt.Errorf("kind %q: want viral or low_reach", k))
		}
	}
	for _, s := range rc.States {
		if s != alerts.StateOpen && s != alerts.StateUpdate && s != alerts.StateResolved {
			errs = append(errs, fmt.Errorf("state %q: want open, update or resolved", s))
		}
	}
	if rc.Format != "" {
		ok := false
		switch rc.Type {
		case TypeWeCom, TypeDingTalk:
			ok = rc.Format == FormatMarkdown || rc.Format == FormatText
		case TypeFeishu:
			ok = rc.Format == FormatCard || rc.Format == FormatText
		}
		if !ok {
			errs = append(errs, fmt.Errorf("format %q does not apply to %s", rc.Format, rc.Type))
		}
	}
	if rc.RatePerMinute != nil && *rc.RatePerMinute < 0 {
		errs = append(errs, errors.New("rate_per_minute must be >= 0"))
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"burst", rc.Burst}, {"queue_size", rc.QueueSize}, {"max_batch", rc.MaxBatch}, {"max_attempts", rc.MaxAttempts}} {
		if v.n < 0 {
			errs = append(errs, fmt.Errorf("%s must be >= 0", v.name))
		}
	}
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"timeout", rc.Timeout}, {"backoff_base", rc.BackoffBase}, {"backoff_max", rc.BackoffMax},
		{"rate_limit_wait", rc.RateLimitWait}, {"resend_interval", rc.ResendInterval}} {
		if v.d < 0 {
			errs = append(errs, fmt.Errorf("%s must be >= 0", v.name))
		}
	}
	if rc.GeneratorURL != "" {
		if u, err := url.Parse(rc.GeneratorURL); err != nil || !u.IsAbs() {
			errs = append(errs, errors.New("generator_url must be an absolute URL"))
		}
	}
	return errors.Join(errs...)
}

// checkURL validates a receiver URL without ever quoting it.
func checkURL(typ, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return errors.New("url must be an absolute http(s) URL")
	}
	switch typ {
	case TypeWeCom:
		if u.Query().Get("key") == "" {
			return errors.New("wecom url must carry the robot's ?key=")
		}
	case TypeDingTalk:
		if u.Query().Get("access_token") == "" {
			return errors.New("dingtalk url must carry the robot's ?access_token=")
		}
	case TypeFeishu:
		if i := strings.Index(u.Path, "/hook/"); i < 0 || len(u.Path) <= i+len("/hook/") {
			return errors.New("feishu url must end in /open-apis/bot/v2/hook/<token>")
		}
	}
	return nil
}

// resolved is a ReceiverConfig with environment indirections read and
// defaults filled in.
type resolved struct {
	ReceiverConfig
	url, secret string
	rate        float64 // per minute, 0 = unlimited
	states      []string
	maxBytes    int
}

func (rc ReceiverConfig) resolve(getenv func(string) string) (resolved, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if rc.URLEnv != "" {
		rc.URL = Secret(getenv(rc.URLEnv))
		if rc.URL == "" {
			return resolved{}, fmt.Errorf("notify receiver %s: environment variable %s is empty", rc.Name, rc.URLEnv)
		}
		rc.URLEnv = ""
	}
	if rc.SecretEnv != "" {
		rc.Secret = Secret(getenv(rc.SecretEnv))
		if rc.Secret == "" {
			return resolved{}, fmt.Errorf("notify receiver %s: environment variable %s is empty", rc.Name, rc.SecretEnv)
		}
		rc.SecretEnv = ""
	}
	if err := rc.validate(true); err != nil {
		return resolved{}, fmt.Errorf("notify receiver %s: %w", rc.Name, err)
	}
	d := TypeDefaults(rc.Type)
	r := resolved{ReceiverConfig: rc, url: string(rc.URL), secret: string(rc.Secret), maxBytes: d.MaxBytes}
	r.rate = d.RatePerMinute
	if rc.RatePerMinute != nil {
		r.rate = *rc.RatePerMinute
	}
	if r.Burst == 0 {
		r.Burst = d.Burst
	}
	if r.MaxBatch == 0 {
		r.MaxBatch = d.MaxBatch
	}
	if r.RateLimitWait == 0 {
		r.RateLimitWait = d.RateLimitWait
	}
	if r.Format == "" {
		r.Format = d.Format
	}
	r.states = slices.Clone(rc.States)
	if len(r.states) == 0 {
		r.states = d.States
	}
	if r.QueueSize == 0 {
		r.QueueSize = DefaultQueueSize
	}
	if r.Timeout == 0 {
		r.Timeout = DefaultTimeout
	}
	if r.MaxAttempts == 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.BackoffBase == 0 {
		r.BackoffBase = DefaultBackoffBase
	}
	if r.BackoffMax == 0 {
		r.BackoffMax = DefaultBackoffMax
	}
	if r.BackoffMax < r.BackoffBase {
		r.BackoffMax = r.BackoffBase
	}
	if r.ResendInterval == 0 {
		r.ResendInterval = DefaultResendInterval
	}
	return r, nil
}

// wants reports whether the receiver takes this event.
func (r *resolved) wants(ev *alerts.Event) bool {
	if len(r.Kinds) > 0 && !slices.Contains(r.Kinds, ev.Kind) {
		return false
	}
	return slices.Contains(r.states, ev.State)
}
