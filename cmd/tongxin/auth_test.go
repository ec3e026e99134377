package main

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/internal/enginetest"
)

// authState runs `tongxin auth douyin amb01` until it prints the consent
// link and returns the link's state.
func authState(t *testing.T) string {
	t.Helper()
	out := &enginetest.Buffer{}
	o := &options{stdout: out, stderr: out, redirectURI: "http://" + enginetest.FreeAddr(t) + "/callback", tokenFile: t.TempDir() + "/tokens.json",
		douyinKey: "awkey", douyinSecret: "secret"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- authCommand.run(ctx, o, []string{"douyin", "amb01"}) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, f := range strings.Fields(out.String()) {
			if u, err := url.Parse(f); err == nil && u.Query().Get("state") != "" {
				return u.Query().Get("state")
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no consent link with a state within 5s:\n%s", out.String())
	return ""
}

// The OAuth state must be unguessable: random, not the ambassador and the clock.
func TestAuthStateIsRandom(t *testing.T) {
	seen := map[string]bool{}
	for range 3 {
		secs := strconv.FormatInt(time.Now().Unix(), 10)
		s := authState(t)
		if seen[s] {
			t.Fatalf("state %q given twice", s)
		}
		seen[s] = true
		if len(s) < 22 { // 128 bits in base32 or base64
			t.Errorf("state %q is too short to be unguessable", s)
		}
		if strings.Contains(s, "amb01") || strings.Contains(s, secs[:8]) {
			t.Errorf("state %q holds the ambassador id or the clock", s)
		}
	}
}
