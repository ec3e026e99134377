// Package enginetest gives tests the real engines: Apache Kafka and the
// ClickHouse engine, started through deploy/local/engines, the same script a
// developer uses by hand. A test either shares the engines that `make test`
// started (their addresses in TONGXIN_TEST_KAFKA / TONGXIN_TEST_CLICKHOUSE) or
// starts private ones in its own temporary directory, which it may restart and
// which are always stopped when the test ends, also when it fails.
package enginetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Engine is one running engine that a test started for itself.
type Engine struct {
	Name string // "kafka", "kafka-cluster" or "clickhouse"
	// Addr is what `engines up` printed: host:port for Kafka, a
	// clickhouse-go DSN for ClickHouse.
	Addr string
	// Printed is every KEY=value line `engines up` printed (such as
	// KAFKA_SSL= when the broker has TLS listeners).
	Printed map[string]string
	dir     string
}

// Start starts a private engine (name "kafka", "kafka-cluster" — three
// brokers — or "clickhouse") whose state
// lives in a fresh temporary directory; it is stopped when t ends.
func Start(t testing.TB, name string) *Engine {
	t.Helper()
	skipShort(t, name)
	e := &Engine{Name: name, dir: t.TempDir()}
	t.Cleanup(func() {
		if out, err := e.script(context.Background(), "down"); err != nil {
			t.Errorf("stopping %s: %v\n%s", name, err, out)
		}
	})
	e.up(t, "up")
	return e
}

// Restart stops the engine and starts it again on the same port and data.
func (e *Engine) Restart(t testing.TB) {
	t.Helper()
	e.up(t, "restart")
}

// Stop stops the engine (it can be started again with Restart).
func (e *Engine) Stop(t testing.TB) {
	t.Helper()
	if out, err := e.script(context.Background(), "down"); err != nil {
		t.Fatalf("stopping %s: %v\n%s", e.Name, err, out)
	}
}

func (e *Engine) up(t testing.TB, verb string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := e.script(ctx, verb)
	if err != nil {
		t.Fatalf("engines %s %s: %v\n%s", verb, e.Name, err, out)
	}
	key := map[string]string{"kafka": "KAFKA=", "kafka-cluster": "KAFKA=", "clickhouse": "CLICKHOUSE="}[e.Name]
	e.Printed = map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, key); ok {
			e.Addr = v
		}
		if k, v, ok := strings.Cut(line, "="); ok && k != "" && strings.ToUpper(k) == k && !strings.ContainsAny(k, " :") {
			e.Printed[k] = v
		}
	}
	if e.Addr == "" {
		t.Fatalf("engines %s %s printed no %s line:\n%s", verb, e.Name, key, out)
	}
}

// KafkaNode runs `engines kafka-node verb n` on this kafka-cluster: start,
// stop, kill (SIGKILL, as a crash; it returns once the JVM is gone) or pid
// of node n (1-3, its node.id). It returns what the script printed on
// stdout.
func (e *Engine) KafkaNode(t testing.TB, verb string, n int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := e.run(ctx, "kafka-node", verb, fmt.Sprint(n))
	if err != nil {
		t.Fatalf("engines kafka-node %s %d: %v\n%s", verb, n, err, out)
	}
	return string(out)
}

func (e *Engine) script(ctx context.Context, verb string) ([]byte, error) {
	return e.run(ctx, verb, e.Name)
}

func (e *Engine) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(RepoRoot(), "deploy", "local", "engines"), args...)
	// The owner pid lets the engine stop itself should this test binary die
	// without running its cleanups (a -timeout panic).
	cmd.Env = append(os.Environ(), "TONGXIN_ENGINES_DIR="+e.dir, fmt.Sprintf("TONGXIN_ENGINES_OWNER_PID=%d", os.Getpid()))
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.Bytes(), err
}

// Kafka returns the brokers of the shared Kafka engine, or of a private one
// started for this test when none is shared.
func Kafka(t testing.TB) string { return shared(t, "kafka", "TONGXIN_TEST_KAFKA") }

// ClickHouse returns the clickhouse-go DSN of the shared ClickHouse engine,
// or of a private one started for this test when none is shared.
func ClickHouse(t testing.TB) string { return shared(t, "clickhouse", "TONGXIN_TEST_CLICKHOUSE") }

func shared(t testing.TB, name, env string) string {
	t.Helper()
	skipShort(t, name)
	if v := os.Getenv(env); v != "" {
		return v
	}
	return Start(t, name).Addr
}

// skipShort keeps `go test -short` to the tests that need no engine: the
// quick tier a developer runs while editing.
func skipShort(t testing.TB, name string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs the real %s engine; skipped with -short", name)
	}
}

// RepoRoot is the directory holding go.mod.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic(fmt.Sprintf("enginetest: no go.mod above %s", dir))
		}
		dir = parent
	}
}

// Database returns a DSN like dsn but naming a fresh database of its own,
// dropped when t ends, so tests sharing one ClickHouse engine do not meet.
// The database is not created: `migrate` creates it.
func Database(t testing.TB, dsn string) string {
	t.Helper()
	name := fmt.Sprintf("tongxin_test_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	i := strings.Index(dsn, "://")
	if i < 0 {
		t.Fatalf("not a DSN: %q", dsn)
	}
	rest := dsn[i+3:]
	host, query := rest, ""
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		host, query = rest[:q], rest[q:]
	}
	if s := strings.IndexByte(host, '/'); s >= 0 {
		host = host[:s]
	}
	out := dsn[:i+3] + host + "/" + name + query
	t.Cleanup(func() { dropDatabase(dsn, name) })
	return out
}
