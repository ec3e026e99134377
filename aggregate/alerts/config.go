package alerts

import (
	"time"

	"github.com/tongxin/tongxin/snapshot"
)

// Config holds every tunable of the Detector; a zero field takes its
// default (DefaultConfig). The defaults were tuned on replays of simulator
// seeds 101–105 and are checked on seeds 1–5 (see eval_test.go); the
// low-reach rule was retuned on whole-pipeline runs of seeds 101–105 and
// 201–205 and is checked on seeds 301–305 (internal/e2e/alertquality_test.go,
// `make eval-alerts`).
//
// # The reach measure
//
// Every rule works on one cumulative counter per post, its reach measure
// (ReachMetric): plays on Douyin and WeChat Channels, likes (attitudes) on
// Weibo, which gives no plays (reads only through commercial endpoints for
// some accounts). Likes are a roughly fixed share of reads, so "9× the
// likes this ambassador's posts usually have at 3 h" means what it would
// for plays. Posts are only compared with posts of the same platform, so
// plays and likes never mix. A snapshot without the measure is ignored.
//
// # Checkpoints
//
// A post's counter is recorded at fixed ages (Checkpoints, default 1 h, 3 h,
// 6 h, 12 h, 24 h, 48 h, 72 h; LowReachAges are added), interpolated
// linearly between the two snapshots around the age; publication counts as
// a snapshot of 0. A checkpoint c is measured only when the snapshot before
// it is at most tol(c) older and the one after it at most tol(c) younger,
// tol(c) = max(CheckpointSlack, CheckpointTolerance × c) (45 min; a quarter
// of the age). Otherwise it is missing — the post was not polled near that
// age (quota exhausted, platform errors, found late) — and no rule uses it:
// a post whose data is stale or missing at a checkpoint gets no low-reach
// alert for that age, and does not count as a comparable there.
//
// # Baselines: what is usual
//
// Comparable posts at checkpoint c are, in order of preference:
//   - own: the ambassador's OwnPosts (20) most recent posts on the platform
//     with c measured, if there are at least MinOwnPosts (5) besides the
//     judged post;
//   - campaign: else the platform's CampaignPosts (300) most recent posts
//     with c measured (at least MinCampaignPosts, 8), each divided by its
//     ambassador's reach factor; the result is multiplied by the judged
//     post's ambassador's reach factor. An ambassador's reach factor is the
//     median counter of their mature posts (first seen at least MatureAge,
//     72 h, old) ÷ the median of all the platform's mature posts, or 1 with
//     fewer than MinReachPosts (3) mature posts. It makes a local
//     celebrity's ordinary post ordinary and a small account's good post
//     good before the ambassador has young posts of their own to compare.
//
// The judged post itself is always left out. "Expected" is the robust mean
// of the comparables: the interquartile mean (the mean of the middle half).
// The expected counter at an age between checkpoints is interpolated
// linearly (from 0 at publication below the first), never falling from one
// checkpoint to the next; beyond the last checkpoint it stays flat. The
// expected pace over a checkpoint interval is the interquartile mean of the
// comparables' own gains over it (posts measured at both ends) ÷ its
// length — while too few posts have both (a cold start), the average pace
// from publication to the interval's end, which errs towards no alert. The
// pace is taken to hold at each interval's middle and to change
// geometrically in between (posts slow down roughly exponentially); the
// expected gain over any span of ages is its integral, nothing beyond the
// last checkpoint.
//
// # Viral: a post taking off
//
// Judged on each new snapshot of a post between ViralMinAge (30 min) and
// MaxAlertAge (72 h) old, at the post's age a at that snapshot:
//
//	ratio    = actual(a) ÷ expected(a)                 over-performance (CrowdTangle)
//	velocity = gain since the reference snapshot ÷ its span, per hour, where the
//	           reference is the newest snapshot at least VelocityWindow (1 h)
//	           older (publication when there is none): two real observations
//	vratio   = velocity ÷ the expected velocity over the same ages (NewsWhip),
//	           the latter at least MinExpectedGrowth (2%) of expected(a) an hour
//	accel    = velocity ÷ the post's own velocity over the window before
//	extra    = velocity − expected velocity
//	floors   = actual ≥ Floors[platform].Total and extra ≥ Floors[platform].PerHour
//	hot      = floors and (ratio ≥ ViralRatio (1) and vratio ≥ ViralVelocityRatio (20) and confirmed
//	                       or vratio ≥ ViralAccelVelocityRatio (5) and accel ≥ ViralAcceleration (3))
//	confirmed = the own baseline judged, or accel ≥ ViralCampaignAcceleration (1)
//
// In words: at least as many plays as usual for its age and gaining 20×
// faster than usual — or 5× faster than usual and 3× faster than itself an
// hour before (a post speeding up is what taking off looks like). Against
// the campaign's baseline the first way also needs the post not to be
// slowing down (accel from two of its own snapshots): that usual is a
// guess, scaled by a reach factor from few posts or none, and an ordinary
// post slows down from the start (its pace falls as its counter nears its
// final value), while a post taking off speeds up. On whole-pipeline runs
// every false viral alert was an ordinary post of an account the campaign
// baseline underrated, 5–70× "usual" and slowing down (seeds 301–305:
// precision 0.74 before, 1.00 after on replays of the same runs). The
// floors (Douyin 1,500 plays and 500 an hour more than usual; Weibo 60
// likes and 20; WeChat Channels 600 plays and 200) keep a small account's
// tiny numbers from ever alerting; the ambassador's own baseline keeps a
// big account from always being viral.
//
// A viral alert opens when the post is hot. While open it updates when the
// ratio or the counter moved by UpdateFactor (1.5×) since its last event,
// at most once per UpdateEvery (30 min). It resolves once the post has been
// cool — vratio below ViralResolveVelocityRatio (2) or extra below the
// PerHour floor — on every judgement for ViralResolveAfter (6 h): the surge
// is over. Between the open and the resolve thresholds nothing changes, so
// a post hovering around them does not flap. Score is the ratio.
//
// # Low reach: a post nobody sees
//
// Judged when a post's checkpoint at one of LowReachAges (every checkpoint
// up to 72 h) is measured, against the comparables at that checkpoint: the
// post's percentile among them (mid-rank, 0–100; reach-normalised for the
// campaign's) and its share of the expected counter. It is low when the
// percentile is at most LowReachPercentile (10) and the share at most the
// share allowed at that age: LowReachYoungShare (3%) at 1 h and younger,
// LowReachMaxShare (9%) at LowReachMatureAge (72 h) and older, log-linear
// in age between (6 h: 5.5%, 24 h: 7.5%). A young post's counter says as
// much about how fast it starts as about how many will see it — a slow
// starter is not a flop — so a young post must be further below the usual
// to be called one; measured on whole-pipeline runs (internal/e2e
// TestAlertQuality) most false alarms were slow starters at 1 h and 6 h
// with 5–10% of the usual. A post is judged again at every later
// checkpoint, so a flop that was not clear at 1 h is flagged when it is.
// A post is also low when it ranks at the very bottom — percentile at most
// LowReachBottomPercentile (3) among at least LowReachBottomMin (20)
// comparables — with at most LowReachBottomFactor (1.2) times the share
// allowed at its age: among that many posts, last place is evidence of its
// own.
// Not judged while the expected counter is below
// LowReachMinExpected[platform] (Douyin 100 plays, Weibo 30 likes, WeChat
// Channels 50 plays): too few to tell a flop from a slow start (a Weibo post
// with 1 like where 15 are usual is not yet news). A low post opens an
// alert, or updates its open one. An open low-reach alert resolves at any
// later checkpoint where the post ranks at or above
// LowReachResolvePercentile (25) with at least LowReachResolveShare (50%)
// of the expected counter: it recovered. Score is the percentile.
//
// # Lifetime, restarts and memory
//
// Alerts open only for posts younger than MaxAlertAge (72 h); an alert still
// open when its post is ExpireAfter (7 days) old resolves with a reason
// saying so. Every event carries DataAge, the age of the post's newest
// snapshot when judged, and says it in its Reason. One alert per post and
// kind is open at a time; Restore brings open alerts back under their ids.
// Per post the Detector keeps its checkpoint values, the counter when first
// mature, and the snapshots covering two velocity windows (at most
// SeriesMax, 48); posts published more than Horizon (30 days) ago are
// dropped. Every duration here is campaign time: post ages and the
// snapshots' observed_at, on the campaign clock.
type Config struct {
	Checkpoints         []time.Duration // ages a post's counter is recorded at
	CheckpointTolerance float64         // tol(c) = max(CheckpointSlack, CheckpointTolerance × c)
	CheckpointSlack     time.Duration

	OwnPosts         int           // the ambassador's most recent posts compared
	MinOwnPosts      int           // fewer: the campaign's baseline
	CampaignPosts    int           // the platform's most recent posts compared
	MinCampaignPosts int           // fewer: not judged
	MatureAge        time.Duration // a post this old counts towards its ambassador's reach factor
	MinReachPosts    int           // mature posts an ambassador needs for a reach factor

	MaxAlertAge time.Duration // no alert opens for an older post
	ExpireAfter time.Duration // an alert still open resolves when its post is this old
	Horizon     time.Duration // posts published longer ago are forgotten
	SeriesMax   int           // snapshots kept per post

	ViralMinAge               time.Duration
	ViralRatio                float64 // with ViralVelocityRatio
	ViralVelocityRatio        float64
	ViralAccelVelocityRatio   float64 // with ViralAcceleration
	ViralAcceleration         float64
	ViralCampaignAcceleration float64 // a campaign-baseline judgement's ratio path also needs accel ≥ this
	VelocityWindow            time.Duration
	MinExpectedGrowth         float64          // floor of the expected velocity: this share of expected(a) an hour
	Floors                    map[string]Floor // by platform
	ViralResolveVelocityRatio float64
	ViralResolveAfter         time.Duration
	UpdateFactor              float64
	UpdateEvery               time.Duration

	LowReachAges              []time.Duration
	LowReachPercentile        float64            // 0–100
	LowReachMaxShare          float64            // of the expected counter, at LowReachMatureAge and older
	LowReachYoungShare        float64            // of the expected counter, at 1 h and younger
	LowReachMatureAge         time.Duration      // log-linear from LowReachYoungShare at 1 h to LowReachMaxShare here
	LowReachBottomPercentile  float64            // 0–100: also low at or below it, with LowReachBottomFactor
	LowReachBottomFactor      float64            // times the share allowed at the age
	LowReachBottomMin         int                // comparables the bottom rule needs
	LowReachMinExpected       map[string]float64 // by platform
	LowReachResolvePercentile float64
	LowReachResolveShare      float64

	// ReachMetric names each platform's reach measure: MetricPlays or MetricLikes.
	ReachMetric map[string]string
}

