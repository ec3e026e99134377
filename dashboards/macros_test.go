package dashboards

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// choice is a variable's state in Grafana: the values selected, and whether
// that is "All" (whose values are then every option's).
type choice struct {
	values []string
	all    bool
}

// grafanaRun is what Grafana and the ClickHouse plugin know when they run a
// query: the time range and the variables.
type grafanaRun struct {
	from, to time.Time
	vars     map[string]choice
}

// expand turns a panel's rawSql into the SQL the plugin sends ClickHouse,
// in the plugin's order: its frontend's $__conditionalAll, then Grafana's
// template variables (with the plugin's default format for multi-values),
// then its backend's macros. Only the macros these dashboards use are known;
// any other is an error, so a new one must be added here (and tested).
func (g grafanaRun) expand(sql string) (string, error) {
	sql, err := g.conditionalAll(sql)
	if err != nil {
		return "", err
	}
	if sql, err = g.variables(sql); err != nil {
		return "", err
	}
	return g.macros(sql)
}

// conditionalAll follows the plugin (CHDatasource.applyConditionalAll):
// from the last occurrence backwards, $__conditionalAll(phrase, $var) is
// 1=1 when $var is All or empty, else the phrase.
func (g grafanaRun) conditionalAll(sql string) (string, error) {
	const macro = "$__conditionalAll("
	for {
		i := strings.LastIndex(sql, macro)
		if i < 0 {
			return sql, nil
		}
		args, end, err := macroArgs(sql, i+len(macro)-1)
		if err != nil || len(args) != 2 {
			return "", fmt.Errorf("$__conditionalAll at %d: want 2 arguments (%v)", i, err)
		}
		name := strings.Trim(strings.TrimSpace(args[1]), "${}")
		c, ok := g.vars[name]
		if !ok {
			return "", fmt.Errorf("$__conditionalAll names $%s, which is not a variable", name)
		}
		phrase := args[0]
		if c.all || len(c.values) == 0 || (len(c.values) == 1 && c.values[0] == "") {
			phrase = "1=1"
		}
		sql = sql[:i] + phrase + sql[end:]
	}
}

// macroArgs splits the arguments of the macro whose "(" is at open, at
// commas outside nested parentheses, and returns where the macro ends.
func macroArgs(s string, open int) ([]string, int, error) {
	depth, start := 0, open+1
	var args []string
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return append(args, s[start:i]), i + 1, nil
			}
		case ',':
			if depth == 1 {
				args = append(args, s[start:i])
				start = i + 1
			}
		}
	}
	return nil, 0, fmt.Errorf("unbalanced parentheses after %q", s[open:min(len(s), open+40)])
}

var templateVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// variables replaces $var, ${var} and ${var:singlequote} as Grafana's
// template service does with the plugin's format function: singlequote
// quotes each value (escaping ' as \') and joins them with commas; without
// a format a multi-value becomes 'a','b' and a single value stays raw.
// Names starting with __ are left for the macros.
func (g grafanaRun) variables(sql string) (string, error) {
	var err error
	out := templateVar.ReplaceAllStringFunc(sql, func(m string) string {
		sub := templateVar.FindStringSubmatch(m)
		name, format := sub[1], sub[2]
		if name == "" {
			name = sub[3]
		}
		if strings.HasPrefix(name, "__") {
			return m
		}
		c, ok := g.vars[name]
		if !ok {
			err = fmt.Errorf("$%s is not a variable", name)
			return m
		}
		switch format {
		case "singlequote":
			q := make([]string, len(c.values))
			for i, v := range c.values {
				q[i] = "'" + strings.ReplaceAll(v, "'", `\'`) + "'"
			}
			return strings.Join(q, ",")
		case "":
			if len(c.values) == 1 && !c.all {
				return c.values[0]
			}
			return "'" + strings.Join(c.values, "','") + "'"
		default:
			err = fmt.Errorf("${%s:%s}: format not known here", name, format)
			return m
		}
	})
	return out, err
}

var backendMacro = regexp.MustCompile(`\$__([A-Za-z_]+)`)

