package budget

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics report the platforms' buckets on /metrics.
type Metrics struct {
	reg  prometheus.Registerer
	wait *prometheus.CounterVec
}

// NewMetrics registers the budget metrics with reg; Watch adds a bucket.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return &Metrics{reg: reg, wait: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
		Name: "tongxin_ingest_budget_wait_seconds_total",
		Help: "Campaign seconds the scheduler waited for a budget token before making a request, by platform (waiting is not a failure).",
	}, []string{"platform"})}
}

// Watch reports platform's bucket b: its rate, the tokens it holds, and the
// campaign time each Take waits (Watch sets b.OnWait).
func (m *Metrics) Watch(platform string, b *Bucket) {
	b.OnWait = func(d time.Duration) { m.wait.WithLabelValues(platform).Add(d.Seconds()) }
	f := promauto.With(m.reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tongxin_ingest_budget_per_hour", Help: "Each platform's request budget for this replica now, requests per campaign hour: the app's budget times the share of the shards this replica owns.",
		ConstLabels: prometheus.Labels{"platform": platform},
	}, b.PerHour)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tongxin_ingest_budget_available", Help: "Requests left in the platform's budget bucket: near 0 means the budget is what limits polling.",
		ConstLabels: prometheus.Labels{"platform": platform},
	}, func() float64 { return float64(b.Available()) })
}
