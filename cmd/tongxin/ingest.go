package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/sync/errgroup"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/budget"
	"github.com/tongxin/tongxin/ingest/douyin"
	"github.com/tongxin/tongxin/ingest/membership"
	"github.com/tongxin/tongxin/ingest/producer"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/scheduler"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/ingest/wechat"
	"github.com/tongxin/tongxin/ingest/weibo"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/internal/service"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

var ingestCommand = &command{
	name:    "ingest",
	summary: "Pull every ambassador's post counters from the platforms and produce them to Kafka.",
	flags: func(fs *flag.FlagSet, o *options) {
		brokersFlag(fs, o, "Kafka brokers host:port,...")
		listenFlag(fs, o, "127.0.0.1:9465")
		clockFlags(fs, o)
		platformFlags(fs, o)
		rosterFlag(fs, o)
		partitionsFlag(fs, o)
		ingestFlags(fs, o)
		shardFlags(fs, o)
		credentialFlags(fs, o)
	},
	run: func(ctx context.Context, o *options, args []string) error {
		brokers, err := o.requiredBrokers()
		if err != nil {
			return err
		}
		if o.shards < 1 {
			return fmt.Errorf("--shards %d: want at least 1", o.shards)
		}
		if o.sessionTimeout < 6*time.Second {
			return fmt.Errorf("--session-timeout %v: want at least 6s (Kafka's group.min.session.timeout.ms)", o.sessionTimeout)
		}
		r, err := roster.Load(o.roster)
		if err != nil {
			return err
		}
		path := o.tokenFile
		if path == "" {
			path = token.DefaultPath()
		}
		reg := service.NewRegistry()
		clk, err := o.campaignClock(ctx)
		if err != nil {
			return err
		}
		source := snapshot.SourceAPI
		if o.simulatorURL != "" {
			source = snapshot.SourceSim
		}
		kc, err := o.kafka()
		if err != nil {
			return err
		}
		if err := topics.EnsureWith(ctx, kc, brokers, o.partitions, topics.Snapshots, topics.DeadLetter); err != nil {
			return err
		}
		if err := topics.EnsureWith(ctx, kc, brokers, o.shards, topics.IngestShards); err != nil {
			return err
		}
		// Every replica must cut the accounts alike: the topic's partition
		// count is the shard count, whatever --shards says.
		shards, err := topics.Partitions(ctx, kc, brokers, topics.IngestShards)
		if err != nil {
			return err
		}
		if shards != o.shards {
			o.log.Warn("the shards topic exists with another partition count than --shards; its count is the shard count",
				"topic", topics.IngestShards, "partitions", shards, "shards", o.shards)
		}
		tokens := token.NewFileStore(path)
		if o.simulatorURL != "" {
			o.douyinURL, o.weiboURL = o.simulatorURL, o.simulatorURL
			if err := authorizeSimulated(ctx, o, r, tokens, clk); err != nil {
				return err
			}
		}
		// The replica owns no shard until the group gives it some.
		in, err := newIngest(o, r, clk, tokens, brokers, reg, source, shards, uint64(os.Getpid()))
		if err != nil {
			return err
		}
		srv, err := service.Listen(o.listen, reg, in.producer.Writes.Err, nil)
		if err != nil {
			return err
		}
		o.log.Info("ingesting", "brokers", o.brokers, "group", o.ingestGroup, "shards", shards, "metrics", "http://"+srv.Addr()+"/metrics")
		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() error { return srv.Serve(ctx) })
		g.Go(func() error { return in.run(ctx) })
		g.Go(func() error {
			return membership.Run(ctx, membership.Config{Brokers: brokers, Kafka: kc, Topic: topics.IngestShards, Group: o.ingestGroup,
				Shards: shards, SessionTimeout: o.sessionTimeout, RebalanceTimeout: o.requestTimeout + 10*time.Second,
				Assign: in.assign, Log: o.log, Registerer: reg})
		})
		return g.Wait()
	},
}

// ingestion is one ingest replica: a runner per platform and the producer.
type ingestion struct {
	platforms []*platformIngest
	producer  *producer.Producer
	watcher   *wechat.Watcher
	log       *slog.Logger
	shards    int // the accounts are cut into this many shards (roster.ShardOf)

	mu    sync.Mutex
	owned map[int]bool // the shards this replica polls now
}

// platformIngest is one platform's polling in this replica.
type platformIngest struct {
	platform string
	accounts []roster.Account // all of the roster's, whichever shard
	perHour  float64          // the app's budget, requests per campaign hour
	bucket   *budget.Bucket   // this replica's share of it
	runner   *scheduler.Runner
}

