-- key: community
-- The period's communities (社区) by 互动量 gained: ambassadors on the
-- roster, how many of them published in the period, plays gained.
SELECT
    r.community                                   AS community,
    toUInt64(row_number() OVER (ORDER BY sum(ifNull(p.engagement_inc, 0)) DESC, r.community)) AS rank,
    count()                                       AS ambassadors,
    countIf(ifNull(p.new_posts, 0) > 0)           AS posted,
    sum(ifNull(p.engagement_inc, 0))              AS engagement_inc,
    sum(ifNull(p.plays_inc, 0))                   AS plays_inc,
    sum(ifNull(p.new_posts, 0))                   AS new_posts
FROM
(
    SELECT ambassador_id, argMax(community, updated_at) AS community
    FROM ambassadors GROUP BY ambassador_id
) AS r
LEFT JOIN
(
    SELECT ambassador_id,
           sum(ifNull(likes, 0) + ifNull(comments, 0) + ifNull(shares, 0) + ifNull(favorites, 0)) AS engagement_inc,
           sum(ifNull(plays, 0))                                                                  AS plays_inc,
           uniqExactIf((platform, post_id), published_at >= toDateTime({from:String}, 'UTC'))     AS new_posts
    FROM post_hourly
    WHERE hour >= toDateTime({from:String}, 'UTC') AND hour < toDateTime({to:String}, 'UTC')
    GROUP BY ambassador_id
) AS p ON p.ambassador_id = r.ambassador_id
GROUP BY r.community
ORDER BY rank
