package enginetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The ClickHouse engine as a Go program sees a real server: clickhouse-go/v2
// over HTTP with the DSN that `engines up` printed, plus plain net/http the way
// an analyst uses curl.

// chRow is one inserted row; the test computes every expected aggregate from
// these values, never from the engine.
type chRow struct {
	id       uint64
	platform string
	plays    int64
	likes    *int64
	ratio    float64
	observed time.Time
	tags     []string
	extras   map[string]uint32
	note     *string
}

var chPlatforms = []string{"douyin", "weibo", "wechat_channels"}

var chBase = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func chMakeRow(i int) chRow {
	r := chRow{
		id:       uint64(i),
		platform: chPlatforms[i%3],
		plays:    int64(i)*7 - 1000, // some negative: deltas may be
		ratio:    float64(i) / 8,    // exact in binary, so sums are exact
		observed: chBase.Add(time.Duration(i) * time.Millisecond),
		tags:     []string{},
		extras:   map[string]uint32{"k": uint32(i % 10)},
	}
	for j := 0; j < i%3; j++ {
		r.tags = append(r.tags, fmt.Sprintf("t%d", j))
	}
	if i%5 != 0 {
		v := int64(i % 1000)
		r.likes = &v
	}
	if i%2 == 0 {
		s := fmt.Sprintf("note %d", i)
		r.note = &s
	}
	return r
}

const chCreateRows = `CREATE TABLE tongxin.enginetest_rows (
	id UInt64,
	platform LowCardinality(String),
	plays Int64,
	likes Nullable(Int64),
	ratio Float64,
	observed_at DateTime64(3, 'UTC'),
	tags Array(String),
	extras Map(String, UInt32),
	note Nullable(String)
) ENGINE = MergeTree ORDER BY id`

func chWithDatabase(t *testing.T, dsn, db string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("DSN %q: %v", dsn, err)
	}
	u.Path = "/" + db
	return u.String()
}

// chBaseURL is the server's HTTP root, for net/http requests.
func chBaseURL(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("DSN %q: %v", dsn, err)
	}
	// The userinfo stays: it holds the engine's token, which net/http sends
	// as Basic authorization, as curl -u does.
	return (&url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: "/"}).String()
}

// chUserinfo is the user:token part of a DSN.
func chUserinfo(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		t.Fatalf("DSN without user and token: %v", err)
	}
	return u.User.String()
}

func chOpen(t *testing.T, dsn string) driver.Conn {
	t.Helper()
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("ParseDSN(%q): %v", dsn, err)
	}
	if opts.Protocol != clickhouse.HTTP {
		t.Fatalf("DSN %q is not an HTTP DSN (protocol %v)", dsn, opts.Protocol)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatalf("clickhouse.Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := conn.Ping(context.Background()); err != nil {
		t.Fatalf("ping %q: %v", dsn, err)
	}
	return conn
}

func chInsertRows(ctx context.Context, conn driver.Conn, table string, rows []chRow) error {
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+table)
	if err != nil {
		return fmt.Errorf("prepare batch: %w", err)
	}
	for _, r := range rows {
		if err := batch.Append(r.id, r.platform, r.plays, r.likes, r.ratio, r.observed, r.tags, r.extras, r.note); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("append: %w", err)
		}
	}
	return batch.Send()
}

