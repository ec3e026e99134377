-- key: rank
-- The period's ambassadors by 互动量 gained over all platforms (TOP10), with
-- plays gained (Douyin and WeChat Channels) and posts published.
SELECT
    toUInt64(row_number() OVER (ORDER BY engagement_inc DESC, plays_inc DESC, r.ambassador_id)) AS rank,
    r.ambassador_id AS ambassador_id, r.name AS name, r.community AS community,
    ifNull(p.engagement_inc, 0) AS engagement_inc,
    ifNull(p.plays_inc, 0)      AS plays_inc,
    ifNull(p.posts_moved, 0)    AS posts_moved,
    ifNull(p.new_posts, 0)      AS new_posts
FROM
(
    SELECT ambassador_id, argMax(name, updated_at) AS name, argMax(community, updated_at) AS community
    FROM ambassadors GROUP BY ambassador_id
) AS r
LEFT JOIN
(
    SELECT ambassador_id,
           sum(ifNull(likes, 0) + ifNull(comments, 0) + ifNull(shares, 0) + ifNull(favorites, 0)) AS engagement_inc,
           sum(ifNull(plays, 0))                                                                  AS plays_inc,
           uniqExact(platform, post_id)                                                           AS posts_moved,
           uniqExactIf((platform, post_id), published_at >= toDateTime({from:String}, 'UTC'))     AS new_posts
    FROM post_hourly
    WHERE hour >= toDateTime({from:String}, 'UTC') AND hour < toDateTime({to:String}, 'UTC')
    GROUP BY ambassador_id
) AS p ON p.ambassador_id = r.ambassador_id
ORDER BY rank
LIMIT 10
