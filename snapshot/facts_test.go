package snapshot

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Topics as the office types them match however they are typed: Douyin's
// #话题 and Weibo's #话题#, full-width or half-width, any case of Latin
// letters; each once, in order.
func TestTopics(t *testing.T) {
	for _, c := range []struct {
		platform, text string
		want           []string
	}{
		{Douyin, "秋天的西山红叶 #寻美西山 #同心西山", []string{"寻美西山", "同心西山"}},
		{Douyin, "#寻美西山#同心西山 看红叶", []string{"寻美西山", "同心西山"}},
		{Douyin, "登山 ＃寻美西山　好风景", []string{"寻美西山"}},
		{Douyin, "#寻美西山，一起来！#XiShan #xishan #ＸｉＳｈａｎ", []string{"寻美西山", "xishan"}},
		{Douyin, "# 空的 ## #", nil},
		{Douyin, "没有话题", nil},
		{WeChatChannels, "西山的秋 #寻美西山 #Travel_2026", []string{"寻美西山", "travel_2026"}},
		{Weibo, "#寻美西山# 西山的秋天 #同心西山#", []string{"寻美西山", "同心西山"}},
		{Weibo, "#寻美西山#正文紧跟着 #Hello World# #hello  world#", []string{"寻美西山", "hello world"}},
		{Weibo, "＃寻美西山＃ 和 #ＸｉＳｈａｎ# 与 #xishan#", []string{"寻美西山", "xishan"}},
		{Weibo, "#未闭合的话题 没有第二个井号", nil},
		{Weibo, "#a#b#c#", []string{"a", "c"}},
		{Weibo, "#第一行\n第二行# 不是话题", nil},
	} {
		got := Topics(c.platform, c.text)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Topics(%s, %q) = %q, want %q", c.platform, c.text, got, c.want)
		}
	}
	if got, want := NormalizeTopic("  ＃Ｈｅｌｌｏ　　ＷＯＲＬＤ  "), "hello world"; got != want {
		t.Errorf("NormalizeTopic = %q, want %q", got, want)
	}
}

// Topics never returns an empty, unnormalised or repeated topic, and
// never panics, whatever the text.
func FuzzTopics(f *testing.F) {
	for _, s := range []string{"#寻美西山 #同心西山", "#寻美西山#", "＃ＡＢ＃", "#a#b#c", "\xff#\xfe#", "##", "#\u3000#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, p := range Platforms {
			seen := map[string]bool{}
			for _, tp := range Topics(p, text) {
				if tp == "" || NormalizeTopic(tp) != tp || seen[tp] {
					t.Fatalf("Topics(%s, %q): bad topic %q in %q", p, text, tp, Topics(p, text))
				}
				seen[tp] = true
			}
		}
	})
}

// Bad facts are named field by field, and they never make the snapshot
// unreadable: its counters still count.
func TestFactsProblemsAreNamedAndKeepTheSnapshot(t *testing.T) {
	for _, c := range []struct {
		facts *Facts
		want  string // "" : fine
	}{
		{NewFacts(Douyin, " 西山 #寻美西山 ", "https://www.iesdouyin.com/share/video/1/"), ""},
		{&Facts{Title: strings.Repeat("山", MaxTitleRunes+1)}, "facts.title: 2001 characters"},
		{&Facts{Title: "a\x00b"}, "facts.title: holds control characters"},
		{&Facts{Title: "x", URL: "javascript:alert(1)"}, "facts.url"},
		{&Facts{Title: "x", URL: "https://weibo.com/" + strings.Repeat("a", MaxURLBytes)}, "facts.url: 2066 bytes"},
		{&Facts{Title: "x", Topics: []string{"XiShan"}}, "facts.topics[0]"},
		{&Facts{Title: "x", Topics: make([]string, MaxTopics+1)}, "facts.topics: 51 topics"},
	} {
		s := Snapshot{Schema: 1, Platform: Douyin, Facts: c.facts}
		err := s.FactsProblem()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.facts, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%.80q: error %v, want one saying %q", c.facts.Title, err, c.want)
		}
	}

	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	good := Snapshot{Schema: 1, Platform: Douyin, AmbassadorID: "amb01", AccountID: "_000abc", PostID: "@9VwKzuuES8gmaHHgMoBgQc780mDqPP+KPpR",
		PublishedAt: at, ObservedAt: at.Add(time.Hour), Metrics: Metrics{Plays: Counter(12)}, Source: SourceAPI,
		Facts: NewFacts(Douyin, "西山 #寻美西山", "https://www.iesdouyin.com/share/video/7/")}
	b, _ := Marshal(&good)
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Facts, good.Facts) || back.FactsProblem() != nil {
		t.Errorf("facts did not survive the round trip: %+v (%v)", back.Facts, back.FactsProblem())
	}
	// A facts object of the wrong shape: the snapshot is kept with its
	// counters, and FactsProblem says what is wrong.
	bad := strings.Replace(string(b), `"topics":["寻美西山"]`, `"topics":"寻美西山"`, 1)
	back, err = Unmarshal([]byte(bad))
	if err != nil {
		t.Fatalf("a bad facts object cost the snapshot: %v", err)
	}
	if back.Plays == nil || *back.Plays != 12 {
		t.Errorf("counters lost: %+v", back.Metrics)
	}
	if err := back.FactsProblem(); err == nil || !strings.Contains(err.Error(), "facts:") || !utf8.ValidString(err.Error()) {
		t.Errorf("FactsProblem = %v, want one naming the facts", err)
	}
}
