// Package deadletter builds the messages of tongxin.deadletter.v1 and
// decides which Kafka errors are a message's own fault, for good. Both the
// producer (snapshots Kafka refuses) and the aggregator (snapshots it cannot
// read) use it, so a poison message costs one dead letter, never the
// pipeline: a dead letter is bounded whatever it quotes, so it fits the
// broker's default limit, and a message Kafka refuses for good is set aside
// instead of being retried forever.
package deadletter

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Headers of a dead letter (README changelog). The original's own headers
// come first, as they were.
const (
	// ReasonHeader says why the message could not be processed (at most MaxReason bytes).
	ReasonHeader = "tongxin-error"
	// SourceHeader says where it came from: topic/partition/offset for the
	// aggregator, "ingest:<topic>" for a snapshot the producer could not produce.
	SourceHeader = "tongxin-source"
	// When the value was cut to MaxValue: its original size in bytes and
	// the hex SHA-256 of the whole original value.
	ValueSizeHeader   = "tongxin-value-size"
	ValueSHA256Header = "tongxin-value-sha256"
	// When the key was shortened: the same of the original key.
	KeySizeHeader   = "tongxin-key-size"
	KeySHA256Header = "tongxin-key-sha256"
	// HeadersDroppedHeader counts the original headers left out beyond MaxHeaders.
	HeadersDroppedHeader = "tongxin-headers-dropped"
)

// The bounds of a dead letter: at most about 274 KiB in all, well below
// Kafka's default message.max.bytes (1 MiB) and kafka-go's default
// BatchBytes (1 MiB).
const (
	// MaxReason bounds the reason header; a long value quoted in the reason
	// is cut to its first QuoteKeep bytes and its size.
	MaxReason = 1 << 10
	QuoteKeep = 48
	// MaxKey bounds the key: a longer key becomes its first bytes, "…" and
	// the start of its SHA-256 (the whole hash in KeySHA256Header).
	MaxKey = 256
	// MaxValue bounds the value: a longer one keeps its first MaxValue bytes.
	MaxValue = 256 << 10
	// MaxHeaders bounds the original headers kept (keys and values).
	MaxHeaders = 16 << 10
	maxSource  = 256
)

// Letter returns the dead letter of m, which could not be processed because
// of reason; source says where m came from.
func Letter(m kafka.Message, source string, reason error) kafka.Message {
	d := kafka.Message{Key: Key(m.Key), Value: m.Value}
	var hs []kafka.Header
	size := 0
	for _, h := range m.Headers {
		size += len(h.Key) + len(h.Value)
		if size > MaxHeaders {
			break
		}
		hs = append(hs, h)
	}
	if dropped := len(m.Headers) - len(hs); dropped > 0 {
		hs = append(hs, header(HeadersDroppedHeader, strconv.Itoa(dropped)))
	}
	hs = append(hs, header(ReasonHeader, Reason(reason)), header(SourceHeader, cut(source, maxSource)))
	if len(m.Key) > MaxKey {
		hs = append(hs, header(KeySizeHeader, strconv.Itoa(len(m.Key))), header(KeySHA256Header, sum(m.Key)))
	}
	if len(m.Value) > MaxValue {
		d.Value = m.Value[:MaxValue]
		hs = append(hs, header(ValueSizeHeader, strconv.Itoa(len(m.Value))), header(ValueSHA256Header, sum(m.Value)))
	}
	d.Headers = hs
	return d
}

// Key bounds a message key: a key of at most MaxKey bytes stays as it is;
// a longer one becomes its first bytes, "…sha256:" and 16 hex digits of its
// SHA-256, MaxKey bytes at most.
func Key(k []byte) []byte {
	if len(k) <= MaxKey {
		return k
	}
	tail := "…sha256:" + sum(k)[:16]
	return append([]byte(cut(string(k), MaxKey-len(tail))), tail...)
}

