package weibo

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/tongxin/tongxin/ingest"
)

// A timeline page whose statuses break the snapshot rules one way each:
// each is rejected alone, naming the status and the field, and the good
// ones go through; the same for statuses/count.
func TestRejectsBadStatusesAlone(t *testing.T) {
	f := newFixture(t, Config{})
	f.rp.file(http.StatusOK, "user_timeline_rejected.json")
	l, err := f.c.List(context.Background(), amb01, "")
	if err != nil {
		t.Fatalf("bad statuses must not fail their page: %v", err)
	}
	if len(l.Posts) != 2 || len(l.Snapshots) != 2 || l.Posts[0].PostID != "5034312412120301" || l.Posts[1].PostID != "5034312412120307" {
		t.Fatalf("kept %+v, want the two good statuses", l.Posts)
	}
	checkRejected(t, l.Rejected, map[string]string{
		"9223372036854775808": `post_id: "9223372036854775808" is not a status id: want decimal digits without a leading zero, at most 9223372036854775807`,
		"05034312412120302":   "post_id: \"05034312412120302\" is not a status id",
		"5034312412120303":    "likes: negative counter -1",
		"5034312412120304":    "comments: 1000000000000 is beyond the plausible 100000000000 for weibo",
		"5034312412120305":    "published_at: 2099-05-19T13:05:12Z is after",
		"5034312412120306":    `published_at: created_at "yesterday" is not Weibo's time format`,
	})

	f.rp.answer = func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"idstr":"5034312412120301","comments":1,"reposts":2,"attitudes":3},{"idstr":"5034312412120303","comments":-4,"reposts":2,"attitudes":3}]`))
	}
	got, err := f.c.Fetch(context.Background(), amb01, []ingest.Post{l.Posts[0], {PostID: "5034312412120303", PublishedAt: l.Posts[0].PublishedAt}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Snapshots) != 1 || got.Snapshots[0].PostID != "5034312412120301" || len(got.Missing) != 0 {
		t.Errorf("fetch kept %+v, want the first status only", got)
	}
	checkRejected(t, got.Rejected, map[string]string{"5034312412120303": "comments: negative counter -4"})
}

func checkRejected(t *testing.T, rejected []ingest.Rejected, want map[string]string) {
	t.Helper()
	if len(rejected) != len(want) {
		t.Errorf("%d statuses rejected, want %d: %v", len(rejected), len(want), rejected)
	}
	for id, says := range want {
		found := false
		for _, rj := range rejected {
			if rj.PostID != id {
				continue
			}
			found = true
			if msg := rj.Err.Error(); !strings.HasPrefix(msg, `weibo post "`+id+`": `) || !strings.Contains(msg, says) {
				t.Errorf("rejection %q: want it to name the post and say %q", msg, says)
			}
		}
		if !found {
			t.Errorf("status %s was not rejected", id)
		}
	}
}
