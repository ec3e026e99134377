package wechat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
)

// StateFileName is the watcher's memory inside the drop folder.
const StateFileName = ".tongxin-wechat-import.json"

// WatcherConfig configures a drop-folder Watcher.
type WatcherConfig struct {
	// Dir is the drop folder. Files go in it directly (named amb07_…) or
	// in one subfolder per ambassador (amb07/…); see the package doc.
	Dir    string
	Roster *roster.Roster
	// Ambassador, when set, makes every file in Dir this ambassador's.
	Ambassador string
	// Poll is how often the folder is looked at (default 3s). Poll, Settle
	// and Grace are wall time: files are written in real seconds.
	Poll time.Duration
	// Settle is how long a file must stay unchanged (size and modification
	// time) before it is read (default 5s): a file still being written or
	// downloaded is left alone.
	Settle time.Duration
	// Grace is how long, after it settled, a file that cannot be read at
	// all, or that ends in the middle of a row, is looked at again in case
	// its writer is only pausing (default 2m). After that it is reported
	// once and remembered, by content, as failed; it is read again only if
	// its content changes.
	Grace time.Duration
	// StateFile is where the watcher remembers what it read (default
	// Dir/.tongxin-wechat-import.json), so a restart does not re-import.
	StateFile string
	Log       *slog.Logger
	// Handle receives every export read, with its snapshots and the rows
	// that could not be read. If it returns an error the file is not
	// marked as read and is handed over again at a later poll (so delivery
	// is at least once).
	Handle func(ctx context.Context, ex *Export) error
	// OnFailure, if set, hears about a file given up on.
	OnFailure func(path string, err error)
}

// Watcher polls a drop folder for console exports. Run it in one
// goroutine; it starts none of its own. One watcher per folder.
type Watcher struct {
	cfg     WatcherConfig
	state   *watchState
	pending map[string]*pendingFile
	now     func() time.Time
}

type pendingFile struct {
	size      int64
	mtime     time.Time
	changedAt time.Time // wall time the watcher last saw it change
	lastErr   string
}

// watchState is the state file's content.
type watchState struct {
	Version int                   `json:"version"`
	Files   map[string]*fileState `json:"files"`  // by path relative to Dir
	Hashes  map[string]string     `json:"hashes"` // content sha256 → "imported" or "failed"
	// Accounts remembers, per finder id, the posts its latest export had,
	// to tell which ones a later export lacks.
	Accounts map[string]*accountMemory `json:"accounts"`
}

type fileState struct {
	Size      int64     `json:"size"`
	ModTime   time.Time `json:"mtime"`
	SHA256    string    `json:"sha256"`
	Status    string    `json:"status"` // "imported", "failed", "duplicate"
	ReadAt    time.Time `json:"read_at"`
	Snapshots int       `json:"snapshots,omitempty"`
	RowErrors int       `json:"row_errors,omitempty"`
	Error     string    `json:"error,omitempty"`
}

type accountMemory struct {
	LastExport time.Time            `json:"last_export"`
	Posts      map[string]time.Time `json:"posts"` // post id → published_at
}

