package dashboards

// alerts is 预警: open, recent and resolved alerts with their reasons.
func alerts() *board {
	d := newBoard(UIDAlerts, "同心 · 预警",
		"爆款与低触达预警：未解决的、所选时间段内开启的和已解决的，附原因。点代言人或作品进入详情。")
	d.b.WithVariable(dsClickHouse()).WithVariable(platformVar(true)).WithVariable(communityVar()).WithVariable(kindVar())
	filters := platformFilter("platform") + " AND " + communityFilter("community") + " AND " + kindFilter("kind")
	count := func(title, desc, cond string) {
		d.stat(statSpec{title: title, description: desc, w: 8, h: 4, unit: unitAlerts, sql: `
SELECT count() AS "` + title + `" FROM alerts_current WHERE ` + cond + ` AND ` + filters})
	}
	count("未解决", "现在仍未解决的预警数（不限时间段）。", "status = 'open'")
	count("时间段内开启", "所选时间段内开启的预警数。", "$__timeFilter(opened_at)")
	count("时间段内解决", "所选时间段内解决的预警数。", "status = 'resolved' AND $__timeFilter(resolved_at)")
	columns := `opened_at AS "开启时间", ` + kindLabel("kind") + ` AS "类型", name AS "代言人", community AS "社区",
       ` + platformLabel("platform") + ` AS "平台", if(title = '', post_id, title) AS "作品", ` + reasonZh("reason") + ` AS "原因", round(score, 2) AS "分数"`
	hidden := []string{"ambassador_id", "platform", "post_id"}
	links := []link{drillAmbassador("代言人"), drillPost("作品")}
	d.table(tableSpec{title: "未解决预警", description: "仍未解决的预警，最新的在前。", w: 24, h: 9, unit: unitCount,
		units: map[string]string{"开启时间": unitDate}, hidden: hidden, links: links, sql: `
SELECT ` + columns + `, ambassador_id, platform, post_id
FROM alerts_current
WHERE status = 'open' AND ` + filters + `
ORDER BY opened_at DESC`})
	d.series(seriesSpec{title: "每日开启的预警", description: "每个北京日开启的预警数，按类型。", w: 24, h: 7, unit: unitAlerts, bars: true, stacked: true, seriesLabel: "kind_name", sql: []string{`
SELECT toDateTime(toDate(opened_at, 'Asia/Shanghai'), 'Asia/Shanghai') AS time, ` + kindLabel("kind") + ` AS kind_name, count() AS "预警"
FROM alerts_current
WHERE $__timeFilter(opened_at) AND ` + filters + `
GROUP BY time, kind
ORDER BY time`}})
	d.table(tableSpec{title: "时间段内开启", description: "所选时间段内开启的全部预警及其当前状态。", w: 24, h: 9, unit: unitCount,
		units: map[string]string{"开启时间": unitDate}, hidden: hidden, links: links, sql: `
SELECT ` + columns + `, if(status = 'open', '未解决', '已解决') AS "状态", ambassador_id, platform, post_id
FROM alerts_current
WHERE $__timeFilter(opened_at) AND ` + filters + `
ORDER BY opened_at DESC`})
	d.table(tableSpec{title: "已解决", description: "所选时间段内解决的预警，以及从开启到解决用了多久。", w: 24, h: 9, unit: unitCount,
		units: map[string]string{"开启时间": unitDate, "解决时间": unitDate, "持续": unitSeconds}, hidden: hidden, links: links, sql: `
SELECT ` + columns + `, resolved_at AS "解决时间", dateDiff('second', opened_at, resolved_at) AS "持续", ambassador_id, platform, post_id
FROM alerts_current
WHERE status = 'resolved' AND $__timeFilter(resolved_at) AND ` + filters + `
ORDER BY resolved_at DESC`})
	return d
}
