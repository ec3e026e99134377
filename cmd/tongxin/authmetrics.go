package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongxin/tongxin/ingest/roster"
)

// needsAuth says whether an account's ambassador must authorize the app
// (again), now or soon.
type needsAuth func(acct roster.Account) bool

// authCollector reports, at each scrape, which ambassadors must authorize
// the app, so the office is told in time rather than when polling stops.
type authCollector struct {
	desc     *prometheus.Desc
	accounts map[string][]roster.Account // platform → accounts
	check    map[string]needsAuth
}

func newAuthCollector() *authCollector {
	return &authCollector{
		desc: prometheus.NewDesc("tongxin_ingest_authorization_needed",
			"1 for each account whose ambassador must authorize the app again now or soon (tongxin auth PLATFORM AMBASSADOR).",
			[]string{"platform", "ambassador"}, nil),
		accounts: map[string][]roster.Account{}, check: map[string]needsAuth{},
	}
}

func (c *authCollector) add(platform string, accts []roster.Account, check needsAuth) {
	c.accounts[platform], c.check[platform] = accts, check
}

func (c *authCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *authCollector) Collect(ch chan<- prometheus.Metric) {
	for platform, accts := range c.accounts {
		for _, a := range accts {
			v := 0.0
			if c.check[platform](a) {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, platform, a.AmbassadorID)
		}
	}
}
