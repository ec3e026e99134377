package wechat_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/wechat"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
	"github.com/tongxin/tongxin/tools/simulator"
)

var simStart = time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC)

func newSim(t *testing.T, faults simulator.Faults) (*roster.Roster, *simulator.Scenario, *simulator.Server, *clock.Manual) {
	t.Helper()
	r := builtinRoster(t)
	sc := simulator.New(r, 7, simStart)
	clk := clock.NewManual(simStart)
	return r, sc, simulator.NewServer(sc, clk, faults, 7), clk
}

// expected is the simulator's Observe mapped as the adapter documents:
// 播放量/play→plays, 喜欢/like→likes, 评论量→comments, 分享量→shares,
// 转发聊天和朋友圈→forwards, 推荐→recommends, 完播率→completion_rate,
// 平均播放时长→avg_watch_seconds (both absent while there are no plays),
// favorites and downloads absent.
func expected(c simulator.Counters) snapshot.Metrics {
	m := snapshot.Metrics{
		Plays: snapshot.Counter(c.Plays), Likes: snapshot.Counter(c.Likes), Comments: snapshot.Counter(c.Comments),
		Shares: snapshot.Counter(c.Shares), Forwards: snapshot.Counter(c.Forwards), Recommends: snapshot.Counter(c.Recommends),
	}
	if c.Plays > 0 {
		rate, avg := c.CompletionRate, c.AvgWatchSeconds
		m.CompletionRate, m.AvgWatchSeconds = &rate, &avg
	}
	return m
}

// sameMetrics compares metrics; rateTol is how precisely the source gives
// the completion rate (the console: to 0.01 percentage points).
func sameMetrics(got, want snapshot.Metrics, rateTol float64) string {
	var diffs []string
	for _, c := range []struct {
		name      string
		got, want *int64
	}{{"plays", got.Plays, want.Plays}, {"likes", got.Likes, want.Likes}, {"comments", got.Comments, want.Comments}, {"shares", got.Shares, want.Shares},
		{"favorites", got.Favorites, want.Favorites}, {"forwards", got.Forwards, want.Forwards}, {"downloads", got.Downloads, want.Downloads}, {"recommends", got.Recommends, want.Recommends}} {
		if (c.got == nil) != (c.want == nil) || (c.got != nil && *c.got != *c.want) {
			diffs = append(diffs, c.name+" "+str(c.got)+" want "+str(c.want))
		}
	}
	for _, c := range []struct {
		name      string
		got, want *float64
		tol       float64
	}{{"completion_rate", got.CompletionRate, want.CompletionRate, rateTol}, {"avg_watch_seconds", got.AvgWatchSeconds, want.AvgWatchSeconds, 1e-9}} {
		if (c.got == nil) != (c.want == nil) || (c.got != nil && math.Abs(*c.got-*c.want) > c.tol) {
			diffs = append(diffs, c.name+" "+str(c.got)+" want "+str(c.want))
		}
	}
	return strings.Join(diffs, "; ")
}

func str[T any](p *T) string {
	if p == nil {
		return "absent"
	}
	return fmt.Sprint(*p)
}

// exportDay is what an export says of a publication time: the console
// writes the China date only, which is read as 00:00 China time.
func exportDay(t time.Time) time.Time {
	c := t.In(time.FixedZone("CST", 8*3600))
	return time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, c.Location()).UTC()
}