// NewWatcher checks the configuration and loads the folder's state.
func NewWatcher(cfg WatcherConfig) (*Watcher, error) {
	if cfg.Dir == "" {
		return nil, errors.New("wechat watcher: no drop folder")
	}
	if cfg.Roster == nil {
		return nil, errors.New("wechat watcher: no roster")
	}
	if cfg.Handle == nil {
		return nil, errors.New("wechat watcher: no Handle")
	}
	st, err := os.Stat(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("wechat watcher: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("wechat watcher: %s is not a folder", cfg.Dir)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 3 * time.Second
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 5 * time.Second
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 2 * time.Minute
	}
	if cfg.StateFile == "" {
		cfg.StateFile = filepath.Join(cfg.Dir, StateFileName)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{cfg: cfg, pending: map[string]*pendingFile{}, now: time.Now}
	if w.state, err = loadState(cfg.StateFile); err != nil {
		return nil, err
	}
	return w, nil
}

func loadState(path string) (*watchState, error) {
	s := &watchState{Version: 1, Files: map[string]*fileState{}, Hashes: map[string]string{}, Accounts: map[string]*accountMemory{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("wechat watcher: state: %w", err)
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("wechat watcher: state file %s is not readable (%v); move it away to start afresh (files would be imported again)", path, err)
	}
	if s.Files == nil {
		s.Files = map[string]*fileState{}
	}
	if s.Hashes == nil {
		s.Hashes = map[string]string{}
	}
	if s.Accounts == nil {
		s.Accounts = map[string]*accountMemory{}
	}
	return s, nil
}

func (w *Watcher) saveState() error {
	b, err := json.MarshalIndent(w.state, "", "  ")
	if err != nil {
		return err
	}
	tmp := w.cfg.StateFile + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("wechat watcher: state: %w", err)
	}
	if err := os.Rename(tmp, w.cfg.StateFile); err != nil {
		return fmt.Errorf("wechat watcher: state: %w", err)
	}
	return nil
}

// Run polls the folder until ctx ends; it returns nil then. A failed poll
// is logged and the next one goes ahead.
func (w *Watcher) Run(ctx context.Context) error {
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	for {
		if err := w.Scan(ctx); err != nil && ctx.Err() == nil {
			w.cfg.Log.Warn("wechat drop folder: poll failed", "dir", w.cfg.Dir, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Scan looks at the folder once: files that have settled are read and
// handed to Handle; the others wait for a later Scan.
func (w *Watcher) Scan(ctx context.Context) error {
	files, err := w.list()
	if err != nil {
		return err
	}
	now := w.now()
	seen := map[string]bool{}
	var errs []error
	for _, rel := range files {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		seen[rel] = true
		if err := w.look(ctx, rel, now); err != nil {
			errs = append(errs, err)
		}
	}
	for rel := range w.pending {
		if !seen[rel] {
			delete(w.pending, rel)
		}
	}
	changed := false
	for rel := range w.state.Files {
		if !seen[rel] {
			delete(w.state.Files, rel) // the content stays remembered in Hashes
			changed = true
		}
	}
	if changed {
		errs = append(errs, w.saveState())
	}
	return errors.Join(errs...)
}

// list returns the export files below Dir, relative and slash-separated.
func (w *Watcher) list() ([]string, error) {
	var out []string
	stateAbs, _ := filepath.Abs(w.cfg.StateFile)
	err := filepath.WalkDir(w.cfg.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == w.cfg.Dir {
				return err
			}
			return nil // a file vanished under us; the next poll sees the truth
		}
		if d.IsDir() {
			if p != w.cfg.Dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !isExportName(d.Name()) {
			return nil
		}
		if abs, _ := filepath.Abs(p); abs == stateAbs {
			return nil
		}
		rel, err := filepath.Rel(w.cfg.Dir, p)
		if err != nil {
			return nil
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("wechat watcher: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

// look decides what to do with one file now.
func (w *Watcher) look(ctx context.Context, rel string, now time.Time) error {
	path := filepath.Join(w.cfg.Dir, filepath.FromSlash(rel))
	st, err := os.Stat(path)
	if err != nil {
		return nil // gone since the listing
	}
	size, mtime := st.Size(), st.ModTime().UTC()
	if fsd, ok := w.state.Files[rel]; ok && fsd.Size == size && fsd.ModTime.Equal(mtime) {
		return nil // read before, unchanged
	}
	p := w.pending[rel]
	if p == nil {
		w.pending[rel] = &pendingFile{size: size, mtime: mtime, changedAt: now}
		return nil
	}
	if p.size != size || !p.mtime.Equal(mtime) {
		p.size, p.mtime, p.changedAt = size, mtime, now
		return nil
	}
	if now.Sub(p.changedAt) < w.cfg.Settle {
		return nil
	}
	record := func(hash, status string, ex *Export, ferr error) error {
		fsd := &fileState{Size: size, ModTime: mtime, SHA256: hash, Status: status, ReadAt: now.UTC()}
		if ex != nil {
			fsd.Snapshots, fsd.RowErrors = len(ex.Snapshots), len(ex.Errors)
		}
		if ferr != nil {
			fsd.Error = ferr.Error()
		}
		w.state.Files[rel] = fsd
		// A wrong export time is the file's name or stamp, not its
		// content: renamed, the same content is read again.
		if status != "duplicate" && hash != "" && !errors.Is(ferr, ErrExportTime) {
			w.state.Hashes[hash] = status
		}
		delete(w.pending, rel)
		return w.saveState()
	}
	giveUp := func(hash string, err error) error {
		w.cfg.Log.Error("wechat drop folder: giving up on a file; it is read again only if it changes", "file", rel, "err", err)
		if w.cfg.OnFailure != nil {
			w.cfg.OnFailure(path, err)
		}
		return record(hash, "failed", nil, err)
	}
	// The export limits hold here as in `tongxin import`: a file over one
	// is refused at once (waiting would not bring it within them), and the
	// other files go on.
	var over *LimitError
	data, _, err := readExportFile(path)
	if errors.As(err, &over) {
		return giveUp("", err)
	}
	if err != nil {
		return fmt.Errorf("wechat watcher: %w", err)
	}
	if int64(len(data)) != size {
		p.size, p.changedAt = int64(len(data)), now // changed while we read it
		return nil
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	if prior, ok := w.state.Hashes[hash]; ok {
		w.cfg.Log.Info("wechat drop folder: same content as a file read before; skipped", "file", rel, "earlier", prior)
		return record(hash, "duplicate", nil, nil)
	}

	settledFor := now.Sub(p.changedAt) - w.cfg.Settle
	ex, perr := w.parse(path, data, mtime)
	if errors.As(perr, &over) {
		return giveUp(hash, perr)
	}
	if perr != nil || ex.CutShort {
		why := perr
		if why == nil {
			why = errors.New("the file ends in the middle of a row")
		}
		if settledFor < w.cfg.Grace {
			if p.lastErr != why.Error() {
				w.cfg.Log.Info("wechat drop folder: file not readable yet; waiting for its writer", "file", rel, "err", why)
				p.lastErr = why.Error()
			}
			return nil
		}
		if perr != nil {
			return giveUp(hash, perr)
		}
		// Cut short for good: the complete rows go through below.
	}
	w.findMissing(ex)
	if err := w.cfg.Handle(ctx, ex); err != nil {
		w.cfg.Log.Warn("wechat drop folder: handing over an export failed; will try again", "file", rel, "err", err)
		return nil
	}
	w.remember(ex)
	if len(ex.Errors) > 0 {
		w.cfg.Log.Warn("wechat drop folder: export read with unreadable rows", "file", rel, "snapshots", len(ex.Snapshots), "row_errors", len(ex.Errors), "first", ex.Errors[0])
	} else {
		w.cfg.Log.Info("wechat drop folder: export read", "file", rel, "account", ex.Account.AccountID, "ambassador", ex.Account.AmbassadorID, "snapshots", len(ex.Snapshots), "exported_at", ex.ExportedAt)
	}
	return record(hash, "imported", ex, nil)
}

func (w *Watcher) parse(path string, data []byte, mtime time.Time) (*Export, error) {
	acct, err := AccountOf(w.cfg.Roster, path, w.cfg.Ambassador)
	if err != nil {
		return nil, err
	}
	at, from := ExportTime(path, mtime)
	ex, err := Parse(path, data, acct, at)
	if err != nil {
		return nil, err
	}
	ex.Path, ex.TimeFrom = path, from
	return ex, nil
}

// findMissing fills ex.Missing from the account's previous export: posts it
// had, published no earlier than this export's oldest post, that this one
// lacks. An export older than one already read says nothing about deletions.
func (w *Watcher) findMissing(ex *Export) {
	mem := w.state.Accounts[ex.Account.AccountID]
	if mem == nil || len(ex.Posts) == 0 || ex.ExportedAt.Before(mem.LastExport) {
		return
	}
	oldest := ex.Posts[0].PublishedAt
	have := map[string]bool{}
	for _, p := range ex.Posts {
		have[p.PostID] = true
		if p.PublishedAt.Before(oldest) {
			oldest = p.PublishedAt
		}
	}
	for id, pub := range mem.Posts {
		if !have[id] && !pub.Before(oldest) {
			ex.Missing = append(ex.Missing, id)
		}
	}
	sort.Strings(ex.Missing)
}

func (w *Watcher) remember(ex *Export) {
	if ex.Account.AccountID == "" {
		return
	}
	mem := w.state.Accounts[ex.Account.AccountID]
	if mem == nil {
		mem = &accountMemory{Posts: map[string]time.Time{}}
		w.state.Accounts[ex.Account.AccountID] = mem
	}
	if ex.ExportedAt.Before(mem.LastExport) {
		for _, p := range ex.Posts { // an older export only adds posts
			if _, ok := mem.Posts[p.PostID]; !ok {
				mem.Posts[p.PostID] = p.PublishedAt
			}
		}
		return
	}
	mem.LastExport = ex.ExportedAt
	for _, id := range ex.Missing {
		delete(mem.Posts, id)
	}
	for _, p := range ex.Posts {
		mem.Posts[p.PostID] = p.PublishedAt
	}
}
