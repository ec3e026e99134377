package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/internal/enginetest"
)

var curlLine = regexp.MustCompile(`(?m)^\s*(curl .*)$`)

// The banner of `tongxin run` shows the ClickHouse DSN without its password
// (the local engine's token), and the curl examples get it from a netrc
// file only the user can read.
func TestBannerHidesTheClickHousePassword(t *testing.T) {
	const token = "s3cr3t-T0ken_abcdefghijklmnop"
	dir := t.TempDir()
	var out bytes.Buffer
	err := writeBanner(&out, "127.0.0.1:9464", "http://127.0.0.1:1", "127.0.0.1:9092", "http://default:"+token+"@127.0.0.1:8123/tongxin", dir)
	if err != nil {
		t.Fatal(err)
	}
	banner := out.String()
	if strings.Contains(banner, token) {
		t.Fatalf("the banner shows the password:\n%s", banner)
	}
	if !strings.Contains(banner, "clickhouse: http://default:xxxxx@127.0.0.1:8123/tongxin") {
		t.Errorf("the banner does not show the redacted DSN:\n%s", banner)
	}
	m := regexp.MustCompile(`--netrc-file '([^']+)'`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("the curl examples give no --netrc-file:\n%s", banner)
	}
	st, err := os.Stat(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("netrc file mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(m[1])
	if string(b) != "machine 127.0.0.1 login default password "+token+"\n" {
		t.Errorf("netrc file holds %q", b)
	}
}

// The banner's curl example answers, against the real engine.
func TestBannerCurlAsksClickHouse(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the ClickHouse engine")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	dsn, _ := enginetest.MigratedDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := writeBanner(&out, "127.0.0.1:9464", "http://127.0.0.1:1", "127.0.0.1:9092", dsn, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	lines := curlLine.FindAllStringSubmatch(out.String(), -1)
	if len(lines) == 0 {
		t.Fatalf("no curl example:\n%s", out.String())
	}
	for _, l := range lines {
		cmd := exec.CommandContext(ctx, "sh", "-c", strings.Replace(l[1], "curl ", "curl -sS --fail-with-body ", 1))
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", l[1], err, b)
		}
	}
}

// A run whose campaign clock is behind what ClickHouse already holds (an
// earlier run of the same hour on a faster clock) says so, and how to go
// on; a run ahead of it says nothing.
func TestRunWarnsOfObservationsFromItsFuture(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the ClickHouse engine")
	}
	dsn, conn := enginetest.MigratedDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	observed := time.Date(2026, 6, 1, 10, 30, 0, 0, time.UTC)
	if err := conn.Exec(ctx, `INSERT INTO post_hourly (hour, platform, ambassador_id, post_id, published_at, plays, snapshots, last_observed_at)
		VALUES (?, 'douyin', 'a01', 'p1', ?, 10, 1, ?)`, observed.Truncate(time.Hour), observed.Add(-time.Hour), observed); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := &options{clickhouse: dsn, stdout: &out}
	warnFutureData(ctx, o, observed.Add(-2*time.Hour))
	if !strings.Contains(out.String(), "2026-06-01T10:30:00Z") || !strings.Contains(out.String(), "--start 2026-06-01T11:00:00Z") {
		t.Errorf("a run behind the data: %q, want a note naming the newest observation and --start 2026-06-01T11:00:00Z", out.String())
	}
	out.Reset()
	warnFutureData(ctx, o, observed.Add(time.Minute))
	if out.Len() != 0 {
		t.Errorf("a run ahead of the data: %q, want nothing", out.String())
	}
}
