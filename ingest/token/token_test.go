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

// A rotated token must reach the disk: the new file is synced before it
// replaces the old one, and the directory after the rename.
func TestFileStoreSyncsFileAndDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.json")
	s := NewFileStore(path)
	if err := s.Put(Token{Platform: "douyin", AccountID: "o1", AccessToken: "act.OLD", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var synced []string
	fsync = func(f *os.File) error {
		cur, _ := os.ReadFile(path)
		synced = append(synced, fmt.Sprintf("%s new-in-place=%v", f.Name(), bytes.Contains(cur, []byte("act.NEW"))))
		return f.Sync()
	}
	t.Cleanup(func() { fsync = (*os.File).Sync })
	if err := s.Put(Token{Platform: "douyin", AccountID: "o1", AccessToken: "act.NEW", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	want := []string{path + ".tmp new-in-place=false", dir + " new-in-place=true"}
	if fmt.Sprint(synced) != fmt.Sprint(want) {
		t.Errorf("synced %q, want the temporary file before the rename, then the directory: %q", synced, want)
	}
}

// A failed sync fails the Put and leaves the old tokens in place.
func TestFileStoreSyncFailureKeepsOldTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	s := NewFileStore(path)
	if err := s.Put(Token{Platform: "douyin", AccountID: "o1", AccessToken: "act.OLD", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	fsync = func(*os.File) error { return errors.New("disk full") }
	t.Cleanup(func() { fsync = (*os.File).Sync })
	err := s.Put(Token{Platform: "douyin", AccountID: "o1", AccessToken: "act.NEW", ExpiresAt: time.Now().Add(time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Put with a failing sync: %v, want the sync's error", err)
	}
	fsync = (*os.File).Sync
	if got, err := s.Get("douyin", "o1"); err != nil || got.AccessToken != "act.OLD" {
		t.Errorf("after the failed Put: %v, %v; want the old token", got.AccessToken, err)
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary file is left behind: %v", err)
	}
}
