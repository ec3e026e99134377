// Package simulator stands in for the three platforms: it plays a seeded
// campaign (the roster's accounts, their posts, each post's engagement
// curve) and serves it through each platform's own API shape, with faults
// injected on request. `tongxin simulate` serves it alone; `tongxin run`
// serves it beside the pipeline.
//
// It is a tool, not production ingest, hence tools/simulator: nothing that
// watches a real campaign runs it, the ingest packages import it only in
// their tests, and its clients (ReadClock, Consent, ConsentAll,
// AuthorizeAll) do what a person or a platform does in production.
package simulator

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/snapshot"
)

// Planted kinds of post.
const (
	PlantedViral    = "viral"
	PlantedLowReach = "low_reach"
)

// The campaign's shape around the simulated clock's start.
const (
	// CampaignBefore is how long the campaign has run when the clock starts.
	CampaignBefore = 21 * 24 * time.Hour
	// CampaignAfter is how long it goes on after the start.
	CampaignAfter = 30 * 24 * time.Hour
	// DouyinTopicPlays is what the Douyin posts' plays add up to at the
	// campaign's end: the source article's 1230万次.
	DouyinTopicPlays = 12_300_000
)

// Post is one simulated post and the hidden parameters of its curve.
type Post struct {
	Platform     string    `json:"platform"`
	PostID       string    `json:"post_id"`
	AmbassadorID string    `json:"ambassador_id"`
	AccountID    string    `json:"-"`
	PublishedAt  time.Time `json:"published_at"`
	Planted      string    `json:"planted"`
	TakeoffAt    time.Time `json:"takeoff_at,omitzero"`
	Title        string    `json:"-"`
	// DeletedAt, if set, is when the ambassador deleted the post.
	DeletedAt time.Time `json:"-"`
	// PrivateFrom, if set, is when the ambassador made the post private
	// (only visible to themselves); PrivateUntil, if set, when they made
	// it public again.
	PrivateFrom, PrivateUntil time.Time `json:"-"`
	// RepostOf, if set, makes the post a repost (Weibo 转发) of another
	// account's status: the ambassador's own status on their timeline, with
	// its own id and counters, carrying the original as retweeted_status.
	RepostOf *Original `json:"-"`
	// Official marks an official account's repost of an ambassador's post
	// (see Repost): a status on the official's timeline, not in Posts.
	Official bool `json:"-"`

	finalPlays float64 // ordinary plays the post ends with
	tau        float64 // hours to reach 63% of finalPlays
	viralPlays float64 // extra plays after takeoff
	viralTau   float64 // hours
	likeRate   float64
	seed       uint64
	// An official account's repost adds boostPlays more plays from
	// boostAt on, reached at 63% after boostTau hours.
	boostAt    time.Time
	boostPlays float64
	boostTau   float64
}

// Original is the status a Weibo repost carries: another account's, with
// counters of its own that are not the ambassador's.
type Original struct {
	ID, UID, Text string
	PublishedAt   time.Time
	Reposts       int64
	Comments      int64
	Attitudes     int64
	// Post, when the original is one of the scenario's posts (an official
	// account's repost of an ambassador's), gives live counters instead.
	Post *Post
}

// Counters is everything a platform could tell about a post at a moment.
// Each platform's API serves only the part it really gives.
type Counters struct {
	Plays, Likes, Comments, Shares, Favorites int64
	Forwards, Downloads, Recommends           int64
	CompletionRate                            float64 // 0..1
	AvgWatchSeconds                           float64
}

// Scenario is a seeded campaign.
type Scenario struct {
	Seed  int64
	Start time.Time
	// CampaignStart and CampaignEnd bound when posts are published.
	CampaignStart, CampaignEnd time.Time
	Posts                      []*Post // ordered by published_at, then platform and id

	// Reposts are the official accounts' reposts of ambassadors' posts,
	// by reposted_at: each a status on the official's timeline (in
	// PostsOf, Post; not in Posts) and a boost of the reposted post.
	Reposts []*Repost

	byAccount map[string][]*Post // platform:account → newest first
	byID      map[string]*Post   // platform:post_id
}