// Floor is a platform's absolute floor for a viral alert, in its reach
// measure: the post must have at least Total in all, and be gaining at
// least PerHour more per hour than the usual pace.
type Floor struct {
	Total   int64
	PerHour float64
}

// Reach measures.
const (
	MetricPlays = "plays"
	MetricLikes = "likes"
)

// DefaultConfig returns the defaults, documented on Config.
func DefaultConfig() Config {
	return Config{
		Checkpoints:         []time.Duration{time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 72 * time.Hour},
		CheckpointTolerance: 0.25,
		CheckpointSlack:     45 * time.Minute,

		OwnPosts:         20,
		MinOwnPosts:      5,
		CampaignPosts:    300,
		MinCampaignPosts: 8,
		MatureAge:        72 * time.Hour,
		MinReachPosts:    3,

		MaxAlertAge: 72 * time.Hour,
		ExpireAfter: 7 * 24 * time.Hour,
		Horizon:     30 * 24 * time.Hour,
		SeriesMax:   48,

		ViralRatio:                1,
		ViralVelocityRatio:        20,
		ViralAccelVelocityRatio:   5,
		ViralAcceleration:         3,
		ViralCampaignAcceleration: 1,
		VelocityWindow:            time.Hour,
		MinExpectedGrowth:         0.02,
		ViralMinAge:               30 * time.Minute,
		Floors: map[string]Floor{
			snapshot.Douyin:         {Total: 1500, PerHour: 500},
			snapshot.Weibo:          {Total: 60, PerHour: 20},
			snapshot.WeChatChannels: {Total: 600, PerHour: 200},
		},
		ViralResolveVelocityRatio: 2,
		ViralResolveAfter:         6 * time.Hour,
		UpdateFactor:              1.5,
		UpdateEvery:               30 * time.Minute,

		LowReachAges:       []time.Duration{time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 72 * time.Hour},
		LowReachPercentile: 10,
		LowReachMaxShare:   0.09,
		LowReachYoungShare: 0.03,
		LowReachMatureAge:  72 * time.Hour,

		LowReachBottomPercentile: 3,
		LowReachBottomFactor:     1.2,
		LowReachBottomMin:        20,
		LowReachMinExpected: map[string]float64{
			snapshot.Douyin:         100,
			snapshot.Weibo:          30,
			snapshot.WeChatChannels: 50,
		},
		LowReachResolvePercentile: 25,
		LowReachResolveShare:      0.5,

		ReachMetric: map[string]string{
			snapshot.Douyin:         MetricPlays,
			snapshot.Weibo:          MetricLikes,
			snapshot.WeChatChannels: MetricPlays,
		},
	}
}

