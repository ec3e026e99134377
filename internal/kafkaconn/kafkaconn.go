// Package kafkaconn turns tongxin's Kafka security configuration (TLS and
// SASL) into the connection settings of kafka-go (a *kafka.Dialer for
// readers and consumer groups, a kafka.RoundTripper for writers and clients)
// and of franz-go (Client: the idempotent producer). Every Kafka client
// tongxin makes is built from one *Settings, so TLS and SASL apply to all of
// them alike.
package kafkaconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	franzsasl "github.com/twmb/franz-go/pkg/sasl"
	franzplain "github.com/twmb/franz-go/pkg/sasl/plain"
	franzscram "github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms, as Kafka names them.
const (
	Plain       = "PLAIN"
	ScramSHA256 = "SCRAM-SHA-256"
	ScramSHA512 = "SCRAM-SHA-512"
)

// Config is the security configuration as the operator gives it.
type Config struct {
	// TLS turns on TLS; CAFile, CertFile, KeyFile or ServerName imply it.
	TLS bool
	// CAFile is a PEM bundle of the CAs that sign the brokers' certificates
	// (empty: the system's roots).
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// brokers that require client authentication (both or neither).
	CertFile, KeyFile string
	// ServerName is the name the brokers' certificates must carry (empty:
	// the host of each broker address).
	ServerName string
	// SASL is the mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (any
	// case; empty: no SASL). User and Password are its credentials.
	SASL     string
	User     string
	Password string // secret: never logged, never in an error
}

// Settings are ready-made connection settings. The nil *Settings is a
// plaintext connection without authentication (kafka-go's defaults).
type Settings struct {
	tls       *tls.Config
	sasl      sasl.Mechanism
	franzSASL franzsasl.Mechanism // the same mechanism and credentials, for franz-go
	desc      string              // for logs; holds no secret

	once      sync.Once
	transport *kafka.Transport
}

// Load checks c, reads its files and returns the settings; nil (plaintext)
// when c asks for neither TLS nor SASL.
func Load(c Config) (*Settings, error) {
	useTLS := c.TLS || c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.ServerName != ""
	if !useTLS && c.SASL == "" {
		if c.User != "" {
			return nil, errors.New("kafka: a user is given but no SASL mechanism (--kafka-sasl)")
		}
		return nil, nil
	}
	s := &Settings{}
	var desc []string
	if useTLS {
		t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
		what := "tls"
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("kafka CA file: %w", err)
			}
			t.RootCAs = x509.NewCertPool()
			if !t.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("kafka CA file %s: no PEM certificate in it", c.CAFile)
			}
			what += " (CA " + c.CAFile + ")"
		}
		switch {
		case c.CertFile != "" && c.KeyFile != "":
			cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("kafka client certificate %s with key %s: %w", c.CertFile, c.KeyFile, err)
			}
			t.Certificates = []tls.Certificate{cert}
			what += " with client certificate " + c.CertFile
		case c.CertFile != "" || c.KeyFile != "":
			return nil, errors.New("kafka: give both a client certificate and its key (--kafka-cert and --kafka-key), or neither")
		}
		s.tls = t
		desc = append(desc, what)
	}
	if c.SASL != "" {
		if c.User == "" {
			return nil, fmt.Errorf("kafka SASL %s: no user (--kafka-user)", c.SASL)
		}
		if c.Password == "" {
			return nil, fmt.Errorf("kafka SASL %s for user %s: no password (TONGXIN_KAFKA_PASSWORD or --kafka-password-file)", c.SASL, c.User)
		}
		var err error
		scramAuth := franzscram.Auth{User: c.User, Pass: c.Password}
		switch mech := strings.ToUpper(c.SASL); mech {
		case Plain:
			s.sasl = plain.Mechanism{Username: c.User, Password: c.Password}
			s.franzSASL = franzplain.Auth{User: c.User, Pass: c.Password}.AsMechanism()
		case ScramSHA256:
			s.sasl, err = scram.Mechanism(scram.SHA256, c.User, c.Password)
			s.franzSASL = scramAuth.AsSha256Mechanism()
		case ScramSHA512:
			s.sasl, err = scram.Mechanism(scram.SHA512, c.User, c.Password)
			s.franzSASL = scramAuth.AsSha512Mechanism()
		default:
			return nil, fmt.Errorf("kafka SASL mechanism %q: want %s, %s or %s", c.SASL, Plain, ScramSHA256, ScramSHA512)
		}
		if err != nil {
			// The SCRAM client only fails on a user or password it cannot
			// normalise (SASLprep); its message never quotes them.
			return nil, fmt.Errorf("kafka SASL %s for user %s: the user or password is not valid UTF-8 text for SASLprep", c.SASL, c.User)
		}
		desc = append(desc, "sasl "+s.sasl.Name()+" as "+c.User)
		if !useTLS {
			desc = append(desc, "WITHOUT TLS: the credentials cross the network in the clear")
		}
	}
	s.desc = strings.Join(desc, ", ")
	return s, nil
}

