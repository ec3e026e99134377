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

// What the office's alerts read: one gauge per account, 1 for the account
// a person must act on. The blocked gauge names the reason; the
// authorization gauge needs none (the action is always `tongxin auth`).
func TestAccountGauges(t *testing.T) {
	for _, tc := range []struct {
		gauge        *AccountGauge
		name, reason string
		want         map[string]float64
	}{
		{NewBlockedGauge(), "tongxin_ingest_account_blocked", "account_blocked", map[string]float64{
			"ambassador=amb01 platform=douyin reason= ":                0,
			"ambassador=amb02 platform=douyin reason=account_blocked ": 1,
		}},
		{NewAuthorizationGauge(), "tongxin_ingest_authorization_needed", "authorization", map[string]float64{
			"ambassador=amb01 platform=douyin ": 0,
			"ambassador=amb02 platform=douyin ": 1,
		}},
	} {
		tc.gauge.Add("douyin", gaugeAccounts, flagO2(tc.reason))
		if got := series(t, tc.gauge, tc.name); !maps.Equal(got, tc.want) {
			t.Errorf("%s: series %v, want %v", tc.name, got, tc.want)
		}
	}
}
