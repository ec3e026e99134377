package dashboards

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/piechart"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// The dashboards' UIDs (CONTRACT.md: links and users rely on them).
const (
	UIDOverview    = "tongxin-overview"
	UIDLeaderboard = "tongxin-leaderboard"
	UIDAmbassador  = "tongxin-ambassador"
	UIDPost        = "tongxin-post"
	UIDAlerts      = "tongxin-alerts"
	UIDHealth      = "tongxin-health"
)

// The provisioned datasources' uids (SCHEMA10.md), the variables' defaults.
const (
	ClickHouseUID = "tongxin-clickhouse"
	PrometheusUID = "tongxin-prometheus"
)

// Timezone is where the office lives: every axis and every date it reads.
const Timezone = "Asia/Shanghai"

// Tag is carried by every dashboard; the dashboards' link menu lists by it.
const Tag = "tongxin"

// Units. Campaign-sized totals (plays, 互动量 on the KPI tiles) are divided by
// 10,000 in SQL and shown with the suffix 万 — Grafana's own "short" unit
// would say 1.2 Mil, which the office does not read. Counts in tables and
// charts are exact, with thousands separators ("locale").
const (
	unitWan     = "suffix:万"
	unitCount   = "locale"
	unitPosts   = "suffix:篇"
	unitPeople  = "suffix:人"
	unitAlerts  = "suffix:条"
	unitPercent = "percentunit"
	unitSeconds = "s"
	unitDate    = "dateTimeAsLocal"
	unitText    = "string"
	unitReqps   = "reqps"
	unitOps     = "ops"
)

// The SQL that turns stored codes into the words the office reads.
func platformLabel(col string) string {
	return fmt.Sprintf("transform(%s, ['douyin', 'weibo', 'wechat_channels'], ['抖音', '微博', '视频号'], %s)", col, col)
}

func kindLabel(col string) string {
	return fmt.Sprintf("transform(%s, ['viral', 'low_reach'], ['爆款', '低触达'], %s)", col, col)
}

func stateLabel(col string) string {
	return fmt.Sprintf("transform(%s, ['live', 'private', 'deleted'], ['正常', '已设私密', '已删除'], %s)", col, col)
}

// reasonZh keeps the Chinese half of an alert's reason: aggregate/alerts
// writes each reason in English, then in Chinese; the Chinese half starts
// at its first Han character (the English half has none).
func reasonZh(col string) string {
	return fmt.Sprintf("if(match(%s, '\\p{Han}'), extract(%s, '\\p{Han}.*'), %s)", col, col, col)
}

// The filters the variables drive. $__conditionalAll drops the condition
// when "全部" (All) is chosen, so an unfiltered panel reads every row.
func platformFilter(col string) string {
	return fmt.Sprintf("$__conditionalAll(%s IN (${platform:singlequote}), $platform)", col)
}

func communityFilter(col string) string {
	return fmt.Sprintf("$__conditionalAll(%s IN (${community:singlequote}), $community)", col)
}

func kindFilter(col string) string {
	return fmt.Sprintf("$__conditionalAll(%s IN (${kind:singlequote}), $kind)", col)
}

// Beijing days of the dashboard's time range, for the *_daily views.
func dayRange(col string) string {
	return fmt.Sprintf("%s >= toDate($__fromTime, 'Asia/Shanghai') AND %s <= toDate($__toTime, 'Asia/Shanghai')", col, col)
}

// guide is the office's guide (in Chinese), named in every dashboard's description.
const guide = "使用说明见仓库中的 docs/使用说明.md。"

// ambassadorNames is the roster's latest name and community per ambassador.
const ambassadorNames = `(SELECT ambassador_id, argMax(name, updated_at) AS name, argMax(community, updated_at) AS community FROM ambassadors GROUP BY ambassador_id)`

func ref(typ, uid string) common.DataSourceRef { return common.DataSourceRef{Type: &typ, Uid: &uid} }

func chRef() common.DataSourceRef   { return ref(ClickHousePlugin, "${ds_ch}") }
func promRef() common.DataSourceRef { return ref("prometheus", "${ds_prom}") }

func chTable(sql string) ClickHouseQuery {
	ds := chRef()
	return ClickHouseQuery{RefId: "A", Datasource: &ds, EditorType: "sql", QueryType: "table", Format: FormatTable, RawSql: strings.TrimSpace(sql)}
}

func chSeries(sql string) ClickHouseQuery {
	q := chTable(sql)
	q.QueryType, q.Format = "timeseries", FormatTimeSeries
	return q
}

