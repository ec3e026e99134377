package douyin

import (
	"context"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/internal/responsefuzz"
	"github.com/tongxin/tongxin/ingest/token"
	"github.com/tongxin/tongxin/internal/clock"
	"github.com/tongxin/tongxin/internal/enginetest"
)

// FuzzResponses feeds any answer through List and Fetch: the recorded
// real-shaped answers and the hostile ones are the seeds.
func FuzzResponses(f *testing.F) {
	responsefuzz.AddRecorded(f, "testdata",
		`{"data":{"list":[{"item_id":"@`+string(make([]byte, 300))+`","create_time":1,"statistics":{"play_count":9223372036854775807}}],"error_code":0}}`,
		`{"data":{"list":[{"item_id":"@a","create_time":4102444800,"statistics":{"play_count":-5,"digg_count":1e300}}],"error_code":0},"extra":{"error_code":0}}`,
		`{"err_no":28003018,"err_msg":"rate limited","log_id":"x"}`,
		`{"data":{"error_code":28001008,"description":"act.seeded0access0token0aaaa1111"}}`,
		`{"data":null}`, `[]`, `null`, ``, "\xff\xfe",
	)
	f.Add(429, []byte(`{}`))
	f.Add(502, []byte(`<html>bad gateway</html>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		store := token.NewMemoryStore()
		store.Put(token.Token{
			Platform: Platform, AccountID: testOpenID, AccessToken: seededAccess, RefreshToken: seededRefresh,
			ExpiresAt: testStart.Add(10 * 24 * time.Hour), RefreshExpiresAt: testStart.Add(25 * 24 * time.Hour),
			Scope: "user_info,video.list.bind,video.data.bind", UpdatedAt: testStart,
		})
		c := New(Config{
			ClientConfig: ingest.ClientConfig{BaseURL: "http://douyin.invalid", HTTP: responsefuzz.Canned{Status: status, Body: body}.Client(),
				Clock: clock.NewManual(testStart), Log: (&enginetest.Buffer{}).Logger()},
			Tokens:    store,
			ClientKey: "awtestclientkey01", ClientSecret: testSecret,
		})
		ctx := context.Background()
		l, err := c.List(ctx, testAcct, "")
		responsefuzz.Check(t, Platform, l.Snapshots, err, testSecret, seededAccess, seededRefresh)
		got, err := c.Fetch(ctx, testAcct, []ingest.Post{
			{Platform: Platform, PostID: "@9VwL3uKKBZ03JtSyfaR8ZpP6WixrFiO3Kbnr", AccountID: testOpenID, AmbassadorID: "amb01", PublishedAt: testStart.Add(-time.Hour)},
			{Platform: Platform, PostID: "@9VwL3uKKBZ03JtSyfaR8ZpP6WixrFiO3Kbnq", AccountID: testOpenID, AmbassadorID: "amb01", PublishedAt: testStart.Add(-48 * time.Hour)},
		})
		responsefuzz.Check(t, Platform, got.Snapshots, err, testSecret, seededAccess, seededRefresh)
	})
}
