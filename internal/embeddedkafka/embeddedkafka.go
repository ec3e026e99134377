// Package embeddedkafka is the Kafka-protocol broker that `tongxin run` uses
// when no brokers are given: an in-process cluster (franz-go's kfake) that
// speaks enough of the Kafka protocol for producers, consumer groups and
// admin requests, listening on the loopback address.
//
// It keeps its log in memory unless WithDataDir is given. Tests reach kfake's
// control and fault-injection functions through Broker.Cluster.
package embeddedkafka

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultPartitions is the partition count of auto-created topics unless
// WithPartitions says otherwise.
const DefaultPartitions = 3

type config struct {
	brokers    int
	addrs      []string
	partitions int
	topics     map[string]int32
	dataDir    string
	logger     *slog.Logger
	brokerCfgs map[string]string
	noAuto     bool
}

// Option configures Start.
type Option func(*config)

// WithBrokers sets the number of brokers (default 1), each on a free
// 127.0.0.1 port.
func WithBrokers(n int) Option { return func(c *config) { c.brokers = n } }

// WithAddrs makes the cluster listen on fixed addresses, one broker per
// address (for example "127.0.0.1:9092"). A port of 0 picks a free one. The
// host must be a loopback or other specific address, since clients are told
// to connect to it; it overrides WithBrokers.
func WithAddrs(addrs ...string) Option { return func(c *config) { c.addrs = addrs } }

// WithPartitions sets the partition count of auto-created topics (default
// DefaultPartitions).
func WithPartitions(n int) Option { return func(c *config) { c.partitions = n } }

// WithTopic creates topic with the given number of partitions at start.
func WithTopic(topic string, partitions int32) Option {
	return func(c *config) {
		if c.topics == nil {
			c.topics = make(map[string]int32)
		}
		c.topics[topic] = partitions
	}
}

// WithoutAutoCreate turns off creating topics when a client asks for an
// unknown one (it is on by default).
func WithoutAutoCreate() Option { return func(c *config) { c.noAuto = true } }

// WithDataDir keeps the cluster's log and group offsets in dir, reloading
// them when a cluster is started again on the same directory. Without it,
// everything lives in memory and is gone at Close.
func WithDataDir(dir string) Option { return func(c *config) { c.dataDir = dir } }

// WithBrokerConfigs sets broker-level configs, for example
// "log.retention.ms" or "message.max.bytes".
func WithBrokerConfigs(cfgs map[string]string) Option {
	return func(c *config) {
		if c.brokerCfgs == nil {
			c.brokerCfgs = make(map[string]string)
		}
		for k, v := range cfgs {
			c.brokerCfgs[k] = v
		}
	}
}

// WithLogger sends the cluster's warnings and errors to l (default: none).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Broker is a running embedded cluster.
type Broker struct {
	cluster *kfake.Cluster
	addrs   []string
	once    sync.Once
}

// Start starts an embedded cluster on 127.0.0.1 and returns once it accepts
// connections.
func Start(opts ...Option) (*Broker, error) {
	cfg := config{brokers: 1, partitions: DefaultPartitions}
	for _, o := range opts {
		o(&cfg)
	}
	if len(cfg.addrs) > 0 {
		cfg.brokers = len(cfg.addrs)
	}
	if cfg.brokers < 1 {
		return nil, fmt.Errorf("embeddedkafka: %d brokers", cfg.brokers)
	}
	if cfg.partitions < 1 {
		return nil, fmt.Errorf("embeddedkafka: %d partitions", cfg.partitions)
	}
	kopts := []kfake.Opt{
		kfake.NumBrokers(cfg.brokers),
		kfake.DefaultNumPartitions(cfg.partitions),
		kfake.ClusterID("tongxin-embedded"),
	}
	if !cfg.noAuto {
		kopts = append(kopts, kfake.AllowAutoTopicCreation())
	}
	if len(cfg.addrs) > 0 {
		fn, err := listenOn(cfg.addrs)
		if err != nil {
			return nil, err
		}
		kopts = append(kopts, kfake.ListenFn(fn))
	}
	for t, p := range cfg.topics {
		kopts = append(kopts, kfake.SeedTopics(p, t))
	}
	if cfg.dataDir != "" {
		kopts = append(kopts, kfake.DataDir(cfg.dataDir))
	}
	if len(cfg.brokerCfgs) > 0 {
		kopts = append(kopts, kfake.BrokerConfigs(cfg.brokerCfgs))
	}
	if cfg.logger != nil {
		kopts = append(kopts, kfake.WithLogger(slogLogger{cfg.logger}))
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("embeddedkafka: %w", err)
	}
	return &Broker{cluster: c, addrs: c.ListenAddrs()}, nil
}

// listenOn returns a listen function that binds the given addresses in
// order (kfake asks for 127.0.0.1 with a port; later brokers, such as those
// added with Cluster().AddNode, get what kfake asked for).
func listenOn(addrs []string) (func(network, address string) (net.Listener, error), error) {
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("embeddedkafka: address %q: %w", a, err)
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			return nil, fmt.Errorf("embeddedkafka: address %q: clients need a specific host to connect to, such as 127.0.0.1", a)
		}
	}
	var mu sync.Mutex
	next := 0
	return func(network, address string) (net.Listener, error) {
		mu.Lock()
		if next < len(addrs) {
			address = addrs[next]
			next++
		}
		mu.Unlock()
		ln, err := net.Listen(network, address)
		if err != nil {
			return nil, fmt.Errorf("listening on %s: %w", address, err)
		}
		return ln, nil
	}, nil
}

// Addrs are the brokers' host:port addresses.
func (b *Broker) Addrs() []string { return append([]string(nil), b.addrs...) }

// Bootstrap is the comma-separated broker list, as --brokers takes it.
func (b *Broker) Bootstrap() string { return strings.Join(b.addrs, ",") }

// CreateTopic creates a topic with the given partition count (0 or less:
// the default). A topic that exists already is not an error, whatever its
// partition count.
func (b *Broker) CreateTopic(topic string, partitions int32) error {
	err := b.cluster.CreateTopic(topic, partitions, nil)
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("embeddedkafka: creating topic %s: %w", topic, err)
	}
	return nil
}

// Cluster is the underlying kfake cluster, for tests: Control / ControlKey
// to intercept requests, Fault to fail them with Kafka errors,
// MoveTopicPartition, AddNode and RemoveNode, GroupInfo, and so on.
func (b *Broker) Cluster() *kfake.Cluster { return b.cluster }

// Close stops the cluster and closes its listeners; it may be called more
// than once.
func (b *Broker) Close() { b.once.Do(b.cluster.Close) }

// slogLogger adapts kfake's logger; kfake logs every request at Info and
// Debug, so only warnings and errors go through.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		s.l.Error(fmt.Sprintf(format, args...), "component", "embeddedkafka")
	case kfake.LogLevelWarn:
		s.l.Warn(fmt.Sprintf(format, args...), "component", "embeddedkafka")
	}
}
