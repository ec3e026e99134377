package token

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFileStoreSurvivesAndIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "tokens.json")
	s := NewFileStore(path)
	if _, err := s.Get("douyin", "o1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	tok := Token{Platform: "douyin", AccountID: "o1", AccessToken: "act.SECRET1", RefreshToken: "rft.SECRET2", ExpiresAt: time.Now().Add(time.Hour).UTC()}
	if err := s.Put(tok); err != nil {
		t.Fatal(err)
	}
	got, err := NewFileStore(path).Get("douyin", "o1") // a second replica
	if err != nil || got.AccessToken != "act.SECRET1" {
		t.Fatalf("got %v, %v", got, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, want 0600", st.Mode().Perm())
	}
}

func TestConcurrentReplicasLoseNoToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			s := NewFileStore(path) // each replica its own store
			for i := 0; i < 25; i++ {
				if err := s.Put(Token{Platform: "weibo", AccountID: fmt.Sprintf("r%d-%d", r, i), AccessToken: "x"}); err != nil {
					t.Error(err)
				}
			}
		}(r)
	}
	wg.Wait()
	all, err := NewFileStore(path).All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 100 {
		t.Fatalf("%d tokens after 100 puts from 4 replicas", len(all))
	}
}

func TestTokenNeverPrintsSecrets(t *testing.T) {
	tok := Token{Platform: "douyin", AccountID: "o1", AccessToken: "act.SECRET1", RefreshToken: "rft.SECRET2"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("refreshed", "token", tok)
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v", tok, tok, tok), buf.String()} {
		if strings.Contains(s, "SECRET") {
			t.Errorf("secret printed: %s", s)
		}
	}
}