// assign makes this replica poll the accounts of the owned shards, each
// platform with owned/shards of its budget. It returns once no request for
// another account is in flight (Runner.SetAccounts) and the budgets are
// down to their new share: the consumer group hands the shards it gave up
// to others only after that.
func (in *ingestion) assign(owned []int) {
	set := make(map[int]bool, len(owned))
	for _, s := range owned {
		set[s] = true
	}
	in.mu.Lock()
	in.owned = set
	in.mu.Unlock()
	// All platforms at once: each waits for its own request in flight
	// (at most --request-timeout), not for the others' one after another.
	var wg sync.WaitGroup
	for _, p := range in.platforms {
		share := budget.Share(p.perHour, len(owned), in.shards)
		p.bucket.SetRate(share, budget.MinuteBurst(share))
		wg.Go(func() { p.runner.SetAccounts(roster.InShards(p.accounts, owned, in.shards)) })
	}
	wg.Wait()
}

// ownedOnly makes a per-account gauge's check report only the accounts of
// this replica's shards now: the others' owners report them, so summing
// the gauge over replicas counts each account once.
func (in *ingestion) ownedOnly(check token.AccountCheck) token.AccountCheck {
	return func(a roster.Account) string {
		in.mu.Lock()
		mine := in.owned[roster.ShardOf(a, in.shards)]
		in.mu.Unlock()
		if !mine {
			return ""
		}
		return check(a)
	}
}

// parseBudgets reads "douyin=40,weibo=600" into requests per hour.
func parseBudgets(s string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		v, err := strconv.ParseFloat(val, 64)
		if !ok || err != nil || v <= 0 || !snapshot.KnownPlatform(name) {
			return nil, fmt.Errorf("--budget %q: %q: want PLATFORM=REQUESTS_PER_HOUR with PLATFORM one of %v", s, part, snapshot.Platforms)
		}
		out[name] = v
	}
	return out, nil
}

// newIngest wires one ingest replica over the accounts cut into shards
// shards. It owns none and polls nothing until assign gives it shards.
// seed makes its backoff jitter repeatable (replicas should differ).
func newIngest(o *options, r *roster.Roster, clk clock.Clock, tokens token.Store, brokers []string, reg prometheus.Registerer, source string, shards int, seed uint64) (*ingestion, error) {
	budgets, err := parseBudgets(o.budgets)
	if err != nil {
		return nil, err
	}
	if o.simulatorURL != "" {
		o.douyinURL, o.weiboURL, o.wechatFeedURL = o.simulatorURL, o.simulatorURL, o.simulatorURL
	}
	in := &ingestion{log: o.log, shards: shards}
	kc, err := o.kafka()
	if err != nil {
		return nil, err
	}
	in.producer = producer.New(producer.Config{Brokers: brokers, Kafka: kc, Log: o.log, Registerer: reg})
	metrics, budgetMetrics := scheduler.NewMetrics(reg), budget.NewMetrics(reg)
	authNeeded := token.NewAuthorizationGauge()
	reg.MustRegister(authNeeded)
	blocked, blockedMetric := scheduler.NewBlocked(), token.NewBlockedGauge()
	reg.MustRegister(blockedMetric)
	for _, platform := range snapshot.Platforms {
		accts := r.Watched(platform) // every one, officials too: any shard may become this replica's
		perHour := budgets[platform]
		if len(accts) == 0 || perHour <= 0 {
			continue
		}
		// Rate zero until assign gives shards: a new bucket holds one token,
		// and only the rate ever adds more (a campaign minute's worth at most).
		bucket := budget.New(clk, 0, 1)
		budgetMetrics.Watch(platform, bucket)
		// One budget token pays for one task (a listing page or a fetch),
		// taken by the Runner before the request's timeout starts. The
		// OAuth calls an adapter makes inside a task (a token refresh or
		// renewal, about once in 13 days per account) and the single repeat
		// after a token-expired answer are not charged: the platforms count
		// quotas per API, and these are too rare to matter against a budget
		// set below the quota. The client has no timeout of its own: the
		// Runner's --request-timeout (wall time) bounds each task.
		httpc := &http.Client{}
		var src ingest.Source
		switch platform {
		case snapshot.Douyin:
			d := douyin.New(douyin.Config{ClientConfig: ingest.ClientConfig{BaseURL: o.douyinURL, HTTP: httpc, Clock: clk, Log: o.log, Source: source},
				Tokens: tokens, ClientKey: o.douyinKey, ClientSecret: o.douyinSecret})
			src = d
			authNeeded.Add(platform, accts, in.ownedOnly(func(a roster.Account) string {
				if st, err := d.TokenStatus(a); err != nil || !st.Authorized || st.NeedsReauth {
					return "authorization"
				}
				return ""
			}))
		case snapshot.Weibo:
			w := weibo.New(weibo.Config{ClientConfig: ingest.ClientConfig{BaseURL: o.weiboURL, HTTP: httpc, Clock: clk, Log: o.log, Source: source},
				Tokens: tokens, AppKey: o.weiboKey, AppSecret: o.weiboSecret})
			src = w
			authNeeded.Add(platform, accts, in.ownedOnly(func(a roster.Account) string {
				if w.TokenStatus(a).State != weibo.TokenOK {
					return "authorization"
				}
				return ""
			}))
		case snapshot.WeChatChannels:
			if o.wechatFeedURL == "" {
				continue // exports only
			}
			key := o.wechatFeedKey
			if key == "" && source == snapshot.SourceSim {
				key = simulator.WeChatFeedKey
			}
			src = wechat.New(wechat.Config{ClientConfig: ingest.ClientConfig{BaseURL: o.wechatFeedURL, HTTP: httpc, Clock: clk, Log: o.log}, APIKey: key})
		}
		var reauth func(context.Context, roster.Account) error
		if source == snapshot.SourceSim && platform != snapshot.WeChatChannels {
			// Simulated ambassadors consent again when asked.
			auth, err := newAuthorizer(o, platform, tokens, clk)
			if err != nil {
				return nil, err
			}
			reauth = func(ctx context.Context, a roster.Account) error { return simulator.Consent(ctx, auth, a) }
		}
		blockedMetric.Add(platform, accts, in.ownedOnly(func(a roster.Account) string { return blocked.Reason(platform, a) }))
		runner := &scheduler.Runner{Reauthorize: reauth, Blocked: blocked, Budget: bucket,
			Source: src, Clock: clk, Sink: in.producer, Log: o.log, Metrics: metrics, RequestTimeout: o.requestTimeout,
			Planner: scheduler.NewPlanner(platform, nil, scheduler.Config{MaxBatch: src.MaxBatch(), PageSize: src.PageSize(), Seed: seed}),
		}
		runner.SetAccounts(nil)
		in.platforms = append(in.platforms, &platformIngest{platform: platform, accounts: accts, perHour: perHour, bucket: bucket, runner: runner})
	}
	if o.dropDir != "" {
		failed := promauto.With(reg).NewCounter(prometheus.CounterOpts{
			Name: "tongxin_ingest_export_files_failed_total",
			Help: "Export files in the drop folder that could not be read (reported once each).",
		})
		w, err := wechat.NewWatcher(wechat.WatcherConfig{
			Dir: o.dropDir, Roster: r, Log: o.log,
			Handle: func(ctx context.Context, ex *wechat.Export) error {
				return in.producer.Produce(ctx, ex.Snapshots)
			},
			OnFailure: func(path string, err error) {
				failed.Inc()
				o.log.Error("export file not imported", "file", path, "err", err)
			},
		})
		if err != nil {
			return nil, err
		}
		in.watcher = w
	}
	if len(in.platforms) == 0 && in.watcher == nil {
		return nil, errors.New("nothing to ingest: no platform has accounts and a budget")
	}
	return in, nil
}

