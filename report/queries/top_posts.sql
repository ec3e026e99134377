-- key: rank
-- The period's TOP10 posts by 互动量 gained (likes + comments + shares +
-- favorites: every platform gives it, Weibo gives no plays), with each
-- post's totals at the cut-off.
SELECT
    toUInt64(row_number() OVER (ORDER BY engagement_inc DESC, plays_inc DESC, platform, post_id)) AS rank,
    platform, post_id, ambassador_id,
    ifNull(r.name, ambassador_id)                        AS name,
    ifNull(r.community, '')                              AS community,
    formatDateTime(published_at, '%Y-%m-%d %H:%i', 'Asia/Shanghai') AS published,
    engagement_inc, plays_inc, engagement_total, plays_total
FROM
(
    SELECT platform, post_id, any(ambassador_id) AS ambassador_id, min(published_at) AS published_at,
           sumIf(engagement, hour >= toDateTime({from:String}, 'UTC')) AS engagement_inc,
           sumIf(plays, hour >= toDateTime({from:String}, 'UTC'))      AS plays_inc,
           sum(engagement)                                            AS engagement_total,
           sum(plays)                                                 AS plays_total
    FROM
    (
        SELECT platform, post_id, ambassador_id, hour, published_at, plays,
               ifNull(likes, 0) + ifNull(comments, 0) + ifNull(shares, 0) + ifNull(favorites, 0) AS engagement
        FROM post_hourly
        WHERE hour < toDateTime({to:String}, 'UTC')
    )
    GROUP BY platform, post_id
    HAVING engagement_inc > 0
) AS p
LEFT JOIN
(
    SELECT ambassador_id, argMax(name, updated_at) AS name, argMax(community, updated_at) AS community
    FROM ambassadors GROUP BY ambassador_id
) AS r ON r.ambassador_id = p.ambassador_id
ORDER BY rank
LIMIT 10
SETTINGS join_use_nulls = 1
