package douyin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/errcode"
)

// TestEveryErrorCode answers every row of Douyin's error table with the
// row's HTTP status (200: Douyin's errors come in the body), in both
// envelope shapes the platform uses, to a list and a fetch, and checks the
// adapter reads the row's Kind. A token-expired code is answered again
// after the refresh, so the repeated request fails the same way.
func TestEveryErrorCode(t *testing.T) {
	refreshed, err := os.ReadFile(filepath.Join("testdata", "oauth_refresh_token.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range errcode.Douyin.Rows {
		for _, shape := range []string{"data", "err_no"} {
			for _, op := range []string{"list", "fetch"} {
				t.Run(fmt.Sprintf("%d/%s/%s", row.Code, shape, op), func(t *testing.T) {
					f := newFixture(t)
					srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if r.URL.Path == "/oauth/refresh_token/" {
							w.Header().Set("Content-Type", "application/json")
							w.Write(refreshed)
							return
						}
						douyinEnvelope(w, row, shape)
					}))
					t.Cleanup(srv.Close)
					cfg := f.client.cfg
					cfg.BaseURL = srv.URL
					f.client = New(cfg)
					var err error
					if op == "list" {
						_, err = f.client.List(context.Background(), testAcct, "")
					} else {
						_, err = f.client.Fetch(context.Background(), testAcct, []ingest.Post{{PostID: "@9VwKzuuES8gmaHHgMo"}})
					}
					e := asIngestError(t, err)
					if e.Kind != row.Kind || e.Code != fmt.Sprint(row.Code) || e.Op != op {
						t.Errorf("got kind %s code %q op %s, want %s %d %s (%v)", e.Kind, e.Code, e.Op, row.Kind, row.Code, op, err)
					}
					if e.RequestID != "2025120311000001TEST" {
						t.Errorf("request id %q, want the envelope's log id", e.RequestID)
					}
				})
			}
		}
	}
}

// douyinEnvelope writes row as the Open Platform does: the classic
// {"data": {error_code, description}, "extra": {…}} or the newer
// {"err_no", "err_msg", "log_id"}.
func douyinEnvelope(w http.ResponseWriter, row errcode.Code, shape string) {
	const logid = "2025120311000001TEST"
	var v any
	if shape == "err_no" {
		v = map[string]any{"err_no": row.Code, "err_msg": row.Text, "log_id": logid}
	} else {
		v = map[string]any{
			"data":  map[string]any{"error_code": row.Code, "description": row.Text},
			"extra": map[string]any{"error_code": row.Code, "description": row.Text, "sub_error_code": 0, "sub_description": "", "logid": logid, "now": 1764759600000},
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(row.Status)
	json.NewEncoder(w).Encode(v)
}
