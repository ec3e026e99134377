// Package roster reads the campaign's ambassadors: who they are and which
// account each has on each platform. The real deployment and the simulator
// read the same file; ClickHouse's ambassadors table is filled from it.
//
// The roster may also name the district's official accounts (officials:
// 西山发布 and the like). They are not ambassadors — no ranking, total or
// "not posted" list counts them — but ingest watches their timelines for
// reposts of the ambassadors' posts, to measure the reach a repost added
// (the amplifications view). Only platforms whose open API shows a repost
// and what it reposted may carry an official account: Weibo
// (user_timeline's retweeted_status). Douyin's open API lists only an
// account's own videos and WeChat Channels has no per-post API at all, so
// a repost there is invisible and an official account there is an error.
package roster

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/tongxin/tongxin/snapshot"
)

//go:embed xishan.yaml
var builtin []byte

// BuiltinName is how the built-in roster is named in messages.
const BuiltinName = "built-in roster (ingest/roster/xishan.yaml)"

// Ambassador is one hometown ambassador.
type Ambassador struct {
	ID        string            `yaml:"id"`
	Name      string            `yaml:"name"`
	Community string            `yaml:"community"`
	Accounts  map[string]string `yaml:"accounts"` // platform id → account id
}

// Official is one of the district's official accounts (西山发布, …): an
// owner of accounts whose reposts of ambassadors' posts are measured.
type Official struct {
	ID       string            `yaml:"id"`
	Name     string            `yaml:"name"`
	Accounts map[string]string `yaml:"accounts"` // platform id → account id
}

// Roster is the campaign's ambassadors and the district's official accounts.
type Roster struct {
	Campaign    string       `yaml:"campaign"`
	Topic       string       `yaml:"topic"`
	Ambassadors []Ambassador `yaml:"ambassadors"`
	// Officials is optional: a roster without it is read as before.
	Officials []Official `yaml:"officials"`
}

// Account is one ambassador's account on one platform, or, with Official
// set, one official account (AmbassadorID is then the official's id).
type Account struct {
	Platform     string
	AccountID    string
	AmbassadorID string
	Official     bool
}

// RepostPlatforms are the platforms whose open API shows an official
// account's reposts and what each reposted: only Weibo's timeline carries
// retweeted_status. Douyin's video/list gives an account's own videos
// only, WeChat Channels has no per-post API.
var RepostPlatforms = []string{snapshot.Weibo}

// RepostObservable reports whether platform shows reposts (RepostPlatforms).
func RepostObservable(platform string) bool {
	for _, p := range RepostPlatforms {
		if p == platform {
			return true
		}
	}
	return false
}

// Accounts lists every account on platform, ordered by ambassador id.
func (r *Roster) Accounts(platform string) []Account {
	var out []Account
	for _, a := range r.Ambassadors {
		if id, ok := a.Accounts[platform]; ok {
			out = append(out, Account{Platform: platform, AccountID: id, AmbassadorID: a.ID})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AmbassadorID < out[j].AmbassadorID })
	return out
}

// OfficialAccounts lists every official account on platform, ordered by the
// official's id.
func (r *Roster) OfficialAccounts(platform string) []Account {
	var out []Account
	for _, o := range r.Officials {
		if id, ok := o.Accounts[platform]; ok {
			out = append(out, Account{Platform: platform, AccountID: id, AmbassadorID: o.ID, Official: true})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AmbassadorID < out[j].AmbassadorID })
	return out
}

// Watched lists every account ingest polls on platform: the ambassadors'
// (Accounts), then the official accounts' (OfficialAccounts).
func (r *Roster) Watched(platform string) []Account {
	return append(r.Accounts(platform), r.OfficialAccounts(platform)...)
}

// Official finds an official account's owner by id.
func (r *Roster) Official(id string) (Official, bool) {
	for _, o := range r.Officials {
		if o.ID == id {
			return o, true
		}
	}
	return Official{}, false
}

// Ambassador finds an ambassador by id.
func (r *Roster) Ambassador(id string) (Ambassador, bool) {
	for _, a := range r.Ambassadors {
		if a.ID == id {
			return a, true
		}
	}
	return Ambassador{}, false
}

