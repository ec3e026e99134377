package weibo

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/internal/responsefuzz"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/snapshot"
)

// FuzzResponses feeds any answer through List and Fetch: the recorded
// real-shaped answers and hostile ones are the seeds.
func FuzzResponses(f *testing.F) {
	responsefuzz.AddRecorded(f, "testdata",
		`{"statuses":[{"idstr":"`+string(make([]byte, 300))+`","created_at":"Mon May 20 10:00:00 +0800 2024","reposts_count":9223372036854775807}],"total_number":1}`,
		`{"statuses":[{"idstr":"5033333333333333333","created_at":"Mon May 20 10:00:00 +0800 2099","attitudes_count":-3,"comments_count":1e300}]}`,
		`[{"id":5033333333333333333,"idstr":"5033333333333333333","reposts":-1,"comments":"x","attitudes":null}]`,
		`{"error":"`+testToken+`","error_code":21332,"request":"/2/statuses/user_timeline.json"}`,
		`{"statuses":null}`, `{}`, `null`, ``, "\xff\xfe",
	)
	f.Add(403, []byte(`{"error":"User requests out of rate limit!","error_code":10023}`))
	f.Add(502, []byte(`<html>bad gateway</html>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		store := token.NewMemoryStore()
		store.Put(token.Token{Platform: snapshot.Weibo, AccountID: testUID, AccessToken: testToken,
			ExpiresAt: replayNow.Add(10 * 24 * time.Hour), UpdatedAt: replayNow})
		c := New(Config{ClientConfig: ingest.ClientConfig{BaseURL: "http://weibo.invalid", HTTP: responsefuzz.Canned{Status: status, Body: body}.Client(),
			Clock: clock.NewManual(replayNow), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, Tokens: store,
			AppKey: testAppKey, AppSecret: testSecret, RedirectURI: "https://tongxin.example.org/auth/weibo/callback"})
		ctx := context.Background()
		l, err := c.List(ctx, amb01, "")
		responsefuzz.Check(t, snapshot.Weibo, l.Snapshots, err, testToken, testSecret)
		got, err := c.Fetch(ctx, amb01, []ingest.Post{
			{Platform: snapshot.Weibo, PostID: "5033333333333333333", AccountID: testUID, AmbassadorID: "amb01", PublishedAt: replayNow.Add(-time.Hour)},
			{Platform: snapshot.Weibo, PostID: "5033333333333333335", AccountID: testUID, AmbassadorID: "amb01", PublishedAt: replayNow.Add(-48 * time.Hour)},
		})
		responsefuzz.Check(t, snapshot.Weibo, got.Snapshots, err, testToken, testSecret)
	})
}
