package alerteval

import (
	"strings"
	"testing"
	"time"
)

// The matching rule on a hand-made campaign: which alerts are right, which
// planted posts are expected and recalled, after the warm-up and with it.
func TestScore(t *testing.T) {
	s := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	w := DefaultWindow(s)
	h := func(n float64) time.Time { return s.Add(time.Duration(n * float64(time.Hour))) }
	planted := []Planted{
		{Platform: "douyin", PostID: "v1", PublishedAt: h(20), Planted: Viral, TakeoffAt: h(30)},   // recalled
		{Platform: "douyin", PostID: "v2", PublishedAt: h(40), Planted: Viral, TakeoffAt: h(50)},   // alert 2 h early: wrong, missed
		{Platform: "douyin", PostID: "v3", PublishedAt: h(-30), Planted: Viral, TakeoffAt: h(2)},   // takeoff in the warm-up
		{Platform: "douyin", PostID: "v4", PublishedAt: h(100), Planted: Viral, TakeoffAt: h(118)}, // takeoff in the tail: not expected
		{Platform: "weibo", PostID: "l1", PublishedAt: h(13), Planted: LowReach},                   // recalled
		{Platform: "weibo", PostID: "l2", PublishedAt: h(14), Planted: LowReach},                   // missed, never polled
		{Platform: "weibo", PostID: "l3", PublishedAt: h(-5), Planted: LowReach},                   // before the start: not expected
		{Platform: "weibo", PostID: "l4", PublishedAt: h(3), Planted: LowReach},                    // in the warm-up, recalled
		{Platform: "weibo", PostID: "l5", PublishedAt: h(100), Planted: LowReach},                  // within LowTail of the end
		{Platform: "weibo", PostID: "n1", PublishedAt: h(15)},                                      // ordinary
	}
	alerts := []Alert{
		{ID: "a", Kind: Viral, Platform: "douyin", PostID: "v1", OpenedAt: h(29.7)}, // within the tolerance
		{ID: "b", Kind: Viral, Platform: "douyin", PostID: "v2", OpenedAt: h(48)},
		{ID: "c", Kind: Viral, Platform: "douyin", PostID: "v3", OpenedAt: h(3)},
		{ID: "d", Kind: Viral, Platform: "weibo", PostID: "n1", OpenedAt: h(16)},
		{ID: "e", Kind: LowReach, Platform: "weibo", PostID: "l1", OpenedAt: h(14)},
		{ID: "f", Kind: LowReach, Platform: "weibo", PostID: "l3", OpenedAt: h(1)}, // right, in the warm-up
		{ID: "g", Kind: LowReach, Platform: "weibo", PostID: "l4", OpenedAt: h(9)},
		{ID: "h", Kind: LowReach, Platform: "douyin", PostID: "v1", OpenedAt: h(21)}, // planted viral
		{ID: "i", Kind: LowReach, Platform: "weibo", PostID: "n1", OpenedAt: h(121)}, // after the end
	}
	r := Score("t", planted, alerts, func(k string) bool { return k != "weibo:l2" }, w)
	want := map[string]Counts{
		"after viral": {Alerts: 3, Right: 1, Expected: 2, Flagged: 1},
		"after low":   {Alerts: 2, Right: 1, Expected: 2, Flagged: 1, Unpolled: 1},
		"all viral":   {Alerts: 4, Right: 2, Expected: 3, Flagged: 2},
		"all low":     {Alerts: 4, Right: 3, Expected: 3, Flagged: 2, Unpolled: 1},
	}
	got := map[string]Counts{"after viral": *r.After[Viral], "after low": *r.After[LowReach], "all viral": *r.All[Viral], "all low": *r.All[LowReach]}
	for k, c := range want {
		if got[k] != c {
			t.Errorf("%s: got %+v, want %+v", k, got[k], c)
		}
	}
	if len(r.FalseAlerts) != 3 || len(r.Missed) != 2 {
		t.Errorf("false alerts %q, missed %q: want 3 and 2", r.FalseAlerts, r.Missed)
	}
	var b strings.Builder
	Table(&b, []*Result{r})
	if !strings.Contains(b.String(), "0.33 ( 1/ 3) 0.50 ( 1/ 2)") {
		t.Errorf("the table does not show viral after warm-up as 1/3, 1/2:\n%s", b.String())
	}
}
