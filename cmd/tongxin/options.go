package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/tongxin/tongxin/internal/config"
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

	douyinURL     string
	weiboURL      string
	wechatFeedURL string
	simulatorURL  string

	partitions int
	group      string

	budgets         string
	replicas        int
	replica         int
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

	file   *config.File // the --config file, for its sections
	log    *slog.Logger
	stdout io.Writer
	stderr io.Writer
}

func brokersFlag(fs *flag.FlagSet, o *options, help string) {
	fs.StringVar(&o.brokers, "brokers", "", help)
}

func clickhouseFlag(fs *flag.FlagSet, o *options, def string) {
	fs.IntVar(&o.snapshotTTLDays, "snapshot-ttl-days", 400, "how many days raw snapshots are kept in ClickHouse (0: forever); rollups are kept regardless")
	fs.StringVar(&o.clickhouse, "clickhouse", def, "ClickHouse as a clickhouse-go/v2 DSN: clickhouse://user:pass@host:9000/tongxin (native) or http://host:8123/tongxin")
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

func simulatorFlags(fs *flag.FlagSet, o *options) {
	fs.Int64Var(&o.seed, "seed", 1, "the simulator's seed: the same seed gives the same scenario")
	fs.StringVar(&o.faults, "faults", "", "faults the simulator injects, e.g. 429=0.05,5xx=0.05,timeout=0.01,malformed=0.02,expire=0.01,decrease=0.01")
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
	fs.IntVar(&o.replicas, "replicas", 1, "how many ingest replicas share the accounts and the budget")
	fs.IntVar(&o.replica, "replica", 0, "this replica's number, 0 to replicas-1: it polls its shard of the accounts with its share of the budget")
	fs.StringVar(&o.tokenFile, "token-file", "", "the token store shared by ingest replicas (default: ~/.config/tongxin/tokens.json)")
	fs.StringVar(&o.dropDir, "wechat-drop-dir", "", "a folder the office saves WeChat Channels exports into; watched and imported")
	fs.DurationVar(&o.requestTimeout, "request-timeout", 30*time.Second, "how long one platform API request may take (wall time)")
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
