// Package sink writes the aggregator's output to ClickHouse and reads back
// what was applied. Every write is safe to repeat: each INSERT goes to one
// table partition (ClickHouse makes an INSERT atomic only within one), in
// time order, with an insert_deduplication_token derived from its rows, so
// a retry after an unknown outcome resends an identical block that
// ClickHouse drops as a duplicate.
package sink

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/tongxin/tongxin/aggregate/rollup"
	"github.com/tongxin/tongxin/snapshot"
)

// Sink is the ClickHouse side of the aggregator.
type Sink struct {
	conn    driver.Conn
	mu      sync.Mutex
	columns map[string][]clickhouse.ColumnNameAndType // by INSERT statement; see insertColumns
	rows    *prometheus.CounterVec
	errors  *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

// New returns a sink on an open connection to the campaign database.
func New(conn driver.Conn, reg prometheus.Registerer) *Sink {
	f := promauto.With(reg)
	return &Sink{
		conn:    conn,
		columns: map[string][]clickhouse.ColumnNameAndType{},
		rows: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tongxin_aggregate_rows_written_total",
			Help: "Rows ClickHouse acknowledged, by table.",
		}, []string{"table"}),
		errors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tongxin_aggregate_write_errors_total",
			Help: "Failed ClickHouse writes and reads, by table (each is retried).",
		}, []string{"table"}),
		latency: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tongxin_aggregate_write_seconds",
			Help:    "Time of one ClickHouse INSERT, by table.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"table"}),
	}
}

// Bounds of Load's queries. The ids travel as one query parameter
// ({ids:Array(String)}, in the request's URL), not as literals in the
// query's text: the engine neither parses nor guards thousands of literals
// (on the local engine, 5000 ids cost about 40% of the literals' time), and
// max_query_size does not apply. A chunk's parameter stays under loadURLBytes, URL-encoded,
// well inside ClickHouse's http_max_uri_size (1 MiB by default). An id over
// longID bytes (no platform's id is near that) is matched by its length and
// MD5 instead, ~40 bytes each whatever its size, in chunks of at most
// loadChunkIDs ids and loadChunkBytes bytes of query text (max_query_size
// is 262144 bytes by default).
const (
	loadURLBytes   = 512 << 10
	loadChunkIDs   = 5000
	loadChunkBytes = 96 << 10
	longID         = 1 << 10
)

// Load reads the applied state of the given posts (keys platform:post_id)
// from post_hourly. Posts never written are absent from the result.
func (s *Sink) Load(ctx context.Context, keys []string) (map[string]rollup.Applied, error) {
	out := make(map[string]rollup.Applied, len(keys))
	var chunk, long []string
	var param strings.Builder // the chunk's ids as an Array(String) literal
	size := 0
	load := func(keys []string, param string) error {
		if err := s.load(ctx, keys, param, out); err != nil {
			s.errors.WithLabelValues("post_hourly").Inc()
			return err
		}
		return nil
	}
	for _, k := range keys {
		_, id, _ := strings.Cut(k, ":")
		if len(id) > longID {
			long = append(long, k)
			continue
		}
		elem := arrayElement(id)
		n := len(url.QueryEscape(elem)) + len("%2C")
		if len(chunk) > 0 && size+n > loadURLBytes {
			param.WriteByte(']')
			if err := load(chunk, param.String()); err != nil {
				return nil, err
			}
			chunk, size = chunk[:0], 0
			param.Reset()
		}
		if len(chunk) == 0 {
			param.WriteByte('[')
		} else {
			param.WriteByte(',')
		}
		param.WriteString(elem)
		chunk = append(chunk, k)
		size += n
	}
	if len(chunk) > 0 {
		param.WriteByte(']')
		if err := load(chunk, param.String()); err != nil {
			return nil, err
		}
	}
	for i := 0; i < len(long); {
		j, size := i, 0
		for j < len(long) && j-i < loadChunkIDs && size+longHashBytes <= loadChunkBytes {
			j, size = j+1, size+longHashBytes
		}
		if err := load(long[i:j], ""); err != nil {
			return nil, err
		}
		i = j
	}
	return out, nil
}

