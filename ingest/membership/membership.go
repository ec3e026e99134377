// Package membership lets ingest replicas share the platforms' accounts and
// request budgets through Kafka's own consumer-group protocol: no lease,
// heartbeat or election of tongxin's own.
//
// The accounts are cut into a fixed number of shards (roster.ShardOf), one
// per partition of the shards topic (topics.IngestShards). Every replica
// joins one consumer group on that topic; the partitions the group assigns
// a replica are the shards it owns: it polls their accounts with their share
// of each platform's budget (budget.Share). No message is ever produced to
// or read from the topic: it exists for its partitions alone, so a replica
// fetches nothing and commits nothing, and only its heartbeats touch Kafka.
//
// The group runs Kafka's eager rebalance protocol (kafka-go implements no
// other): when membership changes, every replica gives up all its shards
// (Assign(nil)) before it rejoins, and the coordinator hands out shards
// only once every member has rejoined or been dropped, so a shard is never
// polled by two replicas at once and the replicas' budget shares never add
// up to more than a platform's quota. The assignor is sticky (a replica asks
// for the shards it had), so accounts that stay put keep what the replica
// knows of them; polling pauses for the rebalance only, a few seconds.
//
// A replica that dies (SIGKILL, a lost host) stops heartbeating; after the
// session timeout the coordinator drops it and the survivors share its
// shards. A replica cut off from Kafka notices first: its heartbeat fails
// within a heartbeat interval plus the network timeout, both well inside the
// session timeout, and it gives up its shards then, before the coordinator
// can give them to anyone else.
package membership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/internal/kafkaconn"
)

// Config is one replica's membership.
type Config struct {
	Brokers []string
	Kafka   *kafkaconn.Settings
	// Topic is the shards topic: its partitions are the shards.
	Topic string
	// Group is the consumer group every ingest replica joins.
	Group string
	// Shards is the number of shards: the topic's partitions, read when
	// the replica starts. A partition numbered past it is never owned.
	Shards int
	// SessionTimeout (wall time, default 10s): how long the coordinator
	// waits without a heartbeat before it drops a replica and hands its
	// shards to the others. Heartbeats go every fifth of it, and a
	// heartbeat that has no answer within a quarter of it ends the
	// replica's hold on its shards.
	SessionTimeout time.Duration
	// RebalanceTimeout (wall time, default 40s): how long the coordinator
	// waits for the replicas to give up their shards and rejoin; it must
	// cover a platform request in flight (--request-timeout), which a
	// replica lets finish before it gives up the request's shard.
	RebalanceTimeout time.Duration
	// Assign is told the shards this replica owns from now on: the sorted
	// shard numbers at the start of each generation of the group, nil when
	// the generation ends. It must return only once no request for an
	// account outside them is in flight and the budget is down to their
	// share: the group moves on when it returns.
	Assign func(owned []int)
	// Log is for joins and rebalances.
	Log *slog.Logger
	// Registerer, if set, gets the membership metrics.
	Registerer prometheus.Registerer
}

// metrics of one replica's membership.
type metrics struct {
	owned      prometheus.Gauge
	rebalances prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, shards int) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	f := promauto.With(reg)
	f.NewGauge(prometheus.GaugeOpts{
		Name: "tongxin_ingest_shards",
		Help: "Shards the accounts are cut into (partitions of the shards topic); a replica owning k of them polls their accounts with k/shards of each platform's budget.",
	}).Set(float64(shards))
	return &metrics{
		owned: f.NewGauge(prometheus.GaugeOpts{
			Name: "tongxin_ingest_owned_shards",
			Help: "Shards this ingest replica owns now (0 during a rebalance); summed over the replicas, the shards once the group is settled.",
		}),
		rebalances: f.NewCounter(prometheus.CounterOpts{
			Name: "tongxin_ingest_rebalances_total",
			Help: "Generations of the ingest consumer group this replica joined: each is a rebalance, when a replica joined, left or died.",
		}),
	}
}

