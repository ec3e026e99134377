package kafkaconn_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/aggregate"
	"github.com/tongxin/tongxin/aggregate/sink"
	"github.com/tongxin/tongxin/ingest/producer"
	"github.com/tongxin/tongxin/internal/enginetest"
	"github.com/tongxin/tongxin/internal/kafkaconn"
	"github.com/tongxin/tongxin/internal/topics"
	"github.com/tongxin/tongxin/snapshot"
)

const (
	saslUser     = "ambassador-desk"
	saslPassword = "Xs3cret-9q.7"
)

// A private Kafka broker with an SSL listener (client certificates
// required) and a SASL_SSL listener, started by deploy/local/kafka/engine.sh
// with a throwaway CA: tongxin's producer writes snapshots and its
// aggregator consumes them into ClickHouse over TLS and over SASL_SSL; a
// client trusting another CA, a client without a certificate and a wrong
// SASL password each fail at once with an error that says what to check and
// never holds the password; so does a plaintext client.
func TestKafkaOverTLSAndSASL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real Kafka broker")
	}
	dir := t.TempDir()
	ca := enginetest.NewCA(t, dir, "ca")
	ca.Issue(t, dir, "server")
	clientCert, clientKey := ca.Issue(t, dir, "client")
	other := enginetest.NewCA(t, dir, "other-ca")
	t.Setenv("TONGXIN_KAFKA_TLS_DIR", dir)
	t.Setenv("TONGXIN_KAFKA_TLS_CLIENT_AUTH", "required")
	t.Setenv("TONGXIN_KAFKA_SASL_USER", saslUser)
	t.Setenv("TONGXIN_KAFKA_SASL_PASSWORD", saslPassword)
	begin := time.Now()
	kafkaEngine := enginetest.Start(t, "kafka")
	t.Logf("broker with TLS listeners started in %v", time.Since(begin).Round(time.Millisecond))
	sslAddr, saslAddr := kafkaEngine.Printed["KAFKA_SSL"], kafkaEngine.Printed["KAFKA_SASL_SSL"]
	if sslAddr == "" || saslAddr == "" {
		t.Fatalf("engines up printed no KAFKA_SSL= or KAFKA_SASL_SSL= line: %v", kafkaEngine.Printed)
	}

	_, ch := enginetest.MigratedDatabase(t)

	t.Run("TLS with a client certificate: producer and aggregator", func(t *testing.T) {
		s := load(t, kafkaconn.Config{CAFile: ca.File, CertFile: clientCert, KeyFile: clientKey})
		roundTrip(t, s, sslAddr, ch, "tls")
	})
	t.Run("SASL_SSL SCRAM-SHA-512: producer and aggregator", func(t *testing.T) {
		s := load(t, kafkaconn.Config{TLS: true, CAFile: ca.File, SASL: "scram-sha-512", User: saslUser, Password: saslPassword})
		roundTrip(t, s, saslAddr, ch, "scram")
	})
	for _, mech := range []string{kafkaconn.Plain, kafkaconn.ScramSHA256} {
		t.Run("SASL_SSL "+mech+": topics and producer", func(t *testing.T) {
			s := load(t, kafkaconn.Config{CAFile: ca.File, SASL: mech, User: saslUser, Password: saslPassword})
			produce(t, s, saslAddr, 5)
		})
	}

	t.Run("wrong CA", func(t *testing.T) {
		s := load(t, kafkaconn.Config{CAFile: other.File, CertFile: clientCert, KeyFile: clientKey})
		err := ensureFails(t, s, sslAddr)
		for _, want := range []string{"TLS handshake failed", "--kafka-ca", "certificate signed by unknown authority"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})
	t.Run("plaintext to the TLS listener", func(t *testing.T) {
		err := ensureFails(t, nil, saslAddr)
		if !strings.Contains(err.Error(), "--kafka-tls") {
			t.Errorf("error %q does not point to --kafka-tls", err)
		}
	})
	t.Run("no client certificate where one is required", func(t *testing.T) {
		s := load(t, kafkaconn.Config{CAFile: ca.File})
		err := ensureFails(t, s, sslAddr)
		if !strings.Contains(err.Error(), "TLS handshake failed") {
			t.Errorf("error %q does not name the TLS handshake", err)
		}
	})
	for _, mech := range []string{kafkaconn.Plain, kafkaconn.ScramSHA256, kafkaconn.ScramSHA512} {
		t.Run("wrong "+mech+" password", func(t *testing.T) {
			wrong := "Wr0ng-" + saslPassword
			s := load(t, kafkaconn.Config{CAFile: ca.File, SASL: mech, User: saslUser, Password: wrong})
			err := ensureFails(t, s, saslAddr)
			if !strings.Contains(err.Error(), "SASL authentication refused") || !strings.Contains(err.Error(), "--kafka-user") {
				t.Errorf("error %q does not say that SASL authentication was refused and what to check", err)
			}
			noSecret(t, "the error", err.Error(), wrong)
			noSecret(t, "the settings' description", fmt.Sprint(s), wrong)
			if mech != kafkaconn.ScramSHA256 {
				return // the producer's side once is enough
			}

			// The producer keeps retrying (nothing is dropped) and logs why,
			// without the password.
			var logs enginetest.Buffer
			p := producer.New(producer.Config{Brokers: []string{saslAddr}, Kafka: s, Topic: "tongxin.tls.refused",
				Log: slog.New(slog.NewTextHandler(&logs, nil)), DrainTimeout: time.Second})
			if err := p.Produce(context.Background(), snapshots("9", 1)); err != nil {
				t.Fatal(err)
			}
			p.Start()
			time.Sleep(3 * time.Second) // the producer tries, and is refused
			closeErr := p.Close(context.Background())
			if closeErr == nil {
				t.Error("the producer reports no error although Kafka refused every write")
			} else {
				noSecret(t, "the producer's error", closeErr.Error(), wrong)
			}
			if !strings.Contains(logs.String(), "SASL") {
				t.Errorf("the producer's log does not mention the SASL refusal:\n%s", logs.String())
			}
			noSecret(t, "the producer's log", logs.String(), wrong)
		})
	}
}

