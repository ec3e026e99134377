package notify

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Outcomes of the notifications metric.
const (
	OutcomeSent      = "sent"      // the receiver acknowledged it
	OutcomeFailed    = "failed"    // refused, or still failing after every retry
	OutcomeDropped   = "dropped"   // the receiver's queue was full (or the router stopped)
	OutcomeAbandoned = "abandoned" // still queued or in flight when the router stopped
)

type metrics struct {
	notifications *prometheus.CounterVec
	retries       *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	resends       *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, r *Router) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		notifications: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tongxin_alerts_notifications_total",
			Help: "Alert events per receiver and kind by outcome: sent, failed (refused or retries exhausted), dropped (queue full), abandoned (shutdown).",
		}, []string{"receiver", "kind", "outcome"}),
		retries: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tongxin_alerts_notification_retries_total",
			Help: "Retried deliveries per receiver by reason: rate_limited, server_error, timeout, network.",
		}, []string{"receiver", "reason"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tongxin_alerts_notification_duration_seconds",
			Help:    "Time from taking a message off the queue to its final outcome, retries and rate-limit waits included.",
			Buckets: prometheus.ExponentialBuckets(0.05, 4, 9),
		}, []string{"receiver"}),
		resends: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tongxin_alerts_alertmanager_resends_total",
			Help: "Periodic re-sends of active alerts to Alertmanager, by outcome (ok, error).",
		}, []string{"receiver", "outcome"}),
	}
	reg.MustRegister(queueCollector{r})
	return m
}

var (
	queueLenDesc = prometheus.NewDesc("tongxin_alerts_notification_queue_length",
		"Alert events waiting for each receiver.", []string{"receiver"}, nil)
	queueCapDesc = prometheus.NewDesc("tongxin_alerts_notification_queue_capacity",
		"Size of each receiver's queue; events beyond it are dropped.", []string{"receiver"}, nil)
)

// queueCollector reads the queues at scrape time.
type queueCollector struct{ r *Router }

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueLenDesc
	ch <- queueCapDesc
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	for _, rc := range c.r.receivers {
		ch <- prometheus.MustNewConstMetric(queueLenDesc, prometheus.GaugeValue, float64(len(rc.queue)), rc.name)
		ch <- prometheus.MustNewConstMetric(queueCapDesc, prometheus.GaugeValue, float64(cap(rc.queue)), rc.name)
	}
}
