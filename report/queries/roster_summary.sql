-- key: roster
-- How many ambassadors are on the roster and how many published in the period.
SELECT
    'roster'                                       AS roster,
    count()                                        AS ambassadors,
    countIf(p.ambassador_id != '')                 AS posted,
    ambassadors - posted                           AS not_posted
FROM
(
    SELECT DISTINCT ambassador_id FROM ambassadors
) AS r
LEFT JOIN
(
    SELECT DISTINCT ambassador_id FROM post_hourly
    WHERE published_at >= toDateTime({from:String}, 'UTC') AND published_at < toDateTime({to:String}, 'UTC')
) AS p ON p.ambassador_id = r.ambassador_id
