package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostileConfigs are config files built from the absurd values
// and YAML's own traps: the fuzz seed corpus.
var hostileConfigs = []string{
	"brokers: a:1\nspeed: 60\npartitions: 12\nrequest-timeout: 2s\nverbose: true\n",
	"speed: 1e400\n",
	"speed: NaN\n",
	"speed: -Inf\n",
	"partitions: 9223372036854775808\n",
	"partitions: -9223372036854775809\n",
	"request-timeout: 9999999999999h\n",
	"request-timeout: 2099-05-10T14:30:00Z\n",
	"observed_at: 2099-05-10T14:30:00Z\n",
	"brokers: " + strings.Repeat("x", 100_000) + "\n",
	strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
	strings.Repeat("- ", 2000) + "x\n",
	"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
	"brokers: a\nbrokers: b\n",
	"? [complex, key]\n: value\n",
	"speed: !!binary aGVsbG8=\n",
	"notify: {receivers: [{name: x, type: webhook, url: 'http://[::1'}]}\n",
	"\ufeffspeed: 3\n",
	"speed: \"\\x00\"\n",
	"--- \nspeed: 1\n--- \nspeed: 2\n",
	"speed: *undefined\n",
	"",
	"~",
	"- just\n- a\n- list\n",
}

// FuzzConfig: `go test ./internal/config -fuzz FuzzConfig` looks for a
// config file that panics or hangs the loader, or whose error does not
// say which file it is about.
func FuzzConfig(f *testing.F) {
	for _, c := range hostileConfigs {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		start := time.Now()
		file, err := parse("fuzz.yaml", b)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.String("brokers", "", "")
		fs.Float64("speed", 1, "")
		fs.Int("partitions", 6, "")
		fs.Duration("request-timeout", time.Second, "")
		fs.Bool("verbose", false, "")
		if err := apply(fs, file, map[string]bool{}, map[string]bool{"notify": true}); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "config fuzz.yaml:") {
					t.Fatalf("error line %q does not name the file and line", line)
				}
				if len(line) > 512 {
					t.Fatalf("a %d-byte error line: %.120s…", len(line), line)
				}
			}
		}
		var section struct {
			Receivers []map[string]any `yaml:"receivers"`
		}
		if err := file.Section("notify", &section); err != nil && !strings.Contains(err.Error(), "fuzz.yaml") {
			t.Fatalf("section error %q does not name the file", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v on %d bytes", d, len(b))
		}
	})
}

// A config file of more than MaxFileSize is refused before it is parsed.
func TestHugeConfigRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.yaml")
	if err := os.WriteFile(p, []byte("brokers: "+strings.Repeat("x", MaxFileSize)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "more than 1024 KiB") {
		t.Fatalf("a config file over 1 MiB: %v", err)
	}
	// An absurd value's error names the key and line but not the whole value.
	p2 := filepath.Join(t.TempDir(), "long.yaml")
	os.WriteFile(p2, []byte("speed: "+strings.Repeat("9", 5000)+"e\n"), 0o600)
	fs, _, _ := newFS()
	_, _, err := Parse(fs, []string{"--config", p2}, nil)
	if err == nil || !strings.Contains(err.Error(), p2+":1: speed: \"9999") || len(err.Error()) > 400 {
		t.Fatalf("a 5000-digit speed: %.300v", err)
	}
}
