package warehouse

import (
	"context"
	"fmt"
	"net"
	"strings"
)

// DropLocal drops the campaign database dsn names (Migrate creates it
// again), for a development run that starts from nothing (tongxin run
// --fresh). It drops only on a ClickHouse on this machine: every host of the
// DSN must be a loopback address or localhost, else it refuses, naming the
// host, before it connects. It returns the database and whether it existed.
func DropLocal(ctx context.Context, dsn string, with ...Option) (db string, existed bool, err error) {
	opts, err := Options(dsn, with...)
	if err != nil {
		return "", false, err
	}
	db = opts.Auth.Database
	for _, addr := range opts.Addr {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		if ip := net.ParseIP(host); !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
			return db, false, fmt.Errorf("database %s is on host %s, not on this machine: only a local ClickHouse's database is dropped", db, host)
		}
	}
	switch strings.ToLower(db) {
	case "system", "information_schema":
		return db, false, fmt.Errorf("database %s is ClickHouse's own: it is not dropped", db)
	}
	boot := *opts
	boot.Auth.Database = "default"
	conn, err := open(ctx, &boot)
	if err != nil {
		return db, false, err
	}
	defer conn.Close()
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.databases WHERE name = ?", db).Scan(&n); err != nil {
		return db, false, fmt.Errorf("looking for database %s: %w", db, err)
	}
	if n == 0 {
		return db, false, nil
	}
	// SYNC: the name is free again at once, for the migrations that follow.
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(db)+" SYNC"); err != nil {
		return db, true, fmt.Errorf("dropping database %s: %w", db, err)
	}
	return db, true, nil
}
