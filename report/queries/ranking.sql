-- key: ambassador_id
-- The ambassadors' ranking for the period (日榜, 周榜, 月榜), as stored in
-- the rankings table. score is the 同心分: each post published in the
-- period is measured against what was expected of it at its age, on its
-- reach (plays, or likes on Weibo, which gives no plays, as the alerts do):
-- the alerts' own expectation at the post's latest judged snapshot before
-- the cut-off (post_expected: the ambassador's own posts at that age, or
-- the campaign's scaled to the ambassador's reach); for a post the alerts
-- have not judged, the median of the same platform's posts at its age at
-- the cut-off (snapped down to 1, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48, 72,
-- 96, 120, 168, 240, 336, 504 or 720 hours; every post observed by then,
-- at least {min_comparables} of them; a post under an hour old is not
-- scored yet). posts_judged: posts measured by the alerts' expectation.
-- A post's measure is ln(actual+1) − ln(expected+1); the score is
-- 100 × e^(the sum of its posts' measures divided by the posts plus
-- {shrink}, pseudo-posts exactly as expected, so one lucky post alone does
-- not top the board): 100 is as expected, 200 twice, 50 half, however large
-- the account. Ambassadors who published nothing in the period have no
-- score and no rank.
-- index_*: the 传播力 index per platform over the period's gains (see
-- report/index.go): VCI for Douyin and WeChat Channels (清博 WCI's shape),
-- BCI for Weibo. Numbers are rounded to 2 decimals, so a ranking computed
-- again from the same data is the same to the last digit.
WITH
gains AS
(
    SELECT ambassador_id, platform, post_id,
           greatest(sum(ifNull(plays, 0)), 0)    AS r,
           greatest(sum(ifNull(comments, 0)), 0) AS z,
           greatest(sum(ifNull(likes, 0)), 0)    AS l,
           greatest(sum(ifNull(shares, 0)), 0)   AS re,
           sum(ifNull(likes, 0) + ifNull(comments, 0) + ifNull(shares, 0) + ifNull(favorites, 0)) AS engagement,
           min(published_at)                     AS published_at
    FROM post_hourly
    WHERE hour >= toDateTime({from:String}, 'UTC') AND hour < toDateTime({to:String}, 'UTC')
    GROUP BY ambassador_id, platform, post_id
),
platform_index AS
(
    SELECT ambassador_id, platform,
           sum(r) AS R, sum(z) AS Z, sum(l) AS L, sum(re) AS RE, count() AS n,
           max(r) AS Rmax, max(z) AS Zmax, max(l) AS Lmax, max(re) AS REmax,
           countIf(published_at >= toDateTime({from:String}, 'UTC')) AS published,
           toFloat64({days:UInt32}) AS d,
           round(if(platform = 'weibo',
               ({b_activity:Float64} * log(published + 1)
                + {b_spread:Float64} * ({b_reposts:Float64} * log(RE + 1) + {b_comments:Float64} * log(Z + 1) + {b_likes:Float64} * log(L + 1)))
               * {b_scale:Float64},
               pow({w_daily:Float64} * ({w_plays:Float64} * log(R / d + 1) + {w_comments:Float64} * log(10 * Z / d + 1)
                                        + {w_likes:Float64} * log(10 * L / d + 1) + {w_shares:Float64} * log(10 * RE / d + 1))
                 + {w_post:Float64} * ({w_plays:Float64} * log(R / n + 1) + {w_comments:Float64} * log(10 * Z / n + 1)
                                        + {w_likes:Float64} * log(10 * L / n + 1) + {w_shares:Float64} * log(10 * RE / n + 1))
                 + {w_peak:Float64} * ({w_plays:Float64} * log(Rmax + 1) + {w_comments:Float64} * log(10 * Zmax + 1)
                                        + {w_likes:Float64} * log(10 * Lmax + 1) + {w_shares:Float64} * log(10 * REmax + 1)), 2)
               * {w_scale:Float64}), 2) AS idx
    FROM gains
    GROUP BY ambassador_id, platform
),
indices AS
(
    SELECT ambassador_id,
           maxOrNullIf(idx, platform = 'douyin')          AS index_douyin,
           maxOrNullIf(idx, platform = 'weibo')           AS index_weibo,
           maxOrNullIf(idx, platform = 'wechat_channels') AS index_wechat_channels
    FROM platform_index
    GROUP BY ambassador_id
),
totals AS
(
    SELECT ambassador_id, sum(r) AS plays, sum(engagement) AS engagement
    FROM gains
    GROUP BY ambassador_id
),
curves AS
(
    -- Each post's hourly reach as one sorted array: one pass over
    -- post_hourly, however many ages are looked at.
    SELECT platform, post_id, any(ambassador_id) AS ambassador_id, min(published_at) AS published,
           dateDiff('hour', published, toDateTime({to:String}, 'UTC')) AS age,
           arrayLast(x -> x <= age, [1, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48, 72, 96, 120, 168, 240, 336, 504, 720]) AS at_age,
           groupArray((hour, ifNull(if(platform = 'weibo', likes, plays), 0))) AS points
    FROM post_hourly
    WHERE hour < toDateTime({to:String}, 'UTC')
    GROUP BY platform, post_id
),
at_ages AS
(
    -- Every post's reach at each grid age it has reached (seen: observed
    -- by then), and per platform and age the median of the posts seen.
    SELECT platform, post_id, ambassador_id, published, at_age, g,
           arraySum(arrayMap(x -> if(x.1 < published + toIntervalHour(g), x.2, 0), points)) AS value,
           arrayExists(x -> x.1 < published + toIntervalHour(g), points)                   AS seen,
           medianExactIf(value, seen) OVER (PARTITION BY platform, g)                       AS expected,
           countIf(seen) OVER (PARTITION BY platform, g)                                    AS comparables
    FROM curves
    ARRAY JOIN arrayFilter(x -> x <= age, [1, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48, 72, 96, 120, 168, 240, 336, 504, 720]) AS g
),
posts_in_period AS
(
    -- The period's posts, each at its own age (a post under an hour old at
    -- the cut-off is not scored).
    SELECT platform, post_id, ambassador_id, value, expected, comparables, seen
    FROM at_ages
    WHERE g = at_age AND published >= toDateTime({from:String}, 'UTC')
),
judged AS
(
    SELECT platform, post_id,
           argMax(actual, observed_at)   AS judged_actual,
           argMax(expected, observed_at) AS judged_expected
    FROM post_expected
    WHERE observed_at < toDateTime64({to:String}, 3, 'UTC') AND expected > 0
    GROUP BY platform, post_id
),
measured AS
(
    SELECT p.ambassador_id AS ambassador_id,
           ifNull(j.judged_expected, 0) > 0 AS by_alerts,
           if(by_alerts, log(greatest(j.judged_actual, 0) + 1) - log(j.judged_expected + 1),
                         log(greatest(p.value, 0) + 1) - log(greatest(p.expected, 0) + 1)) AS measure
    FROM posts_in_period AS p
    LEFT JOIN judged AS j ON j.platform = p.platform AND j.post_id = p.post_id
    WHERE by_alerts OR (p.seen AND p.comparables >= {min_comparables:UInt32})
),
fair AS
(
    SELECT ambassador_id, count() AS posts_scored, countIf(by_alerts) AS posts_judged,
           round(100 * exp(sum(measure) / (count() + {shrink:Float64})), 2) AS score
    FROM measured
    GROUP BY ambassador_id
)
SELECT
    toUInt32(row_number() OVER (ORDER BY f.score DESC, ifNull(t.engagement, 0) DESC, f.ambassador_id)) AS rank,
    f.ambassador_id                AS ambassador_id,
    ifNull(r.name, f.ambassador_id) AS name,
    ifNull(r.community, '')        AS community,
    f.score                        AS score,
    f.posts_scored                 AS posts_scored,
    f.posts_judged                 AS posts_judged,
    ifNull(t.plays, 0)             AS plays,
    ifNull(t.engagement, 0)        AS engagement,
    i.index_douyin                 AS index_douyin,
    i.index_weibo                  AS index_weibo,
    i.index_wechat_channels        AS index_wechat_channels
FROM fair AS f
LEFT JOIN totals AS t ON t.ambassador_id = f.ambassador_id
LEFT JOIN indices AS i ON i.ambassador_id = f.ambassador_id
LEFT JOIN
(
    SELECT ambassador_id, argMax(name, updated_at) AS name, argMax(community, updated_at) AS community
    FROM ambassadors GROUP BY ambassador_id
) AS r ON r.ambassador_id = f.ambassador_id
ORDER BY rank
SETTINGS join_use_nulls = 1
