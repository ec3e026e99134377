package wechat_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/wechat"
	"github.com/tongxin/tongxin/tools/simulator"
)

// collector records what a Watcher hands over.
type collector struct {
	mu       sync.Mutex
	exports  []*wechat.Export
	failures []string
	refuse   int // refuse this many hand-overs first (Kafka down)
}

func (c *collector) handle(ctx context.Context, ex *wechat.Export) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refuse > 0 {
		c.refuse--
		return errors.New("broker unavailable")
	}
	c.exports = append(c.exports, ex)
	return nil
}

func (c *collector) fail(path string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures = append(c.failures, filepath.Base(path)+": "+err.Error())
}

func (c *collector) got() ([]*wechat.Export, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*wechat.Export(nil), c.exports...), append([]string(nil), c.failures...)
}

func newWatcher(t *testing.T, dir string, c *collector, settle, grace time.Duration) *wechat.Watcher {
	t.Helper()
	w, err := wechat.NewWatcher(wechat.WatcherConfig{
		Dir: dir, Roster: builtinRoster(t), Poll: 20 * time.Millisecond, Settle: settle, Grace: grace,
		Handle: c.handle, OnFailure: c.fail,
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// runWatcher runs w until the test ends, and waits for it to stop.
func runWatcher(t *testing.T, w *wechat.Watcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("the watcher did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// simExport returns the bytes and name of a simulator export.
func simExport(t *testing.T, srv *simulator.Server, amb string, at time.Time, format string) (string, []byte) {
	t.Helper()
	path, err := srv.WriteExport(t.TempDir(), amb, at, format)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Base(path), b
}

// cutMidRow returns where to cut a CSV so the first half ends inside a row.
func cutMidRow(b []byte) int {
	i := len(b) / 2
	for b[i-1] == '\n' || b[i] == '\n' {
		i++
	}
	return i
}

func TestWatcherWaitsForSlowWriter(t *testing.T) {
	_, sc, srv, _ := newSim(t, simulator.Faults{})
	at := simStart.Add(48 * time.Hour)
	for _, c := range []struct {
		name, amb, format string
		pause             time.Duration
		atLineEnd         bool
	}{
		{"csv cut at a line end, pause shorter than settle", "amb01", "csv", 120 * time.Millisecond, true},
		{"csv cut mid-row, pause longer than settle", "amb02", "csv", 700 * time.Millisecond, false},
		{"xlsx, pause longer than settle", "amb03", "xlsx", 700 * time.Millisecond, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			col := &collector{}
			w := newWatcher(t, dir, col, 250*time.Millisecond, 5*time.Second)
			runWatcher(t, w)
			name, data := simExport(t, srv, c.amb, at, c.format)
			path := filepath.Join(dir, name)
			cut := len(data) / 2
			switch {
			case c.atLineEnd:
				cut = bytes.IndexByte(data[len(data)/2:], '\n') + len(data)/2 + 1
			case c.format == "csv":
				cut = cutMidRow(data)
			}
			// The first half, then a pause while the watcher keeps polling.
			if err := os.WriteFile(path, data[:cut], 0o644); err != nil {
				t.Fatal(err)
			}
			time.Sleep(c.pause)
			if got, fails := col.got(); len(got) > 0 || len(fails) > 0 {
				t.Fatalf("the half-written file was handed over: %d exports, failures %v", len(got), fails)
			}
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(data[cut:])
			f.Close()
			waitFor(t, "the export", 5*time.Second, func() bool { got, _ := col.got(); return len(got) > 0 })
			time.Sleep(300 * time.Millisecond) // more polls: nothing more may come
			got, fails := col.got()
			if len(got) != 1 || len(fails) != 0 {
				t.Fatalf("%d exports and failures %v; want one export", len(got), fails)
			}
			ex := got[0]
			var finder string
			for _, a := range sc.Accounts("wechat_channels") {
				if ps := sc.PostsOf("wechat_channels", a, at); len(ps) > 0 && ps[0].AmbassadorID == c.amb {
					finder = a
				}
			}
			want := len(sc.PostsOf("wechat_channels", finder, at))
			if len(ex.Snapshots) != want || len(ex.Errors) != 0 || ex.CutShort {
				t.Errorf("export has %d snapshots and errors %v; want all %d posts and none", len(ex.Snapshots), ex.Errors, want)
			}
		})
	}
}

func TestWatcherRestartDoesNotReimport(t *testing.T) {
	_, _, srv, _ := newSim(t, simulator.Faults{})
	dir := t.TempDir()
	at := simStart.Add(24 * time.Hour)
	var names []string
	for _, amb := range []string{"amb01", "amb02"} {
		p, err := srv.WriteExport(dir, amb, at, "csv")
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, p)
	}
	// one in a per-ambassador subfolder, as XLSX
	p, err := srv.WriteExport(filepath.Join(dir, "amb03"), "amb03", at, "xlsx")
	if err != nil {
		t.Fatal(err)
	}
	names = append(names, p)

	col := &collector{}
	w := newWatcher(t, dir, col, 50*time.Millisecond, time.Second)
	stop := runWatcher(t, w)
	waitFor(t, "three exports", 5*time.Second, func() bool { got, _ := col.got(); return len(got) == 3 })
	stop()
	if _, err := os.Stat(filepath.Join(dir, wechat.StateFileName)); err != nil {
		t.Fatalf("no state file: %v", err)
	}

	// A restart: nothing is handed over again.
	col2 := &collector{}
	w2 := newWatcher(t, dir, col2, 50*time.Millisecond, time.Second)
	stop2 := runWatcher(t, w2)
	time.Sleep(400 * time.Millisecond)
	if got, _ := col2.got(); len(got) != 0 {
		t.Fatalf("after a restart %d exports were imported again", len(got))
	}
	// Touching a file (same content) does not re-import it either; a
	// copy under another name neither.
	later := time.Now().Add(time.Minute)
	os.Chtimes(names[0], later, later)
	b, _ := os.ReadFile(names[1])
	os.WriteFile(filepath.Join(dir, "amb02_copy.csv"), b, 0o644)
	time.Sleep(400 * time.Millisecond)
	if got, _ := col2.got(); len(got) != 0 {
		t.Fatalf("a touched or copied file was imported again (%d)", len(got))
	}
	// A new export is.
	if _, err := srv.WriteExport(dir, "amb01", at.Add(6*time.Hour), "csv"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new export", 5*time.Second, func() bool { got, _ := col2.got(); return len(got) == 1 })
	got, _ := col2.got()
	if !got[0].ExportedAt.Equal(at.Add(6 * time.Hour)) {
		t.Errorf("the new export was made at %v", got[0].ExportedAt)
	}
	stop2()
}

func TestWatcherBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	copyIn := func(src, dst string) {
		b, err := os.ReadFile(filepath.Join("testdata", src))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, dst)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyIn("export/amb12_视频号_单篇视频_20260515_210000_gbk.csv", "amb12_视频号_单篇视频_20260515_210000_gbk.csv")
	copyIn("export/amb16_视频号_单篇视频_20260516_094500_truncated.xlsx", "amb16_视频号_单篇视频_20260516_094500_truncated.xlsx")
	copyIn("export/amb04_视频号_单篇视频_20260512_101500_truncated.csv", "amb04_视频号_单篇视频_20260512_101500_truncated.csv")
	copyIn("export/amb01_视频号_单篇视频_20260510_143000.csv", "amb01_视频号_单篇视频_20260510_143000.csv")
	// things a drop folder also holds, which are not exports
	os.WriteFile(filepath.Join(dir, "amb02_x.csv.crdownload"), []byte("视频ID,发布时间\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "~$amb02_x.xlsx"), []byte("lock"), 0o644)
	os.WriteFile(filepath.Join(dir, "说明.txt"), []byte("把导出的表格放在这里"), 0o644)

	col := &collector{}
	w := newWatcher(t, dir, col, 40*time.Millisecond, 400*time.Millisecond)
	stop := runWatcher(t, w)
	// The good file at once; the broken ones only after the grace period.
	waitFor(t, "the good export", 3*time.Second, func() bool { got, _ := col.got(); return len(got) >= 1 })
	if _, fails := col.got(); len(fails) != 0 {
		t.Errorf("gave up before the grace period: %v", fails)
	}
	waitFor(t, "giving up on the broken files", 5*time.Second, func() bool { got, fails := col.got(); return len(fails) == 2 && len(got) == 2 })
	time.Sleep(300 * time.Millisecond)
	stop()
	got, fails := col.got()
	if len(got) != 2 || len(fails) != 2 {
		t.Fatalf("%d exports and %d failures; want 2 and 2 (each reported once): %v", len(got), len(fails), fails)
	}
	joined := strings.Join(fails, "\n")
	for _, want := range []string{"amb12_视频号_单篇视频_20260515_210000_gbk.csv: wechat export", "GBK", "amb16_视频号_单篇视频_20260516_094500_truncated.xlsx: wechat export", "not a readable XLSX"} {
		if !strings.Contains(joined, want) {
			t.Errorf("failures do not say %q:\n%s", want, joined)
		}
	}
	// The CSV cut short for good went through with its complete rows.
	var cut *wechat.Export
	for _, ex := range got {
		if strings.Contains(ex.Path, "truncated") {
			cut = ex
		}
	}
	if cut == nil || len(cut.Snapshots) != 2 || len(cut.Errors) != 1 {
		t.Fatalf("the cut-short CSV: %+v", cut)
	}

	// After a restart nothing is reported again; a fixed file is read.
	col2 := &collector{}
	w2 := newWatcher(t, dir, col2, 40*time.Millisecond, 400*time.Millisecond)
	stop2 := runWatcher(t, w2)
	time.Sleep(700 * time.Millisecond)
	if got, fails := col2.got(); len(got) != 0 || len(fails) != 0 {
		t.Fatalf("after a restart: %d exports, failures %v", len(got), fails)
	}
	copyIn("export/amb16_视频号_单篇视频_20260516_093000.xlsx", "amb16_视频号_单篇视频_20260516_094500_truncated.xlsx") // the download finished after all
	waitFor(t, "the fixed file", 3*time.Second, func() bool { got, _ := col2.got(); return len(got) == 1 })
	stop2()
	if got, _ := col2.got(); len(got[0].Snapshots) != 3 {
		t.Errorf("the fixed file gave %d snapshots, want 3", len(got[0].Snapshots))
	}
}

func TestWatcherMissingPostsAndRetries(t *testing.T) {
	dir := t.TempDir()
	col := &collector{refuse: 2}
	w := newWatcher(t, dir, col, 30*time.Millisecond, time.Second)
	ctx := context.Background()
	scanUntil := func(n int) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for {
			if err := w.Scan(ctx); err != nil {
				t.Fatal(err)
			}
			if got, _ := col.got(); len(got) >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no export %d", n)
			}
			time.Sleep(15 * time.Millisecond)
		}
	}
	for i, name := range []string{"amb03_视频号_单篇视频_20260510_080000.csv", "amb03_视频号_单篇视频_20260511_080000.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata/deleted", name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
		scanUntil(i + 1)
	}
	got, _ := col.got()
	if len(got) != 2 {
		t.Fatalf("%d exports", len(got))
	}
	if len(got[0].Missing) != 0 {
		t.Errorf("the first export lacks %v", got[0].Missing)
	}
	if want := "export/UzFfAgtgekIEAQAAAAAAB2bob9Y1IgAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDbbbbbbbbbbbb"; len(got[1].Missing) != 1 || got[1].Missing[0] != want {
		t.Errorf("the second export lacks %v; want the deleted post %s", got[1].Missing, want)
	}
	state, _ := os.ReadFile(filepath.Join(dir, wechat.StateFileName))
	if !bytes.Contains(state, []byte(`"imported"`)) {
		t.Errorf("state file does not record the imports:\n%s", state)
	}
}

func TestWatcherConfig(t *testing.T) {
	c := &collector{}
	if _, err := wechat.NewWatcher(wechat.WatcherConfig{Dir: filepath.Join(t.TempDir(), "nope"), Roster: builtinRoster(t), Handle: c.handle}); err == nil {
		t.Error("a missing folder was accepted")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, wechat.StateFileName), []byte("{not json"), 0o644)
	if _, err := wechat.NewWatcher(wechat.WatcherConfig{Dir: dir, Roster: builtinRoster(t), Handle: c.handle}); err == nil || !strings.Contains(err.Error(), "state file") {
		t.Errorf("a broken state file: %v", err)
	}
}
