package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/report"
	"github.com/tongxin/tongxin/report/delivery"
)

// reportOptions are the flags of tongxin report.
type reportOptions struct {
	date     string
	out      string
	chromium string
	deliver  bool
}

var reportCommand = &command{
	name:  "report",
	usage: "daily|weekly|schedule",
	summary: "Write the office's report for a Beijing day (daily) or its week, Monday to Sunday (weekly):\n" +
		"HTML, PDF and a PNG summary card, from ClickHouse alone; publish the period's ranking (rankings table).\n" +
		"schedule: every day at report_delivery.at (Beijing time) write yesterday's daily report and deliver it.\n" +
		"Delivery, index weights: the config file's report_delivery: and index: sections (see README, Reports).",
	flags: func(fs *flag.FlagSet, o *options) {
		clickhouseFlag(fs, o, "http://127.0.0.1:8123/tongxin")
		fs.StringVar(&o.report.date, "date", "", "a Beijing day, YYYY-MM-DD: the daily report's day, or a day of the weekly report's week (default: yesterday in Beijing)")
		fs.StringVar(&o.report.out, "out", "", "directory for the report's files (required)")
		fs.StringVar(&o.report.chromium, "chromium", "", "headless Chromium for the PDF and PNG (default: chromium on PATH)")
		fs.BoolVar(&o.report.deliver, "deliver", false, "also send the report to the report_delivery: receivers of --config (never the same version twice)")
	},
	run: func(ctx context.Context, o *options, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("want one argument: daily, weekly or schedule")
		}
		if o.report.out == "" {
			return fmt.Errorf("--out DIR is required")
		}
		cfg := report.DefaultConfig()
		cfg.Chromium = o.report.chromium
		var dcfg delivery.Config
		if o.file != nil {
			if err := o.file.Section("index", &cfg.Index); err != nil {
				return err
			}
			if err := o.file.Section("report_delivery", &dcfg); err != nil {
				return err
			}
		}
		if err := cfg.Index.Check(); err != nil {
			return err
		}
		var kind report.Kind
		day := report.Yesterday(time.Now())
		if args[0] != "schedule" {
			k, err := report.ParseKind(args[0])
			if err != nil {
				return err
			}
			kind = k
			if o.report.date != "" {
				if day, err = report.ParseDate(o.report.date); err != nil {
					return err
				}
			}
		}
		conn, err := warehouse.Open(ctx, o.clickhouse, o.warehouse()...)
		if err != nil {
			return err
		}
		defer conn.Close()
		if args[0] == "schedule" {
			at, err := delivery.ParseAt(dcfg.At)
			if err != nil {
				return err
			}
			d, err := delivery.New(dcfg, conn, o.log)
			if err != nil {
				return err
			}
			o.log.Info("report schedule", "at", dcfg.At+" Beijing", "receivers", len(dcfg.Receivers))
			return delivery.Schedule(ctx, at, clock.Real(), func(ctx context.Context, day time.Time) {
				if err := makeReport(ctx, o, conn, cfg, report.Daily, day, d); err != nil {
					o.log.Error("daily report failed", "day", day.Format("2006-01-02"), "err", err)
				}
			})
		}
		var d *delivery.Deliverer
		if o.report.deliver {
			if len(dcfg.Receivers) == 0 {
				return fmt.Errorf("--deliver: the config file has no report_delivery: receivers")
			}
			if d, err = delivery.New(dcfg, conn, o.log); err != nil {
				return err
			}
		}
		return makeReport(ctx, o, conn, cfg, kind, day, d)
	},
}

// makeReport publishes the period's ranking, writes the report and, with a
// Deliverer, sends it.
func makeReport(ctx context.Context, o *options, conn driver.Conn, cfg report.Config, kind report.Kind, day time.Time, d *delivery.Deliverer) error {
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
	if err != nil {
		return err
	}
	if d != nil {
		for _, res := range d.Deliver(ctx, r, files) {
			switch {
			case res.Err != nil:
				err = fmt.Errorf("delivery to %s: %w", res.Receiver, res.Err)
			case res.Sent:
				fmt.Fprintf(o.stdout, "sent to %s\n", res.Receiver)
			default:
				fmt.Fprintf(o.stdout, "%s already had this version\n", res.Receiver)
			}
		}
	}
	return err
}
