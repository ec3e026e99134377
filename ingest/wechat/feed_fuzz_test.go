package wechat_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/internal/responsefuzz"
	"github.com/tongxin/tongxin/ingest/wechat"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
)

// FuzzFeedResponses feeds any answer of the vendor feed through List and
// Fetch: the recorded answers and hostile ones are the seeds.
func FuzzFeedResponses(f *testing.F) {
	responsefuzz.AddRecorded(f, filepath.Join("testdata", "feed"),
		`{"code":0,"data":{"posts":[{"export_id":"`+string(make([]byte, 300))+`","create_time":1,"read_count":9223372036854775807}]}}`,
		`{"code":0,"data":{"posts":[{"export_id":"export/abc","create_time":4102444800,"like_count":-3,"finish_rate":7}]}}`,
		`{"code":401,"msg":"`+testKey+`"}`,
		`{"code":0,"data":null}`, `{}`, `null`, ``, "\xff\xfe",
	)
	f.Add(429, []byte(`{}`))
	f.Add(502, []byte(`<html>bad gateway</html>`))
	start := time.Date(2025, 5, 6, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		c := wechat.New(wechat.Config{ClientConfig: ingest.ClientConfig{BaseURL: "http://feed.invalid", HTTP: responsefuzz.Canned{Status: status, Body: body}.Client(), Clock: clock.NewManual(start), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, APIKey: testKey})
		ctx := context.Background()
		l, err := c.List(ctx, amb01, "")
		responsefuzz.Check(t, snapshot.WeChatChannels, l.Snapshots, err, testKey)
		got, err := c.Fetch(ctx, amb01, []ingest.Post{
			{Platform: snapshot.WeChatChannels, PostID: "export/UzFfAgtgekIEAQAAAAAAb4MaQ1mDxQAAAAstQy6ubaLX4KHWvLEZgBPE", AccountID: amb01.AccountID, AmbassadorID: "amb01", PublishedAt: start.Add(-time.Hour)},
		})
		responsefuzz.Check(t, snapshot.WeChatChannels, got.Snapshots, err, testKey)
	})
}
