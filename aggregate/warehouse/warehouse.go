// Package warehouse connects to ClickHouse and keeps its schema: the
// versioned migrations embedded in the binary, applied by `tongxin migrate`.
package warehouse

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Database is the database tongxin's tables live in when the DSN names none.
const Database = "tongxin"

// Options parses a clickhouse-go DSN (clickhouse://… native or http://…);
// a DSN without a database gets Database. The client's timeouts are
// clickhouse-go's, wall time: dial 30 s and read 5 min unless the DSN sets
// dial_timeout or read_timeout.
func Options(dsn string) (*clickhouse.Options, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("clickhouse DSN: %w", redactErr(err, dsn))
	}
	if opts.Auth.Database == "" || opts.Auth.Database == "default" {
		opts.Auth.Database = Database
	}
	return opts, nil
}

// Open connects to the campaign database named by dsn and checks that it answers.
func Open(ctx context.Context, dsn string) (driver.Conn, error) {
	opts, err := Options(dsn)
	if err != nil {
		return nil, err
	}
	return open(ctx, opts)
}

func open(ctx context.Context, opts *clickhouse.Options) (driver.Conn, error) {
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", opts.Addr, err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse %s (database %s): %w", opts.Addr, opts.Auth.Database, err)
	}
	return conn, nil
}

// redactErr keeps a password that is part of the DSN out of an error.
func redactErr(err error, dsn string) error {
	msg := err.Error()
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			if c := strings.Index(dsn[i+3:at], ":"); c >= 0 {
				if pw := dsn[i+3+c+1 : at]; pw != "" {
					msg = strings.ReplaceAll(msg, pw, "xxxxx")
				}
			}
		}
	}
	return fmt.Errorf("%s", msg)
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one numbered file of statements.
type Migration struct {
	Version    int
	Name       string
	Statements []string
}

// Migrations returns the embedded migrations in order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, Statements: splitStatements(string(b))})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migration version %d given twice", ms[i].Version)
		}
	}
	return ms, nil
}

// splitStatements splits a file at semicolons that end a line, dropping
// comment-only lines. Statements hold no semicolons of their own.
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// Migrate creates the database if needed and applies every migration not yet
// recorded in schema_migrations. It is idempotent: statements are IF NOT
// EXISTS, and a migration is recorded only after all its statements ran.
// It returns the versions it applied.
func Migrate(ctx context.Context, dsn string, log *slog.Logger) ([]int, error) {
	opts, err := Options(dsn)
	if err != nil {
		return nil, err
	}
	db := opts.Auth.Database
	boot := *opts
	boot.Auth.Database = "default"
	bootConn, err := open(ctx, &boot)
	if err != nil {
		return nil, err
	}
	err = bootConn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(db))
	bootConn.Close()
	if err != nil {
		return nil, fmt.Errorf("creating database %s: %w", db, err)
	}

	conn, err := open(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations
		(version UInt32, name String, applied_at DateTime64(3, 'UTC'))
		ENGINE = MergeTree ORDER BY version`); err != nil {
		return nil, fmt.Errorf("creating schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		applied[int(v)] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	var done []int
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			if err := conn.Exec(ctx, stmt); err != nil {
				return done, fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
		}
		if err := conn.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			uint32(m.Version), m.Name, time.Now().UTC()); err != nil {
			return done, fmt.Errorf("recording migration %04d: %w", m.Version, err)
		}
		log.Info("migration applied", "version", m.Version, "name", m.Name, "database", db)
		done = append(done, m.Version)
	}
	return done, nil
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// SetSnapshotTTL keeps raw snapshots for days (0: forever). Rollups are kept
// regardless. Existing parts are not rewritten now; merges apply the TTL.
func SetSnapshotTTL(ctx context.Context, conn driver.Conn, days int) error {
	stmt := "ALTER TABLE snapshots REMOVE TTL"
	if days > 0 {
		stmt = fmt.Sprintf("ALTER TABLE snapshots MODIFY TTL toDateTime(observed_at) + INTERVAL %d DAY", days)
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"materialize_ttl_after_modify": 0}))
	if err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("setting the snapshots TTL to %d days: %w", days, err)
	}
	return nil
}
