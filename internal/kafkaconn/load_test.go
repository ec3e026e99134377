package kafkaconn_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tongxin/tongxin/internal/kafkaconn"
)

// Load names what is wrong with a configuration, and never the password.
func TestLoadNamesWhatIsWrong(t *testing.T) {
	const pw = "Load-s3cret.pw"
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c    kafkaconn.Config
		want string
	}{
		{kafkaconn.Config{CAFile: filepath.Join(dir, "missing.pem")}, "kafka CA file"},
		{kafkaconn.Config{CAFile: notPEM}, "no PEM certificate"},
		{kafkaconn.Config{CertFile: notPEM}, "--kafka-key"},
		{kafkaconn.Config{User: "tongxin"}, "--kafka-sasl"},
		{kafkaconn.Config{SASL: "PLAIN", Password: pw}, "--kafka-user"},
		{kafkaconn.Config{SASL: "SCRAM-SHA-256", User: "tongxin"}, "TONGXIN_KAFKA_PASSWORD"},
		{kafkaconn.Config{SASL: "OAUTHBEARER", User: "tongxin", Password: pw}, "SCRAM-SHA-512"},
	} {
		_, err := kafkaconn.Load(tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one saying %q", tc.c.SASL, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("the error holds the password: %v", err)
		}
	}

	s, err := kafkaconn.Load(kafkaconn.Config{})
	if err != nil || s != nil || s.Dialer() != nil || s.Transport() != nil {
		t.Errorf("no TLS and no SASL: settings %v, %v; want nil (kafka-go's plaintext defaults)", s, err)
	}
	s, err = kafkaconn.Load(kafkaconn.Config{SASL: "scram-sha-256", User: "tongxin", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	if desc := s.String(); strings.Contains(desc, pw) || !strings.Contains(desc, "WITHOUT TLS") {
		t.Errorf("SASL without TLS described as %q", desc)
	}
}
