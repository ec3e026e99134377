-- key: alert_id
-- Alerts open at any time during the period (opened before its end and not
-- resolved before its start), each in its latest state as of the cut-off,
-- with the post's title and link (post_facts) where known.
SELECT
    alert_id, kind, a.platform AS platform, a.ambassador_id AS ambassador_id,
    ifNull(r.name, a.ambassador_id) AS name, a.post_id AS post_id,
    ifNull(f.title, '') AS title, ifNull(f.url, '') AS url,
    formatDateTime(opened_at, '%m-%d %H:%i', 'Asia/Shanghai') AS opened,
    if(resolved_at IS NULL OR resolved_at >= toDateTime64({to:String}, 3, 'UTC'), 'open', 'resolved') AS status,
    reason, round(score, 1) AS score
FROM
(
    SELECT alert_id, argMax(kind, updated_at) AS kind, argMax(platform, updated_at) AS platform,
           argMax(ambassador_id, updated_at) AS ambassador_id, argMax(post_id, updated_at) AS post_id,
           min(opened_at) AS opened_at, argMax(resolved_at, updated_at) AS resolved_at,
           argMax(reason, updated_at) AS reason, argMax(score, updated_at) AS score
    FROM alerts
    WHERE updated_at < toDateTime64({to:String}, 3, 'UTC')
    GROUP BY alert_id
) AS a
LEFT JOIN
(
    SELECT ambassador_id, argMax(name, updated_at) AS name FROM ambassadors GROUP BY ambassador_id
) AS r ON r.ambassador_id = a.ambassador_id
LEFT JOIN post_facts_latest AS f ON f.platform = a.platform AND f.post_id = a.post_id
WHERE opened_at < toDateTime64({to:String}, 3, 'UTC')
  AND (resolved_at IS NULL OR resolved_at >= toDateTime64({from:String}, 3, 'UTC'))
ORDER BY kind, opened_at, alert_id
SETTINGS join_use_nulls = 1