// longHashBytes is the query text one long id takes: its length and its
// quoted hex MD5, with separators.
const longHashBytes = 20 + 2 + 32 + 2 + 4

// arrayElement quotes an id as an element of an Array(String) query
// parameter, in ClickHouse's escaped text format.
func arrayElement(id string) string {
	var b strings.Builder
	b.Grow(len(id) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(id); i++ {
		switch c := id[i]; c {
		case '\\', '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// LoadPartitions reads the applied state of every post in post_hourly whose
// key Kafka's default partitioner (murmur2, as the producers use) puts in
// one of partitions of a topic of `of` partitions; nil partitions: every
// post. One query, one pass over post_hourly, whatever the number of posts:
// an aggregator that has loaded its partitions knows that a post it has not
// seen has nothing applied, and asks ClickHouse nothing more for it.
func (s *Sink) LoadPartitions(ctx context.Context, partitions []int, of int) (map[string]rollup.Applied, error) {
	where := ""
	if partitions != nil {
		// ClickHouse's kafkaMurmurHash is Kafka's murmur2 with its seed and
		// the sign bit cleared, as the Java client and kafka-go partition.
		where = "WHERE kafkaMurmurHash(concat(platform, ':', post_id)) % {of:UInt32} IN {partitions:Array(UInt32)}"
		list := make([]string, len(partitions))
		for i, p := range partitions {
			list[i] = strconv.Itoa(p)
		}
		ctx = clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{
			"of": strconv.Itoa(of), "partitions": "[" + strings.Join(list, ",") + "]",
		}))
	}
	out := map[string]rollup.Applied{}
	if err := s.query(ctx, `SELECT platform, post_id, toUnixTimestamp64Milli(max(last_observed_at)), `+loadSums+`, `+loadTimes+`
		FROM post_hourly `+where+` GROUP BY platform, post_id`, nil, nil, out); err != nil {
		s.errors.WithLabelValues("post_hourly").Inc()
		return nil, fmt.Errorf("loading applied state of partitions %v of %d: %w", partitions, of, err)
	}
	return out, nil
}

// load reads the state of one chunk of keys: by id, the ids in param (an
// Array(String) literal), or, when param is empty, by id's length and MD5;
// rows of the same id on another platform (or a hash twin) are skipped.
func (s *Sink) load(ctx context.Context, keys []string, param string, out map[string]rollup.Applied) error {
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	var where string
	var args []any
	if param != "" {
		where = "post_id IN {ids:Array(String)}"
		ctx = clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"ids": param}))
	} else {
		lengths, hashes := make([]uint64, len(keys)), make([]string, len(keys))
		for i, k := range keys {
			_, id, _ := strings.Cut(k, ":")
			h := md5.Sum([]byte(id))
			lengths[i], hashes[i] = uint64(len(id)), strings.ToUpper(hex.EncodeToString(h[:]))
		}
		where, args = "length(post_id) IN (?) AND hex(MD5(post_id)) IN (?)", []any{lengths, hashes}
	}
	q := `SELECT platform, post_id, toUnixTimestamp64Milli(max(last_observed_at)), ` + loadSums + `, ` + loadTimes + `
		FROM post_hourly WHERE ` + where + ` GROUP BY platform, post_id`
	if err := s.query(ctx, q, args, want, out); err != nil {
		return fmt.Errorf("loading applied state of %d posts: %w", len(keys), err)
	}
	return nil
}

