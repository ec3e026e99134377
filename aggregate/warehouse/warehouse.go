// Package warehouse connects to ClickHouse and keeps its schema: the
// versioned migrations embedded in the binary, applied by `tongxin migrate`.
package warehouse

import (
	"context"
	"crypto/x509"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/internal/redact"
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
		return nil, fmt.Errorf("clickhouse DSN %s: %w", RedactDSN(dsn), redact.New(redact.DSNMark, redact.DSNPasswords(dsn)...).Error(err))
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
		return nil, fmt.Errorf("clickhouse %s: %w", opts.Addr, redact.New(redact.DSNMark, opts.Auth.Password).Error(err))
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse %s (database %s): %w", opts.Addr, opts.Auth.Database, redact.New(redact.DSNMark, opts.Auth.Password).Error(err))
	}
	return conn, nil
}

// RedactDSN is dsn fit for a log line, a banner or an error: the password in
// its userinfo and any password= parameter become xxxxx.
func RedactDSN(dsn string) string { return redact.DSN(dsn) }

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
	return MigrateOn(ctx, dsn, Target{}, log, with...)
}

// Target is where the schema goes: one server (the zero Target), or every
// server of a ClickHouse cluster.
type Target struct {
	// Cluster, when set, renders every statement ON CLUSTER with Replicated
	// engines and Distributed tables (see ClusterRenderer).
	Cluster string
	// AnalystRole also creates (or updates) the analysts' role, settings
	// profile and quota and grants the role SELECT on the campaign's tables
	// and views (see AnalystDDL). It needs a user allowed to manage access,
	// which the aggregator's user should not be.
	AnalystRole bool
}

