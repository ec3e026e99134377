package enginetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ActiveController returns the node id of the KRaft quorum's leader — the
// active controller — as the DescribeQuorum API tells it (what
// kafka-metadata-quorum.sh describe --status prints as LeaderId), asking
// the brokers until one answers.
func ActiveController(tb testing.TB, brokers []string) int {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	var last error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req := kmsg.NewPtrDescribeQuorumRequest()
		topic := kmsg.NewDescribeQuorumRequestTopic()
		topic.Topic = "__cluster_metadata"
		part := kmsg.NewDescribeQuorumRequestTopicPartition()
		topic.Partitions = append(topic.Partitions, part)
		req.Topics = append(req.Topics, topic)
		resp, err := req.RequestWith(ctx, cl)
		cancel()
		switch {
		case err != nil:
			last = err
		case kerr.ErrorForCode(resp.ErrorCode) != nil:
			last = kerr.ErrorForCode(resp.ErrorCode)
		case len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1:
			last = fmt.Errorf("DescribeQuorum answered %d topics", len(resp.Topics))
		default:
			p := resp.Topics[0].Partitions[0]
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				last = err
			} else if p.LeaderID >= 0 {
				return int(p.LeaderID)
			} else {
				last = fmt.Errorf("no leader (epoch %d)", p.LeaderEpoch)
			}
		}
	}
	tb.Fatalf("DescribeQuorum: %v", last)
	return -1
}

// TopicReplication returns the replicas of each partition of topic and the
// topic's min.insync.replicas, as the brokers describe them.
func TopicReplication(tb testing.TB, brokers []string, topic string) (replicas map[int32]int, minInSync string) {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	meta.Topics = append(meta.Topics, mt)
	mresp, err := meta.RequestWith(ctx, cl)
	if err != nil {
		tb.Fatalf("metadata of %s: %v", topic, err)
	}
	replicas = map[int32]int{}
	for _, t := range mresp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			tb.Fatalf("metadata of %s: %v", topic, err)
		}
		for _, p := range t.Partitions {
			replicas[p.Partition] = len(p.Replicas)
		}
	}
	dc := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType = kmsg.ConfigResourceTypeTopic
	res.ResourceName = topic
	res.ConfigNames = []string{"min.insync.replicas"}
	dc.Resources = append(dc.Resources, res)
	dresp, err := dc.RequestWith(ctx, cl)
	if err != nil {
		tb.Fatalf("configs of %s: %v", topic, err)
	}
	for _, r := range dresp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			tb.Fatalf("configs of %s: %v", topic, err)
		}
		for _, c := range r.Configs {
			if c.Name == "min.insync.replicas" && c.Value != nil {
				minInSync = *c.Value
			}
		}
	}
	return replicas, minInSync
}

// PartitionEnds returns the end offset of every partition of topic, asking
// each partition's leader; a partition whose leader is moving (a broker
// just died) is asked again until it answers, for up to a minute.
func PartitionEnds(tb testing.TB, brokers []string, topic string) map[int32]int64 {
	tb.Helper()
	replicas, _ := TopicReplication(tb, brokers, topic)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.MetadataMinAge(250*time.Millisecond))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	ends := map[int32]int64{}
	var last error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && len(ends) < len(replicas); time.Sleep(250 * time.Millisecond) {
		req := kmsg.NewPtrListOffsetsRequest()
		req.ReplicaID = -1
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		for p := range replicas {
			if _, ok := ends[p]; !ok {
				rp := kmsg.NewListOffsetsRequestTopicPartition()
				rp.Partition, rp.Timestamp = p, -1 // -1: the end
				rt.Partitions = append(rt.Partitions, rp)
			}
		}
		req.Topics = append(req.Topics, rt)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		for _, shard := range cl.RequestSharded(ctx, req) {
			if shard.Err != nil {
				last = shard.Err
				continue
			}
			for _, t := range shard.Resp.(*kmsg.ListOffsetsResponse).Topics {
				for _, p := range t.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
						last = fmt.Errorf("partition %d: %w", p.Partition, err)
						continue
					}
					ends[p.Partition] = p.Offset
				}
			}
		}
		cancel()
	}
	if len(ends) < len(replicas) {
		tb.Fatalf("end offsets of %s: %d of %d partitions answered: %v", topic, len(ends), len(replicas), last)
	}
	return ends
}