// query reads rows of (platform, post_id, observed_at, the counters' sums,
// the counters' observation times) into out, keeping only the keys in want (nil: all).
func (s *Sink) query(ctx context.Context, q string, args []any, want map[string]bool, out map[string]rollup.Applied) error {
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var platform, id string
		var a rollup.Applied
		var v [rollup.NumCounters]*int64
		dest := make([]any, 0, 3+2*len(v))
		dest = append(dest, &platform, &id, &a.ObservedAt)
		for i := range v {
			dest = append(dest, &v[i])
		}
		for i := range a.At {
			dest = append(dest, &a.At[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		key := snapshot.Key(platform, id)
		if want != nil && !want[key] {
			continue // the same id on another platform
		}
		for i, p := range v {
			if p != nil {
				a.Set(i, *p)
			}
		}
		out[key] = a
	}
	return rows.Err()
}

// The metrics' columns, in snapshot.Counters' and snapshot.Gauges' order:
// "plays, likes, …", "sum(plays), sum(likes), …" and "completion_rate, …".
var (
	counterColumns = strings.Join(snapshot.CounterNames(), ", ")
	loadSums       = "sum(" + strings.Join(snapshot.CounterNames(), "), sum(") + ")"
	// loadTimes: when each counter was last observed, the newest row that
	// holds it (rows are split by the counters their snapshots carried).
	loadTimes = func() string {
		var b strings.Builder
		for i, c := range snapshot.CounterNames() {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "toUnixTimestamp64Milli(maxIf(last_observed_at, %s IS NOT NULL))", c)
		}
		return b.String()
	}()
	gaugeColumns = strings.Join(snapshot.GaugeNames(), ", ")
)

// WriteSnapshots inserts raw snapshots, one INSERT per month partition.
func (s *Sink) WriteSnapshots(ctx context.Context, snaps []*snapshot.Snapshot) error {
	months, byMonth := splitByMonth(snaps, func(sn *snapshot.Snapshot) time.Time { return sn.ObservedAt })
	for _, m := range months {
		part := byMonth[m]
		tok := newToken()
		for _, sn := range part {
			// Identity and counters: what makes two snapshots the same.
			tok.str(sn.Platform, sn.PostID, sn.AmbassadorID)
			tok.num(sn.ObservedAt.UnixMilli())
			for i := range snapshot.Counters {
				if c := snapshot.Counters[i].Get(&sn.Metrics); c == nil {
					tok.num(-1 << 63)
				} else {
					tok.num(*c)
				}
			}
		}
		if err := s.insert(ctx, "snapshots", tok.String(), len(part), func(b driver.Batch) error {
			// Whole columns at once: no per-row boxing on the hot path.
			n := len(part)
			var (
				platform, amb, acct, post, source = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
				state                             = make([]string, n)
				published, observed               = make([]time.Time, n), make([]time.Time, n)
				counters                          [snapshot.NumCounters][]*int64
				gauges                            [len(snapshot.Gauges)][]*float64
			)
			for c := range counters {
				counters[c] = make([]*int64, n)
			}
			for g := range gauges {
				gauges[g] = make([]*float64, n)
			}
			for i, sn := range part {
				platform[i], amb[i], acct[i], post[i], source[i] = sn.Platform, sn.AmbassadorID, sn.AccountID, sn.PostID, sn.Source
				published[i], observed[i], state[i] = sn.PublishedAt.UTC(), sn.ObservedAt.UTC(), sn.PostState()
				for c := range counters {
					counters[c][i] = snapshot.Counters[c].Get(&sn.Metrics)
				}
				for g := range gauges {
					gauges[g][i] = snapshot.Gauges[g].Get(&sn.Metrics)
				}
			}
			cols := []any{platform, amb, acct, post, published, observed, state}
			for _, c := range counters {
				cols = append(cols, c)
			}
			for _, g := range gauges {
				cols = append(cols, g)
			}
			return appendColumns(b, append(cols, source)...)
		}, `INSERT INTO snapshots (platform, ambassador_id, account_id, post_id, published_at, observed_at, state, `+
			counterColumns+", "+gaugeColumns+", source)"); err != nil {
			return err
		}
	}
	return nil
}

// WriteRollup inserts post_hourly rows, one INSERT per month partition, the
// oldest month first: if a later INSERT fails for good, what was written is
// a prefix in time of every post's deltas, and the ledger rebuilt from it
// replays exactly the rest.
func (s *Sink) WriteRollup(ctx context.Context, rows []*rollup.HourRow) error {
	months, byMonth := splitByMonth(rows, func(r *rollup.HourRow) time.Time { return r.Hour })
	for _, m := range months {
		part := byMonth[m]
		tok := newToken()
		for _, r := range part {
			tok.str(r.Platform, r.PostID)
			tok.num(r.Hour.Unix())
			tok.num(r.LastObserved.UnixMilli())
			for i := 0; i < rollup.NumCounters; i++ {
				tok.num(r.Delta.V[i])
			}
			tok.num(int64(r.Delta.Has))
		}
		if err := s.insert(ctx, "post_hourly", tok.String(), len(part), func(b driver.Batch) error {
			n := len(part)
			var (
				hour, published, last = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
				platform, amb, post   = make([]string, n), make([]string, n), make([]string, n)
				deltas                [rollup.NumCounters][]*int64
				snaps                 = make([]uint64, n)
			)
			for c := range deltas {
				deltas[c] = make([]*int64, n)
			}
			for i, r := range part {
				hour[i], published[i], last[i] = r.Hour, r.PublishedAt, r.LastObserved
				platform[i], amb[i], post[i] = r.Platform, r.AmbassadorID, r.PostID
				for c := range deltas {
					if v, ok := r.Delta.Get(c); ok {
						deltas[c][i] = &v
					}
				}
				snaps[i] = r.Snapshots
			}
			cols := []any{hour, platform, amb, post, published}
			for _, d := range deltas {
				cols = append(cols, d)
			}
			return appendColumns(b, append(cols, snaps, last)...)
		}, `INSERT INTO post_hourly (hour, platform, ambassador_id, post_id, published_at, `+
			counterColumns+", snapshots, last_observed_at)"); err != nil {
			return err
		}
	}
	return nil
}

// WritePostFacts inserts the facts the snapshots carry (those whose
// FactsProblem is nil) into post_facts, versioned by the snapshot's
// observed_at: the latest facts win, and a replayed block is dropped as a
// duplicate like the others.
//
// An official account's repost (repost_of) is no post of the campaign: it
// goes to official_reposts instead (writeReposts).
func (s *Sink) WritePostFacts(ctx context.Context, snaps []*snapshot.Snapshot) error {
	if err := s.writeReposts(ctx, snaps); err != nil {
		return err
	}
	var part []*snapshot.Snapshot
	tok := newToken()
	for _, sn := range snaps {
		if sn.Facts == nil || sn.FactsProblem() != nil || sn.IsRepost() {
			continue
		}
		part = append(part, sn)
		tok.str(sn.Platform, sn.PostID, sn.Facts.Title, sn.Facts.URL)
		tok.str(sn.Facts.Topics...)
		tok.num(sn.ObservedAt.UnixMilli())
	}
	if len(part) == 0 {
		return nil
	}
	return s.insert(ctx, "post_facts", tok.String(), len(part), func(b driver.Batch) error {
		for _, sn := range part {
			topics := sn.Facts.Topics
			if topics == nil {
				topics = []string{}
			}
			if err := b.Append(sn.Platform, sn.PostID, sn.AmbassadorID, sn.AccountID, sn.Facts.Title, sn.Facts.URL,
				topics, sn.PublishedAt.UTC(), sn.ObservedAt.UTC()); err != nil {
				return err
			}
		}
		return nil
	}, `INSERT INTO post_facts (platform, post_id, ambassador_id, account_id, title, url, topics, published_at, updated_at)`)
}

func (s *Sink) insert(ctx context.Context, table, token string, n int, fill func(driver.Batch) error, query string) error {
	start := time.Now()
	cols, err := s.insertColumns(ctx, table, query)
	if err != nil {
		s.errors.WithLabelValues(table).Inc()
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	// A retried block that the table drops as a duplicate still goes
	// through the table's materialized views (migration 0013), whose
	// targets drop what they already have (tokens derived from this one):
	// a retry after the table took the block but a view did not fills it.
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_deduplication_token": table + "-" + token,
		"deduplicate_blocks_in_dependent_materialized_views": 1}),
		clickhouse.WithColumnNamesAndTypes(cols))
	fail := func(err error) error {
		s.errors.WithLabelValues(table).Inc()
		s.forgetColumns(query) // a migration may have changed a type: describe again on the retry
		return err
	}
	b, err := s.conn.PrepareBatch(ctx, query)
	if err != nil {
		return fail(fmt.Errorf("insert into %s: %w", table, err))
	}
	if err := fill(b); err != nil {
		b.Abort()
		return fail(fmt.Errorf("insert into %s: %w", table, err))
	}
	if err := b.Send(); err != nil {
		return fail(fmt.Errorf("insert of %d rows into %s: %w", n, table, err))
	}
	s.rows.WithLabelValues(table).Add(float64(n))
	s.latency.WithLabelValues(table).Observe(time.Since(start).Seconds())
	return nil
}