// Run keeps the replica in the group until ctx ends, telling Assign each
// change of its shards; on the way out it gives them up (Assign(nil)) and
// leaves the group, so the others take them over at once.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Shards < 1 {
		return fmt.Errorf("ingest shards: topic %s has no partitions", cfg.Topic)
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 10 * time.Second
	}
	if cfg.RebalanceTimeout <= 0 {
		cfg.RebalanceTimeout = 40 * time.Second
	}
	m := newMetrics(cfg.Registerer, cfg.Shards)
	bal := &sticky{}
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID: cfg.Group, Brokers: cfg.Brokers, Dialer: cfg.Kafka.Dialer(), Topics: []string{cfg.Topic},
		GroupBalancers:    []kafka.GroupBalancer{bal},
		SessionTimeout:    cfg.SessionTimeout,
		RebalanceTimeout:  cfg.RebalanceTimeout,
		HeartbeatInterval: cfg.SessionTimeout / 5,
		Timeout:           cfg.SessionTimeout / 4,
		JoinGroupBackoff:  time.Second, // wall
	})
	if err != nil {
		return fmt.Errorf("ingest consumer group %s: %w", cfg.Group, err)
	}
	defer cg.Close() // gives the shards up (the generation's function) and leaves
	for {
		gen, err := cg.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, kafka.ErrGroupClosed) {
				return nil
			}
			level := slog.LevelWarn
			if errors.Is(err, kafka.RebalanceInProgress) {
				level = slog.LevelInfo // a replica joined or left: the group is settling
			}
			cfg.Log.Log(ctx, level, "joining the ingest consumer group", "group", cfg.Group, "err", kafkaconn.Explain(err))
			if kafkaconn.Refused(err) {
				return fmt.Errorf("ingest consumer group %s: %w", cfg.Group, kafkaconn.Explain(err))
			}
			continue
		}
		var owned []int
		for _, p := range gen.Assignments[cfg.Topic] {
			if p.ID >= cfg.Shards {
				cfg.Log.Error("a partition of the shards topic past the shard count is not owned: the topic grew; restart every replica to use the new count",
					"topic", cfg.Topic, "partition", p.ID, "shards", cfg.Shards)
				continue
			}
			owned = append(owned, p.ID)
		}
		sort.Ints(owned)
		bal.remember(owned)
		m.rebalances.Inc()
		// The generation's function holds the shards: the group does not
		// rejoin before it returns, so they are given up before anyone
		// else can get them. If the generation has ended already, ctx is
		// done and nothing is taken.
		gen.Start(func(gctx context.Context) {
			if gctx.Err() == nil {
				cfg.Assign(owned)
				m.owned.Set(float64(len(owned)))
				cfg.Log.Info("owning shards", "generation", gen.ID, "shards", owned, "of", cfg.Shards)
			}
			<-gctx.Done()
			m.owned.Set(0)
			cfg.Assign(nil)
		})
	}
}

// sticky is the group's assignor: it shares the shards evenly (the counts
// differ by one at most) and leaves each replica as many of the shards it
// had as it can, so a replica dying moves only its own shards.
type sticky struct {
	mu   sync.Mutex
	last []int // the shards this replica owned in its last generation
}

func (s *sticky) remember(owned []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = slices.Clone(owned)
}

func (*sticky) ProtocolName() string { return "tongxin-sticky-v1" }

// UserData tells the group's leader the shards this replica had.
func (s *sticky) UserData() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return json.Marshal(s.last)
}

// AssignGroups runs on the leader: every member, with the shards it had.
func (*sticky) AssignGroups(members []kafka.GroupMember, partitions []kafka.Partition) kafka.GroupMemberAssignments {
	out := kafka.GroupMemberAssignments{}
	byTopic := map[string][]int{}
	for _, p := range partitions {
		byTopic[p.Topic] = append(byTopic[p.Topic], p.ID)
	}
	for topic, shards := range byTopic {
		var ms []member
		for _, gm := range members {
			if !slices.Contains(gm.Topics, topic) {
				continue
			}
			var had []int
			_ = json.Unmarshal(gm.UserData, &had) // a member with unreadable data had nothing
			ms = append(ms, member{id: gm.ID, had: had})
		}
		for id, got := range assign(ms, shards) {
			if out[id] == nil {
				out[id] = map[string][]int{}
			}
			out[id][topic] = got
		}
	}
	return out
}

// member is one replica as the assignor sees it.
type member struct {
	id  string
	had []int
}

// assign shares shards among members: each gets len/n or one more, and
// keeps as many of the shards it had as that allows (a shard two members
// claim goes to the first in the order below). Deterministic.
func assign(members []member, shards []int) map[string][]int {
	out := map[string][]int{}
	if len(members) == 0 {
		return out
	}
	exists := map[int]bool{}
	for _, s := range shards {
		exists[s] = true
	}
	// Those who had more get the larger shares first, then by id.
	order := slices.Clone(members)
	sort.SliceStable(order, func(i, j int) bool {
		if len(order[i].had) != len(order[j].had) {
			return len(order[i].had) > len(order[j].had)
		}
		return order[i].id < order[j].id
	})
	base, extra := len(shards)/len(order), len(shards)%len(order)
	quota := map[string]int{}
	taken := map[int]bool{}
	for i, m := range order {
		quota[m.id] = base
		if i < extra {
			quota[m.id]++
		}
		had := slices.Clone(m.had)
		sort.Ints(had)
		got := []int{}
		for _, s := range had {
			if len(got) == quota[m.id] {
				break
			}
			if exists[s] && !taken[s] {
				taken[s] = true
				got = append(got, s)
			}
		}
		out[m.id] = got
	}
	// The shards nobody kept go to those below their share, by id.
	sort.SliceStable(order, func(i, j int) bool { return order[i].id < order[j].id })
	free := slices.Clone(shards)
	sort.Ints(free)
	for _, s := range free {
		if taken[s] {
			continue
		}
		for _, m := range order {
			if len(out[m.id]) < quota[m.id] {
				out[m.id] = append(out[m.id], s)
				taken[s] = true
				break
			}
		}
	}
	for id := range out {
		sort.Ints(out[id])
	}
	return out
}
