package wechat_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/wechat"
	"github.com/tongxin/tongxin/snapshot"
)

// checkRejected asserts that each rejected item's error names the post and
// says want[id-prefix], and that no error repeats a hostile value in full.
func checkRejected(t *testing.T, rejected []ingest.Rejected, want map[string][]string) {
	t.Helper()
	got := map[string]string{}
	for _, rj := range rejected {
		msg := rj.Err.Error()
		if len(msg) > 600 {
			t.Errorf("rejection of a %d-byte id is %d bytes long: %.200s…", len(rj.PostID), len(msg), msg)
		}
		for prefix := range want {
			if strings.HasPrefix(rj.PostID, prefix) {
				got[prefix] = msg
			}
		}
	}
	if len(rejected) != len(want) {
		t.Errorf("%d items rejected, want %d: %v", len(rejected), len(want), rejected)
	}
	for prefix, says := range want {
		msg, ok := got[prefix]
		if !ok {
			t.Errorf("post %.40s… was not rejected", prefix)
			continue
		}
		for _, s := range append([]string{"post " + snapshot.Clip(prefix)[:len(snapshot.Clip(prefix))-1]}, says...) {
			if !strings.Contains(msg, s) {
				t.Errorf("rejection %q does not say %q", msg, s)
			}
		}
	}
}

