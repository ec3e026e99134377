package enginetest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricSum is the sum of the counter or gauge name over all its label
// sets in reg: what a test reads of a component's metrics.
func MetricSum(tb testing.TB, reg prometheus.Gatherer, name string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return n
}
