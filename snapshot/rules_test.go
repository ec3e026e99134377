package snapshot

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// valid is a snapshot as the platforms give it, for cases to break.
func valid(platform string) Snapshot {
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	s := Snapshot{Schema: 1, Platform: platform, AmbassadorID: "amb07", PublishedAt: at.Add(-time.Hour), ObservedAt: at, Source: SourceAPI,
		Metrics: Metrics{Plays: Counter(12_300_000), Likes: Counter(4)}}
	switch platform {
	case Douyin:
		s.PostID, s.AccountID = "@9VwKzuuES8gmaHHgMoBgQc780mDqPP+KPpR0qQOmLVAXb/T060zdRmYqig357zEBq6CZRp4NVe6qLIJW/V/x1w==", "_000b92FFEF590F63E7aEc82CACD026c"
	case Weibo:
		s.PostID, s.AccountID, s.Plays = "5034312412120301", "4361396479", nil
	default:
		s.PostID, s.AccountID = "export/UzFfAgtgekIEAQAAAAAAOhIpzVxlAQAAAAstQy6ubaLX4KHWvLEZgBPExKFQKCowfoSJzNPgMJrD53jJrD_NBzgU3Ncr3usg", "sphNME8PNY4FS9"
	}
	return s
}

// The ids real platforms, the simulator and the recorded testdata use all
// pass the rules.
func TestRealShapedIDsPass(t *testing.T) {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], math.MaxUint64)
	binary.BigEndian.PutUint64(b[8:], 0x9E3779B97F4A7C15)
	for platform, ids := range map[string][][2]string{
		Douyin: {
			{"@9VwKzu" + base64.StdEncoding.EncodeToString(b[:]), "_000b92FFEF590F63E7aEc82CACD026c"}, // the simulator
			{"@8hxdhauTCMppanGnM4ltGM780mDqPP+KPpR0qQOmLVAXb/T060zdRmYqig357zEBq6CZRp4NVe6qLIJW/V/x1w==", "ba253642-0590-40bc-9bdf-9a1334b94059"},
			{"7227815678634470000", "_000C42DF8eBa491b1BeB6d5A4F3d720"}, // a plain (明文) id
		},
		Weibo: {{"50123456789012345", "4361396479"}, {"9223372036854775807", "1"}},
		WeChatChannels: {
			{"export/UzFfAgtgekIEAQAAAAAA" + base64.RawURLEncoding.EncodeToString(b[:]), "sphNME8PNY4FS9"}, // the simulator
			{"export/UzFfBgAAxNGhNBNHFw_vjMzT4DCaEaEJczQJgMiJs56loh2HDQ", "v2_060000231003b20faec8c7e48b1dc5d3cb0de433b077d6a7c8d0c0f1e4e7d4c@finder"},
			{"14179584392186390651", "sph3bgrsKSPqfX"}, // a numeric objectId
		},
	} {
		for _, id := range ids {
			s := valid(platform)
			s.PostID, s.AccountID = id[0], id[1]
			if err := s.ValidateAt(s.ObservedAt); err != nil {
				t.Errorf("%s %s / %s: %v", platform, id[0], id[1], err)
			}
		}
	}
}

