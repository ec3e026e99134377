-- key: topic,platform,metric
-- The campaign's targets (campaign_targets, from --targets; the seed
-- campaign's Douyin topic 寻美西山 at 1230万 plays) against the topic's
-- total at the cut-off (topic_daily's Beijing days up to the period's last)
-- and what the period added.
SELECT
    g.topic                                                       AS topic,
    g.platform                                                    AS platform,
    g.metric                                                      AS metric,
    g.target                                                      AS target,
    toInt64(ifNull(if(g.metric = 'plays', v.plays, v.engagement), 0))          AS value,
    toInt64(ifNull(if(g.metric = 'plays', v.plays_inc, v.engagement_inc), 0))  AS value_inc,
    if(g.target = 0, 0., value / g.target)                        AS progress
FROM
(
    SELECT topic, platform, metric, argMax(target, updated_at) AS target
    FROM campaign_targets
    GROUP BY topic, platform, metric
    HAVING argMax(active, updated_at) = 1
) AS g
LEFT JOIN
(
    SELECT topic, platform,
           sum(d.plays) AS plays, sum(d.engagement) AS engagement,
           sumIf(d.plays, d.day >= toDate({first_day:String})) AS plays_inc,
           sumIf(d.engagement, d.day >= toDate({first_day:String})) AS engagement_inc
    FROM topic_daily AS d
    WHERE d.day <= toDate({last_day:String})
    GROUP BY topic, platform
) AS v ON v.topic = g.topic AND v.platform = g.platform
ORDER BY g.platform = 'douyin' DESC, g.topic, g.platform, g.metric
SETTINGS join_use_nulls = 1
