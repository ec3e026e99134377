package budget

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/internal/clock"
)

// What the office reads to see whether the budget limits polling: the
// rate, the tokens left, and the campaign time spent waiting, by platform.
func TestMetricsReportTheBucket(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	b := New(clk, 120, 2) // one token every 30 campaign seconds
	m.Watch("douyin", b)
	m.Watch("weibo", New(clk, 600, 10))
	b.TryTake()
	b.TryTake()
	if err := b.Take(context.Background()); err != nil { // waits 30 campaign seconds
		t.Fatal(err)
	}
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			got[mf.GetName()+"{"+m.GetLabel()[0].GetValue()+"}"] = v
		}
	}
	want := map[string]float64{
		"tongxin_ingest_budget_per_hour{douyin}":           120,
		"tongxin_ingest_budget_per_hour{weibo}":            600,
		"tongxin_ingest_budget_available{douyin}":          0,
		"tongxin_ingest_budget_available{weibo}":           10,
		"tongxin_ingest_budget_wait_seconds_total{douyin}": 30,
	}
	if !maps.Equal(got, want) {
		t.Errorf("series %v, want %v", got, want)
	}
}
