package alerts

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The alerts' ClickHouse side: events go to the alerts table (a
// ReplacingMergeTree on updated_at: one row per state, the newest wins), and
// a restarted aggregator reads back the alerts still open and, from
// post_hourly, the history its Detector's baselines need.

const insertAlerts = `INSERT INTO alerts (alert_id, kind, platform, ambassador_id, post_id,
	opened_at, updated_at, resolved_at, reason, score, data_age_seconds)`

// WriteEvents appends one alerts row per event. Writing an event again
// (a retry) is harmless: the rows are identical and every read takes the
// newest row per alert_id.
func WriteEvents(ctx context.Context, conn driver.Conn, events []Event) error {
	return insertRows(ctx, conn, insertAlerts, "alerts", "events", events, func(e *Event) (string, []any) {
		var resolved *time.Time
		if e.ResolvedAt != nil {
			r := e.ResolvedAt.UTC()
			resolved = &r
		}
		return e.AlertID, []any{e.AlertID, e.Kind, e.Platform, e.AmbassadorID, e.PostID,
			e.OpenedAt.UTC(), e.UpdatedAt.UTC(), resolved, e.Reason, e.Score, e.DataAge.Seconds()}
	})
}

const insertExpectations = `INSERT INTO post_expected (platform, ambassador_id, post_id,
	observed_at, age_hours, metric, actual, expected, baseline, reach_factor)`

// WriteExpectations appends one post_expected row per judgement. A retry
// writes identical rows, which merges collapse.
func WriteExpectations(ctx context.Context, conn driver.Conn, exps []Expectation) error {
	return insertRows(ctx, conn, insertExpectations, "post_expected", "expectations", exps, func(e *Expectation) (string, []any) {
		return "expectation of " + e.Platform + ":" + e.PostID, []any{e.Platform, e.AmbassadorID, e.PostID, e.ObservedAt.UTC(), e.AgeHours,
			e.Metric, e.Actual, e.Expected, e.Baseline, e.Reach}
	})
}

// insertRows writes items to table as one batch, one row each: the one way
// the alerts' rows reach ClickHouse. row gives an item's columns in the
// order insert names them, and what an error calls the item. Nothing to
// write sends nothing; a row that does not fit aborts the whole batch.
func insertRows[T any](ctx context.Context, conn driver.Conn, insert, table, noun string, items []T, row func(*T) (name string, cols []any)) error {
	if len(items) == 0 {
		return nil
	}
	batch, err := conn.PrepareBatch(ctx, insert)
	if err != nil {
		return fmt.Errorf("alerts: prepare %s insert: %w", table, err)
	}
	for i := range items {
		name, cols := row(&items[i])
		if err := batch.Append(cols...); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("alerts: append %s: %w", name, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("alerts: insert %d %s: %w", len(items), noun, err)
	}
	return nil
}

// LoadOpen returns the latest state of every alert that is not resolved,
// oldest opened first. The alerts table does not keep a post's publication
// time or plays: they come from post_hourly (the post's latest counters,
// likes where the platform gives no plays), and stay zero for a post it
// does not hold.
func LoadOpen(ctx context.Context, conn driver.Conn) ([]Event, error) {
	const q = `
SELECT a.alert_id, a.kind, a.platform, a.ambassador_id, a.post_id, a.opened_at, a.updated_at,
       a.reason, a.score, a.data_age_seconds,
       h.published, h.plays, h.likes, h.found
FROM (
    SELECT alert_id, kind, platform, ambassador_id, post_id, opened_at, updated_at, resolved_at,
           reason, score, data_age_seconds
    FROM alerts
    ORDER BY alert_id, updated_at DESC
    LIMIT 1 BY alert_id
) AS a
LEFT JOIN (
    SELECT platform, post_id, min(published_at) AS published,
           sum(plays) AS plays, sum(likes) AS likes, 1 AS found
    FROM post_hourly
    WHERE (platform, post_id) IN (SELECT platform, post_id FROM alerts)
    GROUP BY platform, post_id
) AS h ON a.platform = h.platform AND a.post_id = h.post_id
WHERE a.resolved_at IS NULL
ORDER BY a.opened_at, a.alert_id
SETTINGS join_use_nulls = 1`
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("alerts: load open: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var (
			e            Event
			dataAge      float64
			published    *time.Time
			plays, likes *int64
			found        *uint8
		)
		if err := rows.Scan(&e.AlertID, &e.Kind, &e.Platform, &e.AmbassadorID, &e.PostID, &e.OpenedAt, &e.UpdatedAt,
			&e.Reason, &e.Score, &dataAge, &published, &plays, &likes, &found); err != nil {
			return nil, fmt.Errorf("alerts: load open: %w", err)
		}
		e.Schema = 1
		e.State = StateUpdate
		if e.UpdatedAt.Equal(e.OpenedAt) {
			e.State = StateOpen
		}
		e.OpenedAt, e.UpdatedAt = e.OpenedAt.UTC(), e.UpdatedAt.UTC()
		e.DataAge = time.Duration(dataAge * float64(time.Second))
		if found != nil && published != nil {
			e.PublishedAt = published.UTC()
		}
		switch {
		case plays != nil:
			e.Plays = *plays
		case likes != nil:
			e.Plays = *likes
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerts: load open: %w", err)
	}
	return out, nil
}

// LoadHistory reconstructs, from post_hourly, the counters of every post
// published at or after since: one point per hour the post was observed in,
// at that hour's last_observed_at, holding the cumulative sum of the hourly
// deltas up to and including that hour (sum(…) OVER (PARTITION BY platform,
// post_id ORDER BY hour)). By the rollup's invariant that sum is the
// counter of the newest snapshot applied in the hour, so each point is
// exact; what the hour grain loses is the snapshots within an hour. A
// checkpoint then lies between points up to about two hours apart, and is
// interpolated between them — good enough for checkpoints of an hour and
// more, and why Restore widens the checkpoint tolerance by RestoreSlack.
// Points come in time order per post, posts ordered by platform and id.
func LoadHistory(ctx context.Context, conn driver.Conn, since time.Time) ([]PostHistory, error) {
	const q = `
SELECT platform, ambassador_id, post_id, published, observed,
       sum(hour_plays) OVER w AS cum_plays,
       sum(hour_likes) OVER w AS cum_likes
FROM (
    SELECT platform, ambassador_id, post_id, hour,
           min(published_at) AS published,
           sum(plays) AS hour_plays, sum(likes) AS hour_likes,
           max(last_observed_at) AS observed
    FROM post_hourly
    WHERE published_at >= fromUnixTimestamp64Milli(toInt64(?), 'UTC')
    GROUP BY platform, ambassador_id, post_id, hour
)
WINDOW w AS (PARTITION BY platform, post_id ORDER BY hour ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY platform, post_id, hour`
	rows, err := conn.Query(ctx, q, since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("alerts: load history: %w", err)
	}
	defer rows.Close()
	var out []PostHistory
	for rows.Next() {
		var (
			platform, amb, id string
			published, at     time.Time
			plays, likes      *int64
		)
		if err := rows.Scan(&platform, &amb, &id, &published, &at, &plays, &likes); err != nil {
			return nil, fmt.Errorf("alerts: load history: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].Platform != platform || out[n-1].PostID != id {
			out = append(out, PostHistory{Platform: platform, AmbassadorID: amb, PostID: id, PublishedAt: published.UTC()})
		}
		h := &out[len(out)-1]
		h.Points = append(h.Points, HistoryPoint{At: at.UTC(), Plays: plays, Likes: likes})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerts: load history: %w", err)
	}
	return out, nil
}
