package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/embeddedkafka"
	"github.com/tongxin/tongxin/internal/service"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
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
		startFlag(fs, o)
		partitionsFlag(fs, o)
		ingestFlags(fs, o)
		fs.StringVar(&o.group, "group", "tongxin-aggregate", "Kafka consumer group of the aggregator")
		fs.BoolVar(&o.fresh, "fresh", false, "start from an empty campaign database: drop the database the ClickHouse DSN names (only on this machine) before migrating it;\nwith the embedded Kafka broker, which keeps nothing between runs (not with --brokers or --cluster)")
	},
	run: runPipeline,
}

func runPipeline(ctx context.Context, o *options, args []string) error {
	log := o.log
	if o.fresh && (o.brokers != "" || o.cluster != "") {
		// Kafka's topics would bring old snapshots back into the fresh
		// database; a cluster's database is not this machine's to drop.
		return errors.New("--fresh is for the local development run: it cannot go with --brokers or --cluster")
	}
	sim, err := newSimulation(o)
	if err != nil {
		return err
	}
	r, err := roster.Load(o.roster)
	if err != nil {
		return err
	}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	o.simulatorURL = "http://" + simLn.Addr().String()
	simulatedCredentials(o)

	// Every simulated ambassador has authorized the app.
	tokens := token.NewMemoryStore()
	if err := sim.AuthorizeAll(r, tokens); err != nil {
		return err
	}

	brokers := topics.Brokers(o.brokers)
	if len(brokers) == 0 {
		if kc, err := o.kafka(); err != nil {
			return err
		} else if kc != nil {
			return errors.New("the --kafka-* security flags need --brokers: the embedded broker speaks plaintext only")
		}
		b, err := embeddedkafka.Start(embeddedkafka.WithPartitions(o.partitions))
		if err != nil {
			return fmt.Errorf("embedded Kafka broker: %w", err)
		}
		defer b.Close()
		brokers = b.Addrs()
		log.Info("embedded Kafka broker", "brokers", b.Bootstrap())
	}
	if o.clickhouse == "" {
		dsn, stop, err := startLocalClickHouse(ctx, log)
		if err != nil {
			return err
		}
		defer stop()
		o.clickhouse = dsn
	}
	if o.fresh {
		db, existed, err := warehouse.DropLocal(ctx, o.clickhouse, o.warehouse()...)
		if err != nil {
			return fmt.Errorf("--fresh: %w", err)
		}
		if existed {
			fmt.Fprintf(o.stdout, "fresh start: dropped ClickHouse database %s (earlier runs' rows); it is migrated anew\n", db)
		} else {
			fmt.Fprintf(o.stdout, "fresh start: ClickHouse database %s did not exist; nothing dropped\n", db)
		}
	}

	reg := service.NewRegistry()
	// One process polls every account: one shard, its own, no group.
	in, err := newIngest(o, r, sim.Clock, tokens, brokers, reg, snapshot.SourceSim, 1, 1)
	if err != nil {
		return err
	}
	in.assign([]int{0})
	agg, err := newAggregation(ctx, o, brokers, r, sim.Clock, reg)
	if err != nil {
		return err
	}
	defer agg.close()
	srv, err := service.Listen(o.listen, reg, service.All(in.producer.Writes.Err, agg.agg.Writes.Err), nil)
	if err != nil {
		return err
	}

	fmt.Fprintf(o.stdout, "tongxin is running: seed %d, campaign clock %s at %gx, faults %q\n", o.seed, sim.Scenario.Start.Format(time.RFC3339), o.speed, o.faults)
	// The netrc file for the curl examples lives as long as this run.
	netrcDir, err := os.MkdirTemp("", "tongxin-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(netrcDir)
	if err := writeBanner(o.stdout, srv.Addr(), o.simulatorURL, strings.Join(brokers, ","), o.clickhouse, netrcDir); err != nil {
		return err
	}

	warnFutureData(ctx, o, sim.Clock.Now())

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return service.ServeHTTP(gctx, simLn, sim.Handler()) })
	g.Go(func() error { return srv.Serve(gctx) })
	g.Go(func() error { return in.run(gctx) })
	agg.start(gctx, g)
	err = g.Wait()

	// The aggregator flushed its last batch: say whether the numbers add up.
	vctx, cancel := context.WithTimeout(context.Background(), time.Minute) // wall
	defer cancel()
	if conn, cerr := warehouse.Open(vctx, o.clickhouse, o.warehouse()...); cerr == nil {
		posts, bad, verr := warehouse.Verify(vctx, conn)
		conn.Close()
		switch {
		case verr != nil:
			log.Warn("could not verify the rollups", "err", verr)
		case len(bad) == 0:
			fmt.Fprintf(o.stdout, "stopped. checked %d posts: the sum of post_hourly equals the latest snapshot for every metric.\n", posts)
		default:
			fmt.Fprintf(o.stdout, "stopped. %d of %d posts do not add up, e.g. %v\n", len(bad), posts, bad[0])
		}
	}
	return err
}

