package snapshot

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The bounds of what a snapshot may say. Validate applies them, and every
// entry point calls Validate: the adapters on what they emit, the export
// importer on every row, the aggregator on every message. This file is the
// one place that owns them.

// FutureMargin is how far after its judge's "now" a time may lie: 10
// minutes of the judge's clock (the campaign clock when the campaign is
// simulated, else the wall clock), for clocks of separate machines that
// disagree a little. Anything later is a wrong clock or a wrong file name;
// accepted, it would freeze its post, as every later real snapshot would
// look older.
const FutureMargin = 10 * time.Minute

// MaxTime bounds every time whatever the clock says: ClickHouse's DateTime
// (post_hourly.hour) counts seconds since 1970 in 32 bits and wraps after
// 2106-02-07 06:28:15 UTC, so a later time would silently land in 1970.
var MaxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// MaxAvgWatchSeconds bounds avg_watch_seconds: an average watch cannot be
// longer than the video, and none of these platforms hosts videos near a
// day long (their longest uploads and live replays run a few hours).
const MaxAvgWatchSeconds = 24 * 60 * 60

// Counter limits. Tallies on these platforms top out in the low billions
// (the most played Douyin videos have a few billion plays; the campaign's
// whole topic 12.3 million), so a counter beyond the limit is a parsing
// accident or garbage, never a post. The limits also keep every sum exact:
// post_hourly holds signed Int64 deltas, and sum() over a post gives its
// latest counter, at most MaxPlays = 1e12; int64 holds 9.2e18, so campaign
// totals stay exact for up to 9.2 million posts all at the limit — the
// campaign has 50 ambassadors and a few thousand posts. A delta, the
// difference of two bounded counters, cannot overflow either.
const (
	MaxPlays   = 1_000_000_000_000 // 1e12
	MaxCounter = 100_000_000_000   // 1e11: likes, comments, shares, favorites and the extras
)

// Rules are one platform's bounds.
type Rules struct {
	// Launched is the platform's era floor: no post can be published, or
	// observed, before the platform existed. It also rejects the zero
	// times of a missing field that slipped through (1970, year 1).
	Launched time.Time
	// MaxPlays bounds plays; MaxCounter every other counter.
	MaxPlays, MaxCounter int64
	// PostID and AccountID check the platform's id formats.
	PostID, AccountID func(string) error
}

// PlatformRules are the bounds per platform. The id formats and their
// sources:
//
//   - douyin post_id: the Open Platform's item_id, "@" and base64 (the
//     docs' and SDK samples' "@9VwKzuuES8gmaHHgMoBgQc780mDqPP+KPpR…==", 89
//     bytes), or the plain numeric id (明文 item_id / video_id, 19 digits)
//     newer endpoints take; at most 128 bytes. account_id: the open_id,
//     letters, digits, _ - . (the docs show "_000…" and UUID-shaped ones),
//     at most 128 bytes.
//   - weibo post_id and account_id: status id (id / mid / idstr) and uid,
//     int64 in the Open API v2 (open.weibo.com/wiki: "id int64 微博ID",
//     "idstr string 字符串型的微博ID"): decimal digits without a leading
//     zero, at most 9223372036854775807.
//   - wechat_channels post_id: the console's 视频ID / the feed's export_id,
//     "export/UzFf…" in base64 or base64url (50–110 bytes seen), or a
//     numeric objectId; letters, digits, / + = _ -, at most 256 bytes.
//     account_id: the finder id ("sph…", or "v2_…@finder"), letters,
//     digits, _ - . @, at most 128 bytes (Tencent's Marketing API bounds
//     wechat_channels_account_id to 128 bytes).
//
// Era floors are the first of the month each platform launched: Weibo
// August 2009, Douyin September 2016, WeChat Channels January 2020.
var PlatformRules = map[string]Rules{
	Douyin: {
		Launched: time.Date(2016, 9, 1, 0, 0, 0, 0, time.UTC),
		MaxPlays: MaxPlays, MaxCounter: MaxCounter,
		PostID: func(id string) error {
			if len(id) > 0 && id[0] == '@' {
				if err := idChars(id, 2, 128, "an item_id ('@' and base64)", func(c byte) bool { return c == '@' || base64Char(c) }); err != nil {
					return err
				}
				if i := strings.LastIndexByte(id, '@'); i > 0 {
					return fmt.Errorf("%s: byte %d ('@') is not allowed in an item_id ('@' and base64)", Clip(id), i)
				}
				return nil
			}
			return idChars(id, 1, 20, "an item_id ('@' and base64, or decimal digits)", digit)
		},
		AccountID: func(id string) error {
			return idChars(id, 1, 128, "an open_id (letters, digits, _ - .)", func(c byte) bool { return alnum(c) || c == '_' || c == '-' || c == '.' })
		},
	},
	Weibo: {
		Launched: time.Date(2009, 8, 1, 0, 0, 0, 0, time.UTC),
		MaxPlays: MaxPlays, MaxCounter: MaxCounter,
		PostID:    func(id string) error { return int64ID(id, "a status id") },
		AccountID: func(id string) error { return int64ID(id, "a uid") },
	},
	WeChatChannels: {
		Launched: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		MaxPlays: MaxPlays, MaxCounter: MaxCounter,
		PostID: func(id string) error {
			return idChars(id, 1, 256, "an export id (letters, digits, / + = _ -)", base64Char)
		},
		AccountID: func(id string) error {
			return idChars(id, 1, 128, "a finder id (letters, digits, _ - . @)", func(c byte) bool { return alnum(c) || c == '_' || c == '-' || c == '.' || c == '@' })
		},
	},
}

