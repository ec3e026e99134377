// Package snapshot defines the one thing that flows through tongxin: the
// observed counters of one post at one moment, as produced to
// tongxin.snapshots.v1 and written to ClickHouse.
package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// SchemaVersion is the value of the "schema" field this code writes and reads.
const SchemaVersion = 1

// Platform ids, as in CONTRACT.md.
const (
	Douyin         = "douyin"
	Weibo          = "weibo"
	WeChatChannels = "wechat_channels"
)

// Platforms lists every platform tongxin knows, in a stable order.
var Platforms = []string{Douyin, Weibo, WeChatChannels}

// Sources of a snapshot.
const (
	SourceAPI    = "api"
	SourceExport = "export"
	SourceSim    = "sim"
)

// States of a post. A snapshot without a state is of a live post (old
// producers never wrote one). A private or deleted post's snapshot carries
// no counters: the platform no longer tells them, and they are absent, never
// zero, so the rollups keep the post's last counters instead of seeing a
// drop to 0.
const (
	StateLive    = "live"
	StatePrivate = "private" // the author hid it (private, friends only, not public)
	StateDeleted = "deleted" // the author or the platform removed it
)

// Metrics are cumulative counters. A nil field is a metric the platform does
// not give: absent, never zero. Every field is listed in Counters or Gauges
// (metrics.go), which everything else iterates over.
type Metrics struct {
	Plays     *int64 `json:"plays,omitempty"`
	Likes     *int64 `json:"likes,omitempty"`
	Comments  *int64 `json:"comments,omitempty"`
	Shares    *int64 `json:"shares,omitempty"`
	Favorites *int64 `json:"favorites,omitempty"`

	// Platform extras, kept beside the core metrics.
	Forwards        *int64   `json:"forwards,omitempty"`
	Downloads       *int64   `json:"downloads,omitempty"`
	Recommends      *int64   `json:"recommends,omitempty"`
	CompletionRate  *float64 `json:"completion_rate,omitempty"`   // 0..1
	AvgWatchSeconds *float64 `json:"avg_watch_seconds,omitempty"` // seconds
}

// Snapshot is one metric snapshot of one post.
type Snapshot struct {
	Schema       int       `json:"schema"`
	Platform     string    `json:"platform"`
	AmbassadorID string    `json:"ambassador_id"`
	AccountID    string    `json:"account_id"`
	PostID       string    `json:"post_id"`
	PublishedAt  time.Time `json:"published_at"`
	ObservedAt   time.Time `json:"observed_at"`
	// State is "" (live), StateLive, StatePrivate or StateDeleted.
	State string `json:"state,omitempty"`
	Metrics
	Source string `json:"source"`
	// Facts are the post's title, link and topics, when this snapshot
	// carries them (see Facts); nil most of the time.
	Facts *Facts `json:"facts,omitempty"`
	// RepostOf, on every snapshot of an official account's repost (the
	// roster's officials), names the ambassador's post it reposted. Such a
	// snapshot is no ambassador's post: the aggregator writes it to
	// official_reposts and never into the rollups. Absent on every other
	// snapshot; schema stays 1.
	RepostOf *PostRef `json:"repost_of,omitempty"`
}

// PostRef names one post.
type PostRef struct {
	Platform string `json:"platform"`
	PostID   string `json:"post_id"`
}

// IsRepost reports whether the snapshot is of an official account's repost.
func (s *Snapshot) IsRepost() bool { return s.RepostOf != nil }

// WithoutReposts returns the snapshots of campaign posts among snaps —
// all but the official accounts' reposts, which no rollup, ledger or
// alert takes — in order; snaps itself when it holds no repost.
func WithoutReposts(snaps []*Snapshot) []*Snapshot {
	for i, s := range snaps {
		if s.IsRepost() {
			out := append(make([]*Snapshot, 0, len(snaps)-1), snaps[:i]...)
			for _, s := range snaps[i+1:] {
				if !s.IsRepost() {
					out = append(out, s)
				}
			}
			return out
		}
	}
	return snaps
}

// PostState is the post's state: StateLive when the snapshot names none.
func (s *Snapshot) PostState() string {
	if s.State == "" {
		return StateLive
	}
	return s.State
}

// HasCounters reports whether the snapshot carries any summable counter.
func (s *Snapshot) HasCounters() bool {
	for i := range Counters {
		if Counters[i].Get(&s.Metrics) != nil {
			return true
		}
	}
	return false
}

// Counter returns a pointer to an int64 value, for filling Metrics.
func Counter(v int64) *int64 { return &v }

// Key is the Kafka message key: one post's snapshots share it, so they stay
// in one partition and in order.
func (s *Snapshot) Key() string { return Key(s.Platform, s.PostID) }

// Key builds the message key of a post.
func Key(platform, postID string) string { return platform + ":" + postID }

// Validate reports what is wrong with a snapshot, naming each field: the
// bounds of rules.go, all but the one that needs a clock (ValidateAt).
func (s *Snapshot) Validate() error { return joinErrs(s.validate(time.Time{})) }

// ValidateAt is Validate that also rejects times later than now plus
// FutureMargin. now is the caller's clock: the campaign clock when the
// campaign is simulated, else the wall clock.
func (s *Snapshot) ValidateAt(now time.Time) error {
	if now.IsZero() {
		return errors.New("snapshot: ValidateAt needs a time")
	}
	return joinErrs(s.validate(now))
}

func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	sort.Strings(msgs) // one line, the same order every time
	return errors.New(strings.Join(msgs, "; "))
}

// KnownPlatform reports whether p is one of Platforms.
func KnownPlatform(p string) bool {
	for _, q := range Platforms {
		if p == q {
			return true
		}
	}
	return false
}

// Unmarshal decodes and validates a topic value. The error says what is wrong,
// so the message can go to the dead-letter topic with that reason.
func Unmarshal(b []byte) (*Snapshot, error) { return UnmarshalAt(b, time.Time{}) }

// UnmarshalAt is Unmarshal that also rejects times later than now plus
// FutureMargin (see ValidateAt); a zero now leaves that bound out.
func UnmarshalAt(b []byte, now time.Time) (*Snapshot, error) {
	var s Snapshot
	if !decodeFast(b, &s) {
		s = Snapshot{}
		if err := json.Unmarshal(b, &s); err != nil {
			// encoding/json's messages may quote the input (a time
			// string): keep a hostile one out of logs and headers.
			return nil, fmt.Errorf("snapshot: not a valid snapshot object: %s", clipMessage(err.Error()))
		}
	}
	if s.Schema == 0 {
		return nil, errors.New("snapshot: schema: missing")
	}
	if err := joinErrs(s.validate(now)); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", Clip(s.Key()), err)
	}
	return &s, nil
}
