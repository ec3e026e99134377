package main

import (
	"context"
	"errors"
	"flag"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/tongxin/tongxin/aggregate"
	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/service"
	"github.com/tongxin/tongxin/internal/topics"
)

var aggregateCommand = &command{
	name:    "aggregate",
	summary: "Consume snapshots from Kafka and write exact rollups and alerts to ClickHouse.",
	flags: func(fs *flag.FlagSet, o *options) {
		brokersFlag(fs, o, "Kafka brokers host:port,...")
		clickhouseFlag(fs, o, "http://127.0.0.1:8123/tongxin")
		listenFlag(fs, o, "127.0.0.1:9466")
		partitionsFlag(fs, o)
		rosterFlag(fs, o)
		fs.StringVar(&o.group, "group", "tongxin-aggregate", "Kafka consumer group of the aggregators")
	},
	run: func(ctx context.Context, o *options, args []string) error {
		brokers := topics.Brokers(o.brokers)
		if len(brokers) == 0 {
			return errors.New("--brokers is required (or TONGXIN_BROKERS)")
		}
		r, err := roster.Load(o.roster)
		if err != nil {
			return err
		}
		reg := service.NewRegistry()
		srv, err := service.Listen(o.listen, reg, nil, nil)
		if err != nil {
			return err
		}
		a, err := startAggregator(ctx, o, brokers, r, reg)
		if err != nil {
			return err
		}
		o.log.Info("aggregating", "brokers", o.brokers, "group", o.group, "metrics", "http://"+srv.Addr()+"/metrics")
		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() error { return srv.Serve(ctx, o.log) })
		g.Go(func() error { return a.Run(ctx) })
		return g.Wait()
	},
}

// startAggregator prepares ClickHouse (schema, roster) and Kafka (topics)
// and returns an aggregator ready to Run.
func startAggregator(ctx context.Context, o *options, brokers []string, r *roster.Roster, reg *prometheus.Registry) (*aggregate.Aggregator, error) {
	if _, err := warehouse.Migrate(ctx, o.clickhouse, o.log); err != nil {
		return nil, err
	}
	conn, err := warehouse.Open(ctx, o.clickhouse)
	if err != nil {
		return nil, err
	}
	if err := warehouse.SyncAmbassadors(ctx, conn, r); err != nil {
		return nil, err
	}
	if err := warehouse.SetSnapshotTTL(ctx, conn, o.snapshotTTLDays); err != nil {
		return nil, err
	}
	if err := topics.Ensure(ctx, brokers, o.partitions, topics.All...); err != nil {
		return nil, err
	}
	return aggregate.New(aggregate.Config{
		Brokers: brokers, Group: o.group,
		Sink: sink.New(conn, reg), Log: o.log, Registerer: reg,
	}), nil
}
