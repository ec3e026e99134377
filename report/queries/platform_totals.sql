-- key: platform
-- Totals by platform at the cut-off, the period's increase (日增 for a daily
-- report, 周增 for a weekly one) and its change against the period before
-- (环比). The ROLLUP row (platform '') is the campaign over all platforms.
-- Weibo gives no plays: its plays stay NULL, never zero.
SELECT
    platform,
    sumIf(plays, hour < toDateTime({to:String}, 'UTC'))                                    AS plays_total,
    sumIf(engagement, hour < toDateTime({to:String}, 'UTC'))                               AS engagement_total,
    sumIf(plays, hour >= toDateTime({from:String}, 'UTC'))                                  AS plays_inc,
    sumIf(engagement, hour >= toDateTime({from:String}, 'UTC'))                             AS engagement_inc,
    sumIf(plays, hour >= toDateTime({prev_from:String}, 'UTC') AND hour < toDateTime({from:String}, 'UTC'))      AS plays_prev,
    sumIf(engagement, hour >= toDateTime({prev_from:String}, 'UTC') AND hour < toDateTime({from:String}, 'UTC')) AS engagement_prev,
    if(plays_prev > 0, plays_inc / plays_prev - 1, NULL)                                    AS plays_change,
    if(engagement_prev > 0, engagement_inc / engagement_prev - 1, NULL)                     AS engagement_change,
    uniqExact(post_id)                                                                      AS posts,
    uniqExactIf(post_id, published_at >= toDateTime({from:String}, 'UTC'))                  AS new_posts
FROM
(
    SELECT platform, post_id, hour, published_at, plays,
           ifNull(likes, 0) + ifNull(comments, 0) + ifNull(shares, 0) + ifNull(favorites, 0) AS engagement
    FROM post_hourly
    WHERE hour < toDateTime({to:String}, 'UTC')
)
GROUP BY ROLLUP(platform)
ORDER BY platform = '', platform
