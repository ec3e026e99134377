package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdkprom "github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/tongxin/tongxin/aggregate"
	aggalerts "github.com/tongxin/tongxin/aggregate/alerts"
	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/ingest/budget"
	"github.com/tongxin/tongxin/ingest/producer"
	"github.com/tongxin/tongxin/ingest/scheduler"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/internal/enginetest"
)

// exported is a metric as the services register it: its labels and kind.
type exported struct {
	labels    []string
	histogram bool
}

// describer is a Registerer that keeps what each collector describes, so
// the test learns the services' metrics from the services' own code.
type describer struct{ metrics map[string]exported }

var (
	descName   = regexp.MustCompile(`fqName: "([^"]+)"`)
	descConst  = regexp.MustCompile(`constLabels: \{([^}]*)\}`)
	descVar    = regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
	labelNames = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)(?:=|,|$)`)
)

func (r *describer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	_, histVec := c.(*prometheus.HistogramVec)
	_, hist := c.(prometheus.Histogram)
	for d := range ch {
		s := d.String()
		name := descName.FindStringSubmatch(s)
		if name == nil {
			panic("unreadable metric description " + s)
		}
		var labels []string
		for _, re := range []*regexp.Regexp{descConst, descVar} {
			if m := re.FindStringSubmatch(s); m != nil {
				for _, l := range labelNames.FindAllStringSubmatch(m[1], -1) {
					labels = append(labels, l[1])
				}
			}
		}
		r.metrics[name[1]] = exported{labels: labels, histogram: histVec || hist}
	}
	return nil
}

func (r *describer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}

func (r *describer) Unregister(prometheus.Collector) bool { return true }

// servicesMetrics builds each metric owner of tongxin ingest and aggregate
// the way cmd/tongxin does and returns what they register.
func servicesMetrics(t *testing.T) map[string]exported {
	t.Helper()
	r := &describer{metrics: map[string]exported{}}
	sink.New(nil, r)
	aggregate.New(aggregate.Config{Registerer: r})
	aggalerts.NewService(aggalerts.ServiceConfig{Registerer: r})
	scheduler.NewMetrics(r)
	budget.NewMetrics(r).Watch("douyin", budget.New(clock.Real(), 40, 1))
	producer.New(producer.Config{Registerer: r})
	r.MustRegister(token.NewAuthorizationGauge(), token.NewBlockedGauge())
	if len(r.metrics) < 20 {
		t.Fatalf("only %d metrics described: %v", len(r.metrics), r.metrics)
	}
	return r.metrics
}

// promQueries lists every PromQL query of the dashboards.
func promQueries(t *testing.T) []string {
	var out []string
	for _, d := range loadGenerated(t) {
		for _, p := range panels(d) {
			for _, q := range p.Targets {
				if q, ok := q.(*sdkprom.Dataquery); ok {
					out = append(out, q.Expr)
				}
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d PromQL queries found", len(out))
	}
	return out
}

// grafanaRanges stands in for Grafana's own interval variables.
var grafanaRanges = strings.NewReplacer("$__rate_interval", "4m", "$__range", "1h", "$__interval", "1m")

// Every PromQL query parses and names only metrics the services register,
// matching only labels those metrics have.
func TestPromQLQueries(t *testing.T) {
	metrics := servicesMetrics(t)
	p := parser.NewParser(parser.Options{})
	used := map[string]bool{}
	for _, q := range promQueries(t) {
		expr, err := p.ParseExpr(grafanaRanges.Replace(q))
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(vs.Name, "_bucket"), "_sum"), "_count")
			m, ok := metrics[name]
			if !ok {
				m, ok = metrics[vs.Name]
			}
			if !ok {
				t.Errorf("%s reads %s, which no service registers", q, vs.Name)
				return nil
			}
			used[vs.Name] = true
			for _, lm := range vs.LabelMatchers {
				if lm.Name != "__name__" && lm.Name != "le" && !slices.Contains(m.labels, lm.Name) {
					t.Errorf("%s matches label %s, which %s does not have (%v)", q, lm.Name, vs.Name, m.labels)
				}
			}
			return nil
		})
	}

}

// Every PromQL query evaluates on a real Prometheus (Debian's, as for the
// alert rules' promtool) that scrapes series shaped like the services' —
// each metric they register, with the labels they register — and returns
// series: a selector on a label value the services never use would not.
func TestPromQLEvaluatesOnPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server; skipped with -short")
	}
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not found (%v): install Debian's prometheus package (`make tools`, or apt-get install -y prometheus)", err)
	}
	metrics := servicesMetrics(t)
	var scrapes atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, exposition(metrics, scrapes.Add(1)))
	}))
	t.Cleanup(target.Close)

	dir := t.TempDir()
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: tongxin\n    static_configs:\n      - targets: [%q]\n", strings.TrimPrefix(target.URL, "http://"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := enginetest.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=warn")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })

	api := func(path string, q url.Values) ([]any, error) {
		resp, err := http.Get("http://" + addr + path + "?" + q.Encode())
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var body struct {
			Status string `json:"status"`
			Error  string `json:"error"`
			Data   struct {
				Result []any `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return nil, fmt.Errorf("HTTP %s: %w", resp.Status, err)
		}
		if body.Status != "success" {
			return nil, fmt.Errorf("%s", body.Error)
		}
		return body.Data.Result, nil
	}
	// Wait for a few scrapes: rate() needs two samples at least.
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := api("/api/v1/query", url.Values{"query": {"count_over_time(up[1m]) >= 5"}})
		if err == nil && len(r) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not scrape 5 times within a minute (last error %v); its log:\n%s", err, logs.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	end := time.Now()
	for _, q := range promQueries(t) {
		r, err := api("/api/v1/query_range", url.Values{"query": {grafanaRanges.Replace(q)},
			"start": {fmt.Sprint(end.Add(-10 * time.Second).Unix())}, "end": {fmt.Sprint(end.Unix())}, "step": {"1"}})
		if err != nil {
			t.Errorf("%s: %v", q, err)
		} else if len(r) == 0 {
			t.Errorf("%s returned no series from series shaped like the services'", q)
		}
	}
}

