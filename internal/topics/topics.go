// Package topics names tongxin's Kafka topics (CONTRACT.md) and creates them.
package topics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/internal/kafkaconn"
)

const (
	Snapshots  = "tongxin.snapshots.v1"
	Alerts     = "tongxin.alerts.v1"
	DeadLetter = "tongxin.deadletter.v1"
	// IngestShards is the ingest replicas' membership topic: its
	// partitions are the shards of the accounts, handed out by the consumer
	// group the replicas join (ingest/membership). Nothing is written to it.
	IngestShards = "tongxin.ingest.shards.v1"
)

// All lists the topics of tongxin's data (IngestShards, whose partition
// count is the shard count, is created by `tongxin ingest` alone).
var All = []string{Snapshots, Alerts, DeadLetter}

// Brokers splits a --brokers value.
func Brokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// Replication is the replication factor and min.insync.replicas of the
// topics tongxin creates on a cluster of brokers brokers: three replicas
// of which two must be in sync for an acks=all write (so one broker may be
// down and nothing acknowledged is lost with it); on a smaller cluster as
// many replicas as brokers, and min.insync.replicas 1 (left to the broker,
// whose default it is). Ensure counts the brokers alive when it runs: start
// tongxin on a whole cluster.
func Replication(brokers int) (replicas, minInSync int) {
	replicas = max(1, min(3, brokers))
	if replicas == 3 {
		return replicas, 2
	}
	return replicas, 1
}

// Ensure creates the topics that do not exist yet, with partitions
// partitions and the replication of Replication (three replicas, two in
// sync, on a cluster of three brokers or more). Existing topics are left
// as they are. It connects in plaintext; EnsureWith connects with TLS or
// SASL.
func Ensure(ctx context.Context, brokers []string, partitions int, names ...string) error {
	return EnsureWith(ctx, nil, brokers, partitions, names...)
}

// EnsureWith is Ensure over the connection settings conn (nil: plaintext).
// A TLS or SASL failure ends it at once: retrying cannot cure a wrong
// certificate or password.
func EnsureWith(ctx context.Context, conn *kafkaconn.Settings, brokers []string, partitions int, names ...string) error {
	if len(brokers) == 0 {
		return errors.New("kafka: no brokers")
	}
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second, Transport: conn.Transport()} // wall
	var lastErr error
	for attempt := 0; attempt < 30; attempt++ {
		meta, err := client.Metadata(ctx, &kafka.MetadataRequest{})
		if err == nil {
			rf, minISR := Replication(len(meta.Brokers))
			var req kafka.CreateTopicsRequest
			for _, n := range names {
				tc := kafka.TopicConfig{Topic: n, NumPartitions: partitions, ReplicationFactor: rf}
				if minISR > 1 {
					tc.ConfigEntries = []kafka.ConfigEntry{{ConfigName: "min.insync.replicas", ConfigValue: strconv.Itoa(minISR)}}
				}
				req.Topics = append(req.Topics, tc)
			}
			resp, err := client.CreateTopics(ctx, &req)
			if err == nil {
				var errs []error
				for name, e := range resp.Errors {
					if e != nil && !errors.Is(e, kafka.TopicAlreadyExists) {
						errs = append(errs, fmt.Errorf("creating topic %s: %w", name, e))
					}
				}
				if len(errs) == 0 {
					return nil
				}
				err = errors.Join(errs...)
			}
			lastErr = err
		} else {
			lastErr = err
		}
		var ne net.Error
		if ctx.Err() != nil || kafkaconn.Refused(lastErr) || (!errors.As(lastErr, &ne) && attempt > 5) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("kafka %s: %w", strings.Join(brokers, ","), kafkaconn.Explain(lastErr))
}

// Partitions is how many partitions topic has. A topic just created may
// be unknown to the broker asked for a moment: that is waited out (up to
// 30 s, wall time).
func Partitions(ctx context.Context, conn *kafkaconn.Settings, brokers []string, topic string) (int, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second, Transport: conn.Transport()} // wall
	var lastErr error
	for attempt := 0; attempt < 60; attempt++ {
		meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		if err != nil {
			return 0, fmt.Errorf("kafka %s: topic %s: %w", strings.Join(brokers, ","), topic, kafkaconn.Explain(err))
		}
		lastErr = fmt.Errorf("kafka topic %s: not in the metadata", topic)
		for _, t := range meta.Topics {
			if t.Name != topic {
				continue
			}
			if t.Error == nil && len(t.Partitions) > 0 {
				return len(t.Partitions), nil
			}
			lastErr = fmt.Errorf("kafka topic %s: %w", topic, t.Error)
			if t.Error != nil && !errors.Is(t.Error, kafka.UnknownTopicOrPartition) && !errors.Is(t.Error, kafka.LeaderNotAvailable) {
				return 0, lastErr
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return 0, lastErr
}