// Repost is one official account's repost of an ambassador's post.
type Repost struct {
	OfficialID string    `json:"official_id"`
	AccountID  string    `json:"account_id"`
	PostID     string    `json:"post_id"` // the repost's own status id
	RepostedAt time.Time `json:"reposted_at"`
	Of         string    `json:"repost_of"` // the ambassador's post id
	// BoostPlays is what the repost adds to the post's final plays (on
	// Weibo, where plays are reads the API does not give, the likes
	// follow at the post's like rate).
	BoostPlays float64 `json:"boost_plays"`
	Status     *Post   `json:"-"`
	Original   *Post   `json:"-"`
}

// Truth is the planted scenario as `tongxin simulate --truth` prints it.
type Truth struct {
	Seed            int64     `json:"seed"`
	Start           string    `json:"start"`
	Posts           []*Post   `json:"posts"`
	OfficialReposts []*Repost `json:"official_reposts,omitempty"`
}

// Truth returns the scenario's planted facts.
func (s *Scenario) Truth() Truth {
	return Truth{Seed: s.Seed, Start: s.Start.Format(time.RFC3339), Posts: s.Posts, OfficialReposts: s.Reposts}
}

// how often an account posts, on average, per platform.
var postEvery = map[string]time.Duration{
	snapshot.Douyin:         60 * time.Hour,
	snapshot.Weibo:          40 * time.Hour,
	snapshot.WeChatChannels: 96 * time.Hour,
}

// median final plays of an ordinary post, before calibration (Douyin) or as is.
var medianPlays = map[string]float64{
	snapshot.Douyin:         5000,
	snapshot.Weibo:          3000, // reads
	snapshot.WeChatChannels: 1500,
}

// New builds the scenario for a roster and seed, with the simulated clock
// starting at start. The same inputs give the same scenario.
func New(r *roster.Roster, seed int64, start time.Time) *Scenario {
	start = start.UTC().Truncate(time.Second)
	s := &Scenario{
		Seed: seed, Start: start,
		CampaignStart: start.Add(-CampaignBefore), CampaignEnd: start.Add(CampaignAfter),
		byAccount: map[string][]*Post{}, byID: map[string]*Post{},
	}
	var n uint64
	for _, platform := range snapshot.Platforms {
		for ai, acct := range r.Accounts(platform) {
			rng := rand.New(rand.NewPCG(uint64(seed), hash(platform, acct.AccountID)))
			// Each account has a reach of its own: some ambassadors are
			// local celebrities, most are not.
			reach := math.Exp(rng.NormFloat64() * 0.6)
			every := postEvery[platform]
			t := s.CampaignStart.Add(time.Duration(rng.Float64() * float64(every)))
			for t.Before(s.CampaignEnd) {
				n++
				p := &Post{
					Platform: platform, AmbassadorID: acct.AmbassadorID, AccountID: acct.AccountID,
					PublishedAt: t.Truncate(time.Second), seed: rng.Uint64(),
				}
				p.PostID = postID(platform, seed, n)
				p.Title = postTitle(platform, p.seed)
				p.finalPlays = medianPlays[platform] * reach * math.Exp(rng.NormFloat64()*0.8)
				p.tau = 4 + rng.ExpFloat64()*10
				p.likeRate = 0.03 + rng.Float64()*0.05
				switch u := rng.Float64(); {
				case u < 0.03:
					p.Planted = PlantedViral
					p.TakeoffAt = p.PublishedAt.Add(time.Duration((2 + rng.Float64()*28) * float64(time.Hour))).Truncate(time.Second)
					p.viralPlays = p.finalPlays * (20 + rng.Float64()*40)
					p.viralTau = 6 + rng.Float64()*6
				case u < 0.07:
					p.Planted = PlantedLowReach
					p.finalPlays *= 0.01 + rng.Float64()*0.03
				}
				if rng.Float64() < 0.01 && p.Planted == "" {
					p.DeletedAt = p.PublishedAt.Add(time.Duration((1 + rng.Float64()*72) * float64(time.Hour)))
				}
				p.plantStates()
				s.Posts = append(s.Posts, p)
				key := platform + ":" + acct.AccountID
				s.byAccount[key] = append(s.byAccount[key], p)
				s.byID[platform+":"+p.PostID] = p
				// Posting is bursty: exponential gaps around the account's habit.
				t = t.Add(time.Duration((0.3 + rng.ExpFloat64()*0.7) * float64(every)))
			}
			_ = ai
		}
	}
	s.calibrate()
	sort.SliceStable(s.Posts, func(i, j int) bool {
		a, b := s.Posts[i], s.Posts[j]
		if !a.PublishedAt.Equal(b.PublishedAt) {
			return a.PublishedAt.Before(b.PublishedAt)
		}
		if a.Platform != b.Platform {
			return a.Platform < b.Platform
		}
		return a.PostID < b.PostID
	})
	s.planReposts(r, seed)
	for _, ps := range s.byAccount {
		sort.Slice(ps, func(i, j int) bool { return ps[i].PublishedAt.After(ps[j].PublishedAt) })
	}
	return s
}

