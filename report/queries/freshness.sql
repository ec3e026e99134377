-- key: platform
-- How complete and fresh the report's data is, per platform, at the cut-off:
-- the newest observation, its age in minutes, the posts known, stale posts
-- (not observed in the 26 hours before the cut-off: every post is meant to
-- be polled at least daily), coverage (the share not stale) and estimated
-- posts (their latest counters came from a console export, whose
-- abbreviated numbers such as "10万+" are lower bounds).
SELECT
    p.platform AS platform,
    formatDateTime(max(p.last_observed_at), '%Y-%m-%d %H:%i', 'Asia/Shanghai')                        AS last_observed,
    toInt64(dateDiff('minute', max(p.last_observed_at), toDateTime64({to:String}, 3, 'UTC')))         AS age_minutes,
    count()                                                                                           AS posts,
    countIf(p.last_observed_at < toDateTime64({to:String}, 3, 'UTC') - INTERVAL 26 HOUR)              AS stale_posts,
    1 - stale_posts / posts                                                                           AS coverage,
    countIf(s.source = 'export')                                                                      AS estimated_posts
FROM
(
    SELECT platform, post_id, max(last_observed_at) AS last_observed_at
    FROM post_hourly
    WHERE hour < toDateTime({to:String}, 'UTC')
    GROUP BY platform, post_id
) AS p
LEFT JOIN
(
    SELECT platform, post_id, argMax(source, observed_at) AS source
    FROM snapshots
    WHERE observed_at < toDateTime64({to:String}, 3, 'UTC')
    GROUP BY platform, post_id
) AS s ON s.platform = p.platform AND s.post_id = p.post_id
GROUP BY p.platform
ORDER BY p.platform
