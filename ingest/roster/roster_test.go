package roster

import (
	"strings"
	"testing"
)

func TestBuiltinRoster(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Ambassadors) != 50 {
		t.Fatalf("built-in roster has %d ambassadors, the campaign has 50", len(r.Ambassadors))
	}
	if n := len(r.Accounts("douyin")); n != 50 {
		t.Errorf("%d Douyin accounts, want every ambassador on Douyin", n)
	}
	if len(r.Accounts("weibo")) == 0 || len(r.Accounts("wechat_channels")) == 0 {
		t.Error("want Weibo and WeChat Channels accounts in the built-in roster")
	}
}

func TestRosterMistakesNameTheLine(t *testing.T) {
	src := `campaign: x
ambassadors:
  - id: a1
    name: 甲
    accounts: {douyin: d1}
  - id: a1
    name: 乙
    accounts: {douyin: d1, tiktok: t}
  - id: "bad id"
    accounts: {weibo: w}
`
	_, err := Parse("r.yaml", []byte(src))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`r.yaml:6: ambassador id "a1" already used at line 3`,
		`r.yaml:6: ambassador "a1": unknown platform "tiktok"`,
		`r.yaml:6: ambassador "a1": douyin account "d1" also belongs to "a1"`,
		`r.yaml:9: ambassador id "bad id"`,
		`r.yaml:9: ambassador "bad id" has no name`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestRosterSyntaxErrorNamesFile(t *testing.T) {
	_, err := Parse("r.yaml", []byte("ambassadors:\n  - id: a\n   name: broken\n"))
	if err == nil || !strings.Contains(err.Error(), "r.yaml") || !strings.Contains(err.Error(), "line ") {
		t.Fatalf("want file and line in %v", err)
	}
}

// An account id that the snapshot rules would refuse is a roster error at
// load, naming the line, not a stream of rejected snapshots later.
func TestRosterAccountIDsFollowTheSnapshotRules(t *testing.T) {
	src := `ambassadors:
  - id: a1
    name: 甲
    accounts: {douyin: "_000b92FF", weibo: "u4361396479", wechat_channels: "sph NME8"}
`
	_, err := Parse("r.yaml", []byte(src))
	for _, want := range []string{
		`r.yaml:2: ambassador "a1": weibo account: "u4361396479" is not a uid`,
		`r.yaml:2: ambassador "a1": wechat_channels account: "sph NME8": byte 3 (' ') is not allowed in a finder id`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "douyin") {
		t.Errorf("a valid open_id was refused: %v", err)
	}
}

func TestBuiltinOfficials(t *testing.T) {
	r, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	offs := r.OfficialAccounts("weibo")
	if len(offs) < 2 {
		t.Fatalf("built-in roster has %d official Weibo accounts, want the district's 2–3", len(offs))
	}
	for _, a := range offs {
		if !a.Official || a.Platform != "weibo" {
			t.Errorf("official account %+v not marked official on weibo", a)
		}
		if _, isAmb := r.Ambassador(a.AmbassadorID); isAmb {
			t.Errorf("official %s is also an ambassador", a.AmbassadorID)
		}
	}
	if n := len(r.Watched("weibo")); n != len(r.Accounts("weibo"))+len(offs) {
		t.Errorf("Watched(weibo) has %d accounts, want ambassadors' %d + officials' %d", n, len(r.Accounts("weibo")), len(offs))
	}
	if len(r.OfficialAccounts("douyin")) != 0 || len(r.Watched("douyin")) != 50 {
		t.Error("official accounts leaked onto douyin")
	}
}

// A roster without officials reads as before; the officials' mistakes
// name their line and field.
func TestOfficialMistakesNameTheLine(t *testing.T) {
	old := "ambassadors:\n  - id: a1\n    name: 甲\n    accounts: {weibo: \"1234567890\"}\n"
	r, err := Parse("old.yaml", []byte(old))
	if err != nil || len(r.Officials) != 0 || len(r.Watched("weibo")) != 1 {
		t.Fatalf("a roster without officials: %v, %+v", err, r)
	}
	src := old + `officials:
  - id: o1
    name: 西山发布
    accounts: {weibo: "2234567890"}
  - id: a1
    name: 冒名
    accounts: {weibo: "1234567890"}
  - id: o2
    accounts: {douyin: "_000b92FFEF590F63E7aEc82CACD026c", tiktok: x}
  - id: o1
    name: 重复
    accounts: {weibo: "u99"}
  - id: o3
    name: 空
`
	_, err = Parse("r.yaml", []byte(src))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`r.yaml:9: official id "a1" is the ambassador id at line 2`,
		`r.yaml:9: official "a1": weibo account "1234567890" also belongs to "a1"`,
		`r.yaml:12: official "o2" has no name`,
		`r.yaml:12: official "o2": accounts.douyin: a repost is not observable on douyin`,
		`r.yaml:12: official "o2": unknown platform "tiktok"`,
		`r.yaml:14: official id "o1" already used at line 6`,
		`r.yaml:14: official "o1": weibo account: "u99" is not a uid`,
		`r.yaml:17: official "o3" has no accounts`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
