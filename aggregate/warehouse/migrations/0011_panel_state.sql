-- Fast panels at 100x the seed campaign (BenchmarkPanels): the views the
-- dashboards read re-aggregated 34.5 million post_hourly rows or snapshots
-- on every query. Aggregate projections keep the per-post and per-hour
-- aggregates inside the tables' own parts, so the views read thousands of
-- pre-aggregated rows instead. A projection is part of each data part: it
-- is written with the part (by the sink's INSERTs, as before: the sink
-- does not change), merged with it and dropped with it, so a query that
-- reads it gives what the raw rows give, exactly, with or without merges.
-- ClickHouse picks a projection by itself when a query's GROUP BY keys
-- and aggregates can be computed from it (the views keep their SQL), and
-- falls back to the rows for parts that do not have it yet.
--
-- post_hourly and snapshots merge rows (AggregatingMergeTree adds them,
-- ReplacingMergeTree drops twins): a merged part rebuilds its projections
-- from the merged rows (deduplicate_merge_projection_mode = 'rebuild'),
-- which is what the views' min/max/argMax/sum over the raw rows give.
ALTER TABLE post_hourly MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';

-- Per post: post_latest, and through it posts, posts_published_daily,
-- ambassador_activity, topic_progress and as_of; for leaderboard_period,
-- each post's new posts and the hours in which it moved (hours since the
-- epoch of the rows with some delta not zero: whether it moved in a
-- period is whether one of them lies in it).
ALTER TABLE post_hourly ADD PROJECTION IF NOT EXISTS post_totals
(
    SELECT
        platform, ambassador_id, post_id,
        min(published_at), max(last_observed_at),
        sum(plays), sum(likes), sum(comments), sum(shares), sum(favorites),
        sum(forwards), sum(downloads), sum(recommends), sum(snapshots),
        groupUniqArrayIf(toUInt32(intDiv(toUnixTimestamp(hour), 3600)),
            ifNull(plays, 0) != 0 OR ifNull(likes, 0) != 0 OR ifNull(comments, 0) != 0 OR ifNull(shares, 0) != 0 OR ifNull(favorites, 0) != 0)
    GROUP BY platform, ambassador_id, post_id
);

-- Per UTC hour and platform: campaign_hourly and campaign_daily (a Beijing
-- day is 24 whole UTC hours) when active_posts is not asked for.
ALTER TABLE post_hourly ADD PROJECTION IF NOT EXISTS platform_hours
(
    SELECT
        hour, platform,
        sum(plays), sum(likes), sum(comments), sum(shares), sum(favorites)
    GROUP BY hour, platform
);

-- Per ambassador and UTC hour: leaderboard_period's sums for any period.
ALTER TABLE post_hourly ADD PROJECTION IF NOT EXISTS ambassador_hours
(
    SELECT
        ambassador_id, hour,
        sum(plays), sum(likes), sum(comments), sum(shares), sum(favorites)
    GROUP BY ambassador_id, hour
);

-- Existing parts get the projections in the background (a mutation);
-- until then the views read their rows, as before.
ALTER TABLE post_hourly MATERIALIZE PROJECTION post_totals;
ALTER TABLE post_hourly MATERIALIZE PROJECTION platform_hours;
ALTER TABLE post_hourly MATERIALIZE PROJECTION ambassador_hours;

ALTER TABLE snapshots MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';

-- Per post, each state's first and last snapshot: post_state (below),
-- post_state_runs and freshness.
ALTER TABLE snapshots ADD PROJECTION IF NOT EXISTS post_runs
(
    SELECT
        platform, post_id,
        any(ambassador_id), groupUniqArray(ambassador_id),
        argMax(account_id, observed_at), argMax(state, observed_at),
        min(observed_at), max(observed_at),
        maxIf(observed_at, state != 'live'), maxIf(observed_at, state != 'private'), maxIf(observed_at, state != 'deleted'),
        minIf(observed_at, state = 'live'), minIf(observed_at, state = 'private'), minIf(observed_at, state = 'deleted')
    GROUP BY platform, post_id
);

ALTER TABLE snapshots MATERIALIZE PROJECTION post_runs;

-- post_state as in 0005 (same columns, same rows), from the projection:
-- a post's state is since its first snapshot if it never was in another
-- (last_other_at is the epoch), else since its first snapshot in the
-- current state if that came after the last snapshot in another. Only a
-- post back in a state it was in before (live, private, live again) needs
-- its snapshots after the last other one: those few posts are read through
-- the sorting key (platform, ambassador_id, post_id), not the whole table.
CREATE OR REPLACE VIEW post_state AS
WITH runs AS
(
    SELECT
        platform,
        post_id,
        any(ambassador_id)                          AS an_ambassador_id,
        groupUniqArray(ambassador_id)               AS ambassador_ids,
        argMax(account_id, observed_at)             AS account_id,
        argMax(state, observed_at)                  AS current_state,
        min(observed_at)                            AS first_observed_at,
        max(observed_at)                            AS newest_observed_at,
        multiIf(current_state = 'live',    maxIf(observed_at, state != 'live'),
                current_state = 'private', maxIf(observed_at, state != 'private'),
                                           maxIf(observed_at, state != 'deleted')) AS last_other_at,
        multiIf(current_state = 'live',    minIf(observed_at, state = 'live'),
                current_state = 'private', minIf(observed_at, state = 'private'),
                                           minIf(observed_at, state = 'deleted'))  AS first_current_at
    FROM snapshots
    GROUP BY platform, post_id
)
SELECT
    r.platform                                                        AS platform,
    r.an_ambassador_id                                                AS ambassador_id,
    r.account_id                                                      AS account_id,
    r.post_id                                                         AS post_id,
    r.current_state                                                   AS state,
    multiIf(r.last_other_at = toDateTime64(0, 3, 'UTC'), r.first_observed_at,
            r.first_current_at > r.last_other_at,        r.first_current_at,
                                                         c.since)     AS since,
    r.newest_observed_at                                              AS observed_at