func load(t *testing.T, c kafkaconn.Config) *kafkaconn.Settings {
	t.Helper()
	s, err := kafkaconn.Load(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// ensureFails runs topics.EnsureWith, as every service does at start, and
// returns its error; it must come at once, not after retries.
func ensureFails(t *testing.T, s *kafkaconn.Settings, addr string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	begin := time.Now()
	err := topics.EnsureWith(ctx, s, []string{addr}, 1, fmt.Sprintf("tongxin.tls.%d", time.Now().UnixNano()))
	if err == nil {
		t.Fatal("creating a topic succeeded")
	}
	if d := time.Since(begin); d > 15*time.Second {
		t.Errorf("failing took %v: a refusal should not be retried", d.Round(time.Millisecond))
	}
	t.Logf("error: %v", err)
	return err
}

// messagesIn counts the messages in topic (a new one: it starts at offset
// 0), asking over s.
func messagesIn(t *testing.T, s *kafkaconn.Settings, addr, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(addr), Transport: s.Transport()}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	var req []kafka.OffsetRequest
	for _, p := range meta.Topics[0].Partitions {
		req = append(req, kafka.LastOffsetOf(p.ID))
	}
	resp, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: req}})
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			t.Fatal(p.Error)
		}

		total += p.LastOffset
	}
	return total
}

func noSecret(t *testing.T, what, text, secret string) {
	t.Helper()
	if strings.Contains(text, secret) {
		t.Errorf("%s holds the password: %s", what, text)
	}
}

