package deadletter_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"

	"github.com/tongxin/tongxin/internal/deadletter"
)

func header(m kafka.Message, key string) string { return deadletter.HeaderValue(m.Headers, key) }

// A hostile message of any size becomes a dead letter of bounded size that
// still says what was wrong, where it came from, and what the original was.
func TestLetterIsBoundedAndSaysWhy(t *testing.T) {
	huge := strings.Repeat("tiktok ", 60<<10) // 420 KB, with spaces
	key := []byte(huge + ":x")
	value := []byte(`{"schema":1,"platform":"` + huge + `"}`)
	var hs []kafka.Header
	for i := 0; i < 100; i++ {
		hs = append(hs, kafka.Header{Key: fmt.Sprintf("h%d", i), Value: make([]byte, 1<<10)})
	}
	reason := fmt.Errorf("snapshot %s: platform: unknown %q", key, huge)
	d := deadletter.Letter(kafka.Message{Key: key, Value: value, Headers: hs}, "tongxin.snapshots.v1/3/17", reason)

	size := len(d.Key) + len(d.Value)
	for _, h := range d.Headers {
		size += len(h.Key) + len(h.Value)
	}
	if size > 300<<10 || len(d.Key) > deadletter.MaxKey || len(d.Value) > deadletter.MaxValue {
		t.Errorf("dead letter of %d bytes (key %d, value %d)", size, len(d.Key), len(d.Value))
	}
	r := header(d, deadletter.ReasonHeader)
	if len(r) > deadletter.MaxReason || !utf8.ValidString(r) {
		t.Errorf("reason of %d bytes (valid UTF-8: %v)", len(r), utf8.ValidString(r))
	}
	// The reason still says what is wrong, after the long quoted value.
	if !strings.Contains(r, `platform: unknown "tiktok tiktok`) || !strings.Contains(r, fmt.Sprintf("(%d bytes)", len(huge))) {
		t.Errorf("reason %q: want the unknown platform, cut, with its size %d", r, len(huge))
	}
	if got := header(d, deadletter.SourceHeader); got != "tongxin.snapshots.v1/3/17" {
		t.Errorf("source %q", got)
	}
	if got := header(d, deadletter.ValueSizeHeader); got != fmt.Sprint(len(value)) || len(header(d, deadletter.ValueSHA256Header)) != 64 {
		t.Errorf("value size %q and sha256 %q of a cut value", got, header(d, deadletter.ValueSHA256Header))
	}
	if got := header(d, deadletter.KeySizeHeader); got != fmt.Sprint(len(key)) {
		t.Errorf("key size %q", got)
	}
	if !strings.HasPrefix(string(d.Key), "tiktok tiktok") || !strings.Contains(string(d.Key), "…sha256:") {
		t.Errorf("key %q: want its start and a hash", d.Key)
	}
	if got := header(d, deadletter.HeadersDroppedHeader); got != "85" {
		t.Errorf("headers dropped %q, want 85 of 100 (16 KiB kept)", got)
	}
	if string(d.Value) != string(value[:deadletter.MaxValue]) {
		t.Error("the cut value is not the original's start")
	}
}

// A small message is kept as it was, with its reason and source added.
func TestLetterKeepsSmallMessagesWhole(t *testing.T) {
	m := kafka.Message{Key: []byte("douyin:bad1"), Value: []byte("{not json"), Headers: []kafka.Header{{Key: "trace", Value: []byte("1")}}}
	d := deadletter.Letter(m, "src", errors.New(`snapshot: not a valid snapshot object: invalid character 'n'`))
	if string(d.Key) != "douyin:bad1" || string(d.Value) != "{not json" || header(d, "trace") != "1" {
		t.Errorf("dead letter %q %q %v: want the original key, value and headers", d.Key, d.Value, d.Headers)
	}
	if got := header(d, deadletter.ReasonHeader); got != `snapshot: not a valid snapshot object: invalid character 'n'` {
		t.Errorf("reason %q", got)
	}
	for _, h := range []string{deadletter.ValueSizeHeader, deadletter.KeySizeHeader, deadletter.HeadersDroppedHeader} {
		if header(d, h) != "" {
			t.Errorf("header %s on a message that was not cut", h)
		}
	}
}

// Reasons of any shape stay within the bound: many short words, an
// unterminated quote, invalid UTF-8, many quotes.
func TestReasonBounded(t *testing.T) {
	for name, s := range map[string]string{
		"words":        strings.Repeat("ab ", 200<<10),
		"unterminated": `unknown "` + strings.Repeat("x", 100<<10),
		"binary":       string([]byte{0xff, 0xfe, 0x80}) + strings.Repeat("\xc3", 5000),
		"quotes":       strings.Repeat(`"a" `, 100<<10),
		"escapes":      `"` + strings.Repeat(`\"`, 50<<10) + `"`,
	} {
		r := deadletter.Reason(errors.New(s))
		if len(r) > deadletter.MaxReason || !utf8.ValidString(r) {
			t.Errorf("%s: reason of %d bytes (valid UTF-8 %v)", name, len(r), utf8.ValidString(r))
		}
	}
}

// Only a message's own faults are permanent; trouble that concerns every
// message alike is retried.
func TestPermanent(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{kafka.MessageTooLargeError{}, true},
		{kafka.MessageSizeTooLarge, true},
		{kafka.RecordListTooLarge, true},
		{fmt.Errorf("wrapped: %w", kafka.InvalidRecord), true},
		{kafka.NotLeaderForPartition, false},
		{kafka.TopicAuthorizationFailed, false},
		{kafka.Unknown, false},
		{errors.New("dial tcp 127.0.0.1:9: connection refused"), false},
	} {
		err, want := c.err, c.want
		if got := deadletter.Permanent(err); got != want {
			t.Errorf("Permanent(%v) = %v, want %v", err, got, want)
		}
	}
}
