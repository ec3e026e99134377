package alerts

import (
	"time"

	"github.com/tongxin/tongxin/snapshot"
)

// Config holds every tunable of the Detector. The zero value of a field
// means its default (see DefaultConfig); DefaultConfig documents the rules.
//
// # The reach measure
//
// Every rule works on one cumulative counter per post, its reach measure:
// plays on Douyin and WeChat Channels, likes (attitudes) on Weibo, which
// gives no plays (reads only through commercial endpoints for some
// accounts). Likes are a fixed-ish share of reads, so "this post has 9× the
// likes this ambassador's posts usually have at 3 h" means the same as it
// would for plays. Posts are only ever compared with posts of the same
// platform, so plays and likes are never mixed.
//
// # Checkpoints and baselines
//
// A post's counter is recorded at fixed ages (Checkpoints: 1 h, 3 h, 6 h,
// 12 h, 24 h, 48 h, 72 h), interpolated linearly between the two snapshots
// around the age (publication counts as a snapshot of 0). A checkpoint is
// measured only when a snapshot lies at most tol before it and one at most
// tol after it, tol = max(CheckpointSlack, CheckpointTolerance × age); else
// it is "missing" (the post was not polled near that age: quota exhausted,
// platform errors) and no rule uses it.
//
// The expected counter of a post at age a is a robust mean — the
// interquartile mean (mean of the middle half) — of comparable posts'
// counters at the checkpoint ages, interpolated linearly between
// checkpoints (from 0 at publication below the first one; unknown beyond the
// last measured one, when the post is not judged):
//   - own baseline: the ambassador's OwnPosts most recent other posts on the
//     platform that have the checkpoint measured, if there are at least
//     MinOwnPosts of them at both checkpoints around a;
//   - else the campaign baseline: the platform's CampaignPosts most recent
//     posts with the checkpoint measured (at least MinCampaignPosts), each
//     divided by its ambassador's reach factor, times this ambassador's
//     reach factor. The reach factor of an ambassador is the median latest
//     counter of their mature posts (older than MatureAge) ÷ the median of
//     all the platform's mature posts (1 when they have fewer than
//     MinReachPosts mature posts). It makes a local celebrity's ordinary post
//     ordinary and a small account's good post good, before the ambassador
//     has enough young posts of their own.
//
// # Viral
//
// Judged on each new snapshot of a post younger than MaxAlertAge, at the
// post's age a when observed:
//
//	ratio    = actual(a) ÷ expected(a)                  (CrowdTangle over-performance)
//	velocity = gain over the last VelocityWindow ÷ window, interpolated from the snapshots
//	vratio   = velocity ÷ expected velocity at a        (NewsWhip-style), where the
//	           expected velocity is (expected(a) − expected(a−window)) ÷ window,
//	           but at least MinExpectedGrowth × expected(a) per hour (old posts'
//	           expected curve is nearly flat)
//	hot      = ratio ≥ ViralRatio and vratio ≥ ViralVelocityRatio and
//	           actual − expected ≥ Floor.Gain and velocity ≥ Floor.PerHour
//
// A viral alert opens when the post is hot. While open it updates when the
// counter or the ratio moved by UpdateFactor since the last event (at most
// once per UpdateEvery). It resolves once the post has been cool — vratio
// below ViralResolveVelocityRatio or velocity below Floor.PerHour — on every
// judgement for at least ViralResolveAfter: the surge is over. The floors
// keep a small account's tiny numbers from alerting; the per-ambassador
// baseline keeps a big account from always being viral.
//
// # Low reach
//
// Judged when a post's checkpoint at one of LowReachAges (1 h, 6 h, 24 h) is
// measured: the post's percentile among the comparable posts at that age
// (the same set as the baseline: own posts, else the campaign's, reach
// normalised) and its share of the expected counter. It is low when the
// percentile is at most LowReachPercentile and the share at most
// LowReachMaxShare. A low post opens an alert (or updates an open one). An
// open low-reach alert resolves at any later checkpoint where the post
// ranks at or above LowReachResolvePercentile and reaches
// LowReachResolveShare of the expected counter: it recovered.
//
// A missing checkpoint (no snapshot within tol of it, or the newest snapshot
// before it older than tol) is never judged: a post whose data is stale or
// missing gets no low-reach alert for that age.
//
// # Lifetime and memory
//
// Alerts open only for posts younger than MaxAlertAge; an alert still open
// when its post is ExpireAfter old resolves with a reason saying so. Per post
// the Detector keeps the checkpoint values, the newest counter and a short
// series of snapshots covering VelocityWindow (at most SeriesMax points);
// posts published more than Horizon ago are dropped.
type Config struct {
	Checkpoints         []time.Duration
	CheckpointTolerance float64
	CheckpointSlack     time.Duration

	OwnPosts         int
	MinOwnPosts      int
	CampaignPosts    int
	MinCampaignPosts int
	MatureAge        time.Duration
	MinReachPosts    int

	MaxAlertAge time.Duration
	ExpireAfter time.Duration
	Horizon     time.Duration
	SeriesMax   int

	ViralRatio                float64
	ViralVelocityRatio        float64
	ViralAccelVelocityRatio   float64
	ViralAcceleration         float64
	VelocityWindow            time.Duration
	MinExpectedGrowth         float64
	ViralMinAge               time.Duration
	Floors                    map[string]Floor
	ViralResolveVelocityRatio float64
	ViralResolveAfter         time.Duration
	UpdateFactor              float64
	UpdateEvery               time.Duration

	LowReachAges              []time.Duration
	LowReachPercentile        float64
	LowReachMaxShare          float64
	LowReachMinExpected       map[string]float64
	LowReachResolvePercentile float64
	LowReachResolveShare      float64

	// ReachMetric names each platform's reach measure: "plays" or "likes".
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

		ViralRatio:              1,
		ViralVelocityRatio:      20,
		ViralAccelVelocityRatio: 5,
		ViralAcceleration:       3,
		VelocityWindow:          time.Hour,
		MinExpectedGrowth:       0.02,
		ViralMinAge:             30 * time.Minute,
		Floors: map[string]Floor{
			snapshot.Douyin:         {Total: 1500, PerHour: 500},
			snapshot.Weibo:          {Total: 60, PerHour: 20},
			snapshot.WeChatChannels: {Total: 600, PerHour: 200},
		},
		ViralResolveVelocityRatio: 2,
		ViralResolveAfter:         6 * time.Hour,
		UpdateFactor:              1.5,
		UpdateEvery:               30 * time.Minute,

		LowReachAges:       []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour},
		LowReachPercentile: 10,
		LowReachMaxShare:   0.1,
		LowReachMinExpected: map[string]float64{
			snapshot.Douyin:         100,
			snapshot.Weibo:          10,
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
	if c.LowReachMinExpected == nil {
		c.LowReachMinExpected = d.LowReachMinExpected
	}
	setF(&c.LowReachResolvePercentile, d.LowReachResolvePercentile)
	setF(&c.LowReachResolveShare, d.LowReachResolveShare)
	if c.ReachMetric == nil {
		c.ReachMetric = d.ReachMetric
	}
	return c
}
