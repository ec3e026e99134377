package report

import (
	"fmt"
	"strconv"
)

// IndexWeights are the weights of the 传播力 indices (queries/ranking.sql),
// tunable in the config file's `index:` section. The structure follows the
// published 清博 indices:
//
// WCI V14.2 (WeChat official accounts; https://stevekatra.com/site/usage-1):
// four parts — overall (daily average, 60%), per article (20%), headline
// (10%) and peak (10%) — each 0.70·ln(R+1) + 0.09·ln(10Z+1) + 0.06·ln(10L+1)
// + 0.15·ln(10RE+1) over reads R, 在看 Z, likes L and forwards RE; the sum
// squared, × 1.2 × 10.
//
// BCI (Weibo; https://www.selectdataset.com/dataset/73d0ed53c5452447e634149081b11250):
// (0.2·ln(posts+1) + 0.8·(0.4·ln(reposts+1) + 0.4·ln(comments+1) +
// 0.2·ln(likes+1))) × 160.
//
// tongxin's video index (Douyin and WeChat Channels: VCI) is WCI's shape on
// a video platform's counters: R plays, Z comments, L likes, RE shares; a
// video account has no 头条, so the headline's 10% goes to the peak
// (Daily 0.6, PerPost 0.2, Peak 0.2). Weibo keeps BCI's shape with tongxin's
// counters (reposts are `shares`). All counts are the period's gains.
type IndexWeights struct {
	Daily   float64 `yaml:"daily"`    // VCI: weight of the daily averages
	PerPost float64 `yaml:"per_post"` // VCI: weight of the per-post averages
	Peak    float64 `yaml:"peak"`     // VCI: weight of the best post's gains
	Plays   float64 `yaml:"plays"`    // VCI: ln(R+1)
	Comment float64 `yaml:"comments"` // VCI: ln(10Z+1)
	Like    float64 `yaml:"likes"`    // VCI: ln(10L+1)
	Share   float64 `yaml:"shares"`   // VCI: ln(10RE+1)
	Scale   float64 `yaml:"scale"`    // VCI: × after squaring (WCI: 1.2 × 10)

	Activity      float64 `yaml:"bci_activity"`    // BCI: W1 = ln(posts+1)
	Spread        float64 `yaml:"bci_spread"`      // BCI: W2
	BCIReposts    float64 `yaml:"bci_reposts"`     // BCI: in W2
	BCIComments   float64 `yaml:"bci_comments"`    // BCI: in W2
	BCILikes      float64 `yaml:"bci_likes"`       // BCI: in W2
	BCIScale      float64 `yaml:"bci_scale"`       // BCI: × 160
	MinComparable int     `yaml:"min_comparables"` // 同心分: posts needed at an age for a median
	Shrink        float64 `yaml:"shrink"`          // 同心分: pseudo-posts exactly as expected, added to each ambassador's posts
}

// DefaultIndexWeights are the published weights (see IndexWeights).
func DefaultIndexWeights() IndexWeights {
	return IndexWeights{
		Daily: 0.6, PerPost: 0.2, Peak: 0.2, Plays: 0.70, Comment: 0.09, Like: 0.06, Share: 0.15, Scale: 12,
		Activity: 0.2, Spread: 0.8, BCIReposts: 0.4, BCIComments: 0.4, BCILikes: 0.2, BCIScale: 160,
		MinComparable: 5, Shrink: 1,
	}
}

// Check says what is wrong with the weights, if anything.
func (w IndexWeights) Check() error {
	for name, v := range map[string]float64{"daily": w.Daily, "per_post": w.PerPost, "peak": w.Peak, "plays": w.Plays,
		"comments": w.Comment, "likes": w.Like, "shares": w.Share, "scale": w.Scale, "bci_activity": w.Activity,
		"bci_spread": w.Spread, "bci_reposts": w.BCIReposts, "bci_comments": w.BCIComments, "bci_likes": w.BCILikes, "bci_scale": w.BCIScale,
		"shrink": w.Shrink} {
		if v < 0 || v > 1000 {
			return fmt.Errorf("index weight %s = %v: want 0..1000", name, v)
		}
	}
	if w.MinComparable < 1 {
		return fmt.Errorf("index min_comparables = %d: want at least 1", w.MinComparable)
	}
	return nil
}

func (w IndexWeights) params() Params {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return Params{
		"w_daily": f(w.Daily), "w_post": f(w.PerPost), "w_peak": f(w.Peak),
		"w_plays": f(w.Plays), "w_comments": f(w.Comment), "w_likes": f(w.Like), "w_shares": f(w.Share), "w_scale": f(w.Scale),
		"b_activity": f(w.Activity), "b_spread": f(w.Spread), "b_reposts": f(w.BCIReposts), "b_comments": f(w.BCIComments),
		"b_likes": f(w.BCILikes), "b_scale": f(w.BCIScale), "min_comparables": strconv.Itoa(w.MinComparable), "shrink": f(w.Shrink),
	}
}
