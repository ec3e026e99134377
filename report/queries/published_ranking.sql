-- key: rank
-- The newest published version of the period's ranking (rankings table),
-- as the report prints it; versions: how many versions exist.
SELECT
    rank, ambassador_id, name, community, score, posts_scored, posts_judged, plays, engagement,
    index_douyin, index_weibo, index_wechat_channels,
    version,
    formatDateTime(cut_off, '%Y-%m-%d %H:%i', 'Asia/Shanghai') AS computed,
    (SELECT count() FROM ranking_versions
     WHERE period = {period:String} AND period_start = toDate({period_start:String})) AS versions
FROM rankings
WHERE period = {period:String} AND period_start = toDate({period_start:String})
  AND version = (SELECT max(version) FROM rankings
                 WHERE period = {period:String} AND period_start = toDate({period_start:String}))
ORDER BY rank
