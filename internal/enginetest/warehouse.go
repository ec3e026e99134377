package enginetest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/aggregate/warehouse"
)

// MigratedDatabase gives the test a fresh database of its own on the
// ClickHouse engine (the shared one, or a private one started for t),
// migrated to the newest schema as `tongxin migrate` leaves it. It returns
// the database's DSN and a connection to it; the connection is closed and
// the database dropped when t ends. Skipped with -short.
func MigratedDatabase(t testing.TB) (dsn string, conn driver.Conn) {
	t.Helper()
	// Wall clock: how long the migrations may take on a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn = Database(t, ClickHouse(t))
	if _, err := warehouse.Migrate(ctx, dsn, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("migrating a fresh test database: %v", err)
	}
	conn, err := warehouse.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("opening the migrated test database: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return dsn, conn
}
