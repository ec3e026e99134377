package enginetest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/internal/enginetest"
)

// A cold `engines up kafka` whose random cluster id happens to begin with
// '-' (one in 64) still formats the storage and starts. The first 16
// random bytes engine.sh draws are made to be ones whose base64 begins with
// '-' (0xf8...), by a `head` earlier on the PATH; every other use of head
// goes to the real one.
func TestKafkaColdStartWithAClusterIDBeginningWithDash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real Kafka broker")
	}
	realHead, err := exec.LookPath("head")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	drawn := filepath.Join(bin, "drawn")
	fake := `#!/usr/bin/env bash
if [ "$*" = "-c 16 /dev/urandom" ] && mkdir "` + drawn + `" 2>/dev/null; then
  printf '\xf8'; exec "` + realHead + `" -c 15 /dev/urandom
fi
exec "` + realHead + `" "$@"
`
	if err := os.WriteFile(filepath.Join(bin, "head"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	e := enginetest.Start(t, "kafka")
	if _, err := os.Stat(drawn); err != nil {
		t.Fatal("engine.sh did not draw its cluster id from `head -c 16 /dev/urandom`: this test no longer tests anything")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(e.Addr)}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		t.Fatalf("the broker does not answer: %v", err)
	}
	if meta.ClusterID == "" || meta.ClusterID[0] == '-' {
		t.Errorf("cluster id %q", meta.ClusterID)
	}
	t.Logf("cluster id %s", meta.ClusterID)
}
