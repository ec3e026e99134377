package token

import (
	"maps"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/ingest/roster"
)

var gaugeAccounts = []roster.Account{
	{Platform: "douyin", AccountID: "o1", AmbassadorID: "amb01"},
	{Platform: "douyin", AccountID: "o2", AmbassadorID: "amb02"},
}

// flagO2 names a reason for account o2 only.
func flagO2(reason string) AccountCheck {
	return func(a roster.Account) string {
		if a.AccountID == "o2" {
			return reason
		}
		return ""
	}
}

// series gathers g's series as "label=value …" → value.
func series(t *testing.T, g *AccountGauge, name string) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(g)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			t.Errorf("series %s, want only %s", mf.GetName(), name)
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
	return got
}

// TestBlockedMetric checks what the office's alert reads: one gauge per
// account, 1 with the reason for the account a person must look at.
func TestBlockedMetric(t *testing.T) {
	g := NewBlockedGauge()
	g.Add("douyin", gaugeAccounts, flagO2("account_blocked"))
	got := series(t, g, "tongxin_ingest_account_blocked")
	want := map[string]float64{
		"ambassador=amb01 platform=douyin reason= ":                0,
		"ambassador=amb02 platform=douyin reason=account_blocked ": 1,
	}
	if !maps.Equal(got, want) {
		t.Errorf("series %v, want %v", got, want)
	}
}

// The ambassadors who must authorize the app again: 1 for them, 0 for the
// others, and no reason label (the action is always `tongxin auth`).
func TestAuthorizationMetric(t *testing.T) {
	g := NewAuthorizationGauge()
	g.Add("douyin", gaugeAccounts, flagO2("authorization"))
	got := series(t, g, "tongxin_ingest_authorization_needed")
	want := map[string]float64{
		"ambassador=amb01 platform=douyin ": 0,
		"ambassador=amb02 platform=douyin ": 1,
	}
	if !maps.Equal(got, want) {
		t.Errorf("series %v, want %v", got, want)
	}
}