FROM runs AS r
LEFT JOIN
(
    SELECT s.platform AS platform, s.post_id AS post_id, min(s.observed_at) AS since
    FROM snapshots AS s
    INNER JOIN
    (
        SELECT platform, post_id, last_other_at
        FROM runs
        WHERE last_other_at != toDateTime64(0, 3, 'UTC') AND first_current_at <= last_other_at
    ) AS m ON m.platform = s.platform AND m.post_id = s.post_id
    WHERE s.observed_at > m.last_other_at
      AND (s.platform, s.ambassador_id, s.post_id) IN
      (
          SELECT platform, arrayJoin(ambassador_ids), post_id
          FROM runs
          WHERE last_other_at != toDateTime64(0, 3, 'UTC') AND first_current_at <= last_other_at
      )
    GROUP BY s.platform, s.post_id
) AS c ON c.platform = r.platform AND c.post_id = r.post_id;

-- topic_progress as in 0005, from each post's totals (post_latest) instead
-- of summing topic_daily's days: the same sums, per post instead of per
-- post and hour.
CREATE OR REPLACE VIEW topic_progress AS
SELECT
    g.topic                                  AS topic,
    g.platform                               AS platform,
    g.metric                                 AS metric,
    g.target                                 AS target,
    toInt64(if(g.metric = 'plays', ifNull(v.plays, 0), ifNull(v.engagement, 0))) AS value,
    if(g.target = 0, 0., value / g.target)  AS progress
FROM
(
    SELECT topic, platform, metric, argMax(target, updated_at) AS target
    FROM campaign_targets
    GROUP BY topic, platform, metric
    HAVING argMax(active, updated_at) = 1
) AS g
LEFT JOIN
(
    SELECT
        t.topic                 AS topic,
        p.platform              AS platform,
        sum(p.plays)            AS plays,
        toInt64(sum(ifNull(p.likes, 0) + ifNull(p.comments, 0) + ifNull(p.shares, 0) + ifNull(p.favorites, 0))) AS engagement
    FROM post_latest AS p
    INNER JOIN
    (
        SELECT platform, post_id, arrayJoin(topics) AS topic
        FROM post_facts_latest
    ) AS t ON t.platform = p.platform AND t.post_id = p.post_id
    GROUP BY topic, platform
) AS v ON v.topic = g.topic AND v.platform = g.platform;

-- leaderboard_period as in 0005 (same columns, same rows; community_
-- leaderboard_period reads it): the period's sums per ambassador and hour,
-- and per post whether it moved in the period and was published in it,
-- all from the projections. engagement is the sum of each counter's sum,
-- which is the sum of the rows' engagement (a NULL counter counts 0).
CREATE OR REPLACE VIEW leaderboard_period AS
SELECT
    ids.ambassador_id                AS ambassador_id,
    r.name                           AS name,
    r.community                      AS community,
    a.plays                          AS plays,
    toInt64(ifNull(a.engagement, 0)) AS engagement,
    toUInt64(ifNull(p.posts, 0))     AS posts,
    toUInt64(ifNull(p.new_posts, 0)) AS new_posts
FROM
(
    SELECT ambassador_id FROM ambassadors GROUP BY ambassador_id
    UNION DISTINCT
    SELECT toString(ambassador_id) FROM post_hourly WHERE hour >= {from:DateTime('UTC')} AND hour < {to:DateTime('UTC')} GROUP BY ambassador_id
) AS ids
LEFT JOIN ambassador_roster AS r ON r.ambassador_id = ids.ambassador_id
LEFT JOIN
(
    SELECT
        toString(ambassador_id) AS ambassador_id,
        sum(plays)              AS plays,
        ifNull(sum(likes), 0) + ifNull(sum(comments), 0) + ifNull(sum(shares), 0) + ifNull(sum(favorites), 0) AS engagement
    FROM post_hourly
    WHERE hour >= {from:DateTime('UTC')} AND hour < {to:DateTime('UTC')}
    GROUP BY ambassador_id
) AS a ON a.ambassador_id = ids.ambassador_id
LEFT JOIN
(
    SELECT
        ambassador_id,
        countIf(arrayExists(h -> h >= toUInt32(intDiv(toUnixTimestamp({from:DateTime('UTC')}) + 3599, 3600))
                             AND h < toUInt32(intDiv(toUnixTimestamp({to:DateTime('UTC')}) + 3599, 3600)), moved_hours)) AS posts,
        countIf(published_at >= {from:DateTime('UTC')} AND published_at < {to:DateTime('UTC')}) AS new_posts
    FROM
    (
        SELECT
            toString(ambassador_id) AS ambassador_id, platform, post_id,
            min(published_at)       AS published_at,
            groupUniqArrayIf(toUInt32(intDiv(toUnixTimestamp(hour), 3600)),
                ifNull(plays, 0) != 0 OR ifNull(likes, 0) != 0 OR ifNull(comments, 0) != 0 OR ifNull(shares, 0) != 0 OR ifNull(favorites, 0) != 0) AS moved_hours
        FROM post_hourly
        GROUP BY ambassador_id, platform, post_id
    )
    GROUP BY ambassador_id
) AS p ON p.ambassador_id = ids.ambassador_id;
