package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/kafkawrite"
	"github.com/tongxin/tongxin/internal/topics"
)

// topicService is a Service that writes only to topic on brokers (no ClickHouse,
// no notifier), logging to logged.
func topicService(t *testing.T, brokers []string, topic string, logged *enginetest.Buffer, reg prometheus.Registerer) *Service {
	t.Helper()
	c, err := kafkawrite.Client(nil, brokers, logged.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return NewService(ServiceConfig{Kafka: c, Topic: topic, Log: logged.Logger(), Registerer: reg})
}

func topicEvent(post, reason string) Event {
	at := time.Date(2026, 11, 20, 4, 0, 0, 0, time.UTC)
	return Event{Schema: 1, AlertID: "alert-" + post, Kind: KindViral, State: StateOpen, Platform: "douyin",
		AmbassadorID: "amb01", PostID: post, PublishedAt: at.Add(-3 * time.Hour), OpenedAt: at, UpdatedAt: at,
		Reason: reason, Score: 9, Plays: 38000}
}

// An alert whose write Kafka stored but whose answer was lost (a leader
// killed mid-request, then "not the leader" for 8 s) is on tongxin.alerts.v1
// once. The kafka-go writer the alerts used before stored it twice: it sent
// the write again as a new one.
func TestAlertWhoseAnswerWasLostIsOnTheTopicOnce(t *testing.T) {
	const topic = "test.alerts.lostanswer"
	b, stored := enginetest.LostAnswerBroker(t, topic, 8*time.Second)
	var logged enginetest.Buffer
	reg := prometheus.NewRegistry()
	s := topicService(t, b.Addrs(), topic, &logged, reg)

	ev := topicEvent("7301", "38,000 plays in the last hour")
	s.produce(context.Background(), []Event{ev})
	select {
	case err := <-stored:
		if err != nil {
			t.Fatalf("the broker did not store the first write: %v", err)
		}
	default:
		t.Fatal("the first write never reached the broker")
	}
	var got []Event
	for _, msgs := range enginetest.ReadTopic(t, b.Addrs(), topic) {
		for _, m := range msgs {
			var e Event
			if err := json.Unmarshal(m.Value, &e); err != nil {
				t.Fatalf("message %s: %v", m.Key, err)
			}
			if string(m.Key) != ev.Key() {
				t.Errorf("message key %q, want %q", m.Key, ev.Key())
			}
			got = append(got, e)
		}
	}
	if len(got) != 1 || got[0].AlertID != ev.AlertID {
		t.Errorf("the topic holds %d events (%+v), want the alert once", len(got), got)
	}
	if n := enginetest.MetricSum(t, reg, "tongxin_alerts_events_unwritten_total"); n != 0 {
		t.Errorf("tongxin_alerts_events_unwritten_total = %v, want 0", n)
	}
	if !strings.Contains(logged.String(), "no answer from Kafka") {
		t.Errorf("8 s without an answer and the log does not say so:\n%s", logged.String())
	}
}

// An alert Kafka refuses for good (larger than the topic takes) costs that
// alert only: it is counted and logged with its alert ID, and the alert
// beside it is on the topic.
func TestAlertRefusedByKafkaIsCountedAndTheRestPublished(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Kafka")
	}
	brokers := topics.Brokers(enginetest.Kafka(t))
	topic := fmt.Sprintf("test.alerts.small.%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := (&kafka.Client{Addr: kafka.TCP(brokers...)}).CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: 1, ReplicationFactor: 1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: "1024"}},
	}}})
	if err != nil || resp.Errors[topic] != nil {
		t.Fatalf("creating %s: %v %v", topic, err, resp)
	}
	var logged enginetest.Buffer
	reg := prometheus.NewRegistry()
	s := topicService(t, brokers, topic, &logged, reg)

	// A reason that does not compress: franz-go compresses batches.
	rng := rand.New(rand.NewPCG(3, 4))
	var long strings.Builder
	for long.Len() < 4096 {
		long.WriteRune(rune(0x4e00 + rng.IntN(0x5000)))
	}
	small, large := topicEvent("7301", "38,000 plays in the last hour"), topicEvent("7302", long.String())
	s.produce(context.Background(), []Event{small, large})
	var got []string
	for _, msgs := range enginetest.ReadTopic(t, brokers, topic) {
		for _, m := range msgs {
			got = append(got, string(m.Key))
		}
	}
	if len(got) != 1 || got[0] != small.Key() {
		t.Errorf("the topic holds %q, want only %s", got, small.Key())
	}
	if n := enginetest.MetricSum(t, reg, "tongxin_alerts_events_unwritten_total"); n != 1 {
		t.Errorf("tongxin_alerts_events_unwritten_total = %v, want 1", n)
	}
	if !strings.Contains(logged.String(), "alert refused by Kafka for good") || !strings.Contains(logged.String(), large.AlertID) {
		t.Errorf("the log does not name the refused alert %s:\n%s", large.AlertID, logged.String())
	}
}
