package warehouse

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// LocalSuffix names the replicated table that holds a shard's rows on each
// replica; the table's own name becomes a Distributed table over every
// shard. Analysts, dashboards, the views and the sink keep the names they
// use on a single server, and read (and write) the whole cluster.
const LocalSuffix = "_local"

// ReplicaPath is where a replicated table keeps its replication log in
// ClickHouse Keeper; the macros come from each server's config.
const ReplicaPath = "/clickhouse/tables/{shard}/{database}/{table}"

// ClusterRenderer rewrites the single-server migrations for a ClickHouse
// cluster: every statement runs ON CLUSTER; a MergeTree-family table
// becomes <name>_local with the Replicated form of its engine (same engine
// arguments after the Keeper path and replica) and <name> a Distributed
// table over it; views and parameterized views stay as written (they read
// the Distributed names). It is stateful because an ALTER or DROP of a
// table must know that the table was split in two: render every migration,
// in order, with one renderer (Plan and MigrateOn do).
type ClusterRenderer struct {
	Cluster  string // the <remote_servers> name
	Database string // the database the tables live in

	sharded map[string]bool // names (unqualified) that are Distributed over <name>_local
	objects []string        // tables (both halves) and views created, in order
}

// Objects are the tables (Distributed and local) and views the rendered
// statements create and have not dropped, in order.
func (r *ClusterRenderer) Objects() []string {
	return append([]string(nil), r.objects...)
}

func (r *ClusterRenderer) created(names ...string) {
	for _, n := range names {
		if !slices.Contains(r.objects, n) {
			r.objects = append(r.objects, n)
		}
	}
}

func (r *ClusterRenderer) dropped(names ...string) {
	r.objects = slices.DeleteFunc(r.objects, func(o string) bool { return slices.Contains(names, o) })
}

// NewClusterRenderer checks the names it will write into every statement.
func NewClusterRenderer(cluster, database string) (*ClusterRenderer, error) {
	if cluster == "" {
		return nil, fmt.Errorf("cluster name is empty")
	}
	if database == "" {
		database = Database
	}
	return &ClusterRenderer{Cluster: cluster, Database: database, sharded: map[string]bool{}}, nil
}

// Render returns the cluster form of one single-server statement: one or
// more statements, to run in order. A statement it cannot render faithfully
// is an error naming what it met, never a guess.
func (r *ClusterRenderer) Render(stmt string) ([]string, error) {
	toks, err := lex(stmt)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty statement")
	}
	for j := 0; j+1 < len(toks); j++ {
		if toks[j].depth == 0 && toks[j].is("ON") && toks[j+1].is("CLUSTER") {
			return nil, fmt.Errorf("statement already names a cluster (ON CLUSTER): the single-server form must not")
		}
	}
	switch {
	case matchWords(toks, "CREATE", "TABLE"), matchWords(toks, "CREATE", "OR", "REPLACE", "TABLE"):
		return r.createTable(stmt, toks)
	case matchWords(toks, "CREATE", "VIEW"), matchWords(toks, "CREATE", "OR", "REPLACE", "VIEW"):
		return r.createView(stmt, toks)
	case matchWords(toks, "CREATE", "MATERIALIZED", "VIEW"):
		return r.createMaterializedView(stmt, toks)
	case matchWords(toks, "ALTER", "TABLE"):
		return r.alterTable(stmt, toks)
	case matchWords(toks, "DROP", "TABLE"), matchWords(toks, "DROP", "VIEW"):
		return r.drop(stmt, toks)
	case matchWords(toks, "INSERT", "INTO"):
		// Runs once, on the server Migrate talks to: the Distributed table
		// (same name) routes the rows to their shard.
		return []string{stmt}, nil
	}
	return nil, fmt.Errorf("no cluster form for a statement starting %q (renderable: CREATE TABLE with a MergeTree-family engine, CREATE [OR REPLACE] VIEW, CREATE MATERIALIZED VIEW … TO … AS SELECT … FROM one table, ALTER TABLE, DROP TABLE|VIEW, INSERT)", firstWords(toks, 3))
}

