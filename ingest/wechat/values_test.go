package wechat

import (
	"math"
	"testing"
	"time"
)

func TestParseCount(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "406": 406, "1,234": 1234, "12,345,678": 12345678, "1.2万": 12000, "3.4w": 34000,
		"1.1亿": 110000000, "10万+": 100000, "２３４": 234, "1.2345E4": 12345, " 77 ": 77, "1234.0": 1234, "5k": 5000,
	} {
		got, err := parseCount(in)
		if err != nil || got == nil || *got != want {
			t.Errorf("parseCount(%q) = %v, %v; want %d", in, deref(got), err, want)
		}
	}
	for _, in := range []string{"", "-", "--", "—"} {
		if got, err := parseCount(in); err != nil || got != nil {
			t.Errorf("parseCount(%q) = %v, %v; want absent", in, deref(got), err)
		}
	}
	for _, in := range []string{"12a", "1,2,3", "-5", "1.5", "abc", "万", "NaN", "1e300"} {
		if got, err := parseCount(in); err == nil {
			t.Errorf("parseCount(%q) = %v; want an error", in, deref(got))
		}
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"4.41%": 0.0441, "28.64%": 0.2864, "0%": 0, "100%": 1, "0.0441": 0.0441, "44.1": 0.441, "6.06％": 0.0606} {
		got, err := parseRate(in)
		if err != nil || got == nil || math.Abs(*got-want) > 1e-12 {
			t.Errorf("parseRate(%q) = %v, %v; want %g", in, deref(got), err, want)
		}
	}
	for _, in := range []string{"150%", "-1%", "abc", "101"} {
		if got, err := parseRate(in); err == nil {
			t.Errorf("parseRate(%q) = %v; want an error", in, deref(got))
		}
	}
	if got, err := parseRate("-"); got != nil || err != nil {
		t.Errorf("parseRate(-) = %v, %v; want absent", deref(got), err)
	}
}

func TestParseSeconds(t *testing.T) {
	for in, want := range map[string]float64{"14.73秒": 14.73, "10秒": 10, "14.73": 14.73, "8s": 8, "1分05秒": 65, "1分": 60, "2分钟3秒": 123, "00:47": 47, "1:02:03": 3723, "1小时": 3600} {
		got, err := parseSeconds(in)
		if err != nil || got == nil || math.Abs(*got-want) > 1e-9 {
			t.Errorf("parseSeconds(%q) = %v, %v; want %g", in, deref(got), err, want)
		}
	}
	for _, in := range []string{"abc", "秒", "1:2:3:4", "-3秒"} {
		if got, err := parseSeconds(in); err == nil {
			t.Errorf("parseSeconds(%q) = %v; want an error", in, deref(got))
		}
	}
}

func TestParseTime(t *testing.T) {
	utc := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	for in, want := range map[string]time.Time{
		"2026/06/25":             utc("2026-06-24T16:00:00Z"),
		"2026/6/5 8:03":          utc("2026-06-05T00:03:00Z"),
		"2026-06-25 18:30:05":    utc("2026-06-25T10:30:05Z"),
		"2026年06月25日 18时30分":     utc("2026-06-25T10:30:00Z"),
		"2026年6月25日":             utc("2026-06-24T16:00:00Z"),
		"2026-06-25T18:30:05":    utc("2026-06-25T10:30:05Z"),
		"2026-06-25T18:30:05Z":   utc("2026-06-25T18:30:05Z"),
		"1785495601":             time.Unix(1785495601, 0).UTC(),
		"1785495601000":          time.Unix(1785495601, 0).UTC(),
		"46198.770891203705":     utc("2026-06-25T10:30:05Z"), // a spreadsheet serial, China wall time
		"2026/06/25 18:30:05.25": utc("2026-06-25T10:30:05Z"),
	} {
		got, err := parseTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "2026/13/45", "2026/02/30", "yesterday", "25/06/2026"} {
		if got, err := parseTime(in); err == nil {
			t.Errorf("parseTime(%q) = %v; want an error", in, got)
		}
	}
}

func TestNameTime(t *testing.T) {
	want := time.Date(2026, 5, 10, 6, 30, 0, 0, time.UTC)
	for _, name := range []string{"amb01_视频号_单篇视频_20260510_143000.csv", "amb01-20260510-1430.xlsx", "视频号_2026-05-10T14.30.00.csv", "sphNME8PNY4FS9 2026.05.10 14-30.csv"} {
		got, ok := NameTime(name)
		if !ok || !got.Equal(want) {
			t.Errorf("NameTime(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"amb01_20260510.csv", "视频号数据.csv", "amb01_20261310_143000.csv", "wechat_video_single_20260510.csv"} {
		if got, ok := NameTime(name); ok {
			t.Errorf("NameTime(%q) = %v; want none", name, got)
		}
	}
}

func TestHeaderAliases(t *testing.T) {
	h, known := matchHeader([]string{"\ufeff视频 ID", "视频标题", "备注", "发表时间", "播放次数", "喜欢次数", "评论数", "分享次数", "推荐数", "转发", "完播率（%）", "平均观看时长(秒)", "点赞"})
	if known != 11 {
		t.Fatalf("known = %d, want 11 (点赞 and 备注 are not known)", known)
	}
	for f, want := range map[field]int{fID: 0, fDescription: 1, fPublished: 3, fPlays: 4, fLikes: 5, fComments: 6, fShares: 7, fRecommends: 8, fForwards: 9, fCompletion: 10, fAvgWatch: 11} {
		if h.index[f] != want {
			t.Errorf("%s at column %d, want %d", fieldNames[f], h.index[f], want)
		}
	}
	if !h.percent[fCompletion] {
		t.Error("完播率（%） not marked as a percentage column")
	}
	if columnLetter(0) != "A" || columnLetter(25) != "Z" || columnLetter(26) != "AA" || columnLetter(701) != "ZZ" || columnLetter(702) != "AAA" {
		t.Error("columnLetter is wrong")
	}
}
