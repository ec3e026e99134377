package token

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/ingest/roster"
)

// AccountCheck says why a person must act on an account, or "" when
// nothing is wrong.
type AccountCheck func(acct roster.Account) string

// AccountGauge reports, at each scrape, one gauge per account of this
// replica: 1 when its platform's check names a reason a person must act,
// else 0, so the office is told in time rather than when polling stops.
type AccountGauge struct {
	desc     *prometheus.Desc
	reason   bool                        // the gauge carries the check's reason as a label
	accounts map[string][]roster.Account // platform → accounts
	check    map[string]AccountCheck
}

// NewAuthorizationGauge reports the ambassadors who must authorize the app.
func NewAuthorizationGauge() *AccountGauge {
	return newAccountGauge(prometheus.NewDesc("tongxin_ingest_authorization_needed",
		"1 for each account whose ambassador must authorize the app again now or soon (tongxin auth PLATFORM AMBASSADOR).",
		[]string{"platform", "ambassador"}, nil), false)
}

// NewBlockedGauge reports the accounts the platform refuses for good:
// deregistered, banned, private (reason account_blocked), or every account
// of a platform that withdrew a capability the app needs (reason withdrawn).
func NewBlockedGauge() *AccountGauge {
	return newAccountGauge(prometheus.NewDesc("tongxin_ingest_account_blocked",
		"1 for each account polling is parked for until a person acts: reason account_blocked (deregistered, banned, private) or withdrawn (the platform withdrew an API or capability from the app).",
		[]string{"platform", "ambassador", "reason"}, nil), true)
}

func newAccountGauge(desc *prometheus.Desc, reason bool) *AccountGauge {
	return &AccountGauge{desc: desc, reason: reason, accounts: map[string][]roster.Account{}, check: map[string]AccountCheck{}}
}

// Add reports platform's accts, each as check says. Add everything before
// the first scrape: Add is not safe beside Collect.
func (c *AccountGauge) Add(platform string, accts []roster.Account, check AccountCheck) {
	c.accounts[platform], c.check[platform] = accts, check
}

func (c *AccountGauge) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *AccountGauge) Collect(ch chan<- prometheus.Metric) {
	for platform, accts := range c.accounts {
		for _, a := range accts {
			why := c.check[platform](a)
			v := 0.0
			if why != "" {
				v = 1
			}
			labels := []string{platform, a.AmbassadorID}
			if c.reason {
				labels = append(labels, why)
			}
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, labels...)
		}
	}
}
