-- key: day,platform
-- Plays and 互动量 gained per Beijing day and platform over the chart's
-- window (the 14 Beijing days that end with the period).
SELECT
    toString(toDate(hour, 'Asia/Shanghai'))                                                    AS day,
    platform,
    sum(plays)                                                                                 AS plays,
    sum(ifNull(likes, 0) + ifNull(comments, 0) + ifNull(shares, 0) + ifNull(favorites, 0))     AS engagement
FROM post_hourly
WHERE hour >= toDateTime({chart_from:String}, 'UTC') AND hour < toDateTime({to:String}, 'UTC')
GROUP BY day, platform
ORDER BY day, platform
