-- key: official_id
-- 官方号助推, per official account: its reposts of ambassadors' posts made
-- in the period, how many could be measured, and the sums over those of
-- the growth after the repost, the growth expected over the same ages and
-- the reach added (amplifications; see amplifications.sql).
SELECT
    official_id,
    any(a.name)                            AS official_name,
    count()                                AS reposts,
    countIf(a.added IS NOT NULL)           AS measured,
    sumIf(a.growth, a.added IS NOT NULL)   AS growth_after,
    round(sumIf(a.expected, a.added IS NOT NULL)) AS expected_growth,
    round(sumIf(a.added, a.added IS NOT NULL))    AS reach_added
FROM
(
    SELECT official_id, official_name AS name, growth_after AS growth, expected_growth AS expected, reach_added AS added
    FROM amplifications
    WHERE reposted_at >= toDateTime64({from:String}, 3, 'UTC')
      AND reposted_at < toDateTime64({to:String}, 3, 'UTC')
) AS a
GROUP BY official_id
ORDER BY reach_added DESC, official_id
