package main

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/ingest/roster"
)

// TestBlockedMetric checks what the office's alert reads: one gauge per
// account, 1 with the reason for the account a person must look at.
func TestBlockedMetric(t *testing.T) {
	accts := []roster.Account{
		{Platform: "douyin", AccountID: "o1", AmbassadorID: "amb01"},
		{Platform: "douyin", AccountID: "o2", AmbassadorID: "amb02"},
	}
	c := newBlockedCollector()
	c.add("douyin", accts, func(a roster.Account) string {
		if a.AccountID == "o2" {
			return "account_blocked"
		}
		return ""
	})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "tongxin_ingest_account_blocked" {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + " "
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"ambassador=amb01 platform=douyin reason= ":                0,
		"ambassador=amb02 platform=douyin reason=account_blocked ": 1,
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("series {%s} = %v (present %v), want %v; all: %v", k, g, ok, v, got)
		}
	}
}
