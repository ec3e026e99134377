// Package prometheus_test checks the pipeline's Prometheus alerting rules
// with promtool (Debian's prometheus package; `make tools` installs it):
// that they load, that their unit tests pass, that every rule is tested
// firing and not firing, and that every metric they read is one the Go
// code actually exports.
package prometheus_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const (
	rulesFile = "tongxin-rules.yml"
	testsFile = "tongxin-rules.test.yml"
)

// promtool finds promtool or fails: a missing tool must not pass as green.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (%v): install Debian's prometheus package "+
			"(`make tools`, or apt-get install -y prometheus) to test the alert rules", err)
	}
	return p
}

func run(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool(t), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out.String())
}

func TestPromtoolCheckRules(t *testing.T) {
	run(t, "check", "rules", rulesFile)
}

func TestPromtoolTestRules(t *testing.T) {
	run(t, "test", "rules", testsFile)
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type testFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			EvalTime  string `yaml:"eval_time"`
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func load(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Every alert has a severity, a component, a summary and a description,
// and is tested both firing and quiet.
func TestEveryRuleIsDescribedAndTestedBothWays(t *testing.T) {
	var rules ruleFile
	var tests testFile
	load(t, rulesFile, &rules)
	load(t, testsFile, &tests)
	if !slices.Contains(tests.RuleFiles, rulesFile) {
		t.Fatalf("%s does not load %s", testsFile, rulesFile)
	}
	firing, quiet := map[string]int{}, map[string]int{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname]++
			} else {
				quiet[a.Alertname]++
			}
		}
	}
	seen := map[string]bool{}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if seen[r.Alert] {
				t.Errorf("%s defined twice", r.Alert)
			}
			seen[r.Alert] = true
			switch r.Labels["severity"] {
			case "critical", "warning", "info":
			default:
				t.Errorf("%s: severity %q, want critical, warning or info", r.Alert, r.Labels["severity"])
			}
			if r.Labels["component"] == "" {
				t.Errorf("%s: no component label", r.Alert)
			}
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			if firing[r.Alert] == 0 {
				t.Errorf("%s: no test shows it firing", r.Alert)
			}
			if quiet[r.Alert] == 0 {
				t.Errorf("%s: no test shows it quiet", r.Alert)
			}
		}
	}
	for name := range firing {
		if !seen[name] {
			t.Errorf("tests expect %s, which no rule defines", name)
		}
	}
	if n < 10 {
		t.Errorf("only %d alerts", n)
	}
}

var (
	metricInExpr = regexp.MustCompile(`\btongxin_[a-z0-9_]+`)
	metricInGo   = regexp.MustCompile(`(?:Name:\s*|NewDesc\(\s*)"(tongxin_[a-z0-9_]+)"`)
)

// Every metric a rule reads is exported by the Go code, so a renamed
// metric cannot silently blind an alert.
func TestRulesReadExportedMetrics(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not at %s: %v", root, err)
	}
	exported := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "vendor", "testdata", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range metricInGo.FindAllSubmatch(b, -1) {
			name := string(m[1])
			exported[name] = true
			for _, suffix := range []string{"_bucket", "_sum", "_count"} { // histograms
				exported[name+suffix] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var rules ruleFile
	load(t, rulesFile, &rules)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			for _, name := range metricInExpr.FindAllString(r.Expr, -1) {
				if !exported[name] {
					t.Errorf("%s reads %s, which no Go code in the module exports", r.Alert, name)
				}
			}
		}
	}
}