// schemaMigrationsTable is the single-server DDL of the migrations' own table.
const schemaMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations
		(version UInt32, name String, applied_at DateTime64(3, 'UTC'))
		ENGINE = MergeTree ORDER BY version`

// Plan is every statement Migrate runs on an empty database of target, in
// order, without connecting: for review (tongxin migrate --print) and tests.
func Plan(database string, t Target) ([]string, error) {
	if database == "" {
		database = Database
	}
	r, ms, boot, err := render(database, t)
	if err != nil {
		return nil, err
	}
	out := append([]string{createDatabase(database, t.Cluster)}, boot...)
	for _, m := range ms {
		out = append(out, m.Statements...)
	}
	if t.AnalystRole {
		out = append(out, AnalystDDL(t.Cluster, database, analystObjects(r))...)
	}
	return out, nil
}

// analystObjects are the tables and views analysts may read: all the
// migrations created, not the migrations' own table.
func analystObjects(r *ClusterRenderer) []string {
	return slices.DeleteFunc(r.Objects(), func(o string) bool {
		return o == "schema_migrations" || o == "schema_migrations"+LocalSuffix
	})
}

func createDatabase(db, cluster string) string {
	s := "CREATE DATABASE IF NOT EXISTS " + quoteIdent(db)
	if cluster != "" {
		s += " ON CLUSTER " + quoteIdent(cluster)
	}
	return s
}

// render gives the statements for target: the migrations table's DDL and the
// migrations, rendered for the cluster when there is one. The renderer is
// returned for what it learnt (the objects created, for grants).
func render(database string, t Target) (*ClusterRenderer, []Migration, []string, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, nil, nil, err
	}
	if t.Cluster == "" {
		if t.AnalystRole {
			return nil, nil, nil, fmt.Errorf("the analyst role is rendered for a cluster: give --cluster too")
		}
		return nil, ms, []string{schemaMigrationsTable}, nil
	}
	r, err := NewClusterRenderer(t.Cluster, database)
	if err != nil {
		return nil, nil, nil, err
	}
	boot, err := r.Render(schemaMigrationsTable)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("schema_migrations: %w", err)
	}
	var out []Migration
	for _, m := range ms {
		rm := Migration{Version: m.Version, Name: m.Name}
		for i, s := range m.Statements {
			rs, err := r.Render(s)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
			rm.Statements = append(rm.Statements, rs...)
		}
		out = append(out, rm)
	}
	return r, out, boot, nil
}

// MigrateOn is Migrate for a target: one server or a cluster. On a cluster
// every statement runs ON CLUSTER from the server the DSN names, and the
// connection must insert into Distributed tables synchronously
// (distributed_foreground_insert=1 in the user's profile or the DSN), or
// an acknowledged INSERT would not yet be on its shard: MigrateOn refuses
// to go on without it, so neither does the aggregator.
func MigrateOn(ctx context.Context, dsn string, t Target, log *slog.Logger, with ...Option) ([]int, error) {
	opts, err := Options(dsn, with...)
	if err != nil {
		return nil, err
	}
	db := opts.Auth.Database
	r, ms, boot, err := render(db, t)
	if err != nil {
		return nil, err
	}
	bootOpts := *opts
	bootOpts.Auth.Database = "default"
	bootConn, err := open(ctx, &bootOpts)
	if err != nil {
		return nil, err
	}
	if t.Cluster != "" {
		if err := checkForegroundInsert(ctx, bootConn); err != nil {
			bootConn.Close()
			return nil, err
		}
	}
	err = bootConn.Exec(ctx, createDatabase(db, t.Cluster))
	bootConn.Close()
	if err != nil {
		return nil, fmt.Errorf("creating database %s: %w", db, err)
	}

	conn, err := open(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	for _, stmt := range boot {
		if err := conn.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("creating schema_migrations: %w", err)
		}
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
		log.Info("migration applied", "version", m.Version, "name", m.Name, "database", db, "cluster", t.Cluster)
		done = append(done, m.Version)
	}
	if t.AnalystRole {
		for _, stmt := range AnalystDDL(t.Cluster, db, analystObjects(r)) {
			if err := conn.Exec(ctx, stmt); err != nil {
				return done, fmt.Errorf("analyst role: %w", err)
			}
		}
		log.Info("analyst role granted", "role", AnalystRoleName, "cluster", t.Cluster)
	}
	return done, nil
}

// checkForegroundInsert refuses a connection whose INSERTs into a
// Distributed table would be acknowledged before they reach their shard.
func checkForegroundInsert(ctx context.Context, conn driver.Conn) error {
	var v string
	if err := conn.QueryRow(ctx, "SELECT toString(getSetting('distributed_foreground_insert'))").Scan(&v); err != nil {
		return fmt.Errorf("reading distributed_foreground_insert: %w", err)
	}
	if v != "1" && v != "true" {
		return fmt.Errorf("clickhouse cluster: distributed_foreground_insert is %s for this user; set it to 1 in the user's settings profile (or add distributed_foreground_insert=1 to the DSN): an INSERT into a Distributed table must be on its shard before the aggregator commits Kafka offsets", v)
	}
	return nil
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// SetSnapshotTTL keeps raw snapshots for days (0: forever). Rollups are kept
// regardless. Existing parts are not rewritten now; merges apply the TTL.
func SetSnapshotTTL(ctx context.Context, conn driver.Conn, days int) error {
	return SetSnapshotTTLOn(ctx, conn, "", days)
}

// SetSnapshotTTLOn is SetSnapshotTTL on a cluster (cluster not empty): the
// TTL goes to every replica's local table.
func SetSnapshotTTLOn(ctx context.Context, conn driver.Conn, cluster string, days int) error {
	stmt := "ALTER TABLE snapshots REMOVE TTL"
	if days > 0 {
		stmt = fmt.Sprintf("ALTER TABLE snapshots MODIFY TTL toDateTime(observed_at) + INTERVAL %d DAY", days)
	}
	stmts := []string{stmt}
	if cluster != "" {
		var db string
		if err := conn.QueryRow(ctx, "SELECT currentDatabase()").Scan(&db); err != nil {
			return fmt.Errorf("setting the snapshots TTL: %w", err)
		}
		r, _, _, err := render(db, Target{Cluster: cluster})
		if err != nil {
			return err
		}
		if stmts, err = r.Render(stmt); err != nil {
			return fmt.Errorf("setting the snapshots TTL: %w", err)
		}
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"materialize_ttl_after_modify": 0}))
	for _, s := range stmts {
		if err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("setting the snapshots TTL to %d days: %w", days, err)
		}
	}
	return nil
}
