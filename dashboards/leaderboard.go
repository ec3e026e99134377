package dashboards

// leaderboard is 代言人榜: who carried the chosen period.
func leaderboard() *board {
	d := newBoard(UIDLeaderboard, "同心 · 代言人榜",
		"所选时间段的代言人榜与社区榜（按互动量排名，并列播放量；微博没有播放量，互动量三个平台都可比），以及多日未发帖的代言人。点代言人姓名进入代言人详情。")
	d.b.WithVariable(dsClickHouse()).WithVariable(communityVar()).WithVariable(quietDaysVar())
	d.table(tableSpec{title: "代言人排行", description: "时间段内每位代言人的播放、互动量、有增长的作品数和新发作品数，按互动量排名。", w: 14, h: 14, unit: unitCount,
		hidden: []string{"ambassador_id"},
		links:  []link{drillAmbassador("代言人")},
		sql: `
SELECT row_number() OVER (ORDER BY engagement DESC, plays DESC, name) AS "排名",
       name AS "代言人", community AS "社区", plays AS "播放", engagement AS "互动量",
       posts AS "有增长作品", new_posts AS "新发作品", ambassador_id
FROM leaderboard_period(from = $__fromTime, to = $__toTime)
WHERE ` + communityFilter("community") + `
ORDER BY engagement DESC, plays DESC, name`})
	d.table(tableSpec{title: "社区排行", description: "时间段内每个社区的代言人数、播放、互动量和作品数，按互动量排名。", w: 10, h: 14, unit: unitCount,
		sql: `
SELECT row_number() OVER (ORDER BY engagement DESC, plays DESC, community) AS "排名",
       community AS "社区", ambassadors AS "代言人", plays AS "播放", engagement AS "互动量",
       posts AS "有增长作品", new_posts AS "新发作品"
FROM community_leaderboard_period(from = $__fromTime, to = $__toTime)
WHERE ` + communityFilter("community") + `
ORDER BY engagement DESC, plays DESC, community`})
	d.table(tableSpec{title: "多日未发帖", description: "超过所选天数（变量「未发帖天数」，北京日）没有发布作品的代言人，以及从未发帖的代言人。", w: 24, h: 10, unit: unitCount,
		units:  map[string]string{"最近发帖": unitDate, "未发帖天数": "suffix:天"},
		hidden: []string{"ambassador_id"},
		links:  []link{drillAmbassador("代言人")},
		sql: `
SELECT name AS "代言人", community AS "社区", last_published_at AS "最近发帖", days_since_post AS "未发帖天数",
       arrayStringConcat(arrayMap(p -> ` + platformLabel("p") + `, platforms), '、') AS "平台", posts AS "作品总数", ambassador_id
FROM ambassador_activity
WHERE (days_since_post IS NULL OR days_since_post >= $quiet_days) AND ` + communityFilter("community") + `
ORDER BY days_since_post IS NULL DESC, days_since_post DESC, name`})
	return d
}
