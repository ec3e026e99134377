package main

import (
	"context"
	"flag"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/tongxin/tongxin/aggregate"
	"github.com/tongxin/tongxin/aggregate/alerts"
	"github.com/tongxin/tongxin/aggregate/alerts/notify"
	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/internal/kafkawrite"
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
		clockFlags(fs, o)
		partitionsFlag(fs, o)
		rosterFlag(fs, o)
		fs.StringVar(&o.group, "group", "tongxin-aggregate", "Kafka consumer group of the aggregators")
		fs.StringVar(&o.simulatorURL, "simulator", "", "when the campaign is simulated, the simulator's URL: alerts and the future bound on snapshot times judge on its clock")
	},
	run: func(ctx context.Context, o *options, args []string) error {
		brokers, err := o.requiredBrokers()
		if err != nil {
			return err
		}
		r, err := roster.Load(o.roster)
		if err != nil {
			return err
		}
		clk, err := o.campaignClock(ctx)
		if err != nil {
			return err
		}
		reg := service.NewRegistry()
		a, err := newAggregation(ctx, o, brokers, r, clk, reg)
		if err != nil {
			return err
		}
		defer a.close()
		srv, err := service.Listen(o.listen, reg, a.agg.Writes.Err, nil)
		if err != nil {
			return err
		}
		o.log.Info("aggregating", "brokers", o.brokers, "group", o.group, "metrics", "http://"+srv.Addr()+"/metrics")
		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() error { return srv.Serve(ctx) })
		a.start(ctx, g)
		return g.Wait()
	},
}

// aggregation is the aggregator and what runs beside it: the alerts and
// their delivery.
type aggregation struct {
	agg    *aggregate.Aggregator
	alerts *alerts.Service
	router *notify.Router
	close  func()
}

// newAggregation prepares ClickHouse (schema, roster, TTL) and Kafka
// (topics) and wires the aggregator to the alerts.
func newAggregation(ctx context.Context, o *options, brokers []string, r *roster.Roster, clk clock.Clock, reg *prometheus.Registry) (*aggregation, error) {
	kc, err := o.kafka()
	if err != nil {
		return nil, err
	}
	if _, err := warehouse.MigrateOn(ctx, o.clickhouse, warehouse.Target{Cluster: o.cluster}, o.log, o.warehouse()...); err != nil {
		return nil, err
	}
	conn, err := warehouse.Open(ctx, o.clickhouse, o.warehouse()...)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*aggregation, error) {
		conn.Close()
		return nil, err
	}
	if err := warehouse.SyncAmbassadors(ctx, conn, r); err != nil {
		return fail(err)
	}
	if err := warehouse.SetSnapshotTTLOn(ctx, conn, o.cluster, o.snapshotTTLDays); err != nil {
		return fail(err)
	}
	if err := o.syncTargets(ctx, conn); err != nil {
		return fail(err)
	}
	if err := topics.EnsureWith(ctx, kc, brokers, o.partitions, topics.All...); err != nil {
		return fail(err)
	}

	var ncfg notify.Config
	if o.file != nil {
		if err := o.file.Section("notify", &ncfg); err != nil {
			return fail(err)
		}
	}
	router, err := notify.New(ncfg, notify.Options{Log: o.log, Registerer: reg, Now: clk.Now,
		AmbassadorName: func(id string) string {
			if a, ok := r.Ambassador(id); ok {
				return a.Name
			}
			return ""
		}})
	if err != nil {
		return fail(err)
	}
	alertTopic, err := kafkawrite.Client(kc, brokers, o.log)
	if err != nil {
		return fail(err)
	}
	svc := alerts.NewService(alerts.ServiceConfig{
		Detector: alerts.DefaultConfig(), Conn: conn, Kafka: alertTopic, Topic: topics.Alerts, Notifier: router,
		Clock: clk, Log: o.log, Registerer: reg,
	})
	agg := aggregate.New(aggregate.Config{
		Brokers: brokers, Kafka: kc, Group: o.group, Sink: sink.New(conn, reg), Log: o.log, Registerer: reg,
		OnFlush:  svc.Apply,
		OnAssign: func(ctx context.Context, owns func(string) bool) error { return svc.Reset(ctx, owns) },
		Clock:    clk,
	})
	return &aggregation{agg: agg, alerts: svc, router: router, close: func() {
		alertTopic.Close()
		conn.Close()
	}}, nil
}

// start runs everything in g until its context ends.
func (a *aggregation) start(ctx context.Context, g *errgroup.Group) {
	g.Go(func() error { return a.agg.Run(ctx) })
	g.Go(func() error { return a.alerts.Run(ctx) })
	g.Go(func() error { return a.router.Run(ctx) })
}
