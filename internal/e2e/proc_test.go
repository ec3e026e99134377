// Package e2e runs the tongxin binary the way operators do: simulate,
// ingest and aggregate as separate processes against the real Kafka broker
// and ClickHouse engine, killed, restarted and starved as production will be.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/aggregate/warehouse"
	"github.com/tongxin/tongxin/internal/enginetest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tongxin-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "tongxin")
	build := exec.Command("go", "build", "-o", binary, "./cmd/tongxin")
	build.Dir = enginetest.RepoRoot()
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building tongxin:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one tongxin process of a test, killed when the test ends.
type proc struct {
	t    *testing.T
	name string
	args []string
	cmd  *exec.Cmd
	out  enginetest.Buffer
	done chan struct{}
}

// Output is everything the process printed so far.
func (p *proc) Output() string { return p.out.String() }

func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, args: args}
	p.launch()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			out := p.Output()
			if len(out) > 6000 {
				out = "…" + out[len(out)-6000:]
			}
			t.Logf("--- %s output:\n%s", name, out)
		}
	})
	return p
}

func (p *proc) launch() {
	p.cmd = exec.Command(binary, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.Env = append(os.Environ(), "TONGXIN_LOG_LEVEL=info")
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("starting %s: %v", p.name, err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(p.cmd, p.done)
}

// Kill ends the process with SIGKILL: no cleanup, as a crash.
func (p *proc) Kill() {
	if p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// Stop ends the process with SIGTERM and waits for it to exit cleanly.
func (p *proc) Stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(90 * time.Second):
		p.Kill()
		p.t.Errorf("%s did not stop within 90s of SIGTERM", p.name)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Errorf("%s exited with %d after SIGTERM", p.name, code)
	}
}

// Restart launches the process again with the same arguments.
func (p *proc) Restart() { p.launch() }

// Exited reports whether the process has ended on its own.
func (p *proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHTTP waits until url answers 200.
func waitHTTP(t *testing.T, url string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within %v", url, within)
}

// metric reads one sample's value from a /metrics page; ok=false if absent.
func metric(t *testing.T, url, name string) (float64, bool) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	var sum float64
	found := false
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			var v float64
			fmt.Sscanf(line[strings.LastIndexByte(line, ' ')+1:], "%g", &v)
			sum += v
			found = true
		}
	}
	return sum, found
}

// verifyInvariant checks CONTRACT.md's invariant for every post and metric
// in ClickHouse (warehouse.Verify), reporting up to 20 mismatches, and
// returns how many posts it compared.
func verifyInvariant(t *testing.T, ctx context.Context, conn driver.Conn) int {
	t.Helper()
	posts, bad, err := warehouse.Verify(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range bad {
		if i == 20 {
			t.Errorf("… %d mismatches in all", len(bad))
			break
		}
		t.Errorf("invariant broken: %v", m)
	}
	return posts
}
