-- key: rank
-- The period's TOP10 posts by 互动量 gained (likes + comments + shares +
-- favorites: every platform gives it, Weibo gives no plays), with each
-- post's totals at the cut-off, title and link (post_facts).
SELECT
    toUInt64(row_number() OVER (ORDER BY p.engagement_inc DESC, p.plays_inc DESC, p.platform, p.post_id)) AS rank,
    p.platform AS platform, p.post_id AS post_id, p.ambassador_id AS ambassador_id,
    ifNull(r.name, p.ambassador_id)                      AS name,
    ifNull(r.community, '')                              AS community,
    ifNull(f.title, '')                                  AS title,
    ifNull(f.url, '')                                    AS url,
    formatDateTime(p.published_at, '%Y-%m-%d %H:%i', 'Asia/Shanghai') AS published,
    p.engagement_inc AS engagement_inc, p.plays_inc AS plays_inc, p.engagement_total AS engagement_total, p.plays_total AS plays_total
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
LEFT JOIN post_facts_latest AS f ON f.platform = p.platform AND f.post_id = p.post_id
ORDER BY rank
LIMIT 10
SETTINGS join_use_nulls = 1