// ValidAmbassadorID checks an ambassador id: the roster's rule, letters,
// digits, _ . - and at most 64 bytes.
func ValidAmbassadorID(id string) error {
	return idChars(id, 1, 64, "an ambassador id (letters, digits, _ . -)", func(c byte) bool { return alnum(c) || c == '_' || c == '-' || c == '.' })
}

// validate checks s against the rules; a zero now leaves out the bound
// that needs a clock.
func (s *Snapshot) validate(now time.Time) []error {
	var errs []error
	add := func(field string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
	}
	if s.Schema != SchemaVersion {
		errs = append(errs, fmt.Errorf("schema: unsupported version %d (this build reads %d)", s.Schema, SchemaVersion))
	}
	rules, known := PlatformRules[s.Platform]
	if !known {
		errs = append(errs, fmt.Errorf("platform: unknown %s", Clip(s.Platform)))
	}
	if s.PostID == "" {
		add("post_id", errors.New("empty"))
	} else if known {
		add("post_id", rules.PostID(s.PostID))
	}
	if s.AccountID == "" {
		add("account_id", errors.New("empty"))
	} else if known {
		add("account_id", rules.AccountID(s.AccountID))
	}
	if s.AmbassadorID == "" {
		add("ambassador_id", errors.New("empty"))
	} else {
		add("ambassador_id", ValidAmbassadorID(s.AmbassadorID))
	}
	if r := s.RepostOf; r != nil {
		// A repost reposts a post of its own platform (Weibo's
		// retweeted_status is a Weibo status).
		switch {
		case r.Platform != s.Platform:
			errs = append(errs, fmt.Errorf("repost_of.platform: %s is not the snapshot's platform %s", Clip(r.Platform), Clip(s.Platform)))
		case r.PostID == "":
			errs = append(errs, errors.New("repost_of.post_id: empty"))
		case known:
			if err := rules.PostID(r.PostID); err != nil {
				errs = append(errs, fmt.Errorf("repost_of.post_id: %w", err))
			}
		}
	}
	switch s.State {
	case "", StateLive, StatePrivate, StateDeleted:
	default:
		errs = append(errs, fmt.Errorf("state: unknown %s (want live, private or deleted)", Clip(s.State)))
	}
	switch s.Source {
	case SourceAPI, SourceExport, SourceSim:
	default:
		errs = append(errs, fmt.Errorf("source: unknown %s", Clip(s.Source)))
	}

	// Times: within the platform's era, before MaxTime, and not after now
	// (and published_at not after observed_at) beyond FutureMargin.
	floor, ceiling := ObservedWindow(s.Platform, now)
	inWindow := func(field string, t, ceiling time.Time, what string) {
		switch {
		case t.IsZero():
			add(field, errors.New("missing"))
		case t.Before(floor):
			add(field, fmt.Errorf("%s is before %s, when %s began", t.UTC().Format(time.RFC3339), floor.Format("2006-01-02"), platformName(s.Platform)))
		case t.After(ceiling):
			add(field, fmt.Errorf("%s is after %s (%s)", t.UTC().Format(time.RFC3339), ceiling.UTC().Format(time.RFC3339), what))
		}
	}
	future := "the latest time a snapshot may carry"
	if ceiling != MaxTime {
		future = "now plus " + FutureMargin.String() + ": a wrong clock or file name?"
	}
	inWindow("observed_at", s.ObservedAt, ceiling, future)
	pubCeiling := ceiling
	if !s.ObservedAt.IsZero() && s.ObservedAt.Add(FutureMargin).Before(pubCeiling) {
		pubCeiling, future = s.ObservedAt.Add(FutureMargin), "observed_at plus "+FutureMargin.String()+": published after it was seen?"
	}
	inWindow("published_at", s.PublishedAt, pubCeiling, future)

	// Counters: 0 ≤ v ≤ the platform's limit; gauges: 0 ≤ v ≤ their Max.
	if !known {
		rules = Rules{MaxPlays: MaxPlays, MaxCounter: MaxCounter}
	}
	for i := range Counters {
		c := &Counters[i]
		switch v, max := c.Get(&s.Metrics), c.Max(rules); {
		case v == nil:
		case *v < 0:
			add(c.Name, fmt.Errorf("negative counter %d", *v))
		case *v > max:
			add(c.Name, fmt.Errorf("%d is beyond the plausible %d for %s", *v, max, platformName(s.Platform)))
		}
	}
	for i := range Gauges {
		g := &Gauges[i]
		if v := g.Get(&s.Metrics); v != nil && !(*v >= 0 && *v <= g.Max) { // NaN fails both
			add(g.Name, fmt.Errorf("%g is not within 0..%g%s", *v, g.Max, g.Unit))
		}
	}
	return errs
}