// macros expands the plugin backend's macros (pkg/macros): the time range
// as toDateTime(unix seconds); $__timeFilter(col) as col >= from AND
// col <= to.
func (g grafanaRun) macros(sql string) (string, error) {
	from, to := fmt.Sprintf("toDateTime(%d)", g.from.Unix()), fmt.Sprintf("toDateTime(%d)", g.to.Unix())
	var b strings.Builder
	for {
		loc := backendMacro.FindStringSubmatchIndex(sql)
		if loc == nil {
			b.WriteString(sql)
			return b.String(), nil
		}
		b.WriteString(sql[:loc[0]])
		name, rest := sql[loc[2]:loc[3]], loc[1]
		switch name {
		case "fromTime":
			b.WriteString(from)
		case "toTime":
			b.WriteString(to)
		case "timeFilter":
			if rest >= len(sql) || sql[rest] != '(' {
				return "", fmt.Errorf("$__timeFilter without its column")
			}
			args, end, err := macroArgs(sql, rest)
			if err != nil || len(args) != 1 {
				return "", fmt.Errorf("$__timeFilter wants 1 argument (%v)", err)
			}
			col := strings.TrimSpace(args[0])
			fmt.Fprintf(&b, "%s >= %s AND %s <= %s", col, from, col, to)
			rest = end
		default:
			return "", fmt.Errorf("macro $__%s is not expanded by this test's expander: add it (as the plugin does) with a test", name)
		}
		sql = sql[rest:]
	}
}

func TestExpandAsThePluginDoes(t *testing.T) {
	run := grafanaRun{
		from: time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC),
		to:   time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC),
		vars: map[string]choice{
			"platform":   {values: []string{"douyin", "weibo", "wechat_channels"}, all: true},
			"community":  {values: []string{"西山", "O'Brien 街道"}},
			"ambassador": {values: []string{"amb-7"}},
			"quiet_days": {values: []string{"3"}},
		},
	}
	for _, c := range []struct{ in, want string }{
		// All: the condition goes, whatever its parentheses.
		{"WHERE $__conditionalAll(platform IN (${platform:singlequote}), $platform) AND x",
			"WHERE 1=1 AND x"},
		// A selection: the phrase stays and its values are quoted, ' escaped.
		{"WHERE $__conditionalAll(community IN (${community:singlequote}), $community)",
			`WHERE community IN ('西山','O\'Brien 街道')`},
		// Nested macros expand from the last one backwards.
		{"$__conditionalAll(a IN (${platform:singlequote}), $platform) OR $__conditionalAll(b IN (${community:singlequote}), $community)",
			`1=1 OR b IN ('西山','O\'Brien 街道')`},
		{"ambassador_id = ${ambassador:singlequote} AND d >= $quiet_days", "ambassador_id = 'amb-7' AND d >= 3"},
		// The plugin's default format for a multi-value: quoted, joined.
		{"platform IN ($platform)", "platform IN ('douyin','weibo','wechat_channels')"},
		// The backend's time macros, in unix seconds (1796000400 is 2026-11-30T01:00:00Z).
		{"WHERE $__timeFilter(hour) AND day >= toDate($__fromTime) AND day < toDate($__toTime)",
			"WHERE hour >= toDateTime(1796000400) AND hour <= toDateTime(1796086800) AND day >= toDate(toDateTime(1796000400)) AND day < toDate(toDateTime(1796086800))"},
		{"$__timeFilter(toDate(opened_at, 'Asia/Shanghai'))",
			"toDate(opened_at, 'Asia/Shanghai') >= toDateTime(1796000400) AND toDate(opened_at, 'Asia/Shanghai') <= toDateTime(1796086800)"},
	} {
		got, err := run.expand(c.in)
		if err != nil || got != c.want {
			t.Errorf("expand(%q)\n got %q, %v\nwant %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{
		"$__timeInterval(hour)",                // a macro this expander does not know
		"x = $nosuch",                          // an undefined variable
		"$__conditionalAll(a IN (1), $nosuch)", // an undefined variable in the macro
		"$__conditionalAll(a IN (1, $platform", // unbalanced
		"$__timeFilter hour",                   // no column
		"${platform:csv}",                      // a format this expander does not know
	} {
		if got, err := run.expand(bad); err == nil {
			t.Errorf("expand(%q) = %q, want an error", bad, got)
		}
	}
}
