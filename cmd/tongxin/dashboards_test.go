package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tongxin/tongxin/dashboards"
)

// `tongxin dashboards --out DIR` writes the six dashboards and the
// provisioning files, names each file it wrote, and says what is missing
// without --out; TONGXIN_OUT is the flag's environment twin.
func TestDashboardsCommandWritesDashboardsAndProvisioning(t *testing.T) {
	want, err := dashboards.Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, how := range []string{"flag", "environment"} {
		dir := filepath.Join(t.TempDir(), "grafana")
		args := []string{"dashboards", "--out", dir}
		if how == "environment" {
			args = args[:1]
			t.Setenv("TONGXIN_OUT", dir)
		}
		var stdout, stderr bytes.Buffer
		if code := realMain(args, &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d:\n%s%s", how, code, stdout.String(), stderr.String())
		}
		if lines := strings.Split(strings.TrimSpace(stdout.String()), "\n"); len(lines) != len(want) {
			t.Errorf("%s: printed %d paths, wrote %d files:\n%s", how, len(lines), len(want), stdout.String())
		}
		for rel, b := range want {
			got, err := os.ReadFile(filepath.Join(dir, rel))
			if err != nil || !bytes.Equal(got, b) {
				t.Errorf("%s: %s: %v (or different content)", how, rel, err)
			}
		}
		for _, uid := range []string{"tongxin-overview", "tongxin-leaderboard", "tongxin-ambassador", "tongxin-post", "tongxin-alerts", "tongxin-health"} {
			if _, ok := want["dashboards/"+uid+".json"]; !ok {
				t.Errorf("no dashboards/%s.json", uid)
			}
		}
	}
	t.Setenv("TONGXIN_OUT", "")
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"dashboards"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "--out DIR is required") {
		t.Errorf("without --out: exit %d, want 1 and a message naming --out:\n%s", code, stderr.String())
	}
}
