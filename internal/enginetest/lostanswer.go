package enginetest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tongxin/tongxin/internal/embeddedkafka"
)

// LostAnswerBroker starts an embedded broker (kfake) holding topic, one
// partition, whose first write to it is stored and its answer lost, as
// LoseFirstAnswer says; the broker stops with tb.
func LostAnswerBroker(tb testing.TB, topic string, hold time.Duration) (*embeddedkafka.Broker, <-chan error) {
	tb.Helper()
	b, err := embeddedkafka.Start(embeddedkafka.WithoutAutoCreate())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Close)
	if err := b.Cluster().CreateTopic(topic, 1, nil); err != nil {
		tb.Fatal(err)
	}
	return b, LoseFirstAnswer(tb, b.Cluster(), b.Addrs(), topic, hold)
}

// LoseFirstAnswer makes kfake act out a leader killed mid-request, for
// topic (the only one its client writes): the first produce request is stored (replayed on another
// connection) and its connection closed unanswered; the writes of the next
// hold (the client's retry, and whatever joins it) are held until then and
// answered NOT_LEADER_OR_FOLLOWER, unwritten; later ones as Kafka would.
// The channel says whether the first write was stored (nil) once it was.
// A client that sends the first write again as a new record stores it
// twice; one that retries it with its sequence number stores it once.
func LoseFirstAnswer(tb testing.TB, c *kfake.Cluster, addrs []string, topic string, hold time.Duration) <-chan error {
	tb.Helper()
	info := c.TopicInfo(topic)
	if info == nil {
		tb.Fatalf("LoseFirstAnswer: no topic %s", topic)
	}
	replayer, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(replayer.Close)
	if _, err := replayer.Request(context.Background(), kmsg.NewPtrMetadataRequest()); err != nil {
		tb.Fatal(err) // the replayer knows the brokers
	}
	var (
		dropped   atomic.Bool  // the first write was stored and its answer lost
		notLeader atomic.Int64 // until when (unix ns) writes are answered NOT_LEADER_OR_FOLLOWER
		replaying atomic.Bool
		stored    = make(chan error, 1)
	)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		switch {
		case replaying.Load():
			return nil, nil, false // the replay: stored as any write
		case dropped.CompareAndSwap(false, true):
			replaying.Store(true)
			node := c.CurrentNode()
			// The replayer may speak a newer version than the client that
			// wrote (kafka-go names topics, Produce v13 gives their IDs).
			for i := range req.(*kmsg.ProduceRequest).Topics {
				rt := &req.(*kmsg.ProduceRequest).Topics[i]
				rt.Topic, rt.TopicID = topic, info.TopicID
			}
			c.SleepControl(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				resp, err := replayer.Broker(int(node)).Request(ctx, req)
				if err == nil {
					for _, rt := range resp.(*kmsg.ProduceResponse).Topics {
						for _, rp := range rt.Partitions {
							if rp.ErrorCode != 0 {
								err = kerr.ErrorForCode(rp.ErrorCode)
							}
						}
					}
				}
				stored <- err
			})
			replaying.Store(false)
			notLeader.Store(time.Now().Add(hold).UnixNano())
			return nil, errors.New("the answer is lost"), true // the connection closes unanswered
		case time.Now().UnixNano() < notLeader.Load():
			until := time.Unix(0, notLeader.Load())
			c.SleepControl(func() { time.Sleep(time.Until(until)) })
			// Not answered here: the fault answers it, unwritten.
			c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Err: kerr.NotLeaderForPartition})
		}
		return nil, nil, false // as Kafka would
	})
	return stored
}
