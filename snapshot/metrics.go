package snapshot

// The one list of a snapshot's metrics. Each metric's name is its JSON field
// on the topic and its column in ClickHouse; the encoder, the decoder, the
// validation, the rollup, the sink and the warehouse's verification all
// iterate over these tables. Adding a metric is a field in Metrics, a line
// here, a migration that adds its column (a test compares the tables with
// the migrated schema) and its mapping in each adapter that gives it.

// CounterMetric is a cumulative int64 counter: summable, so post_hourly
// holds its signed deltas in a column of the same name.
type CounterMetric struct {
	Name  string                 // JSON field; column of snapshots and post_hourly
	Field func(*Metrics) **int64 // the Metrics field that holds it
	Max   func(Rules) int64      // the largest plausible value under a platform's rules
}

// GaugeMetric is a float64 platform extra (a rate, an average): kept in
// snapshots, never summed.
type GaugeMetric struct {
	Name  string                   // JSON field; column of snapshots
	Field func(*Metrics) **float64 // the Metrics field that holds it
	Max   float64                  // valid values are 0..Max
	Unit  string                   // of Max, for error messages ("" or " seconds")
}

func maxPlays(r Rules) int64   { return r.MaxPlays }
func maxCounter(r Rules) int64 { return r.MaxCounter }

// Counters are the summable counters, in the order of the JSON object and of
// the columns of snapshots and post_hourly. rollup's counter i is Counters[i].
var Counters = [...]CounterMetric{
	{"plays", func(m *Metrics) **int64 { return &m.Plays }, maxPlays},
	{"likes", func(m *Metrics) **int64 { return &m.Likes }, maxCounter},
	{"comments", func(m *Metrics) **int64 { return &m.Comments }, maxCounter},
	{"shares", func(m *Metrics) **int64 { return &m.Shares }, maxCounter},
	{"favorites", func(m *Metrics) **int64 { return &m.Favorites }, maxCounter},
	{"forwards", func(m *Metrics) **int64 { return &m.Forwards }, maxCounter},
	{"downloads", func(m *Metrics) **int64 { return &m.Downloads }, maxCounter},
	{"recommends", func(m *Metrics) **int64 { return &m.Recommends }, maxCounter},
}

// NumCounters is how many summable counters there are.
const NumCounters = len(Counters)

// Gauges are the float extras, in the JSON object's order, after Counters.
var Gauges = [...]GaugeMetric{
	{"completion_rate", func(m *Metrics) **float64 { return &m.CompletionRate }, 1, ""},
	{"avg_watch_seconds", func(m *Metrics) **float64 { return &m.AvgWatchSeconds }, MaxAvgWatchSeconds, " seconds"},
}

// Get returns the counter's value in m: nil when the platform did not give it.
func (c *CounterMetric) Get(m *Metrics) *int64 { return *c.Field(m) }

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
