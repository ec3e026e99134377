package snapshot

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func repostSnapshot() *Snapshot {
	return &Snapshot{Schema: 1, Platform: Weibo, AmbassadorID: "off_xishan_fabu", AccountID: "6021883406",
		PostID: "9900000000000123", PublishedAt: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC),
		ObservedAt: time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC), Source: SourceAPI,
		Metrics:  Metrics{Likes: Counter(12)},
		RepostOf: &PostRef{Platform: Weibo, PostID: "9900000000000457"}}
}

// repost_of travels through Marshal and back (ids above 2^53 as text), and
// Marshal writes what encoding/json writes.
func TestRepostOfRoundTrip(t *testing.T) {
	s := repostSnapshot()
	b, _ := Marshal(s)
	std, _ := json.Marshal(s)
	if string(b) != string(std) {
		t.Errorf("Marshal\n%s\nencoding/json\n%s", b, std)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.RepostOf, s.RepostOf) || !got.IsRepost() {
		t.Errorf("repost_of came back as %+v", got.RepostOf)
	}
	plain := *s
	plain.RepostOf = nil
	if b, _ := Marshal(&plain); strings.Contains(string(b), "repost_of") || plain.IsRepost() {
		t.Errorf("a snapshot without a repost writes %s", b)
	}
}

// A repost_of that names another platform or an impossible id rejects the
// snapshot, naming the field: taken without it, the repost would count as
// an ordinary post.
func TestRepostOfValidation(t *testing.T) {
	s := repostSnapshot()
	s.RepostOf.Platform = Douyin
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "repost_of.platform") {
		t.Errorf("a Weibo repost of a Douyin post: %v", err)
	}
	s.RepostOf = &PostRef{Platform: Weibo, PostID: "12ab"}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "repost_of.post_id") {
		t.Errorf("a repost of status 12ab: %v", err)
	}
	s.RepostOf.PostID = ""
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "repost_of.post_id: empty") {
		t.Errorf("a repost of no status: %v", err)
	}
}

func TestWithoutReposts(t *testing.T) {
	r := repostSnapshot()
	p1, p2 := repostSnapshot(), repostSnapshot()
	p1.RepostOf, p2.RepostOf = nil, nil
	plain := []*Snapshot{p1, p2}
	if got := WithoutReposts(plain); len(got) != 2 || &got[0] != &plain[0] {
		t.Error("a batch without reposts is not returned as is")
	}
	mixed := []*Snapshot{p1, r, p2, r}
	if got := WithoutReposts(mixed); len(got) != 2 || got[0] != p1 || got[1] != p2 || len(mixed) != 4 || mixed[1] != r {
		t.Errorf("WithoutReposts(mixed) = %v, mixed now %v", got, mixed)
	}
}
