-- key: ambassador_id
-- Ambassadors on the roster who published nothing in the period, with
-- their latest post before the cut-off and how many Beijing days ago that was.
SELECT
    r.ambassador_id AS ambassador_id, r.name AS name, r.community AS community,
    if(p.last_published_at IS NULL, '', formatDateTime(p.last_published_at, '%Y-%m-%d', 'Asia/Shanghai')) AS last_published,
    if(p.last_published_at IS NULL, NULL,
       dateDiff('day', toDate(p.last_published_at, 'Asia/Shanghai'),
                toDate(toDateTime({to:String}, 'UTC') - 1, 'Asia/Shanghai')))                      AS days_since
FROM
(
    SELECT ambassador_id, argMax(name, updated_at) AS name, argMax(community, updated_at) AS community
    FROM ambassadors GROUP BY ambassador_id
) AS r
LEFT JOIN
(
    SELECT ambassador_id, max(published_at) AS last_published_at
    FROM post_hourly
    WHERE published_at < toDateTime({to:String}, 'UTC')
    GROUP BY ambassador_id
) AS p ON p.ambassador_id = r.ambassador_id
WHERE p.last_published_at IS NULL OR p.last_published_at < toDateTime({from:String}, 'UTC')
ORDER BY days_since DESC NULLS FIRST, r.ambassador_id
SETTINGS join_use_nulls = 1