// createTable splits a MergeTree-family table into <name>_local
// (Replicated engine) and <name> (Distributed).
func (r *ClusterRenderer) createTable(stmt string, toks []token) ([]string, error) {
	i, nameEnd, name, err := r.createdName(toks)
	if err != nil {
		return nil, err
	}
	// The column list: the parenthesis right after the name.
	if nameEnd >= len(toks) || toks[nameEnd].text != "(" {
		return nil, fmt.Errorf("table %s: no column list after the name (CREATE TABLE … AS … has no cluster form here)", name)
	}
	colsClose := closing(toks, nameEnd)
	if colsClose < 0 {
		return nil, fmt.Errorf("table %s: unbalanced parentheses", name)
	}
	eng := findWord(toks, colsClose+1, "ENGINE")
	if eng < 0 {
		return nil, fmt.Errorf("table %s: no ENGINE clause (the server's default engine has no certain Replicated form)", name)
	}
	e := eng + 1
	if e < len(toks) && toks[e].text == "=" {
		e++
	}
	if e >= len(toks) || toks[e].kind != tokWord {
		return nil, fmt.Errorf("table %s: ENGINE without an engine name", name)
	}
	engine := toks[e].text
	if !strings.HasSuffix(engine, "MergeTree") {
		return nil, fmt.Errorf("table %s: engine %s has no replicated form; use a MergeTree-family engine", name, engine)
	}
	if strings.HasPrefix(engine, "Replicated") || strings.HasPrefix(engine, "Shared") {
		return nil, fmt.Errorf("table %s: engine %s is already replicated; migrations are written for a single server", name, engine)
	}
	replArgs := fmt.Sprintf("'%s', '{replica}'", ReplicaPath)
	afterEngine := e + 1
	if afterEngine < len(toks) && toks[afterEngine].text == "(" {
		c := closing(toks, afterEngine)
		if c < 0 {
			return nil, fmt.Errorf("table %s: unbalanced parentheses in ENGINE", name)
		}
		args := strings.TrimSpace(stmt[toks[afterEngine].end:toks[c].pos])
		if args != "" {
			replArgs += ", " + args
		}
		afterEngine = c + 1
	}
	engineSQL := "Replicated" + engine + "(" + replArgs + ")"
	rest := stmt[toks[afterEngine-1].end:] // PARTITION BY, ORDER BY, TTL, SETTINGS … as written

	key, err := shardingKey(stmt, toks, nameEnd, colsClose, afterEngine)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", name, err)
	}

	local := r.qualified(name + LocalSuffix)
	head := strings.TrimSpace(stmt[:toks[i].pos]) // CREATE [OR REPLACE] TABLE [IF NOT EXISTS]
	localSQL := head + " " + local + " ON CLUSTER " + quoteIdent(r.Cluster) + " " +
		stmt[toks[nameEnd].pos:toks[e].pos] + engineSQL + rest
	distSQL := fmt.Sprintf("%s %s ON CLUSTER %s AS %s\nENGINE = Distributed(%s, %s, %s, %s)",
		head, r.qualified(name), quoteIdent(r.Cluster), local,
		quoteString(r.Cluster), quoteString(r.Database), quoteString(name+LocalSuffix), key)
	r.sharded[name] = true
	r.created(name, name+LocalSuffix)
	return []string{strings.TrimSpace(localSQL), distSQL}, nil
}

