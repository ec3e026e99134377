package warehouse_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/internal/enginetest"
)

// ClickHouse behind TLS (a TLS-terminating proxy in front of the real
// engine): an https://…?secure=true DSN with WithCAFile (--clickhouse-ca)
// migrates and queries; without the CA file, or with another CA, the
// connection is refused with a certificate error that does not hold the
// DSN's password; a CA file with a DSN that does not ask for TLS is an
// error, not a silent plaintext connection.
func TestClickHouseOverTLSWithACAFile(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the ClickHouse engine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	ca := enginetest.NewCA(t, dir, "ca")
	cert, key := ca.Issue(t, dir, "clickhouse")
	other := enginetest.NewCA(t, dir, "other-ca")

	plain := enginetest.Database(t, enginetest.ClickHouse(t)) // dropped at the end
	u, err := url.Parse(plain)
	if err != nil {
		t.Fatal(err)
	}
	proxy, requests := enginetest.TLSProxy(t, plain, cert, key)
	secure := enginetest.SecureDSN(t, plain, proxy)

	if _, err := warehouse.Migrate(ctx, secure, quiet, warehouse.WithCAFile(ca.File)); err != nil {
		t.Fatalf("migrating over TLS: %v", err)
	}
	conn, err := warehouse.Open(ctx, secure, warehouse.WithCAFile(ca.File))
	if err != nil {
		t.Fatalf("opening %s with the CA file: %v", secure, err)
	}
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if n == 0 {
		t.Errorf("schema_migrations is empty after migrating over TLS")
	}
	if requests.Load() == 0 {
		t.Fatal("no request went through the TLS proxy")
	}

	const password = "Ch-s3cret.pw"
	withPassword := "https://tongxin:" + password + "@" + proxy + u.Path + "?secure=true"
	for name, opts := range map[string][]warehouse.Option{
		"the system's CAs": nil,
		"another CA":       {warehouse.WithCAFile(other.File)},
	} {
		before := requests.Load()
		_, err := warehouse.Open(ctx, withPassword, opts...)
		if err == nil {
			t.Errorf("with %s: connected to a server whose certificate they do not vouch for", name)
			continue
		}
		if !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Errorf("with %s: error %q does not say the certificate is not trusted", name, err)
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("with %s: the error holds the password: %v", name, err)
		}
		if requests.Load() != before {
			t.Errorf("with %s: a request reached the server", name)
		}
	}
	if _, err := warehouse.Open(ctx, secure, warehouse.WithCAFile(dir+"/missing.pem")); err == nil || !strings.Contains(err.Error(), "clickhouse CA file") {
		t.Errorf("a missing CA file: error %v, want one naming the CA file", err)
	}
	if _, err := warehouse.Open(ctx, "http://"+proxy+u.Path, warehouse.WithCAFile(ca.File)); err == nil || !strings.Contains(err.Error(), "does not ask for TLS") {
		t.Errorf("a CA file with a plaintext DSN: error %v, want one saying the DSN does not ask for TLS", err)
	}
}
