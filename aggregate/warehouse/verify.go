package warehouse

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/snapshot"
)

// Metrics are the counters CONTRACT.md's invariant covers: every summable
// counter, each a column of both post_hourly and snapshots.
var Metrics = snapshot.CounterNames()

// Mismatch is one post and metric where the invariant does not hold.
type Mismatch struct {
	Platform, PostID, Metric string
	Sum, Latest              *int64 // nil: NULL
}

func (m Mismatch) String() string {
	f := func(p *int64) string {
		if p == nil {
			return "NULL"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("%s:%s %s: sum(post_hourly)=%s, latest snapshot=%s", m.Platform, m.PostID, m.Metric, f(m.Sum), f(m.Latest))
}

// Verify checks CONTRACT.md's invariant for every post and metric: the
// plain sum() of the post's post_hourly deltas equals its latest observed
// counter in snapshots. It returns how many posts it compared and every
// mismatch, post by post.
func Verify(ctx context.Context, conn driver.Conn) (int, []Mismatch, error) {
	type counters map[string]*int64
	read := func(q string) (map[string]counters, error) {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[string]counters{}
		for rows.Next() {
			var platform, post string
			vals := make([]*int64, len(Metrics))
			dest := []any{&platform, &post}
			for i := range vals {
				dest = append(dest, &vals[i])
			}
			if err := rows.Scan(dest...); err != nil {
				return nil, err
			}
			c := counters{}
			for i, m := range Metrics {
				c[m] = vals[i]
			}
			out[platform+"\x00"+post] = c
		}
		return out, rows.Err()
	}
	var sums, lasts []string
	for _, m := range Metrics {
		sums = append(sums, fmt.Sprintf("sum(%s)", m))
		// argMax skips NULLs: the latest value the platform gave, which is
		// what a snapshot without that metric leaves standing — also a
		// private or deleted post's state snapshot, which carries none.
		lasts = append(lasts, fmt.Sprintf("argMax(%s, observed_at)", m))
	}
	hourly, err := read("SELECT platform, post_id, " + strings.Join(sums, ", ") + " FROM post_hourly GROUP BY platform, post_id")
	if err != nil {
		return 0, nil, fmt.Errorf("reading post_hourly: %w", err)
	}
	latest, err := read("SELECT platform, post_id, " + strings.Join(lasts, ", ") + " FROM snapshots GROUP BY platform, post_id")
	if err != nil {
		return 0, nil, fmt.Errorf("reading snapshots: %w", err)
	}
	var bad []Mismatch
	for key, want := range latest {
		got := hourly[key]
		platform, post, _ := strings.Cut(key, "\x00")
		for _, m := range Metrics {
			var g *int64
			if got != nil {
				g = got[m]
			}
			if !equal(g, want[m]) {
				bad = append(bad, Mismatch{Platform: platform, PostID: post, Metric: m, Sum: g, Latest: want[m]})
			}
		}
	}
	for key := range hourly {
		if _, ok := latest[key]; !ok {
			platform, post, _ := strings.Cut(key, "\x00")
			bad = append(bad, Mismatch{Platform: platform, PostID: post, Metric: "*", Sum: nil, Latest: nil})
		}
	}
	return len(latest), bad, nil
}

func equal(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
