package dashboards

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// Panel types that show numbers and so must say their unit.
var unitPanels = map[string]bool{"stat": true, "timeseries": true, "table": true, "bargauge": true, "piechart": true, "gauge": true}

// dsVars are the datasource variables and the plugin each must select.
var dsVars = map[string]string{"${ds_ch}": ClickHousePlugin, "${ds_prom}": "prometheus"}

// varRef finds $name, ${name} and ${name:format}; names starting with __
// are Grafana's own ($__timeFilter, ${__data.fields.x}, $__rate_interval).
var varRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// Rules in the spirit of Grafana's dashboard linter, on the committed JSON.
func TestLintRules(t *testing.T) {
	ds := loadGenerated(t)
	defined := map[string]map[string]bool{} // uid → variable names
	for _, d := range ds {
		vars := map[string]bool{}
		for _, v := range d.Templating.List {
			if vars[v.Name] {
				t.Errorf("%s: variable %s defined twice", *d.Uid, v.Name)
			}
			vars[v.Name] = true
		}
		if defined[*d.Uid] != nil {
			t.Errorf("dashboard uid %s used twice", *d.Uid)
		}
		defined[*d.Uid] = vars
	}
	if _, err := os.Stat("../docs/使用说明.md"); err != nil {
		t.Errorf("the office's guide, named in every dashboard: %v", err)
	}
	if len(defined) != 6 {
		t.Errorf("%d dashboards, want 6", len(defined))
	}
	for _, d := range ds {
		uid := *d.Uid
		vars := defined[uid]
		checkRefs := func(where, text string) {
			for _, m := range varRef.FindAllStringSubmatch(text, -1) {
				if name := m[1]; !strings.HasPrefix(name, "__") && !vars[name] {
					t.Errorf("%s %s uses $%s, which the dashboard does not define", uid, where, name)
				}
			}
		}
		if !hasHan(*d.Title) || d.Description == nil || !hasHan(*d.Description) {
			t.Errorf("%s: title or description is not in Chinese", uid)
		}
		if !strings.Contains(*d.Description, "docs/使用说明.md") {
			t.Errorf("%s: the description does not name the office's guide docs/使用说明.md", uid)
		}
		if d.Timezone == nil || *d.Timezone != Timezone {
			t.Errorf("%s: timezone %v, want %s", uid, d.Timezone, Timezone)
		}
		// The datasources are variables of the right plugin type.
		for _, v := range d.Templating.List {
			if v.Type == dashboard.VariableTypeDatasource {
				want := dsVars["${"+v.Name+"}"]
				if v.Query == nil || v.Query.String == nil || *v.Query.String != want {
					t.Errorf("%s: datasource variable %s selects %v, want %s", uid, v.Name, v.Query, want)
				}
			}
			if v.Query != nil && v.Query.Map != nil {
				sql, _ := v.Query.Map["rawSql"].(string)
				checkRefs("variable "+v.Name, sql)
				if v.Datasource == nil || !usesDSVar(*v.Datasource, ClickHousePlugin) {
					t.Errorf("%s: variable %s does not query through the ClickHouse datasource variable", uid, v.Name)
				}
			}
		}
		for _, a := range d.Annotations.List {
			if a.Datasource == nil || !usesDSVar(*a.Datasource, ClickHousePlugin) {
				t.Errorf("%s: annotation %q does not use the datasource variable", uid, a.Name)
			}
			if q, ok := a.Target.(ClickHouseQuery); ok {
				checkRefs("annotation "+a.Name, q.RawSql)
			} else {
				t.Errorf("%s: annotation %q target is %T", uid, a.Name, a.Target)
			}
		}
		ids := map[uint32]string{}
		var boxes []dashboard.GridPos
		var titles []string
		for _, p := range panels(d) {
			title := ""
			if p.Title != nil {
				title = *p.Title
			}
			where := fmt.Sprintf("panel %q", title)
			if !hasHan(title) {
				t.Errorf("%s: panel without a Chinese title (%q)", uid, title)
			}
			if p.Description == nil || !hasHan(*p.Description) {
				t.Errorf("%s %s: no description", uid, where)
			}
			if p.Id == nil {
				t.Errorf("%s %s: no id", uid, where)
			} else if other, dup := ids[*p.Id]; dup {
				t.Errorf("%s: panels %q and %q share id %d", uid, other, title, *p.Id)
			} else {
				ids[*p.Id] = title
			}
			if unitPanels[p.Type] && (p.FieldConfig == nil || p.FieldConfig.Defaults.Unit == nil || *p.FieldConfig.Defaults.Unit == "") {
				t.Errorf("%s %s (%s): no unit", uid, where, p.Type)
			}
			// The panel and every target select a datasource variable.
			if p.Datasource == nil || p.Datasource.Uid == nil || dsVars[*p.Datasource.Uid] == "" ||
				p.Datasource.Type == nil || *p.Datasource.Type != dsVars[*p.Datasource.Uid] {
				t.Errorf("%s %s: datasource %v is not one of the datasource variables", uid, where, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s %s: no queries", uid, where)
			}
			for _, q := range p.Targets {
				switch q := q.(type) {
				case ClickHouseQuery:
					if q.Datasource == nil || !usesDSVar(*q.Datasource, ClickHousePlugin) || *p.Datasource.Type != ClickHousePlugin {
						t.Errorf("%s %s: ClickHouse target %s does not use $ds_ch", uid, where, q.RefId)
					}
					checkRefs(where, q.RawSql)
				case *prometheus.Dataquery:
					if q.Datasource == nil || !usesDSVar(*q.Datasource, "prometheus") || *p.Datasource.Type != "prometheus" {
						t.Errorf("%s %s: Prometheus target %s does not use $ds_prom", uid, where, *q.RefId)
					}
					checkRefs(where, q.Expr)
				default:
					t.Errorf("%s %s: target of unexpected type %T", uid, where, q)
				}
			}
			if p.GridPos == nil {
				t.Errorf("%s %s: no grid position", uid, where)
				continue
			}
			g := *p.GridPos
			if g.W == 0 || g.H == 0 || g.X+g.W > 24 {
				t.Errorf("%s %s: grid position %+v lies outside the 24-column grid", uid, where, g)
			}
			for i, o := range boxes {
				if g.X < o.X+o.W && o.X < g.X+g.W && g.Y < o.Y+o.H && o.Y < g.Y+g.H {
					t.Errorf("%s: panels %q %+v and %q %+v overlap", uid, title, g, titles[i], o)
				}
			}
			boxes, titles = append(boxes, g), append(titles, title)
			// Links point at dashboards that exist and variables they define.
			if p.FieldConfig != nil {
				for _, o := range p.FieldConfig.Overrides {
					for _, prop := range o.Properties {
						if prop.Id != "links" {
							continue
						}
						for _, l := range prop.Value.([]any) {
							u := l.(map[string]any)["url"].(string)
							checkRefs(where+" link", u)
							checkLink(t, uid+" "+where, u, defined)
						}
					}
				}
			}
		}
		for _, l := range d.Links {
			if l.Type == dashboard.DashboardLinkTypeDashboards {
				for _, tag := range l.Tags {
					if tag != Tag {
						t.Errorf("%s: link to dashboards tagged %q, which no dashboard carries", uid, tag)
					}
				}
			}
		}
		if !slices.Contains(d.Tags, Tag) {
			t.Errorf("%s: not tagged %q, so the dashboards' link menu misses it", uid, Tag)
		}
	}
}

// checkLink checks a drill-down URL: /d/<uid>?var-<name>=… must name an
// existing dashboard and variables it defines.
func checkLink(t *testing.T, where, raw string, defined map[string]map[string]bool) {
	t.Helper()
	if strings.HasPrefix(raw, "${") && !strings.HasPrefix(raw, "/") {
		return // a field's own URL (the post on its platform)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Errorf("%s: link %q: %v", where, raw, err)
		return
	}
	target, ok := strings.CutPrefix(u.Path, "/d/")
	vars := defined[target]
	if !ok || vars == nil {
		t.Errorf("%s: link %q points at no dashboard of ours", where, raw)
		return
	}
	named := 0
	for _, part := range strings.Split(u.RawQuery, "&") {
		name, _, _ := strings.Cut(part, "=")
		if v, ok := strings.CutPrefix(name, "var-"); ok {
			named++
			if !vars[v] {
				t.Errorf("%s: link %q sets var-%s, which %s does not define", where, raw, v, target)
			}
		}
		if m := regexp.MustCompile(`^\$\{([a-z_]+):queryparam\}$`).FindStringSubmatch(part); m != nil && !vars[m[1]] {
			t.Errorf("%s: link %q passes $%s, which %s does not define", where, raw, m[1], target)
		}
	}
	if named == 0 {
		t.Errorf("%s: link %q opens %s without choosing what to show", where, raw, target)
	}
}

func usesDSVar(ref common.DataSourceRef, plugin string) bool {
	return ref.Uid != nil && ref.Type != nil && dsVars[*ref.Uid] == plugin && *ref.Type == plugin
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}