func TestExportRoundTrip(t *testing.T) {
	r, sc, srv, _ := newSim(t, simulator.Faults{})
	at := simStart.Add(3*24*time.Hour + 5*time.Hour + 17*time.Minute + 9*time.Second)
	accts := r.Accounts(snapshot.WeChatChannels)
	if len(accts) < 30 {
		t.Fatalf("only %d WeChat Channels accounts in the roster", len(accts))
	}
	for _, format := range []string{"csv", "xlsx"} {
		dir := t.TempDir()
		total := 0
		for _, acct := range accts {
			path, err := srv.WriteExport(dir, acct.AmbassadorID, at, format)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(filepath.Base(path), acct.AmbassadorID+"_") || filepath.Ext(path) != "."+format {
				t.Errorf("export named %s", path)
			}
			if st, err := os.Stat(path); err != nil || !st.ModTime().Equal(at) {
				t.Errorf("%s: modification time %v, want %v", path, st.ModTime(), at)
			}
			ex, err := wechat.ReadFile(path, r, wechat.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ex.Errors) > 0 {
				t.Errorf("%s: %v", path, ex.Errors)
			}
			if ex.Account != acct || !ex.ExportedAt.Equal(at) || ex.TimeFrom != "file name" {
				t.Errorf("%s: account %+v at %v from %s", path, ex.Account, ex.ExportedAt, ex.TimeFrom)
			}
			posts := sc.PostsOf(snapshot.WeChatChannels, acct.AccountID, at)
			if len(ex.Snapshots) != len(posts) {
				t.Errorf("%s: %d snapshots, want %d posts", path, len(ex.Snapshots), len(posts))
			}
			got := map[string]snapshot.Snapshot{}
			for _, s := range ex.Snapshots {
				got[s.PostID] = s
			}
			for _, p := range posts {
				s, ok := got[p.PostID]
				if !ok {
					t.Errorf("%s: post %s missing", path, p.PostID)
					continue
				}
				total++
				if !s.PublishedAt.Equal(exportDay(p.PublishedAt)) || !s.ObservedAt.Equal(at) || s.AmbassadorID != acct.AmbassadorID || s.Source != snapshot.SourceExport {
					t.Errorf("%s %s: published %v observed %v by %s source %s", path, p.PostID, s.PublishedAt, s.ObservedAt, s.AmbassadorID, s.Source)
				}
				if d := sameMetrics(s.Metrics, expected(srv.Observe(p, at)), 0.00005+1e-12); d != "" {
					t.Errorf("%s %s: %s", path, p.PostID, d)
				}
			}
		}
		if total < 100 {
			t.Errorf("%s: only %d posts went round; the scenario should have more", format, total)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "*.crdownload")); len(left) > 0 {
			t.Errorf("partial downloads left behind: %v", left)
		}
	}
	if _, err := srv.WriteExport(t.TempDir(), "amb05", at, "csv"); err == nil {
		t.Error("an export of an ambassador without a Channels account was written")
	}
	if _, err := srv.WriteExport(t.TempDir(), "amb01", at, "pdf"); err == nil {
		t.Error("an export in an unknown format was written")
	}
}

// The simulator's export is the console's: all 19 columns in its order,
// 发布时间 as the China date only, and it reads back without an error.
func TestSimulatorExportIsTheConsoles(t *testing.T) {
	r, _, srv, _ := newSim(t, simulator.Faults{})
	at := simStart.Add(5 * 24 * time.Hour)
	path, err := srv.WriteExport(t.TempDir(), "amb01", at, "csv")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	const console = "\ufeff视频描述,视频ID,发布时间,完播率,平均播放时长,播放量,推荐,喜欢,评论量,分享量,关注量,转发聊天和朋友圈," +
		"设为铃声,设为状态,设为朋友圈封面,企微链接点击次数,企微链接点击人数,添加到通讯录次数,添加到通讯录人数"
	if lines[0] != console {
		t.Errorf("header\n%q\nwant the console's\n%q", lines[0], console)
	}
	if len(lines) < 3 {
		t.Fatalf("only %d lines", len(lines))
	}
	dateRE := regexp.MustCompile(`,export/[^,]+,(\d{4}/\d{2}/\d{2}),`)
	for _, l := range lines[1:] {
		if !dateRE.MatchString(l) {
			t.Errorf("row %q: 发布时间 is not a China date like 2026/05/09", l)
		}
	}
	ex, err := wechat.ReadFile(path, r, wechat.ImportOptions{})
	if err != nil || len(ex.Errors) > 0 || len(ex.Snapshots) != len(lines)-1 {
		t.Fatalf("read back: %v, %v, %d snapshots of %d rows", err, ex.Errors, len(ex.Snapshots), len(lines)-1)
	}
}
