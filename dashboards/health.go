package dashboards

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// health is 数据健康: whether the numbers on the other dashboards are fresh
// and complete, from ClickHouse (freshness) and the services' metrics.
func health() *board {
	d := newBoard(UIDHealth, "同心 · 数据健康",
		"数据管道的健康：各平台与账号的数据新鲜度、采集延迟、请求预算、按类型的错误、消费积压、ClickHouse 写入失败、死信，以及需要重新授权的代言人。采集延迟与预算按活动时钟计。")
	d.b.Refresh("1m").Time("now-24h", "now")
	d.b.WithVariable(dsPrometheus()).WithVariable(dsClickHouse())

	d.stat(statSpec{title: "各平台数据新鲜度", description: "每个平台最久未更新账号的数据年龄（距最后一次观测）。数值大说明该平台采集落后，看板上的数字会偏旧。", w: 12, h: 4, unit: unitSeconds, perRow: true, sql: `
SELECT ` + platformLabel("platform") + ` AS "平台", max(age_seconds) AS "数据年龄"
FROM freshness
GROUP BY platform
ORDER BY platform`})
	d.stat(statSpec{title: "平台暂停", description: "平台因限流、配额用尽或能力被收回而暂停采集时为「暂停」。", w: 12, h: 4, unit: "none",
		promql:   []promTarget{{`max by (platform) (tongxin_ingest_platform_paused)`, "{{platform}}"}},
		mappings: []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: map[string]dashboard.ValueMappingResult{"0": {Text: ptr("正常"), Color: ptr("green")}, "1": {Text: ptr("暂停"), Color: ptr("red")}}}}}})
	d.table(tableSpec{title: "账号数据新鲜度", description: "每个账号的最后观测时间、数据年龄和过期作品数（超过过期阈值未观测的作品），最旧的在前。", w: 24, h: 9, unit: unitCount,
		units:  map[string]string{"最后观测": unitDate, "数据年龄": unitSeconds},
		hidden: []string{"ambassador_id"},
		links:  []link{drillAmbassador("代言人")},
		sql: `
SELECT ` + platformLabel("f.platform") + ` AS "平台", r.name AS "代言人", f.account_id AS "账号",
       f.last_observed_at AS "最后观测", f.age_seconds AS "数据年龄", f.posts AS "作品", f.stale_posts AS "过期作品",
       f.ambassador_id AS ambassador_id
FROM freshness AS f
LEFT JOIN ` + ambassadorNames + ` AS r ON r.ambassador_id = f.ambassador_id
ORDER BY f.age_seconds DESC`})

	prom := func(title, desc, unit string, targets ...promTarget) {
		d.series(seriesSpec{title: title, description: desc, w: 12, h: 8, unit: unit, promql: targets})
	}
	prom("采集延迟（P90）", "作品实际被采集比期望间隔晚了多久（活动时钟秒），按平台取 90 分位。持续升高说明预算不够或平台在限流。", unitSeconds,
		promTarget{`histogram_quantile(0.9, sum by (le, platform) (rate(tongxin_ingest_poll_lag_seconds_bucket[$__rate_interval])))`, "{{platform}}"})
	prom("请求预算", "每个平台预算桶里剩余的请求数（实线）与每小时预算（虚线为每小时请求数）。余量长期接近 0 表示预算是采集的瓶颈。", "none",
		promTarget{`sum by (platform) (tongxin_ingest_budget_available)`, "{{platform}} 余量"},
		promTarget{`sum by (platform) (tongxin_ingest_budget_per_hour)`, "{{platform}} 每小时预算"})
	prom("按类型的请求错误", "平台接口请求中非成功的部分，按平台和错误类型（限流、配额、未授权、暂不可用……）。", unitReqps,
		promTarget{`sum by (platform, outcome) (rate(tongxin_ingest_requests_total{outcome!="ok"}[$__rate_interval]))`, "{{platform}} {{outcome}}"})
	prom("等待预算", "调度器等待预算令牌的时间（活动秒/秒）。等待不是错误，只说明预算在限速。", unitSeconds,
		promTarget{`sum by (platform) (rate(tongxin_ingest_budget_wait_seconds_total[$__rate_interval]))`, "{{platform}}"})
	prom("消费积压", "汇总服务落后于 Kafka 的消息数。持续增长说明汇总或 ClickHouse 跟不上。", unitCount,
		promTarget{`sum(tongxin_aggregate_consumer_lag)`, "积压消息"})
	prom("ClickHouse 写入失败", "写入 ClickHouse 失败的次数（每次都会重试），按表；整次刷新失败；以及没能写入的同龄预期（「作品」看板的预期曲线会缺点）。", unitOps,
		promTarget{`sum by (table) (rate(tongxin_aggregate_write_errors_total[$__rate_interval]))`, "{{table}}"},
		promTarget{`sum(rate(tongxin_aggregate_flush_errors_total[$__rate_interval]))`, "刷新失败"},
		promTarget{`sum(rate(tongxin_alerts_expectations_unwritten_total[$__rate_interval]))`, "同龄预期未写入"})
	prom("入库速率", "每秒写入 Kafka 的快照（按平台）与汇总服务处理的快照（按结果）。", unitOps,
		promTarget{`sum by (platform) (rate(tongxin_ingest_snapshots_produced_total[$__rate_interval]))`, "采集 {{platform}}"},
		promTarget{`sum by (outcome) (rate(tongxin_aggregate_snapshots_total[$__rate_interval]))`, "汇总 {{outcome}}"})
	d.stat(statSpec{title: "死信", description: "所选时间段内进入死信队列的消息（无法处理的快照），以及连死信都写不进去而丢失的条数（应为 0）。", w: 12, h: 8, unit: unitCount,
		promql: []promTarget{
			{`sum(increase(tongxin_aggregate_dead_letters_total[$__range]))`, "汇总死信"},
			{`sum(increase(tongxin_ingest_producer_dead_letters_total[$__range]))`, "采集死信"},
			{`sum(increase(tongxin_aggregate_dead_letters_lost_total[$__range])) + sum(increase(tongxin_ingest_producer_dead_letters_lost_total[$__range]))`, "丢失"},
		}})
	d.promTable("需要重新授权的代言人", "这些代言人的授权已过期或即将过期：请联系本人运行 tongxin auth 平台 代言人 重新授权，否则其作品将停止更新。", 12, 8,
		promTarget{`max by (platform, ambassador) (tongxin_ingest_authorization_needed) == 1`, ""})
	d.promTable("账号受限", "采集被暂停、需要人工处理的账号：account_blocked（注销、封禁、设为私密）或 withdrawn（平台收回了接口能力）。", 12, 8,
		promTarget{`max by (platform, ambassador, reason) (tongxin_ingest_account_blocked) == 1`, ""})
	return d
}
