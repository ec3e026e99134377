package main

import (
	"bytes"
	"strings"
	"testing"
)

// A wrong --targets stops `migrate --print` (and every other command that
// takes it) before anything is printed or changed, naming the flag and the
// target; a right one prints the schema.
func TestMigrateRefusesAWrongTargetBeforeDoingAnything(t *testing.T) {
	for _, bad := range []string{"寻美西山/kuaishou/plays/1", "寻美西山/douyin/likes/1", "寻美西山/douyin/plays/0", "寻美西山"} {
		var stdout, stderr bytes.Buffer
		code := realMain([]string{"migrate", "--print", "--targets", bad}, &stdout, &stderr)
		if code == 0 || stdout.Len() > 0 {
			t.Errorf("--targets %q: exit %d, printed %d bytes; want a failure and nothing printed", bad, code, stdout.Len())
		}
		if msg := stderr.String(); !strings.Contains(msg, "-targets") || !strings.Contains(msg, bad) {
			t.Errorf("--targets %q: the error does not name the flag and the target:\n%s", bad, msg)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"migrate", "--print", "--targets", "寻美西山/weibo/engagement/5000"}, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "CREATE TABLE") {
		t.Errorf("a right target: exit %d, want the schema printed:\n%s", code, stderr.String())
	}
}