// exposition is the text a /metrics of the services could serve at the
// n-th scrape: each registered metric with one series per label set; counters
// rise with n, the "a person must act" gauges are 1, histograms fill buckets.
func exposition(metrics map[string]exported, n int64) string {
	values := map[string]string{"platform": "douyin", "outcome": "unavailable", "op": "fetch", "state": "polled",
		"table": "post_hourly", "partition": "0", "age_band": "under_1h", "ambassador": "amb-1", "reason": "account_blocked",
		"kind": "viral", "receiver": "wecom"}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(metrics)) {
		m := metrics[name]
		var ls []string
		for _, l := range m.labels {
			v := values[l]
			if v == "" {
				v = "x"
			}
			ls = append(ls, fmt.Sprintf("%s=%q", l, v))
		}
		labels := "{" + strings.Join(ls, ",") + "}"
		switch {
		case m.histogram:
			fmt.Fprintf(&b, "# TYPE %s histogram\n", name)
			for i, le := range []string{"30", "300", "3600", "+Inf"} {
				fmt.Fprintf(&b, "%s_bucket{%s} %d\n", name, strings.Join(append(slices.Clone(ls), fmt.Sprintf("le=%q", le)), ","), int64(i+1)*5*n)
			}
			fmt.Fprintf(&b, "%s_sum%s %d\n%s_count%s %d\n", name, labels, 100*n, name, labels, 20*n)
		case strings.HasSuffix(name, "_total"):
			fmt.Fprintf(&b, "# TYPE %s counter\n%s%s %d\n", name, name, labels, 3*n)
		default:
			fmt.Fprintf(&b, "# TYPE %s gauge\n%s%s 1\n", name, name, labels)
		}
	}
	return b.String()
}
