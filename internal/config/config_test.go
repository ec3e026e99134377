package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newFS() (*flag.FlagSet, *string, *float64) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.String("config", "", "")
	brokers := fs.String("brokers", "", "")
	speed := fs.Float64("speed", 1, "")
	return fs, brokers, speed
}

func writeFile(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "tongxin.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrecedenceFlagEnvFile(t *testing.T) {
	p := writeFile(t, "brokers: file:9092\nspeed: 30\nclickhouse: http://x\n")
	t.Setenv("TONGXIN_SPEED", "60")
	fs, brokers, speed := newFS()
	if _, _, err := Parse(fs, []string{"--config", p}, map[string]bool{"clickhouse": true}); err != nil {
		t.Fatal(err)
	}
	if *brokers != "file:9092" || *speed != 60 {
		t.Fatalf("brokers=%q speed=%v: want the file's brokers and the environment's speed", *brokers, *speed)
	}
	fs, brokers, _ = newFS()
	if _, _, err := Parse(fs, []string{"--config", p, "--brokers", "cli:1"}, map[string]bool{"clickhouse": true}); err != nil {
		t.Fatal(err)
	}
	if *brokers != "cli:1" {
		t.Fatalf("brokers=%q: the command line wins", *brokers)
	}
}

func TestMistakesNameWhere(t *testing.T) {
	p := writeFile(t, "brokers: a:1\n\nspeeed: 3\nspeed: fast\n")
	fs, _, _ := newFS()
	_, _, err := Parse(fs, []string{"--config", p}, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{p + `:3: unknown key "speeed"`, p + `:4: speed: "fast"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	t.Setenv("TONGXIN_SPEED", "x")
	fs, _, _ = newFS()
	if _, _, err := Parse(fs, nil, nil); err == nil || !strings.Contains(err.Error(), `TONGXIN_SPEED="x"`) {
		t.Fatalf("want the variable named, got %v", err)
	}
}

func TestFlagsAfterArguments(t *testing.T) {
	fs, brokers, _ := newFS()
	_, args, err := Parse(fs, []string{"douyin", "--brokers", "b:1", "amb07"}, nil)
	if err != nil || *brokers != "b:1" || len(args) != 2 || args[0] != "douyin" || args[1] != "amb07" {
		t.Fatalf("args %v brokers %q err %v", args, *brokers, err)
	}
}
