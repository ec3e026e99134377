// Package token keeps the OAuth tokens an ambassador's authorization gives
// the app. The file store is owner-only and may be shared by several ingest
// replicas on one host or a shared volume: every change is a locked
// read-modify-write, so one replica's refresh is seen by the others.
// Tokens are never logged: Token's String and LogValue print no secret.
//
// Around the tokens: Callback receives an ambassador's consent on a
// loopback redirect URI (tongxin auth), and AccountGauge tells the office,
// per account, when a person must act (authorize again, or look at an
// account the platform refuses).
package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Token is one account's authorization.
type Token struct {
	Platform         string    `json:"platform"`
	AccountID        string    `json:"account_id"` // Douyin open_id, Weibo uid
	AccessToken      string    `json:"access_token"`
	RefreshToken     string    `json:"refresh_token,omitempty"`
	ExpiresAt        time.Time `json:"expires_at"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at,omitempty"`
	// RefreshRenewals counts renewals of the refresh token itself (Douyin
	// allows 5; then the ambassador must authorize again).
	RefreshRenewals int       `json:"refresh_renewals,omitempty"`
	Scope           string    `json:"scope,omitempty"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// String describes a token without its secrets.
func (t Token) String() string {
	return fmt.Sprintf("%s token of %s (expires %s, refresh expires %s, %d renewals)",
		t.Platform, t.AccountID, t.ExpiresAt.Format(time.RFC3339), t.RefreshExpiresAt.Format(time.RFC3339), t.RefreshRenewals)
}

// LogValue keeps secrets out of structured logs.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("platform", t.Platform), slog.String("account", t.AccountID),
		slog.Time("expires_at", t.ExpiresAt), slog.Time("refresh_expires_at", t.RefreshExpiresAt),
		slog.Int("refresh_renewals", t.RefreshRenewals))
}

// GoString keeps secrets out of %#v.
func (t Token) GoString() string { return t.String() }

// ErrNotFound is returned for an account that never authorized the app.
var ErrNotFound = errors.New("no token: the ambassador has not authorized the app (run `tongxin auth`)")

// Store holds tokens by platform and account.
type Store interface {
	Get(platform, accountID string) (Token, error)
	Put(t Token) error
}

// FileStore keeps all tokens in one JSON file with mode 0600.
type FileStore struct {
	path string
	mu   sync.Mutex // within one process; flock across processes
}

// NewFileStore returns a store at path; the file is created on first Put.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// DefaultPath is where tokens live unless configured: the user's config dir.
func DefaultPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = "."
	}
	return filepath.Join(dir, "tongxin", "tokens.json")
}

func key(platform, account string) string { return platform + ":" + account }

func (s *FileStore) Get(platform, accountID string) (Token, error) {
	var t Token
	err := s.locked(syscall.LOCK_SH, func(all map[string]Token) (bool, error) {
		var ok bool
		t, ok = all[key(platform, accountID)]
		if !ok {
			return false, fmt.Errorf("%s account %s: %w", platform, accountID, ErrNotFound)
		}
		return false, nil
	})
	return t, err
}

func (s *FileStore) Put(t Token) error {
	if t.Platform == "" || t.AccountID == "" {
		return errors.New("token store: token without platform or account")
	}
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = time.Now().UTC()
	}
	return s.locked(syscall.LOCK_EX, func(all map[string]Token) (bool, error) {
		all[key(t.Platform, t.AccountID)] = t
		return true, nil
	})
}

// All returns every token, ordered by platform and account.
func (s *FileStore) All() ([]Token, error) {
	var out []Token
	err := s.locked(syscall.LOCK_SH, func(all map[string]Token) (bool, error) {
		for _, t := range all {
			out = append(out, t)
		}
		return false, nil
	})
	sort.Slice(out, func(i, j int) bool {
		return key(out[i].Platform, out[i].AccountID) < key(out[j].Platform, out[j].AccountID)
	})
	return out, err
}

// locked runs fn on the file's tokens under a lock of the given kind on a
// side lock file; if fn reports a change, the tokens are written to a
// temporary file and renamed over the old one, so a reader never sees half a file.
func (s *FileStore) locked(how int, fn func(map[string]Token) (bool, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	lf, err := os.OpenFile(s.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), how); err != nil {
		return fmt.Errorf("token store: lock: %w", err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)

	all := map[string]Token{}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("token store: %w", err)
	default:
		var list []Token
		if err := json.Unmarshal(b, &list); err != nil {
			// The error text of encoding/json holds no value from the file.
			return fmt.Errorf("token store %s: not a token file: %w", s.path, err)
		}
		for _, t := range list {
			all[key(t.Platform, t.AccountID)] = t
		}
	}
	changed, err := fn(all)
	if err != nil || !changed {
		return err
	}
	list := make([]Token, 0, len(all))
	for _, t := range all {
		list = append(list, t)
	}
	sort.Slice(list, func(i, j int) bool {
		return key(list[i].Platform, list[i].AccountID) < key(list[j].Platform, list[j].AccountID)
	})
	out, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	if err := writeDurably(s.path, out); err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	return nil
}

// fsync flushes f to the disk; tests replace it to watch the order.
var fsync = (*os.File).Sync

// writeDurably replaces path with b so that a crash or a power loss leaves
// either the old file or the new one, and once it returns, the new one: the
// temporary file is synced before the rename, and the directory after it
// (else a rotated Douyin refresh token could be lost, and the ambassador
// would have to authorize again).
func writeDurably(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = fsync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := fsync(d); err != nil {
		return fmt.Errorf("syncing directory %s: %w", filepath.Dir(path), err)
	}
	return nil
}

// MemoryStore is a Store for one process, used by `tongxin run` with the simulator.
type MemoryStore struct {
	mu  sync.Mutex
	all map[string]Token
}

func NewMemoryStore() *MemoryStore { return &MemoryStore{all: map[string]Token{}} }

func (m *MemoryStore) Get(platform, accountID string) (Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.all[key(platform, accountID)]
	if !ok {
		return Token{}, fmt.Errorf("%s account %s: %w", platform, accountID, ErrNotFound)
	}
	return t, nil
}

func (m *MemoryStore) Put(t Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.all[key(t.Platform, t.AccountID)] = t
	return nil
}
