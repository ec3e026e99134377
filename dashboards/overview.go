package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// engagement is a row's likes, comments, shares and favorites, as the
// views' engagement column counts them (a counter a platform does not give
// counts 0), for the relations that carry the counters without it.
const engagement = "ifNull(likes, 0) + ifNull(comments, 0) + ifNull(shares, 0) + ifNull(favorites, 0)"

// The overview's tiles sum every post's latest counters from post_latest
// (one row per post, or per post and ambassador, as in posts): posts gives
// the same sums and counts, since a post known only by its facts has no
// counters, but joins every post's facts and state, which no tile shows
// (1.1-2 s at 100x the seed campaign instead of 0.2-0.8 s).
const engagementSum = "sum(" + engagement + ")"

// overview is 总览: the campaign at a glance.
func overview() *board {
	d := newBoard(UIDOverview, "同心 · 总览",
		"寻美西山活动总览：累计与日增（环比为与前一天相比）、话题目标进度、平台分布、每小时与每日走势、10万+作品、活跃代言人和最新预警。日期按北京时间切分。")
	d.b.WithVariable(dsClickHouse()).WithVariable(platformVar(true))
	d.b.Annotation(dashboard.NewAnnotationQueryBuilder().
		Name("预警开启").
		Datasource(chRef()).
		Enable(true).
		IconColor("red").
		Target(chTable(`
SELECT opened_at AS time,
       concat(` + kindLabel("kind") + `, '预警：', name, ' · ', if(title = '', post_id, title), ' — ', ` + reasonZh("reason") + `) AS text,
       ` + kindLabel("kind") + ` AS tags
FROM alerts_current
WHERE $__timeFilter(opened_at) AND ` + platformFilter("platform") + `
ORDER BY time`)))

	kpi := func(title, desc, sql string) {
		d.stat(statSpec{title: title, description: desc, w: 4, h: 4, sql: sql, unit: unitWan, decimals: 1})
	}
	daily := func(title, desc, metric string) {
		d.stat(statSpec{title: title, description: desc, w: 4, h: 4, series: true, unit: unitWan, decimals: 1, percentChange: true, sql: `
SELECT toDateTime(day, 'Asia/Shanghai') AS time, sum(` + metric + `) / 10000 AS "` + title + `"
FROM campaign_daily
WHERE day >= toDate($__toTime, 'Asia/Shanghai') - 1 AND day <= toDate($__toTime, 'Asia/Shanghai') AND ` + platformFilter("platform") + `
GROUP BY day
ORDER BY day`})
	}
	kpi("累计播放", "活动开始至今所有作品的播放量（万）。微博不提供播放量，只计抖音和视频号。", `
SELECT sum(plays) / 10000 AS "累计播放" FROM post_latest WHERE `+platformFilter("platform"))
	daily("日增播放", "所选时间段最后一个北京日的播放增量（万）；箭头为与前一日相比的环比。", "plays")
	kpi("累计互动量", "点赞+评论+分享+收藏的累计（万），三个平台都计入。", `
SELECT `+engagementSum+` / 10000 AS "累计互动量" FROM post_latest WHERE `+platformFilter("platform"))
	daily("日增互动量", "所选时间段最后一个北京日的互动量增量（万）；箭头为与前一日相比的环比。", "engagement")
	d.stat(statSpec{title: "10万+作品", description: "播放量达到10万的作品数（微博无播放量，不计入）。", w: 4, h: 4, unit: unitPosts, sql: `
SELECT count() AS "10万+作品" FROM post_latest WHERE plays >= 100000 AND ` + platformFilter("platform")})
	d.stat(statSpec{title: "活跃代言人", description: "所选时间段内（北京日）发布过作品的代言人数，及名册上的代言人总数。", w: 4, h: 4, unit: unitPeople, sql: `
SELECT
    (SELECT uniqExact(ambassador_id) FROM posts_published_daily
     WHERE posts > 0 AND ` + dayRange("day") + ` AND ` + platformFilter("platform") + `) AS "活跃代言人",
    (SELECT uniqExact(ambassador_id) FROM ambassadors) AS "代言人总数"`})

	d.bars("话题目标进度", "各话题当前值占目标的比例；目标可配置（种子活动：抖音话题「寻美西山」播放 1230 万）。", 12, 7, `
SELECT concat(topic, ' · ', `+platformLabel("platform")+`, ' · ', if(metric = 'plays', '播放', '互动量'),
              '（', toString(round(value / 10000, 1)), ' / ', toString(round(target / 10000, 1)), ' 万）') AS "话题",
       progress AS "进度"
FROM topic_progress
WHERE `+platformFilter("platform")+`
ORDER BY progress DESC`, unitPercent, 0, 1)
	d.pie("平台分布（互动量）", "累计互动量在三个平台间的分布（万）。按互动量而非播放量，因为微博没有播放量。", 12, 7, `
SELECT `+platformLabel("platform")+` AS "平台", `+engagementSum+` / 10000 AS "互动量"
FROM post_latest
WHERE `+platformFilter("platform")+`
GROUP BY platform
ORDER BY platform`, unitWan)

	hourly := func(title, desc, metric string) {
		d.series(seriesSpec{title: title, description: desc, w: 12, h: 8, unit: unitCount, stacked: true, seriesLabel: "platform_name", sql: []string{`
SELECT hour AS time, ` + platformLabel("platform") + ` AS platform_name, sum(` + metric + `) AS "` + title + `"
FROM campaign_hourly
WHERE $__timeFilter(hour) AND ` + platformFilter("platform") + `
GROUP BY hour, platform
ORDER BY time`}})
	}
	hourly("每小时播放", "每小时新增播放，按平台堆叠；红色标记是预警开启的时刻。", "plays")
	hourly("每小时互动量", "每小时新增互动量（点赞+评论+分享+收藏），按平台堆叠。", "engagement")
	dailySeries := func(title, desc, metric string) {
		d.series(seriesSpec{title: title, description: desc, w: 12, h: 8, unit: unitCount, bars: true, stacked: true, seriesLabel: "platform_name", sql: []string{`
SELECT toDateTime(day, 'Asia/Shanghai') AS time, ` + platformLabel("platform") + ` AS platform_name, sum(` + metric + `) AS "` + title + `"
FROM campaign_daily
WHERE ` + dayRange("day") + ` AND ` + platformFilter("platform") + `
GROUP BY day, platform
ORDER BY time`}})
	}
	dailySeries("每日播放", "每个北京日（0 点到 24 点）的播放增量，按平台堆叠。", "plays")
	dailySeries("每日互动量", "每个北京日的互动量增量，按平台堆叠。", "engagement")

	d.table(tableSpec{title: "最新预警", description: "最近 20 条预警。点代言人进入代言人详情，点作品进入作品详情；完整列表见「预警」看板。", w: 24, h: 9, unit: unitCount,
		units:  map[string]string{"开启时间": unitDate},
		hidden: []string{"ambassador_id", "platform", "post_id"},
		links:  []link{drillAmbassador("代言人"), drillPost("作品")},
		sql: `
SELECT opened_at AS "开启时间", ` + kindLabel("kind") + ` AS "类型", if(status = 'open', '未解决', '已解决') AS "状态",
       name AS "代言人", ` + platformLabel("platform") + ` AS "平台", if(title = '', post_id, title) AS "作品", ` + reasonZh("reason") + ` AS "原因",
       ambassador_id, platform, post_id
FROM alerts_current
WHERE ` + platformFilter("platform") + `
ORDER BY opened_at DESC
LIMIT 20`})
	return d
}
