package snapshot

import "unsafe"

// The one list of a snapshot's metrics. Each metric's name is its JSON field
// on the topic and its column in ClickHouse; the encoder, the decoder, the
// validation, the rollup, the sink and the warehouse's verification all
// iterate over these tables. Adding a metric is a field in Metrics, a line
// here, a migration that adds its column (a test compares the tables with
// the migrated schema) and its mapping in each adapter that gives it.

// CounterMetric is a cumulative int64 counter: summable, so post_hourly
// holds its signed deltas in a column of the same name.
type CounterMetric struct {
	Name   string            // JSON field; column of snapshots and post_hourly
	offset uintptr           // of its *int64 field in Metrics
	Max    func(Rules) int64 // the largest plausible value under a platform's rules
}

// GaugeMetric is a float64 platform extra (a rate, an average): kept in
// snapshots, never summed.
type GaugeMetric struct {
	Name   string  // JSON field; column of snapshots
	offset uintptr // of its *float64 field in Metrics
	Max    float64 // valid values are 0..Max
	Unit   string  // of Max, for error messages ("" or " seconds")
}

func maxPlays(r Rules) int64   { return r.MaxPlays }
func maxCounter(r Rules) int64 { return r.MaxCounter }

// Counters are the summable counters, in the order of the JSON object and of
// the columns of snapshots and post_hourly. rollup's counter i is Counters[i].
var Counters = [...]CounterMetric{
	{"plays", unsafe.Offsetof(Metrics{}.Plays), maxPlays},
	{"likes", unsafe.Offsetof(Metrics{}.Likes), maxCounter},
	{"comments", unsafe.Offsetof(Metrics{}.Comments), maxCounter},
	{"shares", unsafe.Offsetof(Metrics{}.Shares), maxCounter},
	{"favorites", unsafe.Offsetof(Metrics{}.Favorites), maxCounter},
	{"forwards", unsafe.Offsetof(Metrics{}.Forwards), maxCounter},
	{"downloads", unsafe.Offsetof(Metrics{}.Downloads), maxCounter},
	{"recommends", unsafe.Offsetof(Metrics{}.Recommends), maxCounter},
}

// NumCounters is how many summable counters there are.
const NumCounters = len(Counters)

// Gauges are the float extras, in the JSON object's order, after Counters.
var Gauges = [...]GaugeMetric{
	{"completion_rate", unsafe.Offsetof(Metrics{}.CompletionRate), 1, ""},
	{"avg_watch_seconds", unsafe.Offsetof(Metrics{}.AvgWatchSeconds), MaxAvgWatchSeconds, " seconds"},
}

// Field is the field of m that holds the counter. It is found by its offset,
// not by a closure: a pointer passed to a func value escapes, so every
// Snapshot that the encoder, the decoder or Validate is given would have to
// live on the heap (an allocation per message where it need not be).
// metrics_test checks each offset's field name and type.
func (c *CounterMetric) Field(m *Metrics) **int64 {
	return (**int64)(unsafe.Add(unsafe.Pointer(m), c.offset))
}

// Get returns the counter's value in m: nil when the platform did not give it.
func (c *CounterMetric) Get(m *Metrics) *int64 { return *c.Field(m) }

// Field is the field of m that holds the gauge (found as CounterMetric.Field).
func (g *GaugeMetric) Field(m *Metrics) **float64 {
	return (**float64)(unsafe.Add(unsafe.Pointer(m), g.offset))
}

// Get returns the gauge's value in m: nil when the platform did not give it.
func (g *GaugeMetric) Get(m *Metrics) *float64 { return *g.Field(m) }

// CounterNames are the names of Counters, in order.
func CounterNames() []string {
	names := make([]string, len(Counters))
	for i := range Counters {
		names[i] = Counters[i].Name
	}
	return names
}

// GaugeNames are the names of Gauges, in order.
func GaugeNames() []string {
	names := make([]string, len(Gauges))
	for i := range Gauges {
		names[i] = Gauges[i].Name
	}
	return names
}

// CounterIndex is the index in Counters of the counter named name, or -1.
func CounterIndex(name string) int {
	for i := range Counters {
		if Counters[i].Name == name {
			return i
		}
	}
	return -1
}