// withDefaults fills the zero fields of c from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if len(c.Checkpoints) == 0 {
		c.Checkpoints = d.Checkpoints
	}
	setF := func(v *float64, def float64) {
		if *v <= 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setI := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setF(&c.CheckpointTolerance, d.CheckpointTolerance)
	setD(&c.CheckpointSlack, d.CheckpointSlack)
	setI(&c.OwnPosts, d.OwnPosts)
	setI(&c.MinOwnPosts, d.MinOwnPosts)
	setI(&c.CampaignPosts, d.CampaignPosts)
	setI(&c.MinCampaignPosts, d.MinCampaignPosts)
	setD(&c.MatureAge, d.MatureAge)
	setI(&c.MinReachPosts, d.MinReachPosts)
	setD(&c.MaxAlertAge, d.MaxAlertAge)
	setD(&c.ExpireAfter, d.ExpireAfter)
	setD(&c.Horizon, d.Horizon)
	setI(&c.SeriesMax, d.SeriesMax)
	setF(&c.ViralRatio, d.ViralRatio)
	setF(&c.ViralVelocityRatio, d.ViralVelocityRatio)
	setF(&c.ViralAccelVelocityRatio, d.ViralAccelVelocityRatio)
	setF(&c.ViralAcceleration, d.ViralAcceleration)
	setF(&c.ViralCampaignAcceleration, d.ViralCampaignAcceleration)
	setD(&c.VelocityWindow, d.VelocityWindow)
	setF(&c.MinExpectedGrowth, d.MinExpectedGrowth)
	setD(&c.ViralMinAge, d.ViralMinAge)
	if c.Floors == nil {
		c.Floors = d.Floors
	}
	setF(&c.ViralResolveVelocityRatio, d.ViralResolveVelocityRatio)
	setD(&c.ViralResolveAfter, d.ViralResolveAfter)
	setF(&c.UpdateFactor, d.UpdateFactor)
	setD(&c.UpdateEvery, d.UpdateEvery)
	if len(c.LowReachAges) == 0 {
		c.LowReachAges = d.LowReachAges
	}
	setF(&c.LowReachPercentile, d.LowReachPercentile)
	setF(&c.LowReachMaxShare, d.LowReachMaxShare)
	setF(&c.LowReachYoungShare, d.LowReachYoungShare)
	setD(&c.LowReachMatureAge, d.LowReachMatureAge)
	setF(&c.LowReachBottomPercentile, d.LowReachBottomPercentile)
	setF(&c.LowReachBottomFactor, d.LowReachBottomFactor)
	setI(&c.LowReachBottomMin, d.LowReachBottomMin)
	if c.LowReachMinExpected == nil {
		c.LowReachMinExpected = d.LowReachMinExpected
	}
	setF(&c.LowReachResolvePercentile, d.LowReachResolvePercentile)
	setF(&c.LowReachResolveShare, d.LowReachResolveShare)
	if c.ReachMetric == nil {
		c.ReachMetric = d.ReachMetric
	}
	c.ExpireAfter = min(c.ExpireAfter, c.Horizon)
	return c
}
