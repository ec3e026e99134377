package main

import (
	"bytes"
	"strings"
	"testing"
)

// Mistakes in the report command's arguments are named before anything is
// reached.
func TestReportCommandNamesItsMistakes(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--out", t.TempDir(), "monthly"}, `report kind "monthly": want daily or weekly`},
		{[]string{"report", "daily"}, "--out DIR is required"},
		{[]string{"report", "--out", t.TempDir(), "--date", "2026-13-01", "daily"}, `--date "2026-13-01": want a Beijing day as YYYY-MM-DD`},
		{[]string{"report", "--out", t.TempDir()}, "want one argument: daily, weekly or schedule"},
	} {
		var out, errb bytes.Buffer
		if rc := realMain(c.args, &out, &errb); rc != 1 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", c.args, rc, errb.String(), c.want)
		}
	}
}
