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

	"github.com/tongxin/tongxin/aggregate/warehouse"
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
	observed := time.Date(2026, 6, 1, 10, 30, 0, 0, time.UTC)
	dsn, ctx := earlierRun(t, "p1", observed)
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

// earlierRun gives the test a migrated database holding what an earlier
// run left: one post_hourly row of post, observed at observed; and a
// context for the test's queries.
func earlierRun(t *testing.T, post string, observed time.Time) (dsn string, ctx context.Context) {
	t.Helper()
	dsn, conn := enginetest.MigratedDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // wall
	t.Cleanup(cancel)
	if err := conn.Exec(ctx, `INSERT INTO post_hourly (hour, platform, ambassador_id, post_id, published_at, plays, snapshots, last_observed_at)
		VALUES (?, 'douyin', 'a01', ?, ?, 10, 1, ?)`, observed.Truncate(time.Hour), post, observed.Add(-time.Hour), observed); err != nil {
		t.Fatal(err)
	}
	return dsn, ctx
}

// `tongxin run --fresh` starts from an empty campaign database: a row an
// earlier run left (observed after this run's clock, which would otherwise
// draw the note about data from the future) is gone, the schema is
// migrated anew, and the run's exit check adds up.
func TestRunFreshDropsTheLocalDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the ClickHouse engine")
	}
	dsn, ctx := earlierRun(t, "from-an-earlier-run", time.Now().UTC().Add(30*24*time.Hour))
	conn, err := warehouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var stdout, stderr bytes.Buffer
	code := realMain([]string{"run", "--fresh", "--clickhouse", dsn, "--listen", "127.0.0.1:0", "--partitions", "3", "--speed", "60", "--for", "6s"}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("run --fresh: exit %d\n%s%s", code, out, stderr.String())
	}
	opts, err := warehouse.Options(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if want := "fresh start: dropped ClickHouse database " + opts.Auth.Database + " "; !strings.Contains(out, want) {
		t.Errorf("run --fresh does not say what it dropped (%q):\n%s", want, out)
	}
	if strings.Contains(out, "already holds observations") {
		t.Errorf("run --fresh still saw the earlier run's observations:\n%s", out)
	}
	if !strings.Contains(out, "the sum of post_hourly equals the latest snapshot for every metric") {
		t.Errorf("run --fresh: the exit check does not add up:\n%s", out)
	}
	var left uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM post_hourly WHERE post_id = 'from-an-earlier-run'").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("the earlier run's row is still in post_hourly")
	}
	ms, err := warehouse.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var applied uint64
	if err := conn.QueryRow(ctx, "SELECT uniqExact(version) FROM schema_migrations").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != uint64(len(ms)) {
		t.Errorf("schema_migrations records %d migrations after --fresh, want all %d", applied, len(ms))
	}
}

// --fresh drops only a database on this machine: a DSN naming another
// host is refused, naming the host and not the password, before anything
// is dropped; and it does not go with Kafka brokers of one's own.
func TestRunFreshRefusesWhatIsNotLocal(t *testing.T) {
	const pw = "s3cr3t-T0ken_abcdefghijklmnop"
	var stdout, stderr bytes.Buffer
	code := realMain([]string{"run", "--fresh", "--clickhouse", "http://default:" + pw + "@clickhouse.example.com:8123/tongxin", "--listen", "127.0.0.1:0"}, &stdout, &stderr)
	out := stdout.String() + stderr.String()
	if code != 1 || !strings.Contains(stderr.String(), "--fresh") || !strings.Contains(stderr.String(), "clickhouse.example.com") {
		t.Errorf("--fresh on another host: exit %d, want 1 and an error naming --fresh and the host:\n%s", code, out)
	}
	if strings.Contains(out, pw) {
		t.Errorf("the output holds the ClickHouse password:\n%s", out)
	}
	if strings.Contains(stdout.String(), "fresh start") {
		t.Errorf("--fresh on another host says it dropped something:\n%s", out)
	}

	stdout.Reset()
	stderr.Reset()
	code = realMain([]string{"run", "--fresh", "--brokers", "127.0.0.1:1", "--clickhouse", "http://127.0.0.1:1/tongxin", "--listen", "127.0.0.1:0"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "--brokers") {
		t.Errorf("--fresh with --brokers: exit %d, want 1 and an error naming --brokers:\n%s%s", code, stdout.String(), stderr.String())
	}
}