// board is one dashboard under construction: its builder, the next panel id
// and the grid cursor (24 columns; a panel that does not fit starts a row
// below the tallest panel of the current row, so panels never overlap).
type board struct {
	b          *dashboard.DashboardBuilder
	id         uint32
	x, y, rowH uint32
}

func newBoard(uid, title, description string) *board {
	b := dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description+guide).
		Tags([]string{Tag, "同心"}).
		Timezone(Timezone).
		WeekStart("monday").
		Time("now-7d", "now").
		Refresh("5m").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Readonly().
		Link(dashboard.NewDashboardLinkBuilder("同心看板").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{Tag}).
			AsDropdown(true).
			KeepTime(true).
			IncludeVars(false).
			TargetBlank(false).
			Icon("external link").
			Tooltip(""))
	return &board{b: b}
}

// place returns the next panel id and where a w×h panel goes.
func (d *board) place(w, h uint32) (uint32, dashboard.GridPos) {
	if d.x+w > 24 {
		d.x, d.y, d.rowH = 0, d.y+d.rowH, 0
	}
	pos := dashboard.GridPos{X: d.x, Y: d.y, W: w, H: h}
	d.x += w
	d.rowH = max(d.rowH, h)
	d.id++
	return d.id, pos
}

// newRow starts the next panels on a fresh row.
func (d *board) newRow() {
	if d.x > 0 {
		d.x, d.y, d.rowH = 0, d.y+d.rowH, 0
	}
}

// link is a data link on a table column.
type link struct{ column, title, url string }

// drillAmbassador opens the 代言人 drill-down for the row's ambassador_id.
func drillAmbassador(column string) link {
	return link{column, "打开代言人详情", "/d/" + UIDAmbassador + "?var-ambassador=${__data.fields.ambassador_id}&${ds_ch:queryparam}&${__url_time_range}"}
}

// drillPost opens the 作品 drill-down for the row's platform and post_id.
func drillPost(column string) link {
	return link{column, "打开作品详情", "/d/" + UIDPost + "?var-platform=${__data.fields.platform}&var-post=${__data.fields.post_id}&${ds_ch:queryparam}&${__url_time_range}"}
}

// openURL opens the post itself on its platform.
func openURL(column string) link {
	return link{column, "在平台上打开", "${__data.fields.url}"}
}

func linkValue(l link) []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{{Id: "links", Value: []map[string]any{{"title": l.title, "url": l.url, "targetBlank": strings.HasPrefix(l.url, "$")}}}}
}

// tableSpec is a table panel: its columns' units beyond the default, the
// columns kept for links only (hidden), and its links.
type tableSpec struct {
	title, description string
	w, h               uint32
	sql                string
	unit               string            // default unit of every number column
	units              map[string]string // column → unit
	hidden             []string
	links              []link
}

func (d *board) table(s tableSpec) {
	id, pos := d.place(s.w, s.h)
	p := table.NewPanelBuilder().Id(id).GridPos(pos).Title(s.title).Description(s.description).
		Datasource(chRef()).WithTarget(chTable(s.sql)).Unit(s.unit).Filterable(true).
		CellHeight(common.TableCellHeightSm).
		Footer(footer())
	for _, col := range slices.Sorted(maps.Keys(s.units)) {
		p.OverrideByName(col, []dashboard.DynamicConfigValue{{Id: "unit", Value: s.units[col]}})
	}
	for _, col := range s.hidden {
		p.OverrideByName(col, []dashboard.DynamicConfigValue{{Id: "custom.hidden", Value: true}})
	}
	for _, l := range s.links {
		p.OverrideByName(l.column, linkValue(l))
	}
	d.b.WithPanel(p)
}

// statSpec is a stat panel (a KPI tile): a ClickHouse query, or PromQL.
type statSpec struct {
	title, description string
	w, h               uint32
	sql                string
	series             bool // the query gives a time series (日增 with 环比)
	promql             []promTarget
	unit               string
	decimals           float64
	percentChange      bool
	mappings           []dashboard.ValueMapping
	// perRow shows one value per row (e.g. per platform) instead of
	// reducing each column to its last value.
	perRow bool
}

