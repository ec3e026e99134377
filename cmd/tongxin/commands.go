package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/tongxin/tongxin/aggregate/warehouse"
)

var migrateCommand = &command{
	name:    "migrate",
	summary: "Apply the ClickHouse schema (idempotent; versioned migrations embedded in the binary).",
	flags: func(fs *flag.FlagSet, o *options) {
		clickhouseFlag(fs, o, "http://127.0.0.1:8123/tongxin")
	},
	run: func(ctx context.Context, o *options, args []string) error {
		applied, err := warehouse.Migrate(ctx, o.clickhouse, o.log, o.warehouse()...)
		if err != nil {
			return err
		}
		conn, err := warehouse.Open(ctx, o.clickhouse, o.warehouse()...)
		if err != nil {
			return err
		}
		defer conn.Close()
		if err := warehouse.SetSnapshotTTL(ctx, conn, o.snapshotTTLDays); err != nil {
			return err
		}
		if err := o.syncTargets(ctx, conn); err != nil {
			return err
		}
		fmt.Fprintf(o.stdout, "schema up to date (%d migrations applied now)\n", len(applied))
		return nil
	},
}

var dashboardsCommand = &command{
	name:    "dashboards",
	usage:   "[DIR]",
	summary: "Write the Grafana dashboard JSON.",
	flags:   func(fs *flag.FlagSet, o *options) {},
	run:     func(ctx context.Context, o *options, args []string) error { return errNotImplemented },
}