// A feed page whose items break the snapshot rules one way each: every bad
// item is rejected alone, naming the post and the field, and the good ones
// on the same page go through.
func TestFeedRejectsBadItemsAlone(t *testing.T) {
	srv, _ := replayServer(t, map[string]recorded{"GET /wechat_channels/v1/accounts/sphNME8PNY4FS9/posts": {status: 200, file: "rejected_items.json"}})
	c := wechat.New(wechat.Config{ClientConfig: ingest.ClientConfig{BaseURL: srv.URL, HTTP: srv.Client()}, APIKey: testKey})
	l, err := c.List(context.Background(), amb01, "")
	if err != nil {
		t.Fatalf("one bad item must not fail its page: %v", err)
	}
	if len(l.Posts) != 2 || l.Posts[0].PostID != "export/UzFfBgAAxNGhNBNHFw_vjMzT4DCaEaEJczQJgMiJs56loh2HDQ" || l.Posts[1].PostID != "export/UzFfBgAAyV2ChWPH-RXa731TV02VKn60l1vpTy06" {
		t.Errorf("posts kept: %+v, want the two good ones", l.Posts)
	}
	if len(l.Snapshots) != 1 || *l.Snapshots[0].Plays != 2270 {
		t.Errorf("snapshots kept: %+v, want the good one with stats", l.Snapshots)
	}
	checkRejected(t, l.Rejected, map[string][]string{
		"export/UzFfBgAAxOCgVFMYICCIjMzT4DCa9AF28D7jb3ffdoaXQiOFsw": {"completion_rate: 4.41 is not within 0..1"},
		"export/UzFfBgAAUzFfBgAA":                                   {"post_id:", "(327 bytes) is 327 bytes; an export id (letters, digits, / + = _ -) has at most 256"},
		"export/UzFfBgAAyV2ChWPH-RXa731TV02VKn60l1vpTy01":           {"published_at: 2099-05-06T01:00:00Z is after"},
		"export/UzFfBgAAyV2ChWPH-RXa731TV02VKn60l1vpTy02":           {"plays: 9223372036854775807 is beyond the plausible 1000000000000"},
		"export/UzFfBgAAyV2ChWPH-RXa731TV02VKn60l1vpTy03":           {"forwards: negative counter -3"},
		"export/UzFfBgAAyV2ChWPH-RXa731TV02VKn60l1vpTy04":           {"completion_rate: NaN is not within 0..1", "avg_watch_seconds: 1e+09 is not within"},
		"export/UzFf BgAA": {"post_id:", "byte 11 (' ') is not allowed"},
	})

	// A stats answer with one absurd post: that post is rejected (not
	// "unanswered", not malformed), the other goes through.
	stats := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"stats":[{"export_id":"export/a1","stats":{"play":5}},{"export_id":"export/a2","stats":{"play":-1}}],"missing":[],"request_id":"r"}`))
	}))
	defer stats.Close()
	c = wechat.New(wechat.Config{ClientConfig: ingest.ClientConfig{BaseURL: stats.URL, HTTP: stats.Client()}, APIKey: testKey})
	pub := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	f, err := c.Fetch(context.Background(), amb01, []ingest.Post{{PostID: "export/a1", PublishedAt: pub}, {PostID: "export/a2", PublishedAt: pub}})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Snapshots) != 1 || f.Snapshots[0].PostID != "export/a1" || len(f.Missing) != 0 {
		t.Errorf("fetch: %+v, want export/a1's snapshot only", f)
	}
	checkRejected(t, f.Rejected, map[string][]string{"export/a2": {"plays: negative counter -1"}})
}

// An export whose file name says 2099 is refused as a whole, saying why,
// before a single row freezes its posts; rows that break the snapshot
// rules are row errors naming the line, the post and the field, and the
// rest of the file goes through.
func TestExportTimesAndRowBounds(t *testing.T) {
	r, err := roster.Parse("r.yaml", []byte("ambassadors:\n  - id: amb01\n    name: A\n    accounts: {wechat_channels: sphNME8PNY4FS9}\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	csv := "\ufeff视频描述,视频ID,发布时间,完播率,平均播放时长,播放量,推荐,喜欢,评论量,分享量\n" +
		"好,export/UzFfAgtgekIEAQAAAAAAgood,2026/06/25,4.41%,14.73秒,2270,25,41,6,9\n" +
		"大,export/UzFfAgtgekIEAQAAAAAAhuge,2026/06/25,4.41%,14.73秒,9223372036854775807,25,41,6,9\n" +
		"长,export/UzFfAgtgekIEAQAAAAAAlong,2026/06/25,4.41%,100000秒,10,25,41,6,9\n" +
		"旧,export/UzFfAgtgekIEAQAAAAAAold1,2001/06/25,4.41%,14.73秒,10,25,41,6,9\n" +
		"怪,export/UzFf<script>,2026/06/25,4.41%,14.73秒,10,25,41,6,9\n"
	future := filepath.Join(dir, "amb01_视频号_单篇视频_20990510_143000.csv")
	if err := os.WriteFile(future, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = wechat.ReadFile(future, r, wechat.ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "export time 2099-05-10 14:30:00 CST is not within") || !strings.Contains(err.Error(), "Rename the file") {
		t.Fatalf("an export dated 2099: %v", err)
	}

	good := filepath.Join(dir, "amb01_视频号_单篇视频_20260626_090000.csv")
	if err := os.WriteFile(good, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	ex, err := wechat.ReadFile(good, r, wechat.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Snapshots) != 1 || ex.Snapshots[0].PostID != "export/UzFfAgtgekIEAQAAAAAAgood" {
		t.Errorf("snapshots %+v, want the good row's", ex.Snapshots)
	}
	want := []string{
		"line 3: post \"export/UzFfAgtgekIEAQAAAAAAhuge\": plays: 9223372036854775807 is beyond the plausible",
		"line 4: post \"export/UzFfAgtgekIEAQAAAAAAlong\": avg_watch_seconds: 100000 is not within 0..86400",
		"line 5: post \"export/UzFfAgtgekIEAQAAAAAAold1\": published_at: 2001-06-24T16:00:00Z is before 2020-01-01",
		"line 6: post \"export/UzFf<script>\": post_id:",
	}
	if len(ex.Errors) != len(want) {
		t.Errorf("%d row errors, want %d: %v", len(ex.Errors), len(want), ex.Errors)
	}
	for i, w := range want {
		if i < len(ex.Errors) && !strings.Contains(ex.Errors[i].Error(), w) {
			t.Errorf("row error %q does not say %q", ex.Errors[i], w)
		}
	}
}

// The drop folder: an export named 2099 is reported, and once renamed
// with the real time the same content is imported (a wrong name is not
// remembered as failed content).
func TestWatcherRereadsRenamedExport(t *testing.T) {
	r, err := roster.Parse("r.yaml", []byte("ambassadors:\n  - id: amb01\n    name: A\n    accounts: {wechat_channels: sphNME8PNY4FS9}\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	csv := "\ufeff视频描述,视频ID,发布时间,播放量\n好,export/UzFfAgtgekIEAQAAAAAAgood,2026/06/25,2270\n"
	bad := filepath.Join(dir, "amb01_20990510_143000.csv")
	os.WriteFile(bad, []byte(csv), 0o600)
	var imported []*wechat.Export
	var failures []string
	w, err := wechat.NewWatcher(wechat.WatcherConfig{Dir: dir, Roster: r, Poll: time.Millisecond, Settle: time.Millisecond, Grace: time.Millisecond,
		Handle:    func(ctx context.Context, ex *wechat.Export) error { imported = append(imported, ex); return nil },
		OnFailure: func(path string, err error) { failures = append(failures, err.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 20 && len(failures) == 0; i++ {
		if err := w.Scan(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(failures) != 1 || !strings.Contains(failures[0], "export time 2099") || len(imported) != 0 {
		t.Fatalf("failures %v, imported %d: want the 2099 file reported and nothing imported", failures, len(imported))
	}
	if err := os.Rename(bad, filepath.Join(dir, "amb01_20260626_090000.csv")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20 && len(imported) == 0; i++ {
		if err := w.Scan(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(imported) != 1 || len(imported[0].Snapshots) != 1 {
		t.Fatalf("after renaming: imported %v, want the file's one snapshot", imported)
	}
}
