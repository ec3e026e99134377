package notify

import (
	"context"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tongxin/tongxin/aggregate/alerts"
)

// Alertmanager posts alerts to Prometheus Alertmanager's API v2:
//
//	POST {url}/api/v2/alerts
//	[{"labels":{"alertname":"TongxinViralPost","kind":"viral","platform":…,
//	  "ambassador_id":…,"post_id":…,"severity":…},
//	  "annotations":{"summary":…,"description":…,…},
//	  "startsAt":…,"endsAt":…,"generatorURL":…}]
//
// Alertmanager expects its clients to re-send active alerts continuously
// and ends an alert it has not heard of by its endsAt, so open alerts are
// re-sent every ResendInterval with endsAt four intervals ahead, and a
// resolved alert is sent with endsAt = its resolution time. If tongxin
// stops, its alerts expire in Alertmanager on their own. The re-sending
// runs under Router.Run; an Alertmanager used alone only sends events.
type Alertmanager struct {
	base
	endpoint string
	labels   map[string]string
	genURL   string
	resend   time.Duration
	log      *slog.Logger
	m        *metrics

	mu     sync.Mutex
	active map[string]alerts.Event // by labels identity
}

// Alert names in Alertmanager.
const (
	AlertNameViral    = "TongxinViralPost"
	AlertNameLowReach = "TongxinLowReachPost"
)

func newAlertmanager(b base, r *resolved, log *slog.Logger, m *metrics) *Alertmanager {
	ep := strings.TrimRight(r.url, "/")
	if u, err := url.Parse(r.url); err == nil && !strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/api/v2/alerts") {
		u.Path = strings.TrimRight(u.Path, "/") + "/api/v2/alerts"
		u.RawPath = ""
		ep = u.String()
	}
	// Errors show the endpoint (credentials hidden) rather than the base.
	b.red = newRedactor(TypeAlertmanager, ep)
	b.c.red = b.red
	return &Alertmanager{
		base: b, endpoint: ep, labels: maps.Clone(r.Labels), genURL: r.GeneratorURL,
		resend: r.ResendInterval, log: log, m: m, active: map[string]alerts.Event{},
	}
}

// PostableAlert is one element of the API v2 postableAlerts array.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     string            `json:"startsAt,omitempty"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

const amTime = "2006-01-02T15:04:05.000Z07:00"

func (a *Alertmanager) Notify(ctx context.Context, ev alerts.Event) error {
	return a.NotifyBatch(ctx, single(ev))
}

func (a *Alertmanager) NotifyBatch(ctx context.Context, evs []alerts.Event) error {
	if len(evs) == 0 {
		return errNoEvents(a.c)
	}
	a.mu.Lock()
	for _, ev := range evs {
		if ev.State == alerts.StateResolved {
			delete(a.active, identity(&ev))
		} else {
			a.active[identity(&ev)] = ev
		}
	}
	a.mu.Unlock()
	return a.post(ctx, evs)
}

func (a *Alertmanager) post(ctx context.Context, evs []alerts.Event) error {
	now := a.now()
	out := make([]PostableAlert, len(evs))
	for i := range evs {
		out[i] = a.postable(&evs[i], now)
	}
	body, err := marshal(a.c, out)
	if err != nil {
		return err
	}
	_, err = a.c.post(ctx, a.endpoint, body, nil)
	return err
}

// identity is what Alertmanager deduplicates on: the labels.
func identity(ev *alerts.Event) string { return ev.Kind + "\x00" + ev.Platform + "\x00" + ev.PostID }

func (a *Alertmanager) postable(ev *alerts.Event, now time.Time) PostableAlert {
	labels := maps.Clone(a.labels)
	if labels == nil {
		labels = map[string]string{}
	}
	name, severity := AlertNameViral, "info"
	if ev.Kind == alerts.KindLowReach {
		name, severity = AlertNameLowReach, "warning"
	}
	if _, ok := labels["severity"]; !ok {
		labels["severity"] = severity
	}
	labels["alertname"] = name
	labels["kind"] = ev.Kind
	labels["platform"] = ev.Platform
	labels["ambassador_id"] = ev.AmbassadorID
	labels["post_id"] = ev.PostID

	v := render(*ev, a.names)
	ann := map[string]string{
		"summary":     v.title + "：" + v.fields[0].value + " 的" + PlatformName(ev.Platform) + "作品 " + ev.PostID,
		"description": v.text(),
		"reason":      ev.Reason,
		"alert_id":    ev.AlertID,
		"plays":       strconv.FormatInt(ev.Plays, 10),
		"data_age":    ev.DataAge.String(),
	}
	if ev.Score != 0 {
		ann["score"] = strconv.FormatFloat(ev.Score, 'f', -1, 64)
	}
	p := PostableAlert{Labels: labels, Annotations: ann}
	if !ev.OpenedAt.IsZero() {
		p.StartsAt = ev.OpenedAt.UTC().Format(amTime)
	}
	if ev.State == alerts.StateResolved {
		end := now
		if ev.ResolvedAt != nil {
			end = *ev.ResolvedAt
		}
		p.EndsAt = end.UTC().Format(amTime)
	} else {
		p.EndsAt = now.Add(4 * a.resend).UTC().Format(amTime)
	}
	if a.genURL != "" {
		if u, err := url.Parse(a.genURL); err == nil {
			q := u.Query()
			q.Set("var-platform", ev.Platform)
			q.Set("var-post_id", ev.PostID)
			u.RawQuery = q.Encode()
			p.GeneratorURL = u.String()
		}
	}
	return p
}

// Active returns the alerts being kept alive, sorted by identity.
func (a *Alertmanager) Active() []alerts.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	keys := slices.Sorted(maps.Keys(a.active))
	out := make([]alerts.Event, len(keys))
	for i, k := range keys {
		out[i] = a.active[k]
	}
	return out
}

// run re-sends the active alerts every resend interval until ctx ends.
func (a *Alertmanager) run(ctx context.Context) {
	t := time.NewTicker(a.resend)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		evs := a.Active()
		if len(evs) == 0 {
			continue
		}
		err := a.post(ctx, evs)
		if ctx.Err() != nil {
			return
		}
		outcome := "ok"
		if err != nil {
			outcome = "error"
			a.log.Warn("notify: re-sending active alerts to alertmanager failed; next try in one interval",
				"receiver", a.name, "alerts", len(evs), "err", err)
		}
		if a.m != nil {
			a.m.resends.WithLabelValues(a.name, outcome).Inc()
		}
	}
}