// shardingKey is the Distributed table's sharding expression: a hash of the
// table's sorting key up to its first date or time column. Rows that must
// meet on one shard share it — the twins a ReplacingMergeTree collapses, the
// rows of one alert, and every hour of one post (so that one INSERT of a
// post's hours stays atomic, as the sink's exactness argument needs) —
// while posts spread over the shards. A key that starts with a time column
// is hashed whole.
func shardingKey(stmt string, toks []token, colsOpen, colsClose, from int) (string, error) {
	types := map[string]string{}
	for _, col := range splitTop(toks, colsOpen+1, colsClose) {
		if len(col) < 2 || col[0].kind != tokWord && col[0].kind != tokQuoted {
			continue
		}
		switch strings.ToUpper(col[0].text) {
		case "INDEX", "PROJECTION", "CONSTRAINT":
			continue
		}
		types[col[0].ident()] = stmt[col[1].pos:col[len(col)-1].end]
	}
	ob := -1
	for j := from; j+1 < len(toks); j++ {
		if toks[j].depth == 0 && toks[j].is("ORDER") && toks[j+1].is("BY") {
			ob = j + 2
			break
		}
	}
	if ob < 0 || ob >= len(toks) {
		return "", fmt.Errorf("no ORDER BY: the sharding key is derived from the sorting key")
	}
	end := len(toks)
	for j := ob; j < len(toks); j++ {
		if toks[j].depth == 0 && toks[j].kind == tokWord && clauseWord(toks, j) {
			end = j
			break
		}
	}
	var elems [][]token
	if toks[ob].text == "(" && closing(toks, ob) == end-1 {
		elems = splitTop(toks, ob+1, end-1)
	} else {
		elems = [][]token{toks[ob:end]}
	}
	if len(elems) == 0 || len(elems[0]) == 0 || len(elems) == 1 && len(elems[0]) == 3 && elems[0][0].is("tuple") {
		return "", fmt.Errorf("ORDER BY tuple(): no sorting key to shard by")
	}
	var key []string
	for _, el := range elems {
		if len(el) == 0 {
			return "", fmt.Errorf("ORDER BY has an empty element")
		}
	}
	for _, el := range elems {
		if len(el) == 1 && isTimeType(types[el[0].ident()]) {
			break
		}
		key = append(key, stmt[el[0].pos:el[len(el)-1].end])
	}
	if len(key) == 0 {
		for _, el := range elems {
			key = append(key, stmt[el[0].pos:el[len(el)-1].end])
		}
	}
	return "cityHash64(" + strings.Join(key, ", ") + ")", nil
}

// isTimeType reports a Date/DateTime type, also inside Nullable or
// LowCardinality.
func isTimeType(t string) bool {
	t = strings.TrimSpace(t)
	for _, w := range []string{"Nullable(", "LowCardinality("} {
		t = strings.TrimPrefix(t, w)
	}
	return strings.HasPrefix(t, "Date")
}

// clauseWord reports a keyword that ends the ORDER BY expression.
func clauseWord(toks []token, j int) bool {
	next := func(w string) bool { return j+1 < len(toks) && toks[j+1].is(w) }
	switch strings.ToUpper(toks[j].text) {
	case "PARTITION", "PRIMARY", "SAMPLE":
		return next("BY") || next("KEY")
	case "TTL", "SETTINGS", "COMMENT":
		return true
	}
	return false
}

// createdName reads CREATE [OR REPLACE] TABLE|VIEW [IF NOT EXISTS] [db.]name:
// the index of the name, the index after it, and the name.
func (r *ClusterRenderer) createdName(toks []token) (at, next int, name string, err error) {
	at = 2
	if toks[1].is("OR") {
		at = 4
	}
	at = skipWords(toks, at, "IF", "NOT", "EXISTS")
	next, name, err = r.objectAt(toks, at)
	if err != nil {
		return 0, 0, "", err
	}
	return at, next, name, nil
}

// createView keeps the view's query (it reads the Distributed names) and
// runs it on every server. Parameterized views are views like any other.
func (r *ClusterRenderer) createView(stmt string, toks []token) ([]string, error) {
	i, nameEnd, name, err := r.createdName(toks)
	if err != nil {
		return nil, err
	}
	if r.sharded[name] {
		return nil, fmt.Errorf("view %s: a table of that name exists", name)
	}
	if nameEnd >= len(toks) {
		return nil, fmt.Errorf("view %s: no query", name)
	}
	head := strings.TrimSpace(stmt[:toks[i].pos])
	r.created(name)
	return []string{head + " " + r.qualified(name) + " ON CLUSTER " + quoteIdent(r.Cluster) + " " + strings.TrimSpace(stmt[toks[nameEnd].pos:])}, nil
}