// Every hostile value is rejected with a reason that names the field, and
// no reason repeats a long value in full.
func TestRulesRejectAbsurdValues(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 5, 0, 0, time.UTC)
	long := strings.Repeat("A", 10_000)
	for _, c := range []struct {
		platform string
		edit     func(*Snapshot)
		want     string
	}{
		{Douyin, func(s *Snapshot) { s.PostID = "@" + long }, `post_id: "@AAAAA`},
		{Douyin, func(s *Snapshot) { s.PostID = "@abc@def" }, "byte 4 ('@') is not allowed in an item_id"},
		{Douyin, func(s *Snapshot) { s.PostID = "p1" }, "post_id: \"p1\": byte 0 ('p') is not allowed"},
		{Douyin, func(s *Snapshot) { s.PostID = "@9Vw\x00" }, `byte 4 ('\x00') is not allowed`},
		{Douyin, func(s *Snapshot) { s.AccountID = "open id" }, "account_id: \"open id\": byte 4 (' ')"},
		{Weibo, func(s *Snapshot) { s.PostID = "9223372036854775808" }, "post_id: \"9223372036854775808\" is not a status id"},
		{Weibo, func(s *Snapshot) { s.PostID = "0123" }, "without a leading zero"},
		{Weibo, func(s *Snapshot) { s.PostID = "-5" }, "post_id: \"-5\" is not a status id"},
		{Weibo, func(s *Snapshot) { s.AccountID = "uid:1" }, "account_id: \"uid:1\" is not a uid"},
		{WeChatChannels, func(s *Snapshot) { s.PostID = "export/" + long }, "post_id: \"export/AAA"},
		{WeChatChannels, func(s *Snapshot) { s.PostID = "export/寻美" }, `is not allowed in an export id`},
		{WeChatChannels, func(s *Snapshot) { s.AmbassadorID = "amb 07" }, `ambassador_id: "amb 07": byte 3 (' ')`},
		{WeChatChannels, func(s *Snapshot) { s.AmbassadorID = long }, "is 10000 bytes; an ambassador id (letters, digits, _ . -) has at most 64"},
		{Douyin, func(s *Snapshot) { s.AccountID = "" }, "account_id: empty"},
		// times
		{WeChatChannels, func(s *Snapshot) { s.ObservedAt = time.Date(2099, 5, 10, 6, 30, 0, 0, time.UTC) }, "observed_at: 2099-05-10T06:30:00Z is after 2026-06-01T12:15:00Z (now plus 10m0s"},
		{Douyin, func(s *Snapshot) { s.ObservedAt = now.Add(11 * time.Minute) }, "observed_at: 2026-06-01T12:16:00Z is after"},
		{Douyin, func(s *Snapshot) { s.ObservedAt = time.Unix(1<<32, 0) }, "observed_at: 2106-02-07T06:28:16Z is after"},
		{Douyin, func(s *Snapshot) { s.PublishedAt = s.ObservedAt.Add(11 * time.Minute) }, "published_at: 2026-06-01T12:11:00Z is after 2026-06-01T12:10:00Z (observed_at plus 10m0s"},
		{Douyin, func(s *Snapshot) { s.PublishedAt = time.Unix(0, 0) }, "published_at: 1970-01-01T00:00:00Z is before 2016-09-01, when douyin began"},
		{WeChatChannels, func(s *Snapshot) { s.PublishedAt = time.Date(2019, 12, 31, 0, 0, 0, 0, time.UTC) }, "is before 2020-01-01, when wechat_channels began"},
		{Weibo, func(s *Snapshot) { s.PublishedAt = time.Time{} }, "published_at: missing"},
		{Weibo, func(s *Snapshot) { s.ObservedAt = time.Date(2009, 1, 1, 0, 0, 0, 0, time.UTC) }, "observed_at: 2009-01-01T00:00:00Z is before 2009-08-01"},
		// counters
		{Douyin, func(s *Snapshot) { s.Plays = Counter(math.MaxInt64) }, "plays: 9223372036854775807 is beyond the plausible 1000000000000 for douyin"},
		{Douyin, func(s *Snapshot) { s.Plays = Counter(MaxPlays + 1) }, "plays: 1000000000001 is beyond"},
		{Weibo, func(s *Snapshot) { s.Likes = Counter(MaxCounter + 1) }, "likes: 100000000001 is beyond the plausible 100000000000 for weibo"},
		{Douyin, func(s *Snapshot) { s.Downloads = Counter(-1) }, "downloads: negative counter -1"},
		{WeChatChannels, func(s *Snapshot) { s.Recommends = Counter(-2) }, "recommends: negative counter -2"},
		{Douyin, func(s *Snapshot) { s.Forwards = Counter(math.MinInt64) }, "forwards: negative counter"},
		{WeChatChannels, func(s *Snapshot) { r := 1.5; s.CompletionRate = &r }, "completion_rate: 1.5 is not within 0..1"},
		{WeChatChannels, func(s *Snapshot) { r := math.NaN(); s.CompletionRate = &r }, "completion_rate: NaN is not within 0..1"},
		{WeChatChannels, func(s *Snapshot) { r := -0.1; s.CompletionRate = &r }, "completion_rate: -0.1"},
		{WeChatChannels, func(s *Snapshot) { a := math.Inf(1); s.AvgWatchSeconds = &a }, "avg_watch_seconds: +Inf is not within 0..86400 seconds"},
		{WeChatChannels, func(s *Snapshot) { a := -1.0; s.AvgWatchSeconds = &a }, "avg_watch_seconds: -1 is not within"},
	} {
		s := valid(c.platform)
		c.edit(&s)
		err := s.ValidateAt(now)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to say %q", c.platform, err, c.want)
			continue
		}
		if len(err.Error()) > 400 {
			t.Errorf("%s: a %d-byte reason: %.120s…", c.platform, len(err.Error()), err)
		}
	}
	// The limits leave room for the biggest real posts.
	s := valid(Douyin)
	s.Plays, s.Likes = Counter(5_000_000_000), Counter(100_000_000)
	if err := s.ValidateAt(now); err != nil {
		t.Errorf("a post with 5 billion plays: %v", err)
	}
	// Without a clock, only the static ceiling applies.
	s.ObservedAt = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.Validate(); err != nil {
		t.Errorf("Validate (no clock) of a 2099 snapshot: %v", err)
	}
	s.ObservedAt = time.Date(2100, 1, 2, 0, 0, 0, 0, time.UTC)
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "the latest time a snapshot may carry") {
		t.Errorf("Validate (no clock) of a 2100 snapshot: %v", err)
	}
}

