package report

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Every number the report prints comes from one of these queries, kept as
// plain SQL beside the template so an analyst can run it by hand
// (clickhouse-client --param_from='2026-12-01 16:00:00' …). Each file's
// first line names the columns that identify a row ("-- key: platform").
//
//go:embed queries/*.sql
var queryFiles embed.FS

// Query is one embedded SQL file.
type Query struct {
	Name string   // file name without .sql
	SQL  string   // the statement, with {name:String} parameters
	Key  []string // the columns that identify a row
}

// Queries returns every embedded query by name.
func Queries() (map[string]Query, error) {
	entries, err := fs.ReadDir(queryFiles, "queries")
	if err != nil {
		return nil, err
	}
	out := map[string]Query{}
	for _, e := range entries {
		b, err := queryFiles.ReadFile("queries/" + e.Name())
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(e.Name(), ".sql")
		first, _, _ := strings.Cut(string(b), "\n")
		key, ok := strings.CutPrefix(strings.TrimSpace(first), "-- key:")
		if !ok {
			return nil, fmt.Errorf("report query %s: the first line must be \"-- key: column[,column]\"", e.Name())
		}
		var cols []string
		for _, c := range strings.Split(key, ",") {
			cols = append(cols, strings.TrimSpace(c))
		}
		out[name] = Query{Name: name, SQL: string(b), Key: cols}
	}
	return out, nil
}

// Row is one result row: its query, its key and its values by column.
// Values are nil (SQL NULL), int64, uint64, float64, string or time.Time.
type Row struct {
	Query string
	Key   string
	Vals  map[string]any
}

// Get is the value of column col (nil when NULL).
func (r Row) Get(col string) any { return r.Vals[col] }

// Params are a query's parameters, all passed as strings and converted in
// the SQL (toDateTime({to:String}, 'UTC')), so nothing depends on the
// server's time zone.
type Params map[string]string

// Run runs query q with params and returns its rows in order.
func Run(ctx context.Context, conn driver.Conn, q Query, params Params) ([]Row, error) {
	p := clickhouse.Parameters{}
	for k, v := range params {
		p[k] = v
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithParameters(p))
	rows, err := conn.Query(ctx, q.SQL)
	if err != nil {
		return nil, fmt.Errorf("report query %s: %w", q.Name, err)
	}
	defer rows.Close()
	cts := rows.ColumnTypes()
	var out []Row
	for rows.Next() {
		dest := make([]any, len(cts))
		for i, ct := range cts {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("report query %s: %w", q.Name, err)
		}
		r := Row{Query: q.Name, Vals: make(map[string]any, len(cts))}
		for i, ct := range cts {
			v, err := plain(reflect.ValueOf(dest[i]).Elem())
			if err != nil {
				return nil, fmt.Errorf("report query %s column %s: %w", q.Name, ct.Name(), err)
			}
			r.Vals[ct.Name()] = v
		}
		var key []string
		for _, k := range q.Key {
			v, ok := r.Vals[k]
			if !ok {
				return nil, fmt.Errorf("report query %s: key column %s is not in its result", q.Name, k)
			}
			key = append(key, fmt.Sprint(v))
		}
		r.Key = strings.Join(key, "|")
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report query %s: %w", q.Name, err)
	}
	return out, nil
}

// plain turns a scanned value into nil, int64, uint64, float64, string or time.Time.
func plain(v reflect.Value) (any, error) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, nil
		}
		v = v.Elem()
	}
	switch x := v.Interface().(type) {
	case time.Time:
		return x.UTC(), nil
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint(), nil
	case reflect.Float32, reflect.Float64:
		return v.Float(), nil
	case reflect.String:
		return v.String(), nil
	case reflect.Bool:
		return v.Bool(), nil
	}
	return nil, fmt.Errorf("unexpected type %s", v.Type())
}

// Number is v as a float64 and whether it is a number at all (not NULL).
func Number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// sortedNames is the query names in order, for messages.
func sortedNames(qs map[string]Query) []string {
	var out []string
	for n := range qs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
