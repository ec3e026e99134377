package weibo

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/tongxin/tongxin/ingest/errcode"
)

// TestEveryErrorCode answers every row of Weibo's error table, as Weibo
// sends it — the envelope with the row's HTTP status, and again with 200 —
// to a list and a fetch, and checks the adapter reads the row's Kind.
func TestEveryErrorCode(t *testing.T) {
	for _, row := range errcode.Weibo.Rows {
		for _, status := range []int{row.Status, http.StatusOK} {
			for _, op := range []string{"list", "fetch"} {
				t.Run(fmt.Sprintf("%d/%d/%s", row.Code, status, op), func(t *testing.T) {
					f := newFixture(t, Config{})
					f.rp.mu.Lock()
					f.rp.answer = func(w http.ResponseWriter, r *http.Request) {
						weiboEnvelope(w, r, status, row)
					}
					f.rp.mu.Unlock()
					var err error
					if op == "list" {
						_, err = f.c.List(context.Background(), amb01, "")
					} else {
						_, err = f.c.Fetch(context.Background(), amb01, posts("5034312412120301"))
					}
					e := asError(t, err)
					if e.Kind != row.Kind || e.Code != fmt.Sprint(row.Code) || e.Op != op {
						t.Errorf("got kind %s code %q op %s, want %s %d %s (%v)", e.Kind, e.Code, e.Op, row.Kind, row.Code, op, err)
					}
				})
			}
		}
	}
}

// weiboEnvelope writes row as Weibo's error envelope, with the OAuth2
// fields when the row is an OAuth2 one.
func weiboEnvelope(w http.ResponseWriter, r *http.Request, status int, row errcode.Code) {
	body := fmt.Sprintf(`{"request":%q,"error_code":%d,"error":%q}`, r.URL.Path, row.Code, row.Text)
	if row.OAuth {
		body = fmt.Sprintf(`{"request":%q,"error_code":%d,"error":%q,"error_description":"…"}`, r.URL.Path, row.Code, row.Text)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, body)
}