// hostile are topic values built from the issue's cases: the fuzz seed
// corpus and a table for UnmarshalAt.
var hostile = []string{
	`{"schema":1,"platform":"douyin","ambassador_id":"amb07","account_id":"_000b92FF","post_id":"@9VwKzu` + strings.Repeat("x", 5000) + `","published_at":"2026-06-01T00:00:00Z","observed_at":"2026-06-01T01:00:00Z","source":"api"}`,
	`{"schema":1,"platform":"wechat_channels","ambassador_id":"amb07","account_id":"sphNME8PNY4FS9","post_id":"export/UzFf","published_at":"2026-06-01T00:00:00Z","observed_at":"2099-05-10T06:30:00Z","source":"export","plays":5}`,
	`{"schema":1,"platform":"douyin","ambassador_id":"amb07","account_id":"_000b92FF","post_id":"@9Vw","published_at":"2026-06-01T00:00:00Z","observed_at":"2106-02-07T06:28:16Z","source":"api"}`,
	`{"schema":1,"platform":"douyin","ambassador_id":"amb07","account_id":"_000b92FF","post_id":"@9Vw","published_at":"2026-06-01T00:00:00Z","observed_at":"9999-12-31T23:59:59Z","source":"api"}`,
	`{"schema":1,"platform":"douyin","ambassador_id":"amb07","account_id":"_000b92FF","post_id":"@9Vw","published_at":"2026-06-01T00:00:00Z","observed_at":"2026-06-01T01:00:00Z","source":"api","plays":9223372036854775807}`,
	`{"schema":1,"platform":"douyin","ambassador_id":"amb07","account_id":"_000b92FF","post_id":"@9Vw","published_at":"2026-06-01T00:00:00Z","observed_at":"2026-06-01T01:00:00Z","source":"api","plays":9223372036854775808}`,
	`{"schema":1,"platform":"douyin","ambassador_id":"amb07","account_id":"_000b92FF","post_id":"@9Vw","published_at":"2026-06-01T00:00:00Z","observed_at":"2026-06-01T01:00:00Z","source":"api","forwards":-1,"downloads":-9223372036854775808}`,
	`{"schema":1,"platform":"wechat_channels","ambassador_id":"amb07","account_id":"sphNME8PNY4FS9","post_id":"export/UzFf","published_at":"2026-06-01T00:00:00Z","observed_at":"2026-06-01T01:00:00Z","source":"export","completion_rate":1e400,"avg_watch_seconds":-0}`,
	`{"schema":1,"platform":"wechat_channels","ambassador_id":"amb07","account_id":"sphNME8PNY4FS9","post_id":"export/UzFf","published_at":"2026-06-01T00:00:00Z","observed_at":"2026-06-01T01:00:00Z","source":"export","completion_rate":4.41,"avg_watch_seconds":1e9}`,
	`{"schema":1,"platform":"weibo","ambassador_id":"amb07","account_id":"4361396479","post_id":"18446744073709551615","published_at":"2026-06-01T00:00:00Z","observed_at":"2026-06-01T01:00:00Z","source":"api"}`,
	`{"schema":1,"platform":"weibo","ambassador_id":"amb07","account_id":"4361396479","post_id":"5034312412120301","published_at":"1970-01-01T00:00:00Z","observed_at":"0001-01-01T00:00:00Z","source":"api"}`,
	`{"schema":1,"platform":"weibo","ambassador_id":"amb\u0000","account_id":"4361396479","post_id":"50343124\n12120301","published_at":"2026-06-01T00:00:00+08:00","observed_at":"2026-06-01T01:00:00-08:00","source":"api"}`,
	`{"schema":1,"platform":"douyin","ambassador_id":"amb07","account_id":"_000b92FF","post_id":"@9Vw","published_at":"` + strings.Repeat("9", 3000) + `","observed_at":"2026-06-01T01:00:00Z","source":"api"}`,
	`{"schema":1,"schema":1,"platform":"douyin","platform":"weibo"}`,
	`{"schema":9223372036854775807}`,
	`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
}

// UnmarshalAt refuses every hostile value, with a short reason; the one
// that is fine without a clock (2099) is refused with one.
func TestUnmarshalAtRefusesHostileValues(t *testing.T) {
	now := time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)
	for i, in := range hostile {
		_, err := UnmarshalAt([]byte(in), now)
		if err == nil {
			t.Errorf("hostile value %d accepted: %.200s", i, in)
			continue
		}
		if len(err.Error()) > 1024 {
			t.Errorf("hostile value %d: a %d-byte reason: %.200s…", i, len(err.Error()), err)
		}
	}
	if _, err := Unmarshal([]byte(hostile[1])); err != nil {
		t.Errorf("without a clock, 2099 is within the static bounds: %v", err)
	}
}

// FuzzUnmarshal: `go test ./snapshot -fuzz '^FuzzUnmarshal$'` looks for a
// topic value that panics the decoder, slips an out-of-bounds value past
// it, does not survive a round trip, or gets a reason too long for a Kafka
// header. The seeds are the issue's hostile cases.
func FuzzUnmarshal(f *testing.F) {
	for _, h := range hostile {
		f.Add([]byte(h))
	}
	for _, p := range Platforms {
		s := valid(p)
		b, _ := Marshal(&s)
		f.Add(b)
	}
	// An official account's repost, with its repost_of.
	rp := valid(Weibo)
	rp.RepostOf = &PostRef{Platform: Weibo, PostID: "9900000000000457"}
	b, _ := Marshal(&rp)
	f.Add(b)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := UnmarshalAt(b, now)
		if err != nil {
			if len(err.Error()) > 1024 {
				t.Fatalf("a %d-byte reason: %.200s…", len(err.Error()), err)
			}
			return
		}
		if err := s.ValidateAt(now); err != nil {
			t.Fatalf("accepted a snapshot that does not validate: %v", err)
		}
		if s.ObservedAt.After(now.Add(FutureMargin)) || s.PublishedAt.After(s.ObservedAt.Add(FutureMargin)) {
			t.Fatalf("accepted a time in the future: %+v", s)
		}
		for _, v := range []*int64{s.Plays, s.Likes, s.Comments, s.Shares, s.Favorites, s.Forwards, s.Downloads, s.Recommends} {
			if v != nil && (*v < 0 || *v > MaxPlays) {
				t.Fatalf("accepted a counter %d", *v)
			}
		}
		out, err := Marshal(s)
		if err != nil {
			t.Fatalf("accepted but cannot encode: %v", err)
		}
		back, err := UnmarshalAt(out, now)
		if err != nil {
			t.Fatalf("accepted %q, but not its encoding %q: %v", b, out, err)
		}
		s.PublishedAt, s.ObservedAt = s.PublishedAt.UTC(), s.ObservedAt.UTC()
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip changed %q:\n got %+v\nwant %+v", b, back, s)
		}
	})
}

func ExampleSnapshot_ValidateAt() {
	s := valid(Douyin)
	s.Plays = Counter(math.MaxInt64)
	s.ObservedAt = time.Date(2099, 5, 10, 6, 30, 0, 0, time.UTC)
	fmt.Println(s.ValidateAt(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)))
	// Output: observed_at: 2099-05-10T06:30:00Z is after 2026-06-01T12:10:00Z (now plus 10m0s: a wrong clock or file name?); plays: 9223372036854775807 is beyond the plausible 1000000000000 for douyin
}