// PasswordFromFile reads a password file: its content without the trailing
// line break. An empty path gives "".
func PasswordFromFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("kafka password file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// String describes the settings without their secrets, for logs.
func (s *Settings) String() string {
	if s == nil {
		return "plaintext"
	}
	return s.desc
}

// LogValue keeps slog from printing anything but String.
func (s *Settings) LogValue() slog.Value { return slog.StringValue(s.String()) }

// dialTimeout bounds a connection's set-up, TLS handshake and SASL
// exchange included (wall clock).
const dialTimeout = 10 * time.Second

// Dialer is for kafka.ReaderConfig and kafka.ConsumerGroupConfig; nil (the
// default dialer) for plaintext.
func (s *Settings) Dialer() *kafka.Dialer {
	if s == nil {
		return nil
	}
	return &kafka.Dialer{Timeout: dialTimeout, DualStack: true, TLS: s.tls.Clone(), SASLMechanism: s.sasl}
}

// Transport is for kafka.Writer and kafka.Client; nil (kafka-go's default
// transport) for plaintext. Like the default, it is one pool of connections
// shared by every writer and client of the process.
func (s *Settings) Transport() kafka.RoundTripper {
	if s == nil {
		return nil
	}
	s.once.Do(func() {
		s.transport = &kafka.Transport{DialTimeout: dialTimeout, TLS: s.tls, SASL: s.sasl}
	})
	return s.transport
}

// Client returns a franz-go client of brokers over these settings (nil:
// plaintext), with opts added. Its producer is idempotent and waits for all
// in-sync replicas (franz-go's defaults, stated here so that they stay).
func (s *Settings) Client(brokers []string, opts ...kgo.Opt) (*kgo.Client, error) {
	base := []kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.DialTimeout(dialTimeout),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	}
	if s != nil {
		if s.tls != nil {
			base = append(base, kgo.DialTLSConfig(s.tls.Clone()))
		}
		if s.franzSASL != nil {
			base = append(base, kgo.SASL(s.franzSASL))
		}
	}
	c, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client of %s: %w", strings.Join(brokers, ","), err)
	}
	return c, nil
}

// Close closes the idle connections of the shared transport.
func (s *Settings) Close() {
	if s == nil {
		return
	}
	s.once.Do(func() {}) // orders the read below after Transport's write
	if s.transport != nil {
		s.transport.CloseIdleConnections()
	}
}

// Refused reports whether err is the brokers refusing this client's TLS or
// SASL credentials (or the client refusing the brokers' certificate):
// configuration that retrying does not cure.
func Refused(err error) bool { return tlsFailure(err) || saslFailure(err) || wantsTLS(err) }

// Explain names the setting to check when err is a TLS or SASL refusal;
// other errors are returned as they are.
func Explain(err error) error {
	switch {
	case err == nil:
		return nil
	case saslFailure(err):
		return fmt.Errorf("SASL authentication refused (check --kafka-sasl, --kafka-user and the password): %w", err)
	case tlsFailure(err):
		return fmt.Errorf("TLS handshake failed (check --kafka-ca, --kafka-server-name and the client certificate): %w", err)
	case wantsTLS(err):
		return fmt.Errorf("the broker speaks TLS on this port (set --kafka-tls or --kafka-ca): %w", err)
	}
	return err
}

// wantsTLS is kafka-go's guess when a plaintext request gets no answer.
func wantsTLS(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) && strings.Contains(err.Error(), "expecting TLS")
}

func tlsFailure(err error) bool {
	// An alert the broker sent, such as "bad certificate" when it wants a
	// client certificate (crypto/tls keeps its alert type unexported).
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" && strings.HasPrefix(op.Err.Error(), "tls: ") {
		return true
	}
	var (
		verify   *tls.CertificateVerificationError
		alert    tls.AlertError
		record   tls.RecordHeaderError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &record) ||
		errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

func saslFailure(err error) bool {
	return errors.Is(err, kafka.SASLAuthenticationFailed) || errors.Is(err, kafka.UnsupportedSASLMechanism) ||
		errors.Is(err, kafka.IllegalSASLState) || errors.Is(err, kerr.SaslAuthenticationFailed) ||
		errors.Is(err, kerr.UnsupportedSaslMechanism) || errors.Is(err, kerr.IllegalSaslState)
}
