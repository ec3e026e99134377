-- key: metric
-- 10万+ posts: posts whose plays reached 100,000 by the cut-off, and those
-- that crossed it during the period. estimated: of them, posts whose latest
-- counter came from a console export, where "10万+" is a lower bound.
SELECT
    'plays'                                                        AS metric,
    countIf(plays_to >= 100000)                                    AS posts,
    countIf(plays_to >= 100000 AND ifNull(plays_from, 0) < 100000) AS new_posts,
    countIf(plays_to >= 100000 AND source = 'export')              AS estimated
FROM
(
    SELECT platform, post_id,
           sum(plays)                                                   AS plays_to,
           sumIf(plays, hour < toDateTime({from:String}, 'UTC'))        AS plays_from
    FROM post_hourly
    WHERE hour < toDateTime({to:String}, 'UTC')
    GROUP BY platform, post_id
) AS p
LEFT JOIN
(
    SELECT platform, post_id, argMax(source, observed_at) AS source
    FROM snapshots
    WHERE observed_at < toDateTime64({to:String}, 3, 'UTC') AND plays IS NOT NULL
    GROUP BY platform, post_id
) AS s ON s.platform = p.platform AND s.post_id = p.post_id