// ObservedWindow is when a snapshot of the platform may be observed, judged
// at now: from the platform's launch to now plus FutureMargin (to MaxTime
// when now is zero).
func ObservedWindow(platform string, now time.Time) (floor, ceiling time.Time) {
	floor = PlatformRules[Weibo].Launched // the earliest platform
	if r, ok := PlatformRules[platform]; ok {
		floor = r.Launched
	}
	ceiling = MaxTime
	if !now.IsZero() && now.Add(FutureMargin).Before(ceiling) {
		ceiling = now.Add(FutureMargin)
	}
	return floor, ceiling
}

func platformName(p string) string {
	if _, ok := PlatformRules[p]; ok {
		return p
	}
	return "the platform"
}

// idChars checks an id's length in bytes and that every byte is allowed;
// what names the id and its characters: "an open_id (letters, digits, …)".
func idChars(id string, minLen, maxLen int, what string, ok func(byte) bool) error {
	switch {
	case len(id) < minLen:
		return fmt.Errorf("%s is %d bytes; %s has at least %d", Clip(id), len(id), what, minLen)
	case len(id) > maxLen:
		return fmt.Errorf("%s is %d bytes; %s has at most %d", Clip(id), len(id), what, maxLen)
	}
	for i := 0; i < len(id); i++ {
		if !ok(id[i]) {
			return fmt.Errorf("%s: byte %d (%q) is not allowed in %s", Clip(id), i, id[i], what)
		}
	}
	return nil
}

// int64ID checks a positive decimal id that fits an int64.
func int64ID(id, what string) error {
	// The error is made only when the id is wrong: this runs twice for
	// every Weibo snapshot decoded.
	bad := func() error {
		return fmt.Errorf("%s is not %s: want decimal digits without a leading zero, at most %d", Clip(id), what, int64(math.MaxInt64))
	}
	if id == "" || len(id) > 19 || id[0] == '0' {
		return bad()
	}
	for i := 0; i < len(id); i++ {
		if !digit(id[i]) {
			return bad()
		}
	}
	if _, perr := strconv.ParseInt(id, 10, 64); perr != nil {
		return bad()
	}
	return nil
}

func digit(c byte) bool { return c >= '0' && c <= '9' }
func alnum(c byte) bool { return digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func base64Char(c byte) bool {
	return alnum(c) || c == '+' || c == '/' || c == '=' || c == '_' || c == '-'
}

// clipLen is how much of a value an error message repeats.
const clipLen = 64

// Clip quotes a value for an error message, cut to its first 64 bytes: a
// hostile 10-megabyte id must not become a 10-megabyte log line or Kafka
// header.
func Clip(v string) string {
	if len(v) <= clipLen {
		return strconv.Quote(v)
	}
	cut := clipLen
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", strconv.Quote(v[:cut]), len(v))
}

// clipMessage cuts an error message to 256 bytes.
func clipMessage(m string) string {
	if len(m) <= 256 {
		return m
	}
	cut := 256
	for cut > 0 && !utf8.RuneStart(m[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", m[:cut], len(m))
}
