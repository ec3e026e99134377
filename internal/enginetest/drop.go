package enginetest

import (
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func dropDatabase(dsn, name string) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return
	}
	opts.Auth.Database = "default"
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = conn.Exec(ctx, "DROP DATABASE IF EXISTS `"+name+"`")
}
