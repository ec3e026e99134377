// Package warehouse connects to ClickHouse and keeps its schema: the
// versioned migrations embedded in the binary, applied by `tongxin migrate`.
package warehouse

import (
	"context"
	"crypto/x509"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
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
// Each Option then adjusts the result.
func Options(dsn string, with ...Option) (*clickhouse.Options, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("clickhouse DSN %s: %w", RedactDSN(dsn), redactErr(err, dsnPasswords(dsn)...))
	}
	if opts.Auth.Database == "" || opts.Auth.Database == "default" {
		opts.Auth.Database = Database
	}
	for _, o := range with {
		if err := o(opts); err != nil {
			return nil, err
		}
	}
	return opts, nil
}

// An Option adjusts what a DSN cannot say, such as a CA file.
type Option func(*clickhouse.Options) error

// WithCAFile trusts the CAs in the PEM file path (instead of the system's)
// for the server's certificate. The DSN must ask for TLS (secure=true, and
// https:// for HTTP): a CA file is no reason to guess. An empty path
// changes nothing.
func WithCAFile(path string) Option {
	return func(opts *clickhouse.Options) error {
		if path == "" {
			return nil
		}
		if opts.TLS == nil {
			return fmt.Errorf("clickhouse CA file %s given, but the DSN does not ask for TLS: use https://host:8443/db?secure=true or clickhouse://host:9440/db?secure=true", path)
		}
		pem, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("clickhouse CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("clickhouse CA file %s: no PEM certificate in it", path)
		}
		opts.TLS.RootCAs = pool
		return nil
	}
}

// Open connects to the campaign database named by dsn and checks that it answers.
func Open(ctx context.Context, dsn string, with ...Option) (driver.Conn, error) {
	opts, err := Options(dsn, with...)
	if err != nil {
		return nil, err
	}
	return open(ctx, opts)
}

func open(ctx context.Context, opts *clickhouse.Options) (driver.Conn, error) {
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", opts.Addr, redactErr(err, opts.Auth.Password))
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse %s (database %s): %w", opts.Addr, opts.Auth.Database, redactErr(err, opts.Auth.Password))
	}
	return conn, nil
}

// RedactDSN is dsn fit for a log line, a banner or an error: the password in
// its userinfo and any password= parameter become xxxxx.
func RedactDSN(dsn string) string {
	pw := dsnPasswords(dsn)
	for _, p := range pw {
		dsn = strings.ReplaceAll(dsn, p, "xxxxx")
	}
	return dsn
}

// dsnPasswords are the secrets a DSN carries, as written in it (escaped or not).
func dsnPasswords(dsn string) []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
			if u, err := url.QueryUnescape(s); err == nil && u != s {
				out = append(out, u)
			}
		}
	}
	rest := dsn
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	hostPart := rest
	if i := strings.IndexAny(hostPart, "/?"); i >= 0 {
		hostPart = hostPart[:i]
	}
	if at := strings.LastIndex(hostPart, "@"); at >= 0 {
		if _, p, ok := strings.Cut(hostPart[:at], ":"); ok {
			add(p)
		}
	}
	if _, q, ok := strings.Cut(dsn, "?"); ok {
		for _, kv := range strings.Split(q, "&") {
			if k, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, "password") {
				add(v)
			}
		}
	}
	// Longest first, so a password that holds another is replaced whole.
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// redactErr keeps secrets (the DSN's password) out of an error; an error
// that shows none is returned as it is, so errors.As still finds its cause.
func redactErr(err error, secrets ...string) error {
	msg := err.Error()
	red := msg
	for _, s := range secrets {
		if s != "" {
			red = strings.ReplaceAll(red, s, "xxxxx")
		}
	}
	if red == msg {
		return err
	}
	return errors.New(red)
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
func Migrate(ctx context.Context, dsn string, log *slog.Logger, with ...Option) ([]int, error) {
	opts, err := Options(dsn, with...)
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
