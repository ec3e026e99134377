package alerts

import (
	"fmt"
	"testing"
	"time"

	"github.com/tongxin/tongxin/snapshot"
)

// With two aggregators, each judges only its own posts, but the baselines
// come from the whole campaign: a big ambassador's posts owned by the other
// aggregator, merged from post_hourly, keep this one from calling the big
// ambassador's ordinary new post viral — and the merged posts themselves,
// viral as they are, are judged by nobody here.
func TestMergedHistoryFeedsBaselinesButIsNotJudged(t *testing.T) {
	mine := func(key string) bool { return key == snapshot.Key(snapshot.Douyin, "big-new") }
	d := NewDetector(Config{})
	var others []PostHistory
	for i := 1; i <= 5; i++ { // the campaign, owned elsewhere
		for j := 0; j < 8; j++ {
			p := postSpec{snapshot.Douyin, fmt.Sprintf("amb%02d", i), fmt.Sprintf("amb%02d-%d", i, j), t0.Add(-time.Duration(8-j) * 24 * time.Hour), ordinary(3000, 8)}
			others = append(others, hourly(p, 10*time.Minute, t0))
		}
	}
	var viral []PostHistory
	for j := 0; j < 8; j++ { // the big ambassador's past posts, owned elsewhere
		p := postSpec{snapshot.Douyin, "big", fmt.Sprintf("big-%d", j), t0.Add(-time.Duration(8-j) * 24 * time.Hour), ordinary(200_000, 8)}
		viral = append(viral, hourly(p, 10*time.Minute, t0))
	}
	d.MergeHistory(append(others, viral...), mine)
	if evs := d.Evaluate(t0); len(evs) != 0 {
		t.Fatalf("merged posts of other aggregators were judged: %v", evs)
	}
	p := postSpec{snapshot.Douyin, "big", "big-new", t0.Add(time.Hour), bigSecondWind}
	if evs := run(d, p, 10*time.Minute, 72*time.Hour); count(evs, KindViral, "") != 0 {
		t.Fatalf("big account's ordinary post judged viral despite the merged baseline: %v", evs)
	}
	// Without the merge the same post is 100× the campaign: the merge is what tells.
	d2 := NewDetector(Config{})
	d2.MergeHistory(others, mine)
	p.id = "big-new"
	if n := count(run(d2, p, 10*time.Minute, 72*time.Hour), KindViral, StateOpen); n != 1 {
		t.Fatalf("without the big ambassador's history: %d viral alerts, want 1 (the test would prove nothing)", n)
	}
}
