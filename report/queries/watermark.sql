-- key: watermark
-- The newest observation in the data a ranking of the period reads.
SELECT
    'watermark' AS watermark,
    max(last_observed_at) AS observed
FROM post_hourly
WHERE hour < toDateTime({to:String}, 'UTC')