// snapshots are n posts' snapshots; the post ids are prefix (decimal
// digits, not starting with 0: an id every platform's rule accepts) and four
// digits.
func snapshots(prefix string, n int) []snapshot.Snapshot {
	t0 := time.Now().UTC().Truncate(time.Second)
	out := make([]snapshot.Snapshot, n)
	for i := range out {
		out[i] = snapshot.Snapshot{
			Schema: 1, Platform: snapshot.Platforms[i%len(snapshot.Platforms)], AmbassadorID: fmt.Sprintf("amb%02d", i%50),
			AccountID: "4361396479", PostID: fmt.Sprintf("%s%04d", prefix, i),
			PublishedAt: t0.Add(-time.Hour), ObservedAt: t0, Source: snapshot.SourceSim,
			Metrics: snapshot.Metrics{Plays: snapshot.Counter(int64(1000 + i))},
		}
	}
	return out
}

// produce creates a topic and writes n snapshots to it with tongxin's
// producer over s; it returns the topic.
func produce(t *testing.T, s *kafkaconn.Settings, addr string, n int) (string, []snapshot.Snapshot) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := fmt.Sprintf("tongxin.tls.%d", time.Now().UnixNano())
	if err := topics.EnsureWith(ctx, s, []string{addr}, 3, topic, topic+".dlq"); err != nil {
		t.Fatal(err)
	}
	var logs enginetest.Buffer
	p := producer.New(producer.Config{Brokers: []string{addr}, Kafka: s, Topic: topic,
		Log: slog.New(slog.NewTextHandler(&logs, nil)), DrainTimeout: 30 * time.Second})
	snaps := snapshots(fmt.Sprint(1+time.Now().UnixNano()%8e8), n)
	if err := p.Produce(ctx, snaps); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil { // delivers what is queued, then returns
		t.Fatalf("producing over %v: %v\n%s", s, err, logs.String())
	}
	// (At least: a write the producer retried may have landed twice; the
	// aggregator applies it once.)
	if total := messagesIn(t, s, addr, topic); total < int64(n) {
		t.Fatalf("the topic holds %d messages, want %d", total, n)
	}
	return topic, snaps
}

// roundTrip produces snapshots and has tongxin's aggregator (consumer
// group, partition readers, metadata client, dead-letter writer) consume
// them into ClickHouse, all over s.
func roundTrip(t *testing.T, s *kafkaconn.Settings, addr string, ch driver.Conn, name string) {
	t.Helper()
	const n = 30
	topic, snaps := produce(t, s, addr, n)
	reg := prometheus.NewRegistry()
	var owned sync.Map
	a := aggregate.New(aggregate.Config{
		Brokers: []string{addr}, Kafka: s, Group: "tongxin-tls-" + name, Topic: topic, DeadLetterTopic: topic + ".dlq",
		Sink: sink.New(ch, reg), Registerer: reg, Log: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)),
		FlushEvery: 100 * time.Millisecond, SessionTimeout: 6 * time.Second,
		// The metadata client asks for the partitions only when this member
		// does not own them all; either way the call must succeed.
		OnAssign: func(ctx context.Context, owns func(string) bool) error { owned.Store("assigned", true); return nil },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("aggregator: %v", err)
		}
	})
	prefix := snaps[0].PostID[:len(snaps[0].PostID)-4]
	deadline := time.Now().Add(time.Minute)
	for {
		var posts uint64
		var plays int64
		err := ch.QueryRow(context.Background(), "SELECT count(), toInt64(ifNull(sum(plays), 0)) FROM post_latest WHERE startsWith(post_id, ?)", prefix).Scan(&posts, &plays)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(0)
		for _, sn := range snaps {
			want += int64(*sn.Plays)
		}
		if posts == n && plays == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ClickHouse has %d posts with %d plays from %s, want %d with %d", posts, plays, topic, n, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, ok := owned.Load("assigned"); !ok {
		t.Error("the aggregator never got its partitions")
	}
}
