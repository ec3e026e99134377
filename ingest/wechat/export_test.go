package wechat_test

import (
	"context"
	"flag"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/wechat"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

var update = flag.Bool("update", false, "rewrite the generated testdata files")

func builtinRoster(t *testing.T) *roster.Roster {
	t.Helper()
	r, err := roster.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// want is what a user expects of one snapshot.
type want struct {
	id                                                   string
	published                                            string
	plays, likes, comments, shares, forwards, recommends any // int64 or nil (absent)
	rate, avg                                            any // float64 or nil
}

func checkSnap(t *testing.T, where string, s snapshot.Snapshot, w want) {
	t.Helper()
	if s.PostID != w.id {
		t.Errorf("%s: post %q, want %q", where, s.PostID, w.id)
		return
	}
	if !s.PublishedAt.Equal(utc(w.published)) {
		t.Errorf("%s %s: published %v, want %s", where, w.id, s.PublishedAt, w.published)
	}
	for _, c := range []struct {
		name string
		got  *int64
		want any
	}{{"plays", s.Plays, w.plays}, {"likes", s.Likes, w.likes}, {"comments", s.Comments, w.comments}, {"shares", s.Shares, w.shares}, {"forwards", s.Forwards, w.forwards}, {"recommends", s.Recommends, w.recommends}} {
		switch wv := c.want.(type) {
		case nil:
			if c.got != nil {
				t.Errorf("%s %s: %s = %d, want absent", where, w.id, c.name, *c.got)
			}
		case int:
			if c.got == nil || *c.got != int64(wv) {
				t.Errorf("%s %s: %s = %v, want %d", where, w.id, c.name, ptrStr(c.got), wv)
			}
		}
	}
	for _, c := range []struct {
		name string
		got  *float64
		want any
	}{{"completion_rate", s.CompletionRate, w.rate}, {"avg_watch_seconds", s.AvgWatchSeconds, w.avg}} {
		switch wv := c.want.(type) {
		case nil:
			if c.got != nil {
				t.Errorf("%s %s: %s = %g, want absent", where, w.id, c.name, *c.got)
			}
		case float64:
			if c.got == nil || math.Abs(*c.got-wv) > 1e-9 {
				t.Errorf("%s %s: %s = %v, want %g", where, w.id, c.name, ptrStr(c.got), wv)
			}
		}
	}
	if s.Favorites != nil || s.Downloads != nil {
		t.Errorf("%s %s: favorites/downloads given; Channels has neither", where, w.id)
	}
	if s.Source != snapshot.SourceExport || s.Platform != snapshot.WeChatChannels || s.Schema != snapshot.SchemaVersion {
		t.Errorf("%s %s: source %q platform %q schema %d", where, w.id, s.Source, s.Platform, s.Schema)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("%s %s: %v", where, w.id, err)
	}
}

func ptrStr[T any](p *T) any {
	if p == nil {
		return "absent"
	}
	return *p
}

// exportCase is what reading one testdata export must give.
type exportCase struct {
	ambassador, account string
	exportedAt          string
	snaps               []want
	errs                []string // substrings, one per row error, in order
	fatal               []string // substrings of the file error, when nothing can be read
	cutShort            bool
	mtime               string // set the file's modification time first
}

var exportCases = map[string]exportCase{
	"export/amb01_视频号_单篇视频_20260510_143000.csv": {
		ambassador: "amb01", account: "sphNME8PNY4FS9", exportedAt: "2026-05-10T06:30:00Z",
		snaps: []want{
			{id: "export/UzFfAgtgekIEAQAAAAAAaH8Q1V1dKgAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrD53jJrD_NBzgU3Ncr3usg", published: "2026-05-08T16:00:00Z",
				plays: 2270, recommends: 25, likes: 41, comments: 6, shares: 9, forwards: 18, rate: 0.0441, avg: 14.73},
			{id: "export/UzFfAgtgekIEAQAAAAAA0sYvCJ0ZnQAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrD2kYbdQZ8Km3LjP8r", published: "2026-05-06T16:00:00Z",
				plays: 406, recommends: 2, likes: 2, comments: 1, shares: 0, forwards: 0, rate: 0.2864, avg: 10.0},
			{id: "export/UzFfAgtgekIEAQAAAAAAcXjA6YxQ4wAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDzR1b8bTQyE9ql0Rw", published: "2026-05-02T16:00:00Z",
				plays: 1531, recommends: 11, likes: 23, comments: 4, shares: 2, forwards: 11, rate: 0.2199, avg: 8.45},
			{id: "export/UzFfAgtgekIEAQAAAAAAtLp1WmZ1KQAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrD0b3VxWdS5xv5Pq9m", published: "2026-05-09T16:00:00Z",
				plays: 0, recommends: 0, likes: 0, comments: 0, shares: 0, forwards: 0, rate: nil, avg: nil},
		},
	},
	"export/amb02_renamed_reordered_20260511-2000.csv": {
		ambassador: "amb02", account: "sph3bgrsKSPqfX", exportedAt: "2026-05-11T12:00:00Z",
		snaps: []want{
			{id: "export/UzFfAgtgekIEAQAAAAAA8Xq2sDn3WQAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDs8wQ7dQyHrcq", published: "2026-05-11T01:15:00Z",
				plays: 3120, likes: 77, comments: 12, shares: 15, recommends: 30, forwards: 21, rate: 0.0606, avg: 12.5},
			{id: "export/UzFfAgtgekIEAQAAAAAAfW0n7XA9CwAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDkRj0x6eZbNn2", published: "2026-05-10T10:02:41Z",
				plays: 980, likes: 19, comments: 3, shares: 2, recommends: 7, forwards: 4, rate: 0.005, avg: 6.2},
		},
	},
	"deleted/amb03_视频号_单篇视频_20260510_080000.csv": {
		ambassador: "amb03", account: "sphmVvd5vcmaWd", exportedAt: "2026-05-10T00:00:00Z",
		snaps: []want{
			{id: "export/UzFfAgtgekIEAQAAAAAAC3cat0X2MwAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDcccccccccccc", published: "2026-05-08T23:30:00Z", plays: 800, recommends: 6, likes: 20, comments: 3, shares: 1, forwards: 2, rate: 0.12, avg: 9.5},
			{id: "export/UzFfAgtgekIEAQAAAAAAB2bob9Y1IgAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDbbbbbbbbbbbb", published: "2026-05-08T13:00:00Z", plays: 120, recommends: 0, likes: 1, comments: 0, shares: 0, forwards: 0, rate: 0.031, avg: 4.2},
			{id: "export/UzFfAgtgekIEAQAAAAAAA1ice8Z0HwAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDaaaaaaaaaaaa", published: "2026-05-06T02:00:00Z", plays: 2400, recommends: 30, likes: 90, comments: 10, shares: 5, forwards: 8, rate: 0.182, avg: 15.0},
		},
	},
	"deleted/amb03_视频号_单篇视频_20260511_080000.csv": {
		ambassador: "amb03", account: "sphmVvd5vcmaWd", exportedAt: "2026-05-11T00:00:00Z",
		snaps: []want{
			{id: "export/UzFfAgtgekIEAQAAAAAAC3cat0X2MwAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDcccccccccccc", published: "2026-05-08T23:30:00Z", plays: 950, recommends: 7, likes: 24, comments: 3, shares: 1, forwards: 3, rate: 0.118, avg: 9.4},
			{id: "export/UzFfAgtgekIEAQAAAAAAA1ice8Z0HwAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDaaaaaaaaaaaa", published: "2026-05-06T02:00:00Z", plays: 2510, recommends: 31, likes: 93, comments: 11, shares: 5, forwards: 8, rate: 0.181, avg: 15.1},
		},
	},
	"export/amb04_视频号_单篇视频_20260512_101500_truncated.csv": {
		ambassador: "amb04", account: "sphhDNWEifNBMQ", exportedAt: "2026-05-12T02:15:00Z", cutShort: true,
		snaps: []want{
			{id: "export/UzFfAgtgekIEAQAAAAAAd4Tr0nCa1AAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDt1t1t1t1t1t", published: "2026-05-10T16:00:00Z", plays: 300, recommends: 1, likes: 9, comments: 1, shares: 0, forwards: 1, rate: 0.05, avg: 7.0},
			{id: "export/UzFfAgtgekIEAQAAAAAAd4Tr0nCa1AAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDt2t2t2t2t2t", published: "2026-05-09T16:00:00Z", plays: 500, recommends: 2, likes: 12, comments: 2, shares: 1, forwards: 1, rate: 0.06, avg: 8.0},
		},
		errs: []string{"truncated.csv: line 4: the row has 4 of the header's 19 columns and the file ends inside it: the file was cut short"},
	},
	"export/amb04_视频号_单篇视频_20260512_101600_cut_in_quote.csv": {
		ambassador: "amb04", account: "sphhDNWEifNBMQ", exportedAt: "2026-05-12T02:16:00Z", cutShort: true,
		snaps: []want{
			{id: "export/UzFfAgtgekIEAQAAAAAAd4Tr0nCa1AAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDt1t1t1t1t1t", published: "2026-05-10T16:00:00Z", plays: 300, recommends: 1, likes: 9, comments: 1, shares: 0, forwards: 1, rate: 0.05, avg: 7.0},
		},
		errs: []string{"cut_in_quote.csv: line 3: cannot split the row into columns: extraneous or missing \" in quoted-field: the file ends inside a quoted field: it was cut short"},
	},
	"export/amb06_视频号_单篇视频_20260513_120000_numbers.csv": {
		ambassador: "amb06", account: "sphgizLstPVLT5", exportedAt: "2026-05-13T04:00:00Z",
		snaps: []want{
			{id: "export/UzFfAgtgekIEAQAAAAAAbiG0n7N1XwAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDbig1big1big", published: "2026-05-01T12:00:00Z",
				plays: 12000, recommends: 1234, likes: 34000, comments: 100000, shares: 234, forwards: 567, rate: 0.315, avg: 65.0},
			{id: "export/UzFfAgtgekIEAQAAAAAAbiG0n7N1XwAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDbig2big2big", published: "2026-05-02T00:00:00Z",
				plays: 110000000, recommends: 12345678, likes: nil, comments: nil, shares: 0, forwards: 0, rate: 0.0205, avg: 47.0},
		},
	},
	"export/amb08_视频号_单篇视频_20260514_090000_bad_rows.csv": {
		ambassador: "amb08", account: "sphEJspwiqVBVn", exportedAt: "2026-05-14T01:00:00Z",
		snaps: []want{
			{id: "export/UzFfAgtgekIEAQAAAAAAgood1goodAAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDgood1good1", published: "2026-05-11T16:00:00Z", plays: 700, recommends: 3, likes: 20, comments: 2, shares: 1, forwards: 2, rate: 0.055, avg: 9.0},
			{id: "export/UzFfAgtgekIEAQAAAAAAgood3goodAAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDgood3good3", published: "2026-05-09T16:00:00Z", plays: 900, recommends: 5, likes: 22, comments: 3, shares: 1, forwards: 2, rate: 0.04, avg: 8.0},
		},
		errs: []string{
			`bad_rows.csv: line 3, column F (播放量): "12a": cannot read as a count`,
			`bad_rows.csv: line 4, column C (发布时间): "2026/13/45": cannot read as a date and time`,
			`bad_rows.csv: line 5, column B (视频ID): no 视频ID`,
			`bad_rows.csv: line 6, column D (完播率): "150%": cannot read as a completion rate`,
			`bad_rows.csv: line 7, column B (视频ID): "export/UzFfAgtgekIEAQAAAAAAgood1goodAAAA…": the same 视频ID is already on line 2`,
			`bad_rows.csv: line 8: the row has 4 of the header's 19 columns`,
		},
	},
	"export/amb09_视频号_单篇视频_20260514_091000_no_id.csv": {
		fatal: []string{"amb09_视频号_单篇视频_20260514_091000_no_id.csv", "line 1", "required column 视频ID missing"},
	},
	"export/amb11_视频号_单篇视频_20260515_200000_preamble.csv": {
		ambassador: "amb11", account: "sph7NMBf2NkS7Z", exportedAt: "2026-05-15T12:00:00Z",
		snaps: []want{
			{id: "export/UzFfAgtgekIEAQAAAAAApre1pre1AAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDpre1pre1pre", published: "2026-05-13T16:00:00Z", plays: 1200, recommends: 8, likes: 40, comments: 5, shares: 3, forwards: 6, rate: 0.099, avg: 11.2},
		},
	},
	"export/amb12_视频号_单篇视频_20260515_210000_gbk.csv": {
		fatal: []string{"amb12_视频号_单篇视频_20260515_210000_gbk.csv", "not UTF-8", "GBK", "CSV UTF-8"},
	},
	"export/amb13_视频号_单篇视频_20260516_080000_utf16.csv": {
		ambassador: "amb13", account: "sphA6MYZ6eK6by", exportedAt: "2026-05-16T00:00:00Z",
		snaps: []want{
			{id: "export/UzFfAgtgekIEAQAAAAAAutf16utf16AAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDutf16utf16", published: "2026-05-14T16:00:00Z", plays: 330, recommends: 3, likes: 10, comments: 1, shares: 0, forwards: 1, rate: 0.033, avg: 6.6},
		},
	},
	"export/amb14/视频号数据.csv": {
		ambassador: "amb14", account: "sphYHg8TKQczZg", exportedAt: "2026-05-10T08:00:00Z", mtime: "2026-05-10T08:00:00Z",
		snaps: []want{
			{id: "export/UzFfAgtgekIEAQAAAAAAfolderfolderAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrDfolderfolder", published: "2026-04-30T16:00:00Z", plays: 900, recommends: 5, likes: 22, comments: 3, shares: 1, forwards: 2, rate: 0.04, avg: 8.0},
		},
	},
	"export/amb16_视频号_单篇视频_20260516_093000.xlsx": {
		ambassador: "amb16", account: "sphnrjR5HFWrkS", exportedAt: "2026-05-16T01:30:00Z",
		snaps: []want{
			{id: "export/UzFfBgAAxNGhNBNHFw_vjMzT4DCaEaEJczQJgMiJs56loh2HDQ", published: "2026-05-15T10:30:05Z", plays: 2270, recommends: 25, likes: 41, comments: 6, shares: 9, forwards: 18, rate: 0.0441, avg: 14.73},
			{id: "export/UzFfBgAAxOCgVFMYICCIjMzT4DCa9AF28D7jb3ffdoaXQiOFsw", published: "2026-05-14T00:00:00Z", plays: 12841, recommends: 95, likes: 310, comments: 52, shares: 77, forwards: 140, rate: 0.157, avg: 96.89},
			{id: "export/UzFfBgAAyV2ChWPH-RXa731TV02VKn60l1vpTyT9", published: "2026-05-13T16:00:00Z", plays: 0, recommends: 0, likes: 0, comments: 0, shares: 0, forwards: 0, rate: nil, avg: nil},
		},
	},
	"export/amb16_视频号_单篇视频_20260516_094500_truncated.xlsx": {
		fatal: []string{"amb16_视频号_单篇视频_20260516_094500_truncated.xlsx", "not a readable XLSX file (cut short, or still being written?)"},
	},
}

// TestGenerateXLSX writes the XLSX testdata (go test -run GenerateXLSX -update):
// the console's table as Excel saves it, and the same file cut in half.
func TestGenerateXLSX(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the XLSX testdata")
	}
	cst := time.FixedZone("CST", 8*3600)
	head := []simulator.XLSXCell{}
	for _, c := range simulator.WeChatExportColumns {
		head = append(head, simulator.XLSXText(c))
	}
	n := simulator.XLSXNumber
	table := [][]simulator.XLSXCell{head,
		{simulator.XLSXText("西山晨雾里的老街 #寻美西山"), simulator.XLSXText("export/UzFfBgAAxNGhNBNHFw_vjMzT4DCaEaEJczQJgMiJs56loh2HDQ"), simulator.XLSXDate(time.Date(2026, 5, 15, 18, 30, 5, 0, cst)),
			simulator.XLSXPercent(0.0441), simulator.XLSXText("14.73秒"), n(2270), n(25), n(41), n(6), n(9), n(3), n(18), n(0), n(0), n(0)},
		{simulator.XLSXText("大观楼长联"), simulator.XLSXText("export/UzFfBgAAxOCgVFMYICCIjMzT4DCa9AF28D7jb3ffdoaXQiOFsw"), simulator.XLSXDate(time.Date(2026, 5, 14, 8, 0, 0, 0, cst)),
			simulator.XLSXPercent(0.157), simulator.XLSXText("96.89秒"), n(12841), n(95), n(310), n(52), n(77), n(9), n(140), n(0), n(0), n(0)},
		{simulator.XLSXText("刚发布"), simulator.XLSXText("export/UzFfBgAAyV2ChWPH-RXa731TV02VKn60l1vpTyT9"), simulator.XLSXText("2026/05/14"),
			simulator.XLSXText("-"), simulator.XLSXText("-"), n(0), n(0), n(0), n(0), n(0), n(0), n(0), n(0), n(0), n(0)},
	}
	b, err := simulator.WriteXLSX("单篇视频", table)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/export/amb16_视频号_单篇视频_20260516_093000.xlsx", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/export/amb16_视频号_单篇视频_20260516_094500_truncated.xlsx", b[:len(b)*6/10], 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTestdataExports reads every recorded export and checks what a user
// would: the right account, time, counters, absent metrics, and errors that
// name the file, line and column.
func TestTestdataExports(t *testing.T) {
	r := builtinRoster(t)
	var files []string
	for _, dir := range []string{"testdata/export", "testdata/deleted"} {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, strings.TrimPrefix(filepath.ToSlash(p), "testdata/"))
			}
			return nil
		})
	}
	sort.Strings(files)
	if len(files) < len(exportCases) {
		t.Fatalf("found %d testdata files, want at least %d", len(files), len(exportCases))
	}
	tmp := t.TempDir()
	for _, name := range files {
		c, ok := exportCases[name]
		if !ok {
			t.Errorf("testdata %s has no expectations in exportCases", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			if c.mtime != "" { // git does not keep modification times
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				path = filepath.Join(tmp, name)
				os.MkdirAll(filepath.Dir(path), 0o755)
				os.WriteFile(path, b, 0o644)
				os.Chtimes(path, utc(c.mtime), utc(c.mtime))
			}
			ex, err := wechat.ReadFile(path, r, wechat.ImportOptions{})
			if c.fatal != nil {
				if err == nil {
					t.Fatalf("read %d snapshots; want an error", len(ex.Snapshots))
				}
				for _, s := range c.fatal {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ex.Account.AmbassadorID != c.ambassador || ex.Account.AccountID != c.account {
				t.Errorf("account %+v, want %s/%s", ex.Account, c.ambassador, c.account)
			}
			if !ex.ExportedAt.Equal(utc(c.exportedAt)) {
				t.Errorf("exported at %v (from %s), want %s", ex.ExportedAt, ex.TimeFrom, c.exportedAt)
			}
			if ex.CutShort != c.cutShort {
				t.Errorf("CutShort = %v, want %v", ex.CutShort, c.cutShort)
			}
			if len(ex.Snapshots) != len(c.snaps) {
				t.Errorf("%d snapshots, want %d", len(ex.Snapshots), len(c.snaps))
			}
			for i := range min(len(ex.Snapshots), len(c.snaps)) {
				s := ex.Snapshots[i]
				checkSnap(t, name, s, c.snaps[i])
				if !s.ObservedAt.Equal(ex.ExportedAt) || s.AmbassadorID != c.ambassador || s.AccountID != c.account {
					t.Errorf("snapshot %d: observed %v by %s/%s", i, s.ObservedAt, s.AmbassadorID, s.AccountID)
				}
			}
			if len(ex.Errors) != len(c.errs) {
				t.Errorf("%d row errors, want %d: %v", len(ex.Errors), len(c.errs), ex.Errors)
			}
			for i := range min(len(ex.Errors), len(c.errs)) {
				if !strings.Contains(ex.Errors[i].Error(), c.errs[i]) {
					t.Errorf("row error %d = %q\n\twant it to contain %q", i, ex.Errors[i], c.errs[i])
				}
				var re *wechat.RowError
				if !asRowError(ex.Errors[i], &re) || re.Line == 0 {
					t.Errorf("row error %d is not a *RowError with a line: %#v", i, ex.Errors[i])
				}
			}
		})
	}
}

func asRowError(err error, re **wechat.RowError) bool {
	e, ok := err.(*wechat.RowError)
	*re = e
	return ok
}

func TestImportFilesFolder(t *testing.T) {
	r := builtinRoster(t)
	snaps, errs := wechat.ImportFiles(context.Background(), []string{"testdata/export", "testdata/nonexistent.csv"}, r, wechat.ImportOptions{})
	var wantSnaps int
	var wantErrs int
	for name, c := range exportCases {
		if !strings.HasPrefix(name, "export/") {
			continue
		}
		wantSnaps += len(c.snaps)
		wantErrs += len(c.errs)
		if c.fatal != nil {
			wantErrs++
		}
	}
	wantErrs++ // the nonexistent file
	if len(snaps) != wantSnaps {
		t.Errorf("%d snapshots, want %d", len(snaps), wantSnaps)
	}
	if len(errs) != wantErrs {
		t.Errorf("%d errors, want %d:\n%v", len(errs), wantErrs, errs)
	}
	for _, s := range snaps {
		if err := s.Validate(); err != nil {
			t.Error(err)
		}
	}
}

func TestAccountOf(t *testing.T) {
	r := builtinRoster(t)
	for _, c := range []struct{ path, explicit, amb, err string }{
		{"drop/amb07x/amb01_x.csv", "", "amb01", ""},
		{"drop/amb01/amb01_x.csv", "", "amb01", ""},
		{"drop/amb01/amb02_x.csv", "", "", "the folder says ambassador amb01 but the file name says amb02"},
		{"drop/amb02/export.csv", "", "amb02", ""},
		{"drop/sph3bgrsKSPqfX/export.csv", "", "amb02", ""},
		{"drop/sphNME8PNY4FS9-20260510.csv", "", "amb01", ""},
		{"drop/whatever.csv", "amb03", "amb03", ""},
		{"drop/whatever.csv", "sphhDNWEifNBMQ", "amb04", ""},
		{"drop/amb05_20260510_1430.csv", "", "", "ambassador amb05 has no wechat_channels account"},
		{"drop/amb05/x.csv", "", "", "ambassador amb05 has no wechat_channels account"},
		{"drop/whatever.csv", "nobody", "", `"nobody" is neither an ambassador id`},
		{"drop/视频号数据.csv", "", "", "cannot tell whose export this is"},
		{"drop/amb011_x.csv", "", "", "cannot tell whose export this is"},
	} {
		a, err := wechat.AccountOf(r, c.path, c.explicit)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), c.path) {
				t.Errorf("AccountOf(%s, %q) = %+v, %v; want an error naming the file and saying %q", c.path, c.explicit, a, err, c.err)
			}
			continue
		}
		if err != nil || a.AmbassadorID != c.amb || a.Platform != snapshot.WeChatChannels {
			t.Errorf("AccountOf(%s, %q) = %+v, %v; want %s", c.path, c.explicit, a, err, c.amb)
		}
	}
}
