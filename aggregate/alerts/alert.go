// Package alerts flags posts the publicity office should look at while it
// still matters: posts going viral, and posts that reach almost nobody.
// An alert opens once per post and kind, updates while it lasts, and
// resolves with hysteresis; each change is an Event, written to
// tongxin.alerts.v1 and the alerts table, and delivered by notify.
package alerts

import "time"

// Kinds of alert.
const (
	KindViral    = "viral"
	KindLowReach = "low_reach"
)

// States of an alert event.
const (
	StateOpen     = "open"
	StateUpdate   = "update"
	StateResolved = "resolved"
)

// Event is one change of one alert: the value of a tongxin.alerts.v1
// message (JSON, keyed <platform>:<post_id>) and one row of the alerts table.
type Event struct {
	Schema       int        `json:"schema"` // 1
	AlertID      string     `json:"alert_id"`
	Kind         string     `json:"kind"`  // viral, low_reach
	State        string     `json:"state"` // open, update, resolved
	Platform     string     `json:"platform"`
	AmbassadorID string     `json:"ambassador_id"`
	PostID       string     `json:"post_id"`
	PublishedAt  time.Time  `json:"published_at"`
	OpenedAt     time.Time  `json:"opened_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	ResolvedAt   *time.Time `json:"resolved_at,omitempty"`
	// Reason explains the alert in words an office clerk understands, e.g.
	// "38,000 plays in the last hour, 9× this ambassador's usual at 3 h old".
	Reason string `json:"reason"`
	// Score is the rule's measure: over-performance (actual ÷ expected) for
	// viral, the percentile among comparable posts for low reach.
	Score float64 `json:"score"`
	// DataAge is how old the newest snapshot behind the alert was when it
	// was judged: the alert says how fresh its data was.
	DataAge time.Duration `json:"data_age_ns"`
	// Plays is the post's plays (or likes where a platform has no plays)
	// when judged.
	Plays int64 `json:"plays"`
}

// Key is the Kafka key of the event.
func (e *Event) Key() string { return e.Platform + ":" + e.PostID }
