package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/report"
)

// reportOptions are the flags of tongxin report.
type reportOptions struct {
	date     string
	out      string
	chromium string
	target   uint64
}

var reportCommand = &command{
	name:  "report",
	usage: "daily|weekly",
	summary: "Write the office's report for a Beijing day (daily) or its week, Monday to Sunday (weekly):\n" +
		"HTML, PDF and a PNG summary card, from ClickHouse alone.",
	flags: func(fs *flag.FlagSet, o *options) {
		clickhouseFlag(fs, o, "http://127.0.0.1:8123/tongxin")
		fs.StringVar(&o.report.date, "date", "", "a Beijing day, YYYY-MM-DD: the daily report's day, or a day of the weekly report's week (default: yesterday in Beijing)")
		fs.StringVar(&o.report.out, "out", "", "directory for the report's files (required)")
		fs.StringVar(&o.report.chromium, "chromium", "", "headless Chromium for the PDF and PNG (default: chromium on PATH)")
		fs.Uint64Var(&o.report.target, "topic-target", report.DefaultConfig().Target, "the headline topic's plays target (寻美西山 on Douyin: 1230万)")
	},
	run: func(ctx context.Context, o *options, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("want one argument, daily or weekly")
		}
		kind, err := report.ParseKind(args[0])
		if err != nil {
			return err
		}
		if o.report.out == "" {
			return fmt.Errorf("--out DIR is required")
		}
		day := report.Yesterday(time.Now())
		if o.report.date != "" {
			if day, err = report.ParseDate(o.report.date); err != nil {
				return err
			}
		}
		conn, err := warehouse.Open(ctx, o.clickhouse, o.warehouse()...)
		if err != nil {
			return err
		}
		defer conn.Close()
		cfg := report.DefaultConfig()
		cfg.Chromium, cfg.Target = o.report.chromium, o.report.target
		period := report.NewPeriod(kind, day)
		pub, err := report.Publish(ctx, conn, cfg, period, time.Now())
		if err != nil {
			return err
		}
		if pub.New {
			o.log.Info("ranking published", "period", kind, "start", period.First.Format("2006-01-02"), "version", pub.Version, "entries", pub.Entries, "changed", len(pub.Diff))
		}
		r, err := report.Build(ctx, conn, cfg, period, time.Now())
		if err != nil {
			return err
		}
		files, err := report.Write(ctx, r, o.report.out)
		for _, f := range []string{files.HTML, files.CardHTML, files.PDF, files.PNG} {
			if f != "" {
				fmt.Fprintln(o.stdout, f)
			}
		}
		return err
	},
}