// warnFutureData says so when ClickHouse already holds observations later
// than this run's campaign clock, e.g. from a run of the same hour on a
// faster clock: the aggregator would skip this run's snapshots as older
// than what it applied, and totals would stand still for no visible reason.
func warnFutureData(ctx context.Context, o *options, now time.Time) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second) // wall: one query
	defer cancel()
	conn, err := warehouse.Open(cctx, o.clickhouse, o.warehouse()...)
	if err != nil {
		return // the aggregator reports it
	}
	defer conn.Close()
	newest, err := warehouse.NewestObservation(cctx, conn)
	if err != nil || !newest.After(now) {
		return
	}
	fmt.Fprintf(o.stdout, `note: ClickHouse already holds observations up to %s, later than this run's
  campaign clock (%s), left by an earlier run on a faster clock. Snapshots
  of this run older than those are skipped (tongxin_aggregate_snapshots_total
  {outcome="skipped"}). To go on from there: --start %s; to start over
  from an empty database: --fresh
`, newest.Format(time.RFC3339), now.Format(time.RFC3339), newest.Add(time.Hour).Truncate(time.Hour).Format(time.RFC3339))
}

// writeBanner tells where everything of a running pipeline is, and how to
// ask ClickHouse with curl. The DSN's password (the local engine's token)
// is not shown: the curl examples read it from a netrc file only the user
// can read, written in dir.
func writeBanner(w io.Writer, metrics, simulator, kafka, clickhouse, dir string) error {
	curl, err := clickhouseCurl(clickhouse, dir)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, `  metrics:    http://%s/metrics
  simulator:  %s   (truth: %s/sim/truth)
  kafka:      %s
  clickhouse: %s
  ask ClickHouse, for example:
    %s --data-binary 'SELECT * FROM campaign_totals FORMAT PrettyCompact'
    %s --data-binary 'SELECT * FROM leaderboard LIMIT 10 FORMAT PrettyCompact'
Ctrl-C stops it.
`, metrics, simulator, simulator, kafka, warehouse.RedactDSN(clickhouse), curl, curl)
	return err
}

// clickhouseCurl is the curl command that posts SQL to the ClickHouse of a
// clickhouse-go HTTP DSN; a password goes into dir/clickhouse.netrc (0600).
func clickhouseCurl(dsn, dir string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || !strings.HasPrefix(u.Scheme, "http") {
		return "curl '" + warehouse.RedactDSN(dsn) + "'", nil // not HTTP: an example to adapt
	}
	db := strings.Trim(u.Path, "/")
	if db == "" {
		db = warehouse.Database
	}
	base := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/", RawQuery: "database=" + url.QueryEscape(db)}).String()
	pw, ok := u.User.Password()
	if !ok {
		return "curl '" + base + "'", nil
	}
	netrc := filepath.Join(dir, "clickhouse.netrc")
	entry := fmt.Sprintf("machine %s login %s password %s\n", u.Hostname(), u.User.Username(), pw)
	if err := os.WriteFile(netrc, []byte(entry), 0o600); err != nil {
		return "", fmt.Errorf("writing the netrc file for curl: %w", err)
	}
	return "curl --netrc-file '" + netrc + "' '" + base + "'", nil
}

// startLocalClickHouse starts the local ClickHouse engine with the
// repository's deploy/local/engines and returns its DSN and how to stop it.
func startLocalClickHouse(ctx context.Context, log *slog.Logger) (string, func(), error) {
	script, err := findEnginesScript()
	if err != nil {
		return "", nil, err
	}
	log.Info("starting the local ClickHouse engine", "script", script)
	out, err := exec.CommandContext(ctx, script, "up", "clickhouse").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", nil, fmt.Errorf("%s up clickhouse: %w\n%s", script, err, ee.Stderr)
		}
		return "", nil, fmt.Errorf("%s up clickhouse: %w", script, err)
	}
	dsn := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CLICKHOUSE="); ok {
			dsn = v
		}
	}
	if dsn == "" {
		return "", nil, fmt.Errorf("%s up clickhouse printed no CLICKHOUSE= line", script)
	}
	stop := func() { exec.Command(script, "down", "clickhouse").Run() }
	return dsn, stop, nil
}

// findEnginesScript finds deploy/local/engines from the working directory
// or from the binary's directory (bin/tongxin in a checkout).
func findEnginesScript() (string, error) {
	if p := os.Getenv("TONGXIN_ENGINES_SCRIPT"); p != "" {
		return p, nil
	}
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, wd)
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe), filepath.Dir(filepath.Dir(exe)))
	}
	for _, d := range dirs {
		for dir := d; ; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, "deploy", "local", "engines")
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", errors.New("no --clickhouse given and deploy/local/engines (the local ClickHouse engine) not found: run from the tongxin checkout, or give --clickhouse DSN")
}
