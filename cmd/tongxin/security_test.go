package main

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tongxin/tongxin/internal/config"
	"github.com/tongxin/tongxin/internal/enginetest"
)

// parseFlags parses args as the flags of command c.
func parseFlags(t *testing.T, c *command, args ...string) (*options, error) {
	t.Helper()
	o := &options{}
	fs := newFlagSet(c, o, io.Discard)
	_, _, err := config.Parse(fs, args, knownKeys())
	return o, err
}

// The Kafka SASL password comes from TONGXIN_KAFKA_PASSWORD or a file,
// never from a flag or the config file, and shows in no message.
func TestKafkaPasswordOnlyFromTheEnvironmentOrAFile(t *testing.T) {
	const pw = "Kafka-s3cret.pw"
	dir := t.TempDir()
	ca := enginetest.NewCA(t, dir, "ca")
	sasl := []string{"--kafka-sasl", "scram-sha-512", "--kafka-user", "tongxin-ingest", "--kafka-ca", ca.File}

	for _, c := range commands {
		fs := newFlagSet(c, &options{}, io.Discard)
		if f := fs.Lookup("kafka-password"); f != nil {
			t.Errorf("tongxin %s has a --kafka-password flag: ps would show the password", c.name)
		}
		if fs.Lookup("brokers") != nil && fs.Lookup("kafka-sasl") == nil {
			t.Errorf("tongxin %s talks to Kafka but has no --kafka-sasl", c.name)
		}
	}
	cfg := filepath.Join(dir, "tongxin.yaml")
	if err := os.WriteFile(cfg, []byte("kafka-password: "+pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parseFlags(t, ingestCommand, "--config", cfg); err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("a kafka-password key in the config file: error %v, want one (without the password)", err)
	}

	t.Setenv(kafkaPasswordEnv, pw)
	o, err := parseFlags(t, ingestCommand, sasl...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := o.kafka()
	if err != nil {
		t.Fatalf("password from %s: %v", kafkaPasswordEnv, err)
	}
	if desc := fmt.Sprint(s); !strings.Contains(desc, "SCRAM-SHA-512 as tongxin-ingest") || strings.Contains(desc, pw) {
		t.Errorf("settings described as %q", desc)
	}

	file := filepath.Join(dir, "kafka.password")
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, _ = parseFlags(t, ingestCommand, append(sasl, "--kafka-password-file", file)...)
	if _, err := o.kafka(); err == nil || !strings.Contains(err.Error(), "given twice") || strings.Contains(err.Error(), pw) {
		t.Errorf("password in both the environment and a file: error %v", err)
	}

	os.Unsetenv(kafkaPasswordEnv) // t.Setenv restores it
	if _, err := o.kafka(); err != nil {
		t.Errorf("password from --kafka-password-file: %v", err)
	}
	o, _ = parseFlags(t, ingestCommand, sasl...)
	if _, err := o.kafka(); err == nil || !strings.Contains(err.Error(), kafkaPasswordEnv) {
		t.Errorf("no password: error %v, want one naming %s", err, kafkaPasswordEnv)
	}
	o, _ = parseFlags(t, ingestCommand, "--kafka-sasl", "GSSAPI", "--kafka-user", "x")
	t.Setenv(kafkaPasswordEnv, pw)
	if _, err := o.kafka(); err == nil || !strings.Contains(err.Error(), "SCRAM-SHA-512") || strings.Contains(err.Error(), pw) {
		t.Errorf("an unknown mechanism: error %v", err)
	}
}

// `tongxin migrate --clickhouse https://…?secure=true --clickhouse-ca CA`
// applies the schema through a TLS-terminating proxy in front of the real
// ClickHouse engine; with the wrong CA it fails, and the DSN's password is
// in none of its output.
func TestMigrateOverTLSWithClickHouseCA(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the ClickHouse engine")
	}
	dir := t.TempDir()
	ca := enginetest.NewCA(t, dir, "ca")
	cert, key := ca.Issue(t, dir, "clickhouse")
	other := enginetest.NewCA(t, dir, "other-ca")
	plain := enginetest.Database(t, enginetest.ClickHouse(t))
	u, err := url.Parse(plain)
	if err != nil {
		t.Fatal(err)
	}
	proxy, requests := enginetest.TLSProxy(t, plain, cert, key)

	var stdout, stderr bytes.Buffer
	code := realMain([]string{"migrate", "--clickhouse", enginetest.SecureDSN(t, plain, proxy), "--clickhouse-ca", ca.File}, &stdout, &stderr)
	if code != 0 || !strings.Contains(stdout.String(), "schema up to date") {
		t.Fatalf("migrate over TLS: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if requests.Load() == 0 {
		t.Fatal("no request went through the TLS proxy")
	}

	const pw = "Ch-s3cret.pw"
	stdout.Reset()
	stderr.Reset()
	t.Setenv("TONGXIN_CLICKHOUSE", "https://tongxin:"+pw+"@"+proxy+u.Path+"?secure=true")
	code = realMain([]string{"migrate", "--clickhouse-ca", other.File}, &stdout, &stderr)
	out := stdout.String() + stderr.String()
	if code != 1 || !strings.Contains(out, "certificate signed by unknown authority") {
		t.Errorf("migrate with the wrong CA: exit %d, want 1 and a certificate error:\n%s", code, out)
	}
	if strings.Contains(out, pw) {
		t.Errorf("the output holds the ClickHouse password:\n%s", out)
	}
}

// `tongxin run` with Kafka security flags but no --brokers refuses to fall
// back to its plaintext embedded broker.
func TestRunWithKafkaSecurityNeedsBrokers(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := realMain([]string{"run", "--kafka-tls", "--listen", "127.0.0.1:0"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "need --brokers") {
		t.Errorf("exit %d, want 1 and an error saying the flags need --brokers:\n%s%s", code, stdout.String(), stderr.String())
	}
}