// calibrate scales Douyin's curves so the topic's plays end at DouyinTopicPlays.
func (s *Scenario) calibrate() {
	var total float64
	for _, p := range s.Posts {
		if p.Platform == snapshot.Douyin {
			total += p.playsAt(s.CampaignEnd)
		}
	}
	if total == 0 {
		return
	}
	f := DouyinTopicPlays / total
	for _, p := range s.Posts {
		if p.Platform == snapshot.Douyin {
			p.finalPlays *= f
			p.viralPlays *= f
		}
	}
}

// Post finds a post by platform and id.
func (s *Scenario) Post(platform, postID string) (*Post, bool) {
	p, ok := s.byID[platform+":"+postID]
	return p, ok
}

// PostsOf returns an account's posts published by at and not deleted by
// then, newest first.
func (s *Scenario) PostsOf(platform, accountID string, at time.Time) []*Post {
	var out []*Post
	for _, p := range s.byAccount[platform+":"+accountID] {
		if p.VisibleAt(at) {
			out = append(out, p)
		}
	}
	return out
}

// VisibleAt reports whether the post is published and not deleted at t
// (to its author: a private post is visible to them).
func (p *Post) VisibleAt(t time.Time) bool {
	return !p.PublishedAt.After(t) && (p.DeletedAt.IsZero() || t.Before(p.DeletedAt))
}

// PrivateAt reports whether the post is visible to its author only at t.
func (p *Post) PrivateAt(t time.Time) bool {
	return p.VisibleAt(t) && !p.PrivateFrom.IsZero() && !t.Before(p.PrivateFrom) && (p.PrivateUntil.IsZero() || t.Before(p.PrivateUntil))
}

// plantStates makes some ordinary posts private for a while or for good
// and some Weibo posts reposts. It draws from the post's own seed, so the
// rest of the scenario is the same as without it.
func (p *Post) plantStates() {
	if p.Planted != "" || !p.DeletedAt.IsZero() {
		return
	}
	rng := rand.New(rand.NewPCG(p.seed, 0x5747))
	if rng.Float64() < 0.015 {
		p.PrivateFrom = p.PublishedAt.Add(time.Duration((2 + rng.Float64()*70) * float64(time.Hour))).Truncate(time.Second)
		if rng.IntN(2) == 0 { // made public again a while later
			p.PrivateUntil = p.PrivateFrom.Add(time.Duration((3 + rng.Float64()*45) * float64(time.Hour))).Truncate(time.Second)
		}
	}
	if p.Platform == snapshot.Weibo && rng.Float64() < 0.1 {
		p.RepostOf = &Original{
			ID:  weiboID(rng.Uint64()),
			UID: fmt.Sprint(7_000_000_000 + rng.Int64N(900_000_000)), Text: "西山的秋天，欢迎回家 #同心西山# #寻美西山#",
			PublishedAt: p.PublishedAt.Add(-time.Duration((1 + rng.Float64()*48) * float64(time.Hour))).Truncate(time.Second),
			Reposts:     rng.Int64N(50_000), Comments: rng.Int64N(20_000), Attitudes: rng.Int64N(200_000),
		}
		// A repost's own text: the ambassador's words, then the original's.
		p.Title = "转发给家乡的朋友们 //@西山文旅:" + p.RepostOf.Text
	}
}

// The official accounts' reposts: each official reposts an ambassador's
// Weibo post about every RepostEvery, 2 to 30 hours after it was
// published, and the repost brings the post RepostBoost (20–50%) of its
// final plays more, at 63% after 6–12 hours: a bump the amplification
// measure should find. Modest on purpose: an ordinary account's bump stays
// under the viral rule's Weibo floor (20 likes an hour over the usual).
const (
	RepostEvery    = 48 * time.Hour
	RepostMinAge   = 2 * time.Hour
	RepostMaxAge   = 30 * time.Hour
	repostBoostMin = 0.2
	repostBoostMax = 0.5
)

