package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/internal/config"
	"github.com/tongxin/tongxin/internal/kafkaconn"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/tools/simulator"
)

// options holds every flag of every subcommand; each subcommand registers
// the ones it uses, so a flag has one name and one meaning everywhere.
type options struct {
	configPath string
	logLevel   string

	brokers    string
	clickhouse string
	listen     string
	speed      float64
	runFor     time.Duration
	roster     string

	kafkaTLS                                      bool
	kafkaCA, kafkaCert, kafkaKey, kafkaServerName string
	kafkaSASL, kafkaUser, kafkaPasswordFile       string
	kafkaConn                                     *kafkaconn.Settings // loaded once by kafka()
	clickhouseCA                                  string
	cluster                                       string // ClickHouse cluster for the schema (empty: one server)
	analystRole, printPlan                        bool
	targets                                       targetsFlag

	douyinURL     string
	weiboURL      string
	wechatFeedURL string
	simulatorURL  string

	partitions int
	group      string
	fresh      bool // run: drop the local campaign database first

	budgets         string
	shards          int
	ingestGroup     string
	sessionTimeout  time.Duration
	tokenFile       string
	dropDir         string
	start           string
	redirectURI     string
	code            string
	ambassador      string
	snapshotTTLDays int
	requestTimeout  time.Duration

	douyinKey, douyinSecret string
	weiboKey, weiboSecret   string
	wechatFeedKey           string

	seed   int64
	faults string
	truth  bool
	// weiboReviewed: the simulated Weibo app has passed review (7-day
	// tokens; 1-day ones when false).
	weiboReviewed bool

	report reportOptions // tongxin report

	file   *config.File // the --config file, for its sections
	log    *slog.Logger
	stdout io.Writer
	stderr io.Writer
}

// brokersFlag is --brokers and how to reach them: TLS and SASL. The SASL
// password is no flag (ps would show it): it comes from the environment
// (TONGXIN_KAFKA_PASSWORD) or from --kafka-password-file.
func brokersFlag(fs *flag.FlagSet, o *options, help string) {
	fs.StringVar(&o.brokers, "brokers", "", help)
	fs.BoolVar(&o.kafkaTLS, "kafka-tls", false, "connect to Kafka over TLS (implied by --kafka-ca, --kafka-cert, --kafka-server-name)")
	fs.StringVar(&o.kafkaCA, "kafka-ca", "", "PEM file of the CAs that sign the Kafka brokers' certificates (empty: the system's)")
	fs.StringVar(&o.kafkaCert, "kafka-cert", "", "PEM client certificate for Kafka brokers that require one (with --kafka-key)")
	fs.StringVar(&o.kafkaKey, "kafka-key", "", "PEM private key of --kafka-cert")
	fs.StringVar(&o.kafkaServerName, "kafka-server-name", "", "the name the brokers' certificates carry (empty: each broker's host)")
	fs.StringVar(&o.kafkaSASL, "kafka-sasl", "", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: none)")
	fs.StringVar(&o.kafkaUser, "kafka-user", "", "SASL user name; its password comes from TONGXIN_KAFKA_PASSWORD or --kafka-password-file")
	fs.StringVar(&o.kafkaPasswordFile, "kafka-password-file", "", "a file holding the SASL password (instead of TONGXIN_KAFKA_PASSWORD)")
}

// requiredBrokers is --brokers, for a command that cannot run without.
func (o *options) requiredBrokers() ([]string, error) {
	brokers := topics.Brokers(o.brokers)
	if len(brokers) == 0 {
		return nil, errors.New("--brokers is required (or TONGXIN_BROKERS)")
	}
	return brokers, nil
}

// kafkaPasswordEnv holds the Kafka SASL password; no flag does.
const kafkaPasswordEnv = "TONGXIN_KAFKA_PASSWORD"

