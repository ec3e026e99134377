package dashboards

// ambassador is 代言人: one ambassador's posts, growth and platforms.
func ambassador() *board {
	d := newBoard(UIDAmbassador, "同心 · 代言人",
		"一位代言人的详情：基本情况、累计数据、每日增长、平台分布和全部作品。点作品标题进入作品详情。")
	d.b.WithVariable(dsClickHouse()).WithVariable(communityVar()).WithVariable(ambassadorVar()).WithVariable(platformVar(true))
	const who = "ambassador_id = ${ambassador:singlequote}"
	// posts WHERE ambassador_id = …, in a form whose filter reaches every
	// relation posts reads (migration 0014)
	const hisPosts = "ambassador_posts(ambassador = ${ambassador:singlequote})"
	d.table(tableSpec{title: "基本情况", description: "姓名、社区、使用的平台、作品总数和最近一次发帖（北京时间）。", w: 24, h: 4, unit: unitCount,
		units: map[string]string{"最近发帖": unitDate, "未发帖天数": "suffix:天"},
		sql: `
SELECT name AS "代言人", community AS "社区",
       arrayStringConcat(arrayMap(p -> ` + platformLabel("p") + `, platforms), '、') AS "平台",
       posts AS "作品总数", last_published_at AS "最近发帖", days_since_post AS "未发帖天数"
FROM ambassador_activity
WHERE ` + who})
	tile := func(title, desc, expr, unit string, decimals float64) {
		d.stat(statSpec{title: title, description: desc, w: 6, h: 4, unit: unit, decimals: decimals, sql: `
SELECT ` + expr + ` AS "` + title + `" FROM ` + hisPosts + ` WHERE ` + platformFilter("platform")})
	}
	tile("累计播放", "该代言人全部作品的累计播放（万；微博无播放量）。", "sum(plays) / 10000", unitWan, 1)
	tile("累计互动量", "该代言人全部作品的累计点赞+评论+分享+收藏（万）。", "sum(engagement) / 10000", unitWan, 1)
	tile("作品数", "该代言人在所选平台上的作品数。", "count()", unitPosts, 0)
	tile("10万+作品", "播放量达到10万的作品数。", "countIf(plays >= 100000)", unitPosts, 0)
	d.series(seriesSpec{title: "每日增长", description: "每个北京日的互动量增量，按平台堆叠。", w: 16, h: 8, unit: unitCount, bars: true, stacked: true, seriesLabel: "platform_name", sql: []string{`
SELECT toDateTime(day, 'Asia/Shanghai') AS time, ` + platformLabel("platform") + ` AS platform_name, sum(engagement) AS "互动量"
FROM ambassador_daily
WHERE ` + who + ` AND ` + dayRange("day") + ` AND ` + platformFilter("platform") + `
GROUP BY day, platform
ORDER BY time`}})
	d.pie("平台分布（互动量）", "该代言人累计互动量在各平台的分布。", 8, 8, `
SELECT `+platformLabel("platform")+` AS "平台", sum(engagement) AS "互动量"
FROM `+hisPosts+`
WHERE `+platformFilter("platform")+`
GROUP BY platform
ORDER BY platform`, unitCount)
	d.table(tableSpec{title: "全部作品", description: "该代言人的作品，最新的在前。点标题进入作品详情，点链接在平台上打开。", w: 24, h: 12, unit: unitCount,
		units:  map[string]string{"发布时间": unitDate},
		hidden: []string{"platform", "post_id", "url"},
		links:  []link{drillPost("标题"), openURL("链接")},
		sql: `
SELECT published_at AS "发布时间", ` + platformLabel("platform") + ` AS "平台", if(title = '', post_id, title) AS "标题",
       plays AS "播放", engagement AS "互动量", likes AS "点赞", comments AS "评论", shares AS "分享",
       ` + stateLabel("state") + ` AS "状态", if(url = '', '', '打开') AS "链接", platform, post_id, url
FROM ` + hisPosts + `
WHERE ` + platformFilter("platform") + `
ORDER BY published_at DESC`})
	return d
}
