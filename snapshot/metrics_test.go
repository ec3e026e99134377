package snapshot

import (
	"reflect"
	"strings"
	"testing"
)

// Every field of Metrics is in exactly one of Counters and Gauges, under
// its JSON name, and each entry's Field is that field: a metric added to
// the struct without its line in the table (or a line pointing at the
// wrong field) fails here.
func TestMetricTablesListEveryMetricsField(t *testing.T) {
	var m Metrics
	v := reflect.ValueOf(&m).Elem()
	byAddr := map[uintptr]string{} // field address → JSON name
	kinds := map[string]reflect.Type{}
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		byAddr[v.Field(i).Addr().Pointer()] = name
		kinds[name] = f.Type
	}
	seen := map[string]bool{}
	check := func(name string, addr uintptr, want reflect.Type) {
		if seen[name] {
			t.Errorf("%s is listed twice", name)
		}
		seen[name] = true
		if got := byAddr[addr]; got != name {
			t.Errorf("table entry %s points at the field of %q", name, got)
		}
		if kinds[name] != want {
			t.Errorf("%s: Metrics field is %v, the table holds %v", name, kinds[name], want)
		}
	}
	for _, c := range Counters {
		check(c.Name, reflect.ValueOf(c.Field(&m)).Pointer(), reflect.TypeFor[*int64]())
	}
	for _, g := range Gauges {
		check(g.Name, reflect.ValueOf(g.Field(&m)).Pointer(), reflect.TypeFor[*float64]())
	}
	for name := range kinds {
		if !seen[name] {
			t.Errorf("Metrics field %s is in neither Counters nor Gauges", name)
		}
	}
}
