package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/dashboards"
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
		fmt.Fprintf(o.stdout, "schema up to date (%d migrations applied now)\n", len(applied))
		return nil
	},
}

// dashboardsCommand writes the Grafana dashboards and their provisioning.
var dashboardsCommand = func() *command {
	var out string
	return &command{
		name:    "dashboards",
		usage:   "--out DIR",
		summary: "Write the Grafana dashboards (DIR/dashboards/<uid>.json) and provisioning files (DIR/provisioning/).",
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&out, "out", "", "directory to write into (created if missing); the repository keeps a copy in dashboards/generated")
		},
		run: func(ctx context.Context, o *options, args []string) error {
			if out == "" {
				return errors.New("--out DIR is required (for example --out dashboards/generated)")
			}
			if len(args) > 0 {
				return fmt.Errorf("unexpected arguments %q (the directory is given with --out)", args)
			}
			paths, err := dashboards.Write(out)
			if err != nil {
				return err
			}
			for _, p := range paths {
				fmt.Fprintln(o.stdout, p)
			}
			return nil
		},
	}
}()