// Reason renders err for the reason header and logs: at most MaxReason
// bytes of valid UTF-8. Every long value it quotes (a quoted string or a
// word over 2×QuoteKeep bytes) is cut to its first QuoteKeep bytes and its
// size; if it is still too long, its middle goes, since an error names
// where it happened first and what happened last.
func Reason(err error) string {
	if err == nil {
		return "unknown"
	}
	s := strings.ToValidUTF8(err.Error(), "\uFFFD")
	var b strings.Builder
	for i := 0; i < len(s); {
		j := tokenEnd(s, i)
		tok := s[i:j]
		if len(tok) > 2*QuoteKeep {
			if tok[0] == '"' {
				fmt.Fprintf(&b, "%s…\"(%d bytes)", cut(tok, QuoteKeep), len(tok)-2)
			} else {
				fmt.Fprintf(&b, "%s…(%d bytes)", cut(tok, QuoteKeep), len(tok))
			}
		} else {
			b.WriteString(tok)
		}
		i = j
	}
	out := b.String()
	if len(out) <= MaxReason {
		return out
	}
	const headBytes = MaxReason * 2 / 5
	head := cut(out, headBytes)
	tail := out[len(out)-(MaxReason-headBytes-32):]
	for len(tail) > 0 && !utf8.RuneStart(tail[0]) {
		tail = tail[1:]
	}
	return fmt.Sprintf("%s …(%d bytes)… %s", head, len(out)-len(head)-len(tail), tail)
}

// tokenEnd returns where the token starting at i ends: a quoted string
// with its quotes (to the end when unterminated), a run of spaces, or a run
// of anything else up to the next space or quote. Linear in all.
func tokenEnd(s string, i int) int {
	switch s[i] {
	case '"':
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(s)
	case ' ':
		j := i
		for j < len(s) && s[j] == ' ' {
			j++
		}
		return j
	}
	if k := strings.IndexAny(s[i:], ` "`); k >= 0 {
		return i + k
	}
	return len(s)
}

// cut returns at most n bytes of s, not splitting a character.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func header(k, v string) kafka.Header { return kafka.Header{Key: k, Value: []byte(v)} }

// HeaderValue returns the value of the first header named key, or "".
func HeaderValue(hs []kafka.Header, key string) string {
	for _, h := range hs {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Permanent reports whether Kafka refused a message for good: the same
// message can never be written, so it must be set aside, not retried.
// These are the message's own faults: larger than the client's BatchBytes
// or the topic's max.message.bytes, or an invalid record. Every other error
// — the network, a moving leader, a timeout, and also errors kafka-go does
// not call Temporary such as authorization, an unknown server error or a
// missing topic — concerns every message alike and is retried (each
// service's /healthz reports it), so a misconfiguration never turns the
// whole stream into dead letters.
//
// It reads the errors of both Kafka clients tongxin uses: kafka-go's and
// franz-go's (kerr), whose client-side refusal of a record over its
// ProducerBatchMaxBytes is kerr.MessageTooLarge too.
func Permanent(err error) bool {
	var tooLarge kafka.MessageTooLargeError
	if errors.As(err, &tooLarge) {
		return true
	}
	var fe *kerr.Error
	if errors.As(err, &fe) {
		switch fe {
		case kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidRecord,
			kerr.InvalidTimestamp, kerr.UnsupportedForMessageFormat:
			return true
		}
		return false
	}
	var ke kafka.Error
	if !errors.As(err, &ke) {
		return false
	}
	switch ke {
	case kafka.MessageSizeTooLarge, kafka.RecordListTooLarge, kafka.InvalidRecord,
		kafka.InvalidMessageSize, kafka.InvalidTimestamp, kafka.UnsupportedForMessageFormat:
		return true
	}
	return false
}

// Record is the franz-go record of letter m for topic.
func Record(topic string, m kafka.Message) *kgo.Record {
	r := &kgo.Record{Topic: topic, Key: m.Key, Value: m.Value}
	for _, h := range m.Headers {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return r
}
