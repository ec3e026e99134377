package dashboards

// post is 作品: one post's growth against what was expected of it.
func post() *board {
	d := newBoard(UIDPost, "同心 · 作品",
		"一条作品的详情：标题与链接、当前数据、增长曲线与同龄预期（与爆款预警使用同一基线）、以及它的预警。")
	d.b.WithVariable(dsClickHouse()).WithVariable(platformVar(false)).WithVariable(postVar())
	const which = "platform = ${platform:singlequote} AND post_id = ${post:singlequote}"
	d.table(tableSpec{title: "作品信息", description: "标题、代言人、发布时间（北京时间）、状态（正常、已设私密、已删除）及起始时间、话题。点标题在平台上打开，点代言人进入代言人详情。", w: 24, h: 4, unit: unitCount,
		units:  map[string]string{"发布时间": unitDate, "状态起始": unitDate},
		hidden: []string{"ambassador_id", "url"},
		links:  []link{openURL("标题"), drillAmbassador("代言人")},
		sql: `
SELECT if(p.title = '', p.post_id, p.title) AS "标题", r.name AS "代言人", ` + platformLabel("p.platform") + ` AS "平台",
       p.published_at AS "发布时间", ` + stateLabel("p.state") + ` AS "状态", p.state_since AS "状态起始",
       arrayStringConcat(p.topics, ' ') AS "话题", p.ambassador_id AS ambassador_id, p.url AS url
FROM posts AS p
LEFT JOIN ` + ambassadorNames + ` AS r ON r.ambassador_id = p.ambassador_id
WHERE p.platform = ${platform:singlequote} AND p.post_id = ${post:singlequote}`})
	d.table(tableSpec{title: "当前数据", description: "最新观测到的累计数据；平台不提供的指标为空（微博无播放，抖音无收藏），不是 0。", w: 24, h: 4, unit: unitCount,
		units: map[string]string{"观测时间": unitDate},
		sql: `
SELECT plays AS "播放", likes AS "点赞", comments AS "评论", shares AS "分享", favorites AS "收藏",
       engagement AS "互动量", observed_at AS "观测时间"
FROM posts
WHERE ` + which})
	d.series(seriesSpec{title: "增长曲线与同龄预期", description: "作品的累计播放和互动量（每小时），以及爆款规则每次判定时的实际值与同龄预期（抖音、视频号按播放，微博按点赞，因为微博没有播放；基线为本人历史作品或按影响力折算的活动整体）。实际远低于预期会触发低触达预警，远高于则是爆款。", w: 24, h: 10, unit: unitCount, sql: []string{`
SELECT time, "累计播放", "累计互动量"
FROM
(
    SELECT hour AS time,
           sum(sum(plays)) OVER (ORDER BY hour) AS "累计播放",
           sum(sum(` + engagement + `)) OVER (ORDER BY hour) AS "累计互动量"
    FROM post_hourly
    WHERE ` + which + `
    GROUP BY hour
)
WHERE $__timeFilter(time)
ORDER BY time`, `
SELECT observed_at AS time, any(actual) AS "判定时实际", any(expected) AS "同龄预期"
FROM post_expected
WHERE ` + which + ` AND $__timeFilter(observed_at)
GROUP BY observed_at
ORDER BY time`}})
	d.table(tableSpec{title: "本作品的预警", description: "这条作品的全部预警：类型、状态、原因、分数、开启与解决时间。", w: 24, h: 6, unit: unitCount,
		units: map[string]string{"开启时间": unitDate, "解决时间": unitDate},
		sql: `
SELECT opened_at AS "开启时间", ` + kindLabel("kind") + ` AS "类型", if(status = 'open', '未解决', '已解决') AS "状态",
       ` + reasonZh("reason") + ` AS "原因", round(score, 2) AS "分数", resolved_at AS "解决时间"
FROM alerts_current
WHERE ` + which + `
ORDER BY opened_at DESC`})
	return d
}