// createMaterializedView runs a materialized view on every server, from
// the source's replicated table to the target's: a view sees the INSERTs
// that reach its own server's part of the source (the Distributed table
// sends each block to one replica of its shard; the target's replication
// copies what the view wrote), so each block goes through the view once.
// Rows land on the source's shard, not on the one the target's sharding
// key names: the views that read the target read the whole cluster
// (the Distributed name) and aggregate, as on one server. Only the form
// the migrations use renders: TO an existing table, a query reading one
// table (no JOIN, no subquery).
func (r *ClusterRenderer) createMaterializedView(stmt string, toks []token) ([]string, error) {
	i := skipWords(toks, 3, "IF", "NOT", "EXISTS")
	nameEnd, name, err := r.objectAt(toks, i)
	if err != nil {
		return nil, err
	}
	// table reads the table the view writes TO or reads FROM at toks[at]:
	// one an earlier migration created, split into its halves.
	table := func(at int, clause string) (next int, t string, err error) {
		next, t, err = r.objectAt(toks, at)
		if err != nil {
			return 0, "", fmt.Errorf("materialized view %s: %w", name, err)
		}
		if !r.sharded[t] {
			return 0, "", fmt.Errorf("materialized view %s: %s %s, which no earlier migration created as a table", name, clause, t)
		}
		return next, t, nil
	}
	if r.sharded[name] {
		return nil, fmt.Errorf("materialized view %s: a table of that name exists", name)
	}
	if nameEnd >= len(toks) || !toks[nameEnd].is("TO") {
		return nil, fmt.Errorf("materialized view %s: no TO table (a view with its own inner table has no cluster form here)", name)
	}
	toEnd, target, err := table(nameEnd+1, "TO")
	if err != nil {
		return nil, err
	}
	if toEnd >= len(toks) || !toks[toEnd].is("AS") {
		return nil, fmt.Errorf("materialized view %s: no AS SELECT after TO %s", name, target)
	}
	from := -1
	for j := toEnd + 1; j < len(toks); j++ {
		switch {
		case toks[j].is("JOIN"):
			return nil, fmt.Errorf("materialized view %s: a JOIN has no cluster form here (read one table)", name)
		case toks[j].is("FROM"):
			if from >= 0 || toks[j].depth != 0 {
				return nil, fmt.Errorf("materialized view %s: a subquery has no cluster form here (read one table)", name)
			}
			from = j
		}
	}
	if from < 0 {
		return nil, fmt.Errorf("materialized view %s: no FROM", name)
	}
	srcEnd, source, err := table(from+1, "FROM")
	if err != nil {
		return nil, err
	}
	if srcEnd < len(toks) && toks[srcEnd].text == "(" {
		return nil, fmt.Errorf("materialized view %s: FROM %s(…): a table function has no cluster form here", name, source)
	}
	head := strings.TrimSpace(stmt[:toks[i].pos])
	query := strings.TrimSpace(stmt[toks[toEnd].end:toks[from+1].pos]) + " " + r.qualified(source+LocalSuffix)
	if srcEnd < len(toks) {
		query += stmt[toks[srcEnd-1].end:]
	}
	r.created(name)
	return []string{head + " " + r.qualified(name) + " ON CLUSTER " + quoteIdent(r.Cluster) +
		" TO " + r.qualified(target+LocalSuffix) + " AS " + query}, nil
}

// alterTable sends each command where it belongs: column changes to both
// the local table and the Distributed one (whose columns must match), all
// else (settings, TTL, indexes, mutations) to the local table only.
func (r *ClusterRenderer) alterTable(stmt string, toks []token) ([]string, error) {
	nameEnd, name, err := r.objectAt(toks, 2)
	if err != nil {
		return nil, err
	}
	if !r.sharded[name] {
		return nil, fmt.Errorf("ALTER TABLE %s: no table of that name was created by an earlier migration", name)
	}
	if nameEnd >= len(toks) {
		return nil, fmt.Errorf("ALTER TABLE %s: no command", name)
	}
	var all, columns []string
	for _, cmd := range splitCommands(toks, nameEnd) {
		if len(cmd) == 0 {
			return nil, fmt.Errorf("ALTER TABLE %s: an empty command", name)
		}
		text := strings.TrimSpace(stmt[cmd[0].pos:cmd[len(cmd)-1].end])
		all = append(all, text)
		if len(cmd) >= 2 && cmd[1].is("COLUMN") {
			switch strings.ToUpper(cmd[0].text) {
			case "ADD", "DROP", "MODIFY", "RENAME", "COMMENT":
				columns = append(columns, text)
			}
		}
	}
	on := " ON CLUSTER " + quoteIdent(r.Cluster) + " "
	out := []string{"ALTER TABLE " + r.qualified(name+LocalSuffix) + on + strings.Join(all, ",\n    ")}
	if len(columns) > 0 {
		out = append(out, "ALTER TABLE "+r.qualified(name)+on+strings.Join(columns, ",\n    "))
	}
	return out, nil
}