// planReposts plants the official accounts' reposts. Each official draws
// from its own stream (seed, its uid), so the ambassadors' posts, curves
// and plants are the same as without officials; only the reposted posts
// gain their boost.
func (s *Scenario) planReposts(r *roster.Roster, seed int64) {
	for _, acct := range r.OfficialAccounts(snapshot.Weibo) {
		rng := rand.New(rand.NewPCG(uint64(seed), hash("official", acct.AccountID)))
		key := snapshot.Weibo + ":" + acct.AccountID
		t := s.CampaignStart.Add(RepostMaxAge + time.Duration(rng.Float64()*float64(RepostEvery)))
		for t.Before(s.CampaignEnd) {
			at := t.Truncate(time.Second)
			t = t.Add(time.Duration((0.5 + rng.Float64()) * float64(RepostEvery)))
			var cands []*Post
			for _, p := range s.Posts {
				age := at.Sub(p.PublishedAt)
				if p.Platform == snapshot.Weibo && age >= RepostMinAge && age <= RepostMaxAge && p.Planted == "" &&
					p.DeletedAt.IsZero() && p.PrivateFrom.IsZero() && p.RepostOf == nil && p.boostAt.IsZero() {
					cands = append(cands, p)
				}
			}
			if len(cands) == 0 {
				continue
			}
			o := cands[rng.IntN(len(cands))]
			o.boostAt = at
			o.boostPlays = o.finalPlays * (repostBoostMin + rng.Float64()*(repostBoostMax-repostBoostMin))
			o.boostTau = 6 + rng.Float64()*6
			st := &Post{
				Platform: snapshot.Weibo, AmbassadorID: acct.AmbassadorID, AccountID: acct.AccountID,
				PublishedAt: at, Official: true, seed: rng.Uint64(),
				finalPlays: o.finalPlays * (0.5 + rng.Float64()), tau: 3 + rng.Float64()*5, likeRate: 0.01 + rng.Float64()*0.02,
				RepostOf: &Original{ID: o.PostID, UID: o.AccountID, Text: o.Title, PublishedAt: o.PublishedAt, Post: o},
			}
			st.PostID = weiboID(st.seed)
			// A repost's own text: the office's words, then the original's.
			st.Title = "家乡代言人带你看西山 //@同心西山代言人" + o.AccountID[max(len(o.AccountID)-4, 0):] + ":" + o.Title
			s.byAccount[key] = append(s.byAccount[key], st)
			s.byID[snapshot.Weibo+":"+st.PostID] = st
			s.Reposts = append(s.Reposts, &Repost{OfficialID: acct.AmbassadorID, AccountID: acct.AccountID, PostID: st.PostID,
				RepostedAt: at, Of: o.PostID, BoostPlays: o.boostPlays, Status: st, Original: o})
		}
		ps := s.byAccount[key]
		sort.Slice(ps, func(i, j int) bool { return ps[i].PublishedAt.After(ps[j].PublishedAt) })
	}
	sort.SliceStable(s.Reposts, func(i, j int) bool { return s.Reposts[i].RepostedAt.Before(s.Reposts[j].RepostedAt) })
}

// playsAt is the post's true plays at t, before any spam removal.
func (p *Post) playsAt(t time.Time) float64 {
	h := t.Sub(p.PublishedAt).Hours()
	if h <= 0 {
		return 0
	}
	v := p.finalPlays * (1 - math.Exp(-h/p.tau))
	if p.Planted == PlantedViral && t.After(p.TakeoffAt) {
		v += p.viralPlays * (1 - math.Exp(-t.Sub(p.TakeoffAt).Hours()/p.viralTau))
	}
	if !p.boostAt.IsZero() && t.After(p.boostAt) {
		v += p.boostPlays * (1 - math.Exp(-t.Sub(p.boostAt).Hours()/p.boostTau))
	}
	return v
}