// insertColumns returns the names and types of the columns an INSERT
// lists, from one read of system.columns per statement and process (again
// after a failed INSERT). Without them clickhouse-go's HTTP batch describes
// the table before every batch: a round trip per INSERT. (The native
// protocol ignores them.)
func (s *Sink) insertColumns(ctx context.Context, table, query string) ([]clickhouse.ColumnNameAndType, error) {
	s.mu.Lock()
	cols, ok := s.columns[query]
	s.mu.Unlock()
	if ok {
		return cols, nil
	}
	open, end := strings.IndexByte(query, '('), strings.LastIndexByte(query, ')')
	if open < 0 || end < open {
		return nil, fmt.Errorf("the INSERT lists no columns: %.60q", query)
	}
	types := map[string]string{}
	rows, err := s.conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {table:String}",
		clickhouse.Named("table", table))
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", table, err)
	}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading the columns of %s: %w", table, err)
		}
		types[name] = typ
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", table, err)
	}
	for _, name := range strings.Split(query[open+1:end], ",") {
		name = strings.TrimSpace(name)
		typ, ok := types[name]
		if !ok {
			return nil, fmt.Errorf("table %s has no column %s (is the schema migrated? run tongxin migrate)", table, name)
		}
		cols = append(cols, clickhouse.ColumnNameAndType{Name: name, Type: typ})
	}
	s.mu.Lock()
	s.columns[query] = cols
	s.mu.Unlock()
	return cols, nil
}

