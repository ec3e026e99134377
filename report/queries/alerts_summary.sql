-- key: kind
-- Alerts opened in the period, by kind.
SELECT
    kind,
    uniqExact(alert_id) AS opened
FROM alerts
WHERE opened_at >= toDateTime64({from:String}, 3, 'UTC') AND opened_at < toDateTime64({to:String}, 3, 'UTC')
  AND updated_at < toDateTime64({to:String}, 3, 'UTC')
GROUP BY kind
ORDER BY kind