func chCount(t *testing.T, ctx context.Context, conn driver.Conn, query string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestClickHouse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the ClickHouse engine")
	}
	e := Start(t, "clickhouse")
	t.Logf("engine: %s", e.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	if !strings.HasPrefix(e.Addr, "http://default:") || !strings.Contains(e.Addr, "@127.0.0.1:") || !strings.HasSuffix(e.Addr, "/tongxin") {
		t.Fatalf("DSN %q: want http://default:<token>@127.0.0.1:<port>/tongxin", e.Addr)
	}

	// The server does not create database tongxin: `tongxin migrate` does.
	if _, err := clickhouse.ParseDSN(e.Addr); err != nil {
		t.Fatal(err)
	}
	admin := chOpen(t, chWithDatabase(t, e.Addr, "default"))
	if n := chCount(t, ctx, admin, "SELECT count() FROM system.databases WHERE name = 'tongxin'"); n != 0 {
		t.Fatalf("database tongxin exists before anyone created it")
	}
	if err := admin.Exec(ctx, "CREATE DATABASE IF NOT EXISTS tongxin"); err != nil {
		t.Fatalf("create database: %v", err)
	}
	if err := admin.Exec(ctx, chCreateRows); err != nil {
		t.Fatalf("create table: %v", err)
	}

	conn := chOpen(t, e.Addr)
	if v, err := conn.ServerVersion(); err != nil {
		t.Fatalf("server version: %v", err)
	} else {
		t.Logf("server: %s %d.%d.%d revision %d, timezone %v", v.DisplayName, v.Version.Major, v.Version.Minor,
			v.Version.Patch, v.Revision, v.Timezone)
	}

	const total, batchSize = 100_000, 10_000
	rows := make([]chRow, total)
	for i := range rows {
		rows[i] = chMakeRow(i)
	}

	t.Run("Insert100k", func(t *testing.T) {
		start := time.Now()
		for lo := 0; lo < total; lo += batchSize {
			if err := chInsertRows(ctx, conn, "enginetest_rows", rows[lo:lo+batchSize]); err != nil {
				t.Fatalf("batch at %d: %v", lo, err)
			}
		}
		d := time.Since(start)
		t.Logf("inserted %d rows in %d batches in %v: %.0f rows/s", total, total/batchSize, d.Round(time.Millisecond),
			float64(total)/d.Seconds())
	})

	checkAggregates := func(t *testing.T, conn driver.Conn) {
		t.Helper()
		var (
			wantPlays, wantLikes int64
			wantLikesN, wantTags uint64
			wantExtras           uint64
			wantRatio            float64
		)
		type group struct {
			n          uint64
			plays      int64
			nullLikes  uint64
			notesNotNl uint64
		}
		wantGroups := map[string]*group{}
		for _, r := range rows {
			wantPlays += r.plays
			wantRatio += r.ratio
			wantTags += uint64(len(r.tags))
			wantExtras += uint64(r.extras["k"])
			g := wantGroups[r.platform]
			if g == nil {
				g = &group{}
				wantGroups[r.platform] = g
			}
			g.n++
			g.plays += r.plays
			if r.likes != nil {
				wantLikes += *r.likes
				wantLikesN++
			} else {
				g.nullLikes++
			}
			if r.note != nil {
				g.notesNotNl++
			}
		}

		var (
			n, likesN, tags, extras uint64
			plays, likes            int64
			ratio                   float64
			minObs, maxObs          time.Time
		)
		err := conn.QueryRow(ctx, `SELECT count(), sum(plays), sum(likes), count(likes), sum(ratio),
			min(observed_at), max(observed_at), sum(length(tags)), sum(extras['k'])
			FROM enginetest_rows`).Scan(&n, &plays, &likes, &likesN, &ratio, &minObs, &maxObs, &tags, &extras)
		if err != nil {
			t.Fatalf("aggregates: %v", err)
		}
		if n != total || plays != wantPlays || likes != wantLikes || likesN != wantLikesN || ratio != wantRatio ||
			tags != wantTags || extras != wantExtras {
			t.Fatalf("aggregates: count %d sum(plays) %d sum(likes) %d count(likes) %d sum(ratio) %v tags %d extras %d; "+
				"want %d %d %d %d %v %d %d", n, plays, likes, likesN, ratio, tags, extras,
				total, wantPlays, wantLikes, wantLikesN, wantRatio, wantTags, wantExtras)
		}
		if !minObs.Equal(rows[0].observed) || !maxObs.Equal(rows[total-1].observed) {
			t.Fatalf("observed_at range %v .. %v, want %v .. %v", minObs, maxObs, rows[0].observed, rows[total-1].observed)
		}

		res, err := conn.Query(ctx, `SELECT platform, count(), sum(plays), countIf(likes IS NULL), count(note)
			FROM enginetest_rows GROUP BY platform ORDER BY platform`)
		if err != nil {
			t.Fatalf("group by: %v", err)
		}
		defer res.Close()
		seen := 0
		for res.Next() {
			var (
				platform              string
				cnt, nullLikes, notes uint64
				sumPlays              int64
			)
			if err := res.Scan(&platform, &cnt, &sumPlays, &nullLikes, &notes); err != nil {
				t.Fatalf("group by scan: %v", err)
			}
			g := wantGroups[platform]
			if g == nil || cnt != g.n || sumPlays != g.plays || nullLikes != g.nullLikes || notes != g.notesNotNl {
				t.Fatalf("group %q: count %d sum(plays) %d null likes %d notes %d; want %+v", platform, cnt, sumPlays,
					nullLikes, notes, g)
			}
			seen++
		}
		if err := res.Err(); err != nil {
			t.Fatalf("group by: %v", err)
		}
		if seen != len(wantGroups) {
			t.Fatalf("group by returned %d groups, want %d", seen, len(wantGroups))
		}

		// Whole rows come back with their types: Nullable, LowCardinality,
		// DateTime64, Array and Map.
		for _, id := range []uint64{0, 1, 12_345, 99_999} {
			want := rows[id]
			var got chRow
			err := conn.QueryRow(ctx, `SELECT id, platform, plays, likes, ratio, observed_at, tags, extras, note
				FROM enginetest_rows WHERE id = ?`, id).Scan(&got.id, &got.platform, &got.plays, &got.likes, &got.ratio,
				&got.observed, &got.tags, &got.extras, &got.note)
			if err != nil {
				t.Fatalf("row %d: %v", id, err)
			}
			if !chRowsEqual(got, want) {
				t.Fatalf("row %d: got %s, want %s", id, chRowString(got), chRowString(want))
			}
		}
	}

	t.Run("Aggregates", func(t *testing.T) { checkAggregates(t, conn) })

	t.Run("EmptyResult", func(t *testing.T) {
		res, err := conn.Query(ctx, "SELECT id, note FROM enginetest_rows WHERE id > 1000000000")
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		defer res.Close()
		if res.Next() {
			t.Fatalf("a row where none was expected")
		}
		if cols := res.Columns(); len(cols) != 2 || cols[0] != "id" || cols[1] != "note" {
			t.Fatalf("columns of an empty result: %v, want [id note]", cols)
		}
		var id uint64
		if err := conn.QueryRow(ctx, "SELECT id FROM enginetest_rows WHERE id > 1000000000").Scan(&id); err == nil {
			t.Fatalf("QueryRow on an empty result: no error")
		}
	})

	t.Run("Types", func(t *testing.T) {
		// Native results of many column types decode in clickhouse-go: the
		// server re-frames chDB's Native output for the client's protocol
		// revision, which needs every column's size.
		res, err := conn.Query(ctx, `SELECT number AS n,
			toInt128(number) - 5 AS i128, toUInt256(number) AS u256, toDecimal64(number / 4, 2) AS dec,
			toFixedString(toString(number % 10), 2) AS fs, toUUID('00000000-0000-0000-0000-000000000001') AS u,
			toIPv4('10.0.0.1') AS ip4, toIPv6('::1') AS ip6, CAST(number % 2 + 1 AS Enum8('a' = 1, 'b' = 2)) AS e,
			toDate32('2026-01-01') + number AS d32, toDateTime('2026-01-01 00:00:00', 'UTC') + number AS dt,
			toDateTime64('2026-01-01 00:00:00', 6, 'Asia/Shanghai') + number AS dt64,
			[toLowCardinality(toNullable(toString(number % 3))), NULL] AS alc,
			CAST(if(number % 2 = 0, [], ['x']) AS Array(LowCardinality(String))) AS alc2,
			map(toLowCardinality(toString(number % 4)), [toUInt8(number % 256)]) AS m,
			CAST(tuple(number, toString(number)) AS Tuple(a UInt64, b String)) AS tup,
			if(number % 3 = 0, NULL, number) AS nn, toNullable(toString(number)) AS ns,
			CAST(number AS Variant(UInt64, String)) AS v, CAST(number % 5 AS Bool) AS b, toFloat32(number) / 3 AS f32,
			CAST(if(number % 4 = 0, NULL, toString(number % 7)) AS LowCardinality(Nullable(String))) AS lcn
			FROM numbers(1000) SETTINGS max_block_size = 99`) // several blocks
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		defer res.Close()
		types := res.ColumnTypes()
		n := 0
		for res.Next() {
			vals := make([]any, len(types))
			for i, ct := range types {
				vals[i] = reflect.New(ct.ScanType()).Interface()
			}
			if err := res.Scan(vals...); err != nil {
				t.Fatalf("row %d: %v", n, err)
			}
			if got := *(vals[0].(*uint64)); got != uint64(n) {
				t.Fatalf("row %d: n = %d", n, got)
			}
			n++
		}
		if err := res.Err(); err != nil {
			t.Fatalf("rows: %v", err)
		}
		if n != 1000 {
			t.Fatalf("%d rows, want 1000", n)
		}
		var names []string
		for _, ct := range types {
			names = append(names, ct.DatabaseTypeName())
		}
		t.Logf("decoded %d rows of %s", n, strings.Join(names, ", "))
	})

	t.Run("QueryParameters", func(t *testing.T) {
		want := uint64(0)
		for _, r := range rows {
			if r.platform == "weibo" && r.plays > 1000 {
				want++
			}
		}
		got := chCount(t, ctx, conn, "SELECT count() FROM enginetest_rows WHERE platform = {p:String} AND plays > {min:Int64}",
			clickhouse.Named("p", "weibo"), clickhouse.Named("min", "1000"))
		if got != want {
			t.Fatalf("server-side parameters: %d, want %d", got, want)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct {
			name, query string
			code        int32
			status      int
		}{
			{"SyntaxError", "SELEC 1", 62, http.StatusBadRequest},
			{"UnknownTable", "SELECT * FROM tongxin.no_such_table", 60, http.StatusNotFound},
			{"UnknownColumn", "SELECT no_such_column FROM enginetest_rows", 47, http.StatusNotFound},
			{"MultiStatement", "SELECT 1; SELECT 2", 62, http.StatusBadRequest},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rows, err := conn.Query(ctx, tc.query)
				if err == nil {
					rows.Close()
					t.Fatalf("%q: no error", tc.query)
				}
				var ex *clickhouse.Exception
				if !errors.As(err, &ex) {
					t.Fatalf("%q: %T %v is no *clickhouse.Exception", tc.query, err, err)
				}
				if ex.Code != tc.code {
					t.Fatalf("%q: code %d (%s), want %d", tc.query, ex.Code, ex.Message, tc.code)
				}
				var he *clickhouse.HTTPError
				if !errors.As(err, &he) || he.StatusCode != tc.status {
					t.Fatalf("%q: want HTTP status %d in %v", tc.query, tc.status, err)
				}
				if msg := err.Error(); len(msg) > 200 {
					t.Logf("%s: %s…", tc.name, msg[:200])
				} else {
					t.Logf("%s: %s", tc.name, msg)
				}
			})
		}
		// Exec and PrepareBatch surface the code too.
		var ex *clickhouse.Exception
		if err := conn.Exec(ctx, "INSERT INTO no_such_table VALUES (1)"); !errors.As(err, &ex) || ex.Code != 60 {
			t.Fatalf("exec into an unknown table: %v, want code 60", err)
		}
		if _, err := conn.PrepareBatch(ctx, "INSERT INTO no_such_table"); !errors.As(err, &ex) || ex.Code != 60 {
			t.Fatalf("batch into an unknown table: %v, want code 60", err)
		}
		// A database that does not exist is an error too (the server never
		// creates one).
		other := chWithDatabase(t, e.Addr, "no_such_database")
		opts, err := clickhouse.ParseDSN(other)
		if err != nil {
			t.Fatal(err)
		}
		c, err := clickhouse.Open(opts)
		if err == nil {
			err = c.Ping(ctx)
			_ = c.Close()
		}
		if !errors.As(err, &ex) || ex.Code != 81 {
			t.Fatalf("unknown database: %v, want code 81", err)
		}
	})

	t.Run("Deduplication", func(t *testing.T) {
		err := conn.Exec(ctx, `CREATE TABLE enginetest_dedup (
			id UInt64, platform LowCardinality(String), plays Int64, likes Nullable(Int64), ratio Float64,
			observed_at DateTime64(3, 'UTC'), tags Array(String), extras Map(String, UInt32), note Nullable(String)
		) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 1000`)
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		withToken := func(tok string) context.Context {
			return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_deduplication_token": tok}))
		}
		a, b := rows[:100], rows[100:250]
		steps := []struct {
			what  string
			ctx   context.Context
			rows  []chRow
			count uint64
		}{
			{"first send", withToken("batch-1"), a, 100},
			{"the same batch re-sent with the same token", withToken("batch-1"), a, 100},
			// Other rows under a used token: only the token can have dropped them.
			{"other rows under the same token", withToken("batch-1"), b, 100},
			{"the same rows under a new token", withToken("batch-2"), a, 200},
			{"another batch", withToken("batch-3"), b, 350},
		}
		for _, s := range steps {
			if err := chInsertRows(s.ctx, conn, "enginetest_dedup", s.rows); err != nil {
				t.Fatalf("%s: %v", s.what, err)
			}
			if n := chCount(t, ctx, conn, "SELECT count() FROM enginetest_dedup"); n != s.count {
				t.Fatalf("after %s: %d rows, want %d", s.what, n, s.count)
			}
		}
		// The setting was this query's only: a later insert without a token
		// is not deduplicated against batch-1's token.
		var tok string
		if err := conn.QueryRow(ctx, "SELECT getSetting('insert_deduplication_token')").Scan(&tok); err != nil || tok != "" {
			t.Fatalf("insert_deduplication_token leaked into a later query: %q, %v", tok, err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		if err := conn.Exec(ctx, "CREATE TABLE enginetest_conc (w UInt8, i UInt32) ENGINE = MergeTree ORDER BY (w, i)"); err != nil {
			t.Fatalf("create: %v", err)
		}
		wantMod := make([]uint64, 8)
		for _, r := range rows {
			wantMod[r.id%8]++
		}
		const readers, writers, rounds = 6, 2, 15
		var wg sync.WaitGroup
		errs := make(chan error, (readers+writers)*rounds)
		for g := 0; g < readers; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < rounds; i++ {
					m := (g + i) % 8
					var n uint64
					if err := conn.QueryRow(ctx, "SELECT count() FROM enginetest_rows WHERE id % 8 = ?", m).Scan(&n); err != nil {
						errs <- fmt.Errorf("reader %d: %w", g, err)
						return
					}
					if n != wantMod[m] {
						errs <- fmt.Errorf("reader %d: count for id %% 8 = %d is %d, want %d", g, m, n, wantMod[m])
						return
					}
				}
			}(g)
		}
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < rounds; i++ {
					batch, err := conn.PrepareBatch(ctx, "INSERT INTO enginetest_conc")
					if err != nil {
						errs <- fmt.Errorf("writer %d: %w", w, err)
						return
					}
					for j := 0; j < 100; j++ {
						if err := batch.Append(uint8(w), uint32(i*100+j)); err != nil {
							errs <- fmt.Errorf("writer %d: %w", w, err)
							return
						}
					}
					if err := batch.Send(); err != nil {
						errs <- fmt.Errorf("writer %d: %w", w, err)
						return
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := chCount(t, ctx, conn, "SELECT count() FROM enginetest_conc"); n != writers*rounds*100 {
			t.Fatalf("concurrent writers wrote %d rows, want %d", n, writers*rounds*100)
		}
	})

	t.Run("Compression", func(t *testing.T) {
		for _, method := range []string{"lz4", "zstd", "gzip", "deflate", "br"} {
			t.Run(method, func(t *testing.T) {
				c := chOpen(t, e.Addr+"?compress="+method)
				table := "enginetest_compress_" + method
				if err := c.Exec(ctx, "CREATE TABLE "+table+" AS enginetest_rows"); err != nil {
					t.Fatalf("create: %v", err)
				}
				if err := chInsertRows(ctx, c, table, rows[:5000]); err != nil {
					t.Fatalf("insert: %v", err)
				}
				var n uint64
				var plays int64
				if err := c.QueryRow(ctx, "SELECT count(), sum(plays) FROM "+table).Scan(&n, &plays); err != nil {
					t.Fatalf("select: %v", err)
				}
				want := int64(0)
				for _, r := range rows[:5000] {
					want += r.plays
				}
				if n != 5000 || plays != want {
					t.Fatalf("count %d sum %d, want 5000 %d", n, plays, want)
				}
				res, err := c.Query(ctx, "SELECT note FROM "+table+" ORDER BY id")
				if err != nil {
					t.Fatalf("select notes: %v", err)
				}
				got := 0
				for res.Next() {
					var note *string
					if err := res.Scan(&note); err != nil {
						t.Fatal(err)
					}
					if (note == nil) != (rows[got].note == nil) || note != nil && *note != *rows[got].note {
						t.Fatalf("note of row %d differs", got)
					}
					got++
				}
				res.Close()
				if err := res.Err(); err != nil || got != 5000 {
					t.Fatalf("read %d notes, err %v", got, err)
				}
				var ex *clickhouse.Exception
				if err := c.Exec(ctx, "SELECT * FROM no_such_table"); !errors.As(err, &ex) || ex.Code != 60 {
					t.Fatalf("error with compression: %v, want code 60", err)
				}
			})
		}
	})

	t.Run("DatabaseSQL", func(t *testing.T) {
		// The database/sql face of clickhouse-go: Exec, a transaction batch, Query.
		opts, err := clickhouse.ParseDSN(e.Addr)
		if err != nil {
			t.Fatal(err)
		}
		db := clickhouse.OpenDB(opts)
		defer db.Close()
		if err := db.PingContext(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
		if _, err := db.ExecContext(ctx, "CREATE TABLE enginetest_sql (id UInt32, name Nullable(String), at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY id"); err != nil {
			t.Fatalf("create: %v", err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		stmt, err := tx.PrepareContext(ctx, "INSERT INTO enginetest_sql")
		if err != nil {
			t.Fatalf("prepare: %v", err)
		}
		for i := 0; i < 1000; i++ {
			var name *string
			if i%2 == 0 {
				s := fmt.Sprint("n", i)
				name = &s
			}
			if _, err := stmt.ExecContext(ctx, uint32(i), name, chBase.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatalf("exec row %d: %v", i, err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit: %v", err)
		}
		var n, names uint64
		var sum uint64
		var last time.Time
		if err := db.QueryRowContext(ctx, "SELECT count(), count(name), sum(id), max(at) FROM enginetest_sql").Scan(&n, &names, &sum, &last); err != nil {
			t.Fatalf("select: %v", err)
		}
		if n != 1000 || names != 500 || sum != 999*1000/2 || !last.Equal(chBase.Add(999*time.Second)) {
			t.Fatalf("got %d rows, %d names, sum %d, max %v", n, names, sum, last)
		}
		var ex *clickhouse.Exception
		if _, err := db.ExecContext(ctx, "DROP TABLE no_such_table"); !errors.As(err, &ex) || ex.Code != 60 {
			t.Fatalf("drop of an unknown table: %v, want code 60", err)
		}
	})

	t.Run("Curl", func(t *testing.T) {
		base := chBaseURL(t, e.Addr)
		do := func(method, u, body string) (int, http.Header, string) {
			t.Helper()
			req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", method, u, err)
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			return res.StatusCode, res.Header, string(b)
		}
		if st, _, b := do("GET", base+"ping", ""); st != 200 || b != "Ok.\n" {
			t.Fatalf("GET /ping: %d %q", st, b)
		}
		if st, _, b := do("POST", base, "SELECT 1"); st != 200 || b != "1\n" {
			t.Fatalf("POST SELECT 1: %d %q", st, b)
		}
		// Without the token of this start, or from a browser, nothing is answered.
		anon := strings.Replace(base, chUserinfo(t, e.Addr)+"@", "", 1)
		if st, _, b := do("POST", anon, "SELECT 1"); st != http.StatusUnauthorized || !strings.HasPrefix(b, "Code: 194.") {
			t.Fatalf("POST SELECT 1 without the token: %d %q, want 401 and code 194", st, b)
		}
		if st, _, b := do("GET", base+"?query="+url.QueryEscape("SELECT 'a', 2"), ""); st != 200 || b != "a\t2\n" {
			t.Fatalf("GET ?query=: %d %q", st, b)
		}
		db := base + "?database=tongxin"
		st, h, b := do("POST", db, "SELECT platform, toUInt32(count()) AS n FROM enginetest_rows GROUP BY platform ORDER BY platform FORMAT JSONEachRow")
		want := fmt.Sprintf("{\"platform\":\"douyin\",\"n\":%d}\n{\"platform\":\"wechat_channels\",\"n\":%d}\n{\"platform\":\"weibo\",\"n\":%d}\n",
			(total+2)/3, total/3, (total+1)/3)
		if st != 200 || b != want || h.Get("X-ClickHouse-Format") != "JSONEachRow" {
			t.Fatalf("JSONEachRow: %d %q (format %q), want %q", st, b, h.Get("X-ClickHouse-Format"), want)
		}
		if st, _, b := do("POST", db, "CREATE TABLE curl_t (a UInt32, s String) ENGINE = MergeTree ORDER BY a"); st != 200 {
			t.Fatalf("create: %d %q", st, b)
		}
		if st, _, b := do("POST", db, "INSERT INTO curl_t VALUES (1, 'x'), (2, 'y')"); st != 200 {
			t.Fatalf("insert values: %d %q", st, b)
		}
		if st, _, b := do("POST", db+"&query="+url.QueryEscape("INSERT INTO curl_t FORMAT JSONEachRow"),
			"{\"a\":3,\"s\":\"z\"}\n{\"a\":4,\"s\":\"w\"}\n"); st != 200 {
			t.Fatalf("insert JSONEachRow: %d %q", st, b)
		}
		if st, _, b := do("POST", db, "SELECT sum(a), groupArray(s) FROM (SELECT * FROM curl_t ORDER BY a)"); st != 200 || b != "10\t['x','y','z','w']\n" {
			t.Fatalf("read back: %d %q", st, b)
		}
		st, h, b = do("POST", db, "SELECT * FROM no_such_table")
		if st != http.StatusNotFound || h.Get("X-ClickHouse-Exception-Code") != "60" || !strings.HasPrefix(b, "Code: 60. DB::Exception: ") {
			t.Fatalf("error: %d %v %q", st, h, b)
		}
		if st, _, b := do("GET", db+"&query="+url.QueryEscape("DROP TABLE curl_t"), ""); st == 200 || !strings.HasPrefix(b, "Code: 164.") {
			t.Fatalf("GET of a modifying query: %d %q, want readonly error 164", st, b)
		}
	})

	t.Run("Restart", func(t *testing.T) {
		e.Restart(t)
		conn := chOpen(t, e.Addr)
		checkAggregates(t, conn)
		if n := chCount(t, ctx, conn, "SELECT count() FROM enginetest_dedup"); n != 350 {
			t.Fatalf("dedup table after restart: %d rows, want 350", n)
		}
		// Deduplication tokens survive a restart too.
		err := chInsertRows(clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_deduplication_token": "batch-1"})),
			conn, "enginetest_dedup", rows[:100])
		if err != nil {
			t.Fatal(err)
		}
		if n := chCount(t, ctx, conn, "SELECT count() FROM enginetest_dedup"); n != 350 {
			t.Fatalf("re-sent batch after restart: %d rows, want 350", n)
		}
	})
}

func chRowsEqual(a, b chRow) bool {
	if a.id != b.id || a.platform != b.platform || a.plays != b.plays || a.ratio != b.ratio && !(math.IsNaN(a.ratio) && math.IsNaN(b.ratio)) ||
		!a.observed.Equal(b.observed) || len(a.tags) != len(b.tags) || len(a.extras) != len(b.extras) {
		return false
	}
	if (a.likes == nil) != (b.likes == nil) || a.likes != nil && *a.likes != *b.likes {
		return false
	}
	if (a.note == nil) != (b.note == nil) || a.note != nil && *a.note != *b.note {
		return false
	}
	for i := range a.tags {
		if a.tags[i] != b.tags[i] {
			return false
		}
	}
	for k, v := range a.extras {
		if b.extras[k] != v {
			return false
		}
	}
	return true
}

func chRowString(r chRow) string {
	likes, note := "NULL", "NULL"
	if r.likes != nil {
		likes = fmt.Sprint(*r.likes)
	}
	if r.note != nil {
		note = fmt.Sprintf("%q", *r.note)
	}
	return fmt.Sprintf("{%d %s %d %s %v %v %v %v %s}", r.id, r.platform, r.plays, likes, r.ratio,
		r.observed.Format(time.RFC3339Nano), r.tags, r.extras, note)
}
