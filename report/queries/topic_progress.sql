-- key: topic
-- The headline: the campaign topic's plays on its platform at the cut-off
-- against the target (the source article's 1230万次), and the period's share.
SELECT
    {topic:String}                                                           AS topic,
    toUInt64({target:String})                                                AS target,
    sumIf(plays, hour < toDateTime({to:String}, 'UTC'))                      AS value,
    sumIf(plays, hour >= toDateTime({from:String}, 'UTC')
              AND hour < toDateTime({to:String}, 'UTC'))                     AS value_inc,
    value / target                                                           AS progress
FROM post_hourly
WHERE platform = {topic_platform:String}
  AND hour < toDateTime({to:String}, 'UTC')
