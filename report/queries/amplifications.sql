-- key: repost_id
-- 官方号助推: every repost of an ambassador's post by one of the district's
-- official accounts made in the period, from the amplifications view: the
-- post's counter on its reach metric (likes on Weibo) at its last judged
-- observation before the repost, its growth over the 24 hours after
-- against what the viral rule's baseline expected over the same ages, and
-- the difference, the reach added (signed, never clipped). Measured on the
-- data at the time the report ran: a window still open (window_complete =
-- 0) grows with later data. NULL (—) where the repost cannot be measured.
-- No join_use_nulls here: the view's own joins are made without it (a
-- missing name, title or link is '').
SELECT
    a.repost_id                                                   AS repost_id,
    a.official_id                                                 AS official_id,
    a.official_name                                               AS official_name,
    a.platform                                                    AS platform,
    formatDateTime(a.reposted_at, '%m-%d %H:%i', 'Asia/Shanghai') AS reposted,
    a.post_id                                                     AS post_id,
    a.ambassador_id                                               AS ambassador_id,
    if(r.name != '', r.name, a.ambassador_id)                     AS name,
    f.title                                                       AS title,
    f.url                                                         AS url,
    ifNull(a.metric, '')                                          AS metric,
    a.count_at_repost                                             AS count_at_repost,
    a.growth_after                                                AS growth_after,
    round(a.expected_growth)                                      AS expected_growth,
    round(a.reach_added)                                          AS reach_added,
    round(a.hours_measured, 1)                                    AS hours_measured,
    a.window_complete                                             AS window_complete,
    if(a.window_complete = 1, '', '（窗口未满 24 小时）')               AS window_note
FROM amplifications AS a
LEFT JOIN
(
    SELECT ambassador_id, argMax(name, updated_at) AS name FROM ambassadors GROUP BY ambassador_id
) AS r ON r.ambassador_id = a.ambassador_id
LEFT JOIN post_facts_latest AS f ON f.platform = a.platform AND f.post_id = a.post_id
WHERE a.reposted_at >= toDateTime64({from:String}, 3, 'UTC')
  AND a.reposted_at < toDateTime64({to:String}, 3, 'UTC')
ORDER BY a.reposted_at, a.repost_id