// kafka returns the Kafka connection settings of the flags, loaded once so
// that every client shares one connection pool.
func (o *options) kafka() (*kafkaconn.Settings, error) {
	if o.kafkaConn != nil {
		return o.kafkaConn, nil
	}
	var err error
	password, hasEnv := os.LookupEnv(kafkaPasswordEnv)
	if o.kafkaPasswordFile != "" {
		if hasEnv {
			return nil, fmt.Errorf("the Kafka password is given twice: %s and --kafka-password-file; keep one", kafkaPasswordEnv)
		}
		if password, err = kafkaconn.PasswordFromFile(o.kafkaPasswordFile); err != nil {
			return nil, err
		}
	}
	o.kafkaConn, err = kafkaconn.Load(kafkaconn.Config{
		TLS: o.kafkaTLS, CAFile: o.kafkaCA, CertFile: o.kafkaCert, KeyFile: o.kafkaKey, ServerName: o.kafkaServerName,
		SASL: o.kafkaSASL, User: o.kafkaUser, Password: password,
	})
	if err == nil && o.kafkaConn != nil && o.log != nil {
		o.log.Info("kafka connection", "security", o.kafkaConn) // no secret: see Settings.String
	}
	return o.kafkaConn, err
}

func clickhouseFlag(fs *flag.FlagSet, o *options, def string) {
	fs.IntVar(&o.snapshotTTLDays, "snapshot-ttl-days", 400, "how many days raw snapshots are kept in ClickHouse (0: forever); rollups are kept regardless")
	fs.StringVar(&o.clickhouse, "clickhouse", def, "ClickHouse as a clickhouse-go/v2 DSN: clickhouse://user:pass@host:9000/tongxin (native) or http://host:8123/tongxin;\n"+
		"TLS: clickhouse://host:9440/tongxin?secure=true or https://host:8443/tongxin?secure=true (secret: give a DSN with a password through TONGXIN_CLICKHOUSE)")
	fs.StringVar(&o.clickhouseCA, "clickhouse-ca", "", "PEM file of the CAs that sign ClickHouse's certificate, for a secure=true DSN (empty: the system's CAs)")
	fs.StringVar(&o.cluster, "cluster", "", "ClickHouse cluster (a <remote_servers> name): the schema goes ON CLUSTER, with Replicated tables <name>_local and Distributed tables <name> (empty: one server)")
	o.targets = targetsFlag{text: warehouse.SeedTargets}
	o.targets.list, _ = warehouse.ParseTargets(warehouse.SeedTargets)
	fs.Var(&o.targets, "targets", "the campaign's targets for topic_progress: comma-separated `topic/platform/metric/value` (metric plays or engagement); \"\" for none")
}

// targetsFlag is --targets, parsed when the flag is: a wrong target stops
// every command (migrate --print too) before it connects or changes anything.
type targetsFlag struct {
	text string
	list []warehouse.CampaignTarget
}

func (f *targetsFlag) String() string { return f.text }

func (f *targetsFlag) Set(s string) error {
	list, err := warehouse.ParseTargets(s)
	if err != nil {
		return err
	}
	f.text, f.list = s, list
	return nil
}

// syncTargets writes --targets into campaign_targets.
func (o *options) syncTargets(ctx context.Context, conn driver.Conn) error {
	return warehouse.SyncTargets(ctx, conn, o.targets.list)
}

// target is where the schema goes: one server or the --cluster.
func (o *options) target() warehouse.Target {
	return warehouse.Target{Cluster: o.cluster, AnalystRole: o.analystRole}
}

// warehouse is how to reach ClickHouse beyond its DSN.
func (o *options) warehouse() []warehouse.Option {
	return []warehouse.Option{warehouse.WithCAFile(o.clickhouseCA)}
}

func listenFlag(fs *flag.FlagSet, o *options, def string) {
	fs.StringVar(&o.listen, "listen", def, "HTTP address for /metrics and /healthz")
}

func clockFlags(fs *flag.FlagSet, o *options) {
	o.speed = 1
	fs.Var(speedValue{&o.speed}, "speed", "simulated time runs `N` times faster (simulator and schedulers share one clock)")
	fs.DurationVar(&o.runFor, "for", 0, "stop by itself after this much wall time (0: run until interrupted)")
}

// speedValue is --speed: a clock running NaN, infinitely or 1e300 times
// faster would turn every observed_at into garbage, so the value is
// bounded where it is read.
type speedValue struct{ p *float64 }

const maxSpeed = 100_000 // a campaign year in about five wall minutes