func (s *Sink) forgetColumns(query string) {
	s.mu.Lock()
	delete(s.columns, query)
	s.mu.Unlock()
}

// appendColumns appends one slice per column, in the INSERT's order.
func appendColumns(b driver.Batch, cols ...any) error {
	for i, c := range cols {
		if err := b.Column(i).Append(c); err != nil {
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	return nil
}

// splitByMonth groups items by the month partition of their time, and
// lists the months oldest first.
func splitByMonth[T any](items []T, at func(T) time.Time) ([]int, map[int][]T) {
	byMonth := map[int][]T{}
	for _, it := range items {
		t := at(it).UTC()
		m := t.Year()*100 + int(t.Month())
		byMonth[m] = append(byMonth[m], it)
	}
	months := make([]int, 0, len(byMonth))
	for m := range byMonth {
		months = append(months, m)
	}
	sort.Ints(months)
	return months, byMonth
}

// token derives a block's insert_deduplication_token from its rows: the
// same rows give the same token, so a resent block is recognised.
type token struct {
	h   hash.Hash
	buf [8]byte
}

func newToken() *token { return &token{h: sha256.New()} }

func (t *token) str(parts ...string) {
	for _, p := range parts {
		t.h.Write([]byte(p))
		t.h.Write([]byte{0})
	}
}

func (t *token) num(v int64) {
	binary.LittleEndian.PutUint64(t.buf[:], uint64(v))
	t.h.Write(t.buf[:])
}

func (t *token) String() string { return hex.EncodeToString(t.h.Sum(nil)) }