// Load reads the roster at path; an empty path is the built-in roster.
func Load(path string) (*Roster, error) {
	if path == "" {
		return Parse(BuiltinName, builtin)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	return Parse(path, b)
}

// Parse parses and checks a roster; every mistake is reported with the
// file name and line.
func Parse(name string, b []byte) (*Roster, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("roster %s: %w", name, err)
	}
	var r Roster
	if err := doc.Decode(&r); err != nil {
		return nil, fmt.Errorf("roster %s: %w", name, err)
	}
	lines := itemLines(&doc, "ambassadors")
	at := placer(name, lines)
	var errs []error
	if len(r.Ambassadors) == 0 {
		errs = append(errs, fmt.Errorf("roster %s: no ambassadors", name))
	}
	seen := map[string]int{}
	accounts := map[string]string{}
	for i, a := range r.Ambassadors {
		errs = append(errs, checkMember(at(i), "ambassador", a.ID, a.Name, len(a.Accounts), seen, lines, i)...)
		for p, acc := range a.Accounts {
			errs = append(errs, checkAccount(at(i), fmt.Sprintf("ambassador %q", a.ID), a.ID, p, acc, accounts)...)
		}
	}
	errs = append(errs, checkOfficials(name, &doc, &r, lines, seen, accounts)...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &r, nil
}

// checkOfficials checks the officials list: ids like an ambassador's and
// unique among both, a name, and accounts only on RepostPlatforms, each
// valid for the platform and nobody else's. seen and accounts are the
// ambassadors' ids (by index into ambLines) and accounts.
func checkOfficials(name string, doc *yaml.Node, r *Roster, ambLines []int, seen map[string]int, accounts map[string]string) []error {
	lines := itemLines(doc, "officials")
	at := placer(name, lines)
	var errs []error
	mine := map[string]int{}
	for i, o := range r.Officials {
		if j, dup := seen[o.ID]; dup && o.ID != "" {
			where := "an ambassador's id"
			if j < len(ambLines) {
				where = fmt.Sprintf("the ambassador id at line %d", ambLines[j])
			}
			errs = append(errs, fmt.Errorf("roster %s: official id %q is %s", at(i), o.ID, where))
		}
		errs = append(errs, checkMember(at(i), "official", o.ID, o.Name, len(o.Accounts), mine, lines, i)...)
		ps := make([]string, 0, len(o.Accounts))
		for p := range o.Accounts {
			ps = append(ps, p)
		}
		sort.Strings(ps)
		for _, p := range ps {
			if snapshot.KnownPlatform(p) && !RepostObservable(p) {
				errs = append(errs, fmt.Errorf("roster %s: official %q: accounts.%s: a repost is not observable on %s (its open API shows no reposts); official accounts may be on %v", at(i), o.ID, p, p, RepostPlatforms))
				continue
			}
			errs = append(errs, checkAccount(at(i), fmt.Sprintf("official %q", o.ID), o.ID, p, o.Accounts[p], accounts)...)
		}
	}
	return errs
}

// placer names item i of a list by file and line.
func placer(name string, lines []int) func(i int) string {
	return func(i int) string {
		if i < len(lines) {
			return fmt.Sprintf("%s:%d", name, lines[i])
		}
		return name
	}
}

// checkMember checks what item i of a list of kind ("ambassador",
// "official") must have: an id of the snapshot rules' form, used once in
// the list (seen: id → index; lines: each item's line), a name, accounts.
func checkMember(at, kind, id, name string, accounts int, seen map[string]int, lines []int, i int) []error {
	var errs []error
	switch {
	case id == "":
		errs = append(errs, fmt.Errorf("roster %s: %s without id", at, kind))
	case snapshot.ValidAmbassadorID(id) != nil:
		errs = append(errs, fmt.Errorf("roster %s: %s id %q: use letters, digits, _ . - (at most 64)", at, kind, id))
	}
	if j, dup := seen[id]; dup && id != "" && j < len(lines) {
		errs = append(errs, fmt.Errorf("roster %s: %s id %q already used at line %d", at, kind, id, lines[j]))
	}
	seen[id] = i
	if name == "" {
		errs = append(errs, fmt.Errorf("roster %s: %s %q has no name", at, kind, id))
	}
	if accounts == 0 {
		errs = append(errs, fmt.Errorf("roster %s: %s %q has no accounts", at, kind, id))
	}
	return errs
}

// checkAccount checks one account of who (`ambassador "a1"`, `official
// "o1"`, whose id is owner) at a place in the file: a known platform, an id
// of the platform's format, nobody else's. accounts maps platform:account
// to the owner seen with it, and gains this one.
func checkAccount(at, who, owner, p, acc string, accounts map[string]string) []error {
	if !snapshot.KnownPlatform(p) {
		return []error{fmt.Errorf("roster %s: %s: unknown platform %q (want one of %v)", at, who, p, snapshot.Platforms)}
	}
	if acc == "" {
		return []error{fmt.Errorf("roster %s: %s: empty %s account", at, who, p)}
	}
	var errs []error
	// The snapshot rules' account id format: a wrong one here would have
	// every snapshot of the account rejected later.
	if err := snapshot.PlatformRules[p].AccountID(acc); err != nil {
		errs = append(errs, fmt.Errorf("roster %s: %s: %s account: %w", at, who, p, err))
	}
	key := p + ":" + acc
	if other, dup := accounts[key]; dup {
		errs = append(errs, fmt.Errorf("roster %s: %s: %s account %q also belongs to %q", at, who, p, acc, other))
	}
	accounts[key] = owner
	return errs
}

// itemLines returns the line of each item of the top-level list key.
func itemLines(doc *yaml.Node, key string) []int {
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			var lines []int
			for _, item := range m.Content[i+1].Content {
				lines = append(lines, item.Line)
			}
			return lines
		}
	}
	return nil
}
