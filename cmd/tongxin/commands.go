package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/tongxin/tongxin/aggregate/warehouse"
)

var runCommand = &command{
	name:    "run",
	summary: "Run the whole pipeline in one process on embedded defaults: simulator, embedded Kafka broker,\ningest, aggregate, alerts, ClickHouse sink, /metrics. Ctrl-C stops it cleanly.",
	flags: func(fs *flag.FlagSet, o *options) {
		brokersFlag(fs, o, "Kafka brokers host:port,... (empty: the embedded broker)")
		clickhouseFlag(fs, o, "")
		listenFlag(fs, o, "127.0.0.1:9464")
		clockFlags(fs, o)
		simulatorFlags(fs, o)
		rosterFlag(fs, o)
	},
	run: func(ctx context.Context, o *options, args []string) error { return errNotImplemented },
}

var ingestCommand = &command{
	name:    "ingest",
	summary: "Pull every ambassador's post counters from the platforms and produce them to Kafka.",
	flags: func(fs *flag.FlagSet, o *options) {
		brokersFlag(fs, o, "Kafka brokers host:port,...")
		listenFlag(fs, o, "127.0.0.1:9465")
		clockFlags(fs, o)
		platformFlags(fs, o)
		rosterFlag(fs, o)
	},
	run: func(ctx context.Context, o *options, args []string) error { return errNotImplemented },
}

var simulateCommand = &command{
	name:    "simulate",
	summary: "Serve the platform API simulator (Douyin, Weibo, WeChat Channels feed) for the roster.",
	flags: func(fs *flag.FlagSet, o *options) {
		listenFlag(fs, o, "127.0.0.1:8088")
		clockFlags(fs, o)
		simulatorFlags(fs, o)
		rosterFlag(fs, o)
		fs.BoolVar(&o.truth, "truth", false, "print the planted scenario for --seed as JSON and exit")
	},
	run: func(ctx context.Context, o *options, args []string) error { return errNotImplemented },
}

var migrateCommand = &command{
	name:    "migrate",
	summary: "Apply the ClickHouse schema (idempotent; versioned migrations embedded in the binary).",
	flags: func(fs *flag.FlagSet, o *options) {
		clickhouseFlag(fs, o, "http://127.0.0.1:8123/tongxin")
	},
	run: func(ctx context.Context, o *options, args []string) error {
		applied, err := warehouse.Migrate(ctx, o.clickhouse, o.log)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.stdout, "schema up to date (%d migrations applied now)\n", len(applied))
		return nil
	},
}

var importCommand = &command{
	name:    "import",
	usage:   "FILE|DIR ...",
	summary: "Load platform export files (WeChat Channels creator console CSV/XLSX) and produce their snapshots.",
	flags: func(fs *flag.FlagSet, o *options) {
		brokersFlag(fs, o, "Kafka brokers host:port,...")
		rosterFlag(fs, o)
	},
	run: func(ctx context.Context, o *options, args []string) error { return errNotImplemented },
}

var authCommand = &command{
	name:    "auth",
	usage:   "douyin|weibo AMBASSADOR",
	summary: "Authorize the app for one ambassador's account: prints the authorization URL, takes the callback code.",
	flags: func(fs *flag.FlagSet, o *options) {
		platformFlags(fs, o)
		rosterFlag(fs, o)
	},
	run: func(ctx context.Context, o *options, args []string) error { return errNotImplemented },
}

var dashboardsCommand = &command{
	name:    "dashboards",
	usage:   "[DIR]",
	summary: "Write the Grafana dashboard JSON.",
	flags:   func(fs *flag.FlagSet, o *options) {},
	run:     func(ctx context.Context, o *options, args []string) error { return errNotImplemented },
}
