// Package roster reads the campaign's ambassadors: who they are and which
// account each has on each platform. The real deployment and the simulator
// read the same file; ClickHouse's ambassadors table is filled from it.
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

// Roster is the campaign's ambassadors.
type Roster struct {
	Campaign    string       `yaml:"campaign"`
	Topic       string       `yaml:"topic"`
	Ambassadors []Ambassador `yaml:"ambassadors"`
}

// Account is one ambassador's account on one platform.
type Account struct {
	Platform     string
	AccountID    string
	AmbassadorID string
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
	lines := ambassadorLines(&doc)
	at := func(i int) string {
		if i < len(lines) {
			return fmt.Sprintf("%s:%d", name, lines[i])
		}
		return name
	}
	var errs []error
	if len(r.Ambassadors) == 0 {
		errs = append(errs, fmt.Errorf("roster %s: no ambassadors", name))
	}
	seen := map[string]int{}
	accounts := map[string]string{}
	for i, a := range r.Ambassadors {
		switch {
		case a.ID == "":
			errs = append(errs, fmt.Errorf("roster %s: ambassador without id", at(i)))
		case snapshot.ValidAmbassadorID(a.ID) != nil:
			errs = append(errs, fmt.Errorf("roster %s: ambassador id %q: use letters, digits, _ . - (at most 64)", at(i), a.ID))
		}
		if j, dup := seen[a.ID]; dup && a.ID != "" {
			errs = append(errs, fmt.Errorf("roster %s: ambassador id %q already used at line %d", at(i), a.ID, lines[j]))
		}
		seen[a.ID] = i
		if a.Name == "" {
			errs = append(errs, fmt.Errorf("roster %s: ambassador %q has no name", at(i), a.ID))
		}
		if len(a.Accounts) == 0 {
			errs = append(errs, fmt.Errorf("roster %s: ambassador %q has no accounts", at(i), a.ID))
		}
		for p, acc := range a.Accounts {
			if !snapshot.KnownPlatform(p) {
				errs = append(errs, fmt.Errorf("roster %s: ambassador %q: unknown platform %q (want one of %v)", at(i), a.ID, p, snapshot.Platforms))
				continue
			}
			if acc == "" {
				errs = append(errs, fmt.Errorf("roster %s: ambassador %q: empty %s account", at(i), a.ID, p))
				continue
			}
			// The snapshot rules' account id format: a wrong one here would
			// have every snapshot of the account rejected later.
			if err := snapshot.PlatformRules[p].AccountID(acc); err != nil {
				errs = append(errs, fmt.Errorf("roster %s: ambassador %q: %s account: %w", at(i), a.ID, p, err))
			}
			key := p + ":" + acc
			if other, dup := accounts[key]; dup {
				errs = append(errs, fmt.Errorf("roster %s: ambassador %q: %s account %q also belongs to %q", at(i), a.ID, p, acc, other))
			}
			accounts[key] = a.ID
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &r, nil
}

// ambassadorLines returns the line of each item of the ambassadors list.
func ambassadorLines(doc *yaml.Node) []int {
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "ambassadors" {
			var lines []int
			for _, item := range m.Content[i+1].Content {
				lines = append(lines, item.Line)
			}
			return lines
		}
	}
	return nil
}