// CountersAt is what the platform knows of the post at t. Every counter is
// a non-decreasing function of t.
func (p *Post) CountersAt(t time.Time) Counters {
	plays := p.playsAt(t)
	// Engagement lags plays a little and is a fixed share of it per post.
	eng := plays * p.likeRate
	frac := func(salt uint64, lo, hi float64) float64 {
		u := float64((p.seed^salt)%1000) / 1000
		return lo + u*(hi-lo)
	}
	c := Counters{
		Plays:      int64(plays),
		Likes:      int64(eng),
		Comments:   int64(eng * frac(1, 0.05, 0.15)),
		Shares:     int64(eng * frac(2, 0.03, 0.10)),
		Favorites:  int64(eng * frac(3, 0.05, 0.2)),
		Forwards:   int64(eng * frac(4, 0.02, 0.06)),
		Downloads:  int64(eng * frac(5, 0.01, 0.03)),
		Recommends: int64(eng * frac(6, 0.1, 0.3)),
	}
	if c.Plays > 0 {
		c.CompletionRate = frac(7, 0.02, 0.35)
		c.AvgWatchSeconds = math.Round(frac(8, 4, 40)*100) / 100
	}
	return c
}

// What ambassadors write: a scene, a line, and topics in the platform's
// syntax (Weibo "#话题#", Douyin and Channels "#话题").
var (
	titleScenes = []string{"西山红叶正当时", "八大处的清晨", "香山脚下的老味道", "京西古道徒步一日", "妙峰山看日出",
		"樱桃沟的秋天", "模式口老街漫步", "法海寺壁画太震撼了", "西山夜色", "跟着代言人逛西山", "家乡的银杏黄了", "西山农家院的一顿饭"}
	titleLines = []string{"太美了，推荐给大家", "周末走起", "这就是家乡的味道", "一年四季都好看", "带上家人一起来", "拍到手软"}
)

// postTitle is a post's text, drawn from its own stream (seeded by the
// post's seed) so titles leave the scenario's other draws unchanged.
// Every Douyin post carries the campaign topic 寻美西山 — the 1230万 are
// the topic's plays — some written full-width (＃寻美西山) and some with
// a Latin topic in mixed case or full width (#XiShan, #ＸｉＳｈａｎ); some
// Weibo and Channels posts carry only other topics.
func postTitle(platform string, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 0x7469746c65))
	text := titleScenes[rng.IntN(len(titleScenes))] + "，" + titleLines[rng.IntN(len(titleLines))]
	topics := []string{"寻美西山"}
	switch u := rng.Float64(); {
	case u < 0.10 && platform != snapshot.Douyin:
		topics = []string{"西山红叶"}
	case u < 0.20:
		topics = append(topics, "同心西山")
	case u < 0.27:
		topics = append(topics, "XiShan")
	case u < 0.32:
		topics = append(topics, "ＸｉＳｈａｎ")
	case u < 0.36:
		topics = append(topics, "xishan", "西山红叶")
	}
	hash := "#"
	if rng.Float64() < 0.12 {
		hash = "＃"
	}
	for _, t := range topics {
		if platform == snapshot.Weibo {
			text += " " + hash + t + hash
		} else {
			text += " " + hash + t
		}
	}
	return text
}

// URL is the post's web link as the platform gives it (Douyin's
// share_url, a Weibo status's page); Channels videos have none.
func (p *Post) URL() string {
	switch p.Platform {
	case snapshot.Douyin:
		return fmt.Sprintf("https://www.iesdouyin.com/share/video/73%017d/?region=CN&from=open", hash(p.PostID)%100_000_000_000_000_000)
	case snapshot.Weibo:
		return "https://weibo.com/" + p.AccountID + "/" + p.PostID
	}
	return ""
}

func hash(parts ...string) uint64 {
	var h uint64 = 14695981039346656037
	for _, s := range parts {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	return h
}

// postID makes an id in the platform's own style.
func postID(platform string, seed int64, n uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hash(platform, fmt.Sprint(seed)))
	binary.BigEndian.PutUint64(b[8:], n*0x9E3779B97F4A7C15)
	switch platform {
	case snapshot.Douyin: // item_id: an opaque, URL-unsafe base64 string
		return "@9VwKzu" + base64.StdEncoding.EncodeToString(b[:])
	case snapshot.Weibo:
		return weiboID(binary.BigEndian.Uint64(b[8:]))
	default: // WeChat Channels export id
		return "export/UzFfAgtgekIEAQAAAAAA" + base64.RawURLEncoding.EncodeToString(b[:])
	}
}

// weiboID makes a Weibo status id (mid) from h: 16 decimal digits above
// 2^53 and odd, so a client that reads ids through a float64 (as
// JavaScript and many JSON decoders do) gets them wrong, as it would
// Weibo's own ids once they pass 2^53 = 9007199254740992.
func weiboID(h uint64) string {
	return fmt.Sprint(9_900_000_000_000_000 + h%50_000_000_000_000*2 + 1)
}