func (d *board) stat(s statSpec) {
	id, pos := d.place(s.w, s.h)
	p := stat.NewPanelBuilder().Id(id).GridPos(pos).Title(s.title).Description(s.description).
		Unit(s.unit).Decimals(s.decimals).
		GraphMode(common.BigValueGraphModeNone).
		ColorMode(common.BigValueColorModeValue).
		TextMode(common.BigValueTextModeValueAndName).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(s.perRow)).
		Orientation(common.VizOrientationAuto).
		ShowPercentChange(s.percentChange)
	if s.mappings != nil {
		p.Mappings(s.mappings)
	}
	switch {
	case s.promql != nil:
		p.Datasource(promRef())
		for i, t := range s.promql {
			p.WithTarget(t.instant().RefId(refID(i)))
		}
	case s.series:
		p.Datasource(chRef()).WithTarget(chSeries(s.sql))
	default:
		p.Datasource(chRef()).WithTarget(chTable(s.sql))
	}
	d.b.WithPanel(p)
}

// seriesSpec is a time-series panel.
type seriesSpec struct {
	title, description string
	w, h               uint32
	sql                []string // ClickHouse, time-series format; or
	promql             []promTarget
	unit               string
	decimals           float64
	bars               bool
	stacked            bool
	// seriesLabel names each series by this label of the long-format result
	// (the plugin turns a string column into a label per series).
	seriesLabel string
}

func (d *board) series(s seriesSpec) {
	id, pos := d.place(s.w, s.h)
	p := timeseries.NewPanelBuilder().Id(id).GridPos(pos).Title(s.title).Description(s.description).
		Unit(s.unit).Decimals(s.decimals).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
	if s.bars {
		p.DrawStyle(common.GraphDrawStyleBars).FillOpacity(80).BarAlignment(common.BarAlignmentCenter)
	} else {
		p.DrawStyle(common.GraphDrawStyleLine).FillOpacity(10).LineWidth(2).ShowPoints(common.VisibilityModeNever)
	}
	if s.stacked {
		p.Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))
	}
	if s.seriesLabel != "" {
		p.DisplayName("${__field.labels." + s.seriesLabel + "}")
	}
	if s.promql != nil {
		p.Datasource(promRef())
		for i, t := range s.promql {
			p.WithTarget(t.ranged().RefId(refID(i)))
		}
	} else {
		p.Datasource(chRef())
		for i, sql := range s.sql {
			q := chSeries(sql)
			q.RefId = refID(i)
			p.WithTarget(q)
		}
	}
	d.b.WithPanel(p)
}

// pie is a pie chart of one number per label (table format).
func (d *board) pie(title, description string, w, h uint32, sql, unit string) {
	id, pos := d.place(w, h)
	d.b.WithPanel(piechart.NewPanelBuilder().Id(id).GridPos(pos).Title(title).Description(description).
		Datasource(chRef()).WithTarget(chTable(sql)).Unit(unit).Decimals(1).
		PieType(piechart.PieChartTypeDonut).
		DisplayLabels([]piechart.PieChartLabels{piechart.PieChartLabelsName, piechart.PieChartLabelsPercent}).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Values(true).Calcs([]string{"lastNotNull"}).Fields("")))
}

// bars is a bar gauge of one number per row (table format), e.g. progress.
func (d *board) bars(title, description string, w, h uint32, sql, unit string, minV, maxV float64) {
	id, pos := d.place(w, h)
	d.b.WithPanel(bargauge.NewPanelBuilder().Id(id).GridPos(pos).Title(title).Description(description).
		Datasource(chRef()).WithTarget(chTable(sql)).Unit(unit).Decimals(1).Min(minV).Max(maxV).
		Orientation(common.VizOrientationHorizontal).
		DisplayMode(common.BarGaugeDisplayModeGradient).
		ShowUnfilled(true).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Values(true).Calcs([]string{"lastNotNull"}).Fields("")))
}

// footer is a table's footer, off; the SDK's default leaves its reducer
// null, which Grafana's schema does not allow.
func footer() *common.TableFooterOptionsBuilder {
	return common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"})
}

func refID(i int) string { return string(rune('A' + i)) }

// promTable is a table of the series an instant PromQL query returns (their
// labels), e.g. who must re-authorize.
func (d *board) promTable(title, description string, w, h uint32, t promTarget) {
	id, pos := d.place(w, h)
	d.b.WithPanel(table.NewPanelBuilder().Id(id).GridPos(pos).Title(title).Description(description).
		Datasource(promRef()).Unit("none").Footer(footer()).
		WithTarget(t.instant().Format(prometheus.PromQueryFormatTable).RefId("A")).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true, "Value": true},
			"renameByName":  map[string]any{"platform": "平台", "ambassador": "代言人", "reason": "原因"},
		}}))
}