// authorizeSimulated gives every account of the roster without a token one
// from the simulator's consent page, through the platforms' real code
// exchange: `tongxin ingest --simulator URL` needs no manual `tongxin auth`.
// Every account, for any shard may become this replica's; replicas that
// share the token file find the tokens the first one stored.
func authorizeSimulated(ctx context.Context, o *options, r *roster.Roster, tokens token.Store, clk clock.Clock) error {
	simulatedCredentials(o)
	for _, platform := range []string{snapshot.Douyin, snapshot.Weibo} {
		auth, err := newAuthorizer(o, platform, tokens, clk)
		if err != nil {
			return err
		}
		if err := simulator.ConsentAll(ctx, auth, tokens, r.Watched(platform)); err != nil {
			return err
		}
	}
	return nil
}

// run polls and produces until ctx ends, then lets the producer deliver
// what it holds.
func (in *ingestion) run(ctx context.Context) error {
	in.producer.Start()
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range in.platforms {
		g.Go(func() error { return p.runner.Run(gctx) })
	}
	if in.watcher != nil {
		g.Go(func() error { return in.watcher.Run(gctx) })
	}
	err := g.Wait()
	// The pollers are done: deliver what is buffered, then stop. Close's
	// own DrainTimeout (10 s wall, from this call) bounds it, not ctx.
	if e := in.producer.Close(context.WithoutCancel(ctx)); e != nil && err == nil {
		err = e
	}
	return err
}

// simulatedCredentials gives the apps placeholder credentials against the
// simulator, which checks only that they are there.
func simulatedCredentials(o *options) {
	if o.douyinKey == "" {
		o.douyinKey, o.douyinSecret = "sim-client-key", "sim-client-secret"
	}
	if o.weiboKey == "" {
		o.weiboKey, o.weiboSecret = "sim-app-key", "sim-app-secret"
	}
}
