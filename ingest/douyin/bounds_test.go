package douyin

import (
	"context"
	"strings"
	"testing"

	"github.com/tongxin/tongxin/ingest"
)

// A video_list page whose items break the snapshot rules one way each:
// each bad item is rejected alone, naming the post and the field, judged
// on the adapter's (campaign) clock, and the good items go through.
func TestListRejectsBadItemsAlone(t *testing.T) {
	f := newFixture(t)
	f.rp.on("GET /api/douyin/v1/video/video_list/", canned{file: "video_list_rejected.json"})
	l, err := f.client.List(context.Background(), testAcct, "")
	if err != nil {
		t.Fatalf("bad items must not fail their page: %v", err)
	}
	if len(l.Posts) != 2 || len(l.Snapshots) != 2 || l.Posts[0].PostID != item1 || l.Snapshots[1].PostID != item3 {
		t.Fatalf("kept %d posts, %d snapshots (%+v), want the two good ones", len(l.Posts), len(l.Snapshots), l.Posts)
	}
	want := map[string]string{
		"@9VwKzuuES8gmaHHgMoBgQc780mDqPP+KPpR0qQOmLVAXb/T060zdRmYqig357zEBaaaa": "likes: negative counter -7",
		"@9VwKzuuES8gmaHHgMoBgQc780mDqPP+KPpR0qQOmLVAXb/T060zdRmYqig357zEBbbbb": "plays: 9223372036854775807 is beyond the plausible 1000000000000 for douyin",
		"@9VwKzuuES8gmaHHgMoBgQc780mDqPP+KPpR0qQOmLVAXb/T060zdRmYqig357zEBcccc": "published_at: 2025-05-06T12:30:00Z is after 2025-05-06T12:10:00Z",
		"@9VwKzuuES8gmaHHgMoBgQc780mDqPP+KPpR0qQOmLVAXb/T060zdRmYqig357zEBdddd": "published_at: 2106-02-07T06:28:16Z is after",
		"@9VwKzuAAAA": "post_id: \"@9VwKzuAAAA",
		"@9VwKzu uES": "byte 7 (' ') is not allowed in an item_id",
	}
	checkRejected(t, l.Rejected, want)
	if strings.Contains(f.logs.String(), strings.Repeat("A", 200)) {
		t.Error("the 257-byte id is repeated in full in the log")
	}

	// video_data: one answer with an absurd counter is rejected, the other kept.
	f.rp.on("POST /api/douyin/v1/video/video_data/", canned{file: "video_list_rejected.json"})
	got, err := f.client.Fetch(context.Background(), testAcct, []ingest.Post{{PostID: item1}, {PostID: "@9VwKzuuES8gmaHHgMoBgQc780mDqPP+KPpR0qQOmLVAXb/T060zdRmYqig357zEBbbbbbbbbbbbbbbbbbbbbbb=="}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Snapshots) != 1 || got.Snapshots[0].PostID != item1 || len(got.Missing) != 0 {
		t.Errorf("fetch kept %+v, want item1's snapshot only", got)
	}
	checkRejected(t, got.Rejected, map[string]string{"@9VwKzuuES8gmaHHgMoBgQc780mDqPP+KPpR0qQOmLVAXb/T060zdRmYqig357zEBbbbb": "plays: 9223372036854775807"})
}

func checkRejected(t *testing.T, rejected []ingest.Rejected, want map[string]string) {
	t.Helper()
	if len(rejected) != len(want) {
		t.Errorf("%d items rejected, want %d: %v", len(rejected), len(want), rejected)
	}
	for prefix, says := range want {
		found := false
		for _, rj := range rejected {
			if !strings.HasPrefix(rj.PostID, prefix) {
				continue
			}
			found = true
			msg := rj.Err.Error()
			if !strings.HasPrefix(msg, "douyin post \""+prefix[:10]) || !strings.Contains(msg, says) || len(msg) > 600 {
				t.Errorf("rejection %q: want it to name the post and say %q (in under 600 bytes)", msg, says)
			}
		}
		if !found {
			t.Errorf("%s… was not rejected", prefix)
		}
	}
}