func (v speedValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

func (v speedValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(f > 0 && f <= maxSpeed) { // NaN fails too
		return fmt.Errorf("want how many times faster than real time the campaign runs, above 0 and at most %d", maxSpeed)
	}
	*v.p = f
	return nil
}

// campaignClock is the clock the campaign runs on: the wall clock in
// production (or --speed times faster), the simulator's clock when the
// campaign is simulated (--simulator), so that a separate ingest or
// aggregate process judges time as the simulator does.
func (o *options) campaignClock(ctx context.Context) (clock.Clock, error) {
	if o.simulatorURL != "" {
		return simulator.ReadClock(ctx, o.simulatorURL)
	}
	return clock.NewScaled(time.Now(), o.speed), nil
}

func simulatorFlags(fs *flag.FlagSet, o *options) {
	fs.Int64Var(&o.seed, "seed", 1, "the simulator's seed: the same seed gives the same scenario")
	fs.StringVar(&o.faults, "faults", "", "faults the simulator injects, e.g. 429=0.05,5xx=0.05,timeout=0.01,malformed=0.02,expire=0.01,envelope=0.02,decrease=0.01 (envelope: the platforms' HTTP-200 error envelopes with codes a retry gets past)")
	fs.BoolVar(&o.weiboReviewed, "weibo-app-reviewed", true, "the simulated Weibo app has passed review: access tokens last 7 days; false: 1 day, as for an app not yet reviewed (campaign clock)")
}

func platformFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.douyinURL, "douyin-url", "https://open.douyin.com", "Douyin Open Platform API base URL")
	fs.StringVar(&o.weiboURL, "weibo-url", "https://api.weibo.com", "Weibo API base URL")
	fs.StringVar(&o.wechatFeedURL, "wechat-feed-url", "", "a data vendor's WeChat Channels JSON feed base URL (empty: exports only)")
	fs.StringVar(&o.simulatorURL, "simulator", "", "sets all three platform URLs to the simulator at this URL")
}

func rosterFlag(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.roster, "roster", "", "the ambassadors' roster YAML (empty: the built-in 寻美西山 roster)")
}

func partitionsFlag(fs *flag.FlagSet, o *options) {
	fs.IntVar(&o.partitions, "partitions", 12, "partitions of the topics tongxin creates when they do not exist")
}

func ingestFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.budgets, "budget", "douyin=40,weibo=600,wechat_channels=600",
		"request budget per platform app, in requests per campaign hour (Douyin's free quota is about 1000 a day)")
	fs.StringVar(&o.tokenFile, "token-file", "", "the token store shared by ingest replicas (default: ~/.config/tongxin/tokens.json)")
	fs.StringVar(&o.dropDir, "wechat-drop-dir", "", "a folder the office saves WeChat Channels exports into; watched and imported")
	fs.DurationVar(&o.requestTimeout, "request-timeout", 30*time.Second, "how long one platform API request may take, wall time, from when it is sent (waiting for the --budget comes before and does not count)")
}

// shardFlags are an ingest replica's membership: the replicas share the
// accounts and the budget through a Kafka consumer group.
func shardFlags(fs *flag.FlagSet, o *options) {
	fs.IntVar(&o.shards, "shards", 12, "shards the accounts are cut into: partitions of "+topics.IngestShards+" when it is created (an existing topic's count wins); at least the most ingest replicas you will run")
	fs.StringVar(&o.ingestGroup, "ingest-group", "tongxin-ingest", "Kafka consumer group the ingest replicas join to share the shards")
	fs.DurationVar(&o.sessionTimeout, "session-timeout", 10*time.Second, "wall time after which a silent ingest replica is dropped from the group and its shards and budget go to the others (Kafka's bounds: 6s to 30min by default)")
}

func startFlag(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.start, "start", "", "the simulated clock's start, RFC 3339 (default: the current hour, UTC); the scenario is anchored there")
}

// credentialFlags are the platform apps' credentials. Give them through the
// environment or the config file, not the command line (where ps shows them).
func credentialFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.douyinKey, "douyin-client-key", "", "Douyin app client_key")
	fs.StringVar(&o.douyinSecret, "douyin-client-secret", "", "Douyin app client_secret (secret: use TONGXIN_DOUYIN_CLIENT_SECRET)")
	fs.StringVar(&o.weiboKey, "weibo-app-key", "", "Weibo app key")
	fs.StringVar(&o.weiboSecret, "weibo-app-secret", "", "Weibo app secret (secret: use TONGXIN_WEIBO_APP_SECRET)")
	fs.StringVar(&o.wechatFeedKey, "wechat-feed-key", "", "the data vendor's API key (secret: use TONGXIN_WECHAT_FEED_KEY)")
}
