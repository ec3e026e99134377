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
		fs.BoolVar(&o.analystRole, "analyst-role", false, "with --cluster: also create or update the analysts' role tongxin_analyst (SELECT only), its read-only settings profile and hourly quota (needs a user allowed to manage access)")
		fs.BoolVar(&o.printPlan, "print", false, "print the statements for an empty database and exit, without connecting")
	},
	run: func(ctx context.Context, o *options, args []string) error {
		if o.printPlan {
			opts, err := warehouse.Options(o.clickhouse)
			if err != nil {
				return err
			}
			plan, err := warehouse.Plan(opts.Auth.Database, o.target())
			if err != nil {
				return err
			}
			for _, s := range plan {
				fmt.Fprintf(o.stdout, "%s;\n\n", s)
			}
			return nil
		}
		applied, err := warehouse.MigrateOn(ctx, o.clickhouse, o.target(), o.log, o.warehouse()...)
		if err != nil {
			return err
		}
		conn, err := warehouse.Open(ctx, o.clickhouse, o.warehouse()...)
		if err != nil {
			return err
		}
		defer conn.Close()
		if err := warehouse.SetSnapshotTTLOn(ctx, conn, o.cluster, o.snapshotTTLDays); err != nil {
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
