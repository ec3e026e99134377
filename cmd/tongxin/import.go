package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/tongxin/tongxin/ingest/producer"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/wechat"
	"github.com/tongxin/tongxin/internal/service"
	"github.com/tongxin/tongxin/internal/topics"
)

var importCommand = &command{
	name:  "import",
	usage: "FILE|DIR ...",
	summary: "Load platform export files (WeChat Channels creator console CSV/XLSX) and produce their snapshots.\n" +
		"A file's ambassador comes from --ambassador, its folder (one per ambassador) or its name (amb07_…).",
	flags: func(fs *flag.FlagSet, o *options) {
		brokersFlag(fs, o, "Kafka brokers host:port,...")
		rosterFlag(fs, o)
		partitionsFlag(fs, o)
		fs.StringVar(&o.ambassador, "ambassador", "", "whose exports these are: an ambassador id or WeChat Channels finder id")
	},
	run: func(ctx context.Context, o *options, args []string) error {
		if len(args) == 0 {
			return errors.New("name at least one export file or folder")
		}
		brokers, err := o.requiredBrokers()
		if err != nil {
			return err
		}
		kc, err := o.kafka()
		if err != nil {
			return err
		}
		r, err := roster.Load(o.roster)
		if err != nil {
			return err
		}
		snaps, rowErrs := wechat.ImportFiles(ctx, args, r, wechat.ImportOptions{Ambassador: o.ambassador})
		for _, e := range rowErrs {
			fmt.Fprintln(o.stderr, "skipped:", e)
		}
		if len(snaps) > 0 {
			if err := topics.EnsureWith(ctx, kc, brokers, o.partitions, topics.Snapshots, topics.DeadLetter); err != nil {
				return err
			}
			p := producer.New(producer.Config{Brokers: brokers, Kafka: kc, Log: o.log, Registerer: service.NewRegistry(), DrainTimeout: time.Minute}) // wall
			p.Start()
			err := p.Produce(ctx, snaps)
			if e := p.Close(context.WithoutCancel(ctx)); err == nil { // deliver everything queued
				err = e
			}
			if err != nil {
				return err
			}
		}
		fmt.Fprintf(o.stdout, "imported %d snapshots; %d rows or files skipped\n", len(snaps), len(rowErrs))
		if len(rowErrs) > 0 {
			return fmt.Errorf("%d rows or files could not be read (listed above)", len(rowErrs))
		}
		return nil
	},
}