// splitCommands splits an ALTER's command list at top-level commas that
// start a new command (a TTL or ORDER BY list has commas of its own).
func splitCommands(toks []token, from int) [][]token {
	starts := map[string]bool{"ADD": true, "DROP": true, "MODIFY": true, "RENAME": true, "COMMENT": true,
		"CLEAR": true, "MATERIALIZE": true, "UPDATE": true, "DELETE": true, "REMOVE": true, "RESET": true,
		"FREEZE": true, "UNFREEZE": true, "ATTACH": true, "DETACH": true, "REPLACE": true, "MOVE": true,
		"FETCH": true, "APPLY": true}
	var out [][]token
	start := from
	for j := from; j < len(toks); j++ {
		if toks[j].depth == 0 && toks[j].text == "," && j+1 < len(toks) && starts[strings.ToUpper(toks[j+1].text)] {
			out = append(out, toks[start:j])
			start = j + 1
		}
	}
	return append(out, toks[start:])
}

// drop drops both halves of a split table; a view once, on every server.
func (r *ClusterRenderer) drop(stmt string, toks []token) ([]string, error) {
	i := skipWords(toks, 2, "IF", "EXISTS")
	nameEnd, name, err := r.objectAt(toks, i)
	if err != nil {
		return nil, err
	}
	head := strings.TrimSpace(stmt[:toks[i].pos])
	tail := ""
	if nameEnd < len(toks) {
		tail = " " + strings.TrimSpace(stmt[toks[nameEnd].pos:])
	}
	on := " ON CLUSTER " + quoteIdent(r.Cluster)
	out := []string{head + " " + r.qualified(name) + on + tail}
	r.dropped(name)
	if toks[1].is("TABLE") && r.sharded[name] {
		out = append(out, head+" "+r.qualified(name+LocalSuffix)+on+tail)
		delete(r.sharded, name)
		r.dropped(name + LocalSuffix)
	}
	return out, nil
}

func (r *ClusterRenderer) qualified(name string) string {
	return quoteIdent(r.Database) + "." + quoteIdent(name)
}

func (r *ClusterRenderer) sameDatabase(db, name string) error {
	if db != "" && db != r.Database {
		return fmt.Errorf("%s.%s: migrations name objects in the campaign database only (here %s)", db, name, r.Database)
	}
	return nil
}

// objectAt reads [db.]name at toks[i], an object of the campaign
// database; it returns the index after it.
func (r *ClusterRenderer) objectAt(toks []token, i int) (next int, name string, err error) {
	next, db, name, err := objectName(toks, i)
	if err != nil {
		return 0, "", err
	}
	if err := r.sameDatabase(db, name); err != nil {
		return 0, "", err
	}
	return next, name, nil
}

// objectName reads [db.]name at toks[i]; it returns the index after it.
func objectName(toks []token, i int) (next int, db, name string, err error) {
	if i >= len(toks) || (toks[i].kind != tokWord && toks[i].kind != tokQuoted) {
		return 0, "", "", fmt.Errorf("expected a table or view name after %q", firstWords(toks, i))
	}
	name = toks[i].ident()
	if i+2 < len(toks) && toks[i+1].text == "." && (toks[i+2].kind == tokWord || toks[i+2].kind == tokQuoted) {
		return i + 3, name, toks[i+2].ident(), nil
	}
	return i + 1, "", name, nil
}

func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// --- a small lexer: enough of ClickHouse's syntax to find clauses at the
// top level of a statement without being fooled by strings, quoted names,
// comments or parentheses.

