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