type tokKind int

const (
	tokWord   tokKind = iota // identifier or keyword
	tokQuoted                // `name` or "name"
	tokString                // 'literal'
	tokNumber
	tokPunct // ( ) , . = and every other symbol
)

type token struct {
	kind     tokKind
	text     string
	pos, end int // byte offsets in the statement
	depth    int // parentheses open before it (a "(" counts its outer depth)
}

func (t token) is(word string) bool { return t.kind == tokWord && strings.EqualFold(t.text, word) }

// ident is the name a word or quoted token stands for.
func (t token) ident() string {
	if t.kind == tokQuoted && len(t.text) >= 2 {
		q := t.text[:1]
		return strings.ReplaceAll(t.text[1:len(t.text)-1], q+q, q)
	}
	return t.text
}

func lex(s string) ([]token, error) {
	var out []token
	depth := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return nil, fmt.Errorf("unterminated comment at byte %d", i)
			}
			i += j + 4
		case c == '\'' || c == '`' || c == '"':
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\\' {
					j++
					continue
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c { // doubled quote
						j++
						continue
					}
					break
				}
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated %c at byte %d", c, i)
			}
			k := tokString
			if c != '\'' {
				k = tokQuoted
			}
			out = append(out, token{kind: k, text: s[i : j+1], pos: i, end: j + 1, depth: depth})
			i = j + 1
		case c == '_' || c < 0x80 && unicode.IsLetter(rune(c)):
			j := i
			for j < len(s) && (s[j] == '_' || s[j] < 0x80 && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])))) {
				j++
			}
			out = append(out, token{kind: tokWord, text: s[i:j], pos: i, end: j, depth: depth})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && (s[j] == '.' || s[j] == '_' || s[j] < 0x80 && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])))) {
				j++
			}
			out = append(out, token{kind: tokNumber, text: s[i:j], pos: i, end: j, depth: depth})
			i = j
		default:
			n := 1
			if c >= 0x80 { // a UTF-8 sequence outside quotes: keep it whole
				for i+n < len(s) && s[i+n]&0xC0 == 0x80 {
					n++
				}
			}
			d := depth
			switch c {
			case '(', '[':
				depth++
			case ')', ']':
				depth--
				d = depth
				if depth < 0 {
					return nil, fmt.Errorf("unbalanced %c at byte %d", c, i)
				}
			}
			out = append(out, token{kind: tokPunct, text: s[i : i+n], pos: i, end: i + n, depth: d})
			i += n
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced parentheses")
	}
	return out, nil
}

func matchWords(toks []token, words ...string) bool {
	if len(toks) < len(words) {
		return false
	}
	for i, w := range words {
		if !toks[i].is(w) {
			return false
		}
	}
	return true
}

func skipWords(toks []token, i int, words ...string) int {
	if matchWords(toks[min(i, len(toks)):], words...) {
		return i + len(words)
	}
	return i
}

func firstWords(toks []token, n int) string {
	var w []string
	for i := 0; i < n && i < len(toks); i++ {
		w = append(w, toks[i].text)
	}
	return strings.Join(w, " ")
}

// closing is the index of the bracket that closes toks[open], or -1.
func closing(toks []token, open int) int {
	for j := open + 1; j < len(toks); j++ {
		if toks[j].depth == toks[open].depth && (toks[j].text == ")" || toks[j].text == "]") {
			return j
		}
	}
	return -1
}

// findWord finds a word at the top level, from index from.
func findWord(toks []token, from int, word string) int {
	for j := from; j < len(toks); j++ {
		if toks[j].depth == 0 && toks[j].is(word) {
			return j
		}
	}
	return -1
}

// splitTop splits toks[from:to] at the commas directly inside them.
func splitTop(toks []token, from, to int) [][]token {
	if from >= to {
		return nil
	}
	d := toks[from].depth
	var out [][]token
	start := from
	for j := from; j < to; j++ {
		if toks[j].depth == d && toks[j].text == "," {
			out = append(out, toks[start:j])
			start = j + 1
		}
	}
	return append(out, toks[start:to])
}
