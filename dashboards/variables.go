package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

func option(text, value string) dashboard.VariableOption {
	return dashboard.VariableOption{
		Text:  dashboard.StringOrArrayOfString{String: &text},
		Value: dashboard.StringOrArrayOfString{String: &value},
	}
}

func all() dashboard.VariableOption {
	text, value := []string{"All"}, []string{"$__all"}
	return dashboard.VariableOption{
		Text:  dashboard.StringOrArrayOfString{ArrayOfString: text},
		Value: dashboard.StringOrArrayOfString{ArrayOfString: value},
	}
}

// dsClickHouse and dsPrometheus are the datasource variables every panel
// names, so one set of dashboards serves any Grafana's datasources.
func dsClickHouse() cog.Builder[dashboard.VariableModel] {
	return dashboard.NewDatasourceVariableBuilder("ds_ch").
		Label("ClickHouse 数据源").
		Type(ClickHousePlugin).
		Current(option(ClickHouseUID, ClickHouseUID))
}

func dsPrometheus() cog.Builder[dashboard.VariableModel] {
	return dashboard.NewDatasourceVariableBuilder("ds_prom").
		Label("Prometheus 数据源").
		Type("prometheus").
		Current(option(PrometheusUID, PrometheusUID))
}

// platformVar lists the three platforms by their Chinese names.
func platformVar(multi bool) cog.Builder[dashboard.VariableModel] {
	v := dashboard.NewCustomVariableBuilder("platform").
		Label("平台").
		Values(dashboard.StringOrMap{String: ptr("抖音 : douyin,微博 : weibo,视频号 : wechat_channels")}).
		Multi(multi).
		IncludeAll(multi)
	if multi {
		return v.Current(all())
	}
	return v.Current(option("抖音", "douyin"))
}

// chVar is a variable whose options come from ClickHouse: the first column
// is the value, the second (if any) what the office sees.
func chVar(name, label, sql string, multi bool) *dashboard.QueryVariableBuilder {
	v := dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(chRef()).
		Query(dashboard.StringOrMap{Map: map[string]any{"refId": "var_" + name, "queryType": "sql", "rawSql": sql}}).
		Definition(sql).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortDisabled).
		Multi(multi).
		IncludeAll(multi)
	if multi {
		v.Current(all())
	}
	return v
}

func communityVar() cog.Builder[dashboard.VariableModel] {
	return chVar("community", "社区",
		"SELECT DISTINCT community FROM "+ambassadorNames+" ORDER BY community", true)
}

func ambassadorVar() cog.Builder[dashboard.VariableModel] {
	return chVar("ambassador", "代言人",
		"SELECT ambassador_id, name FROM "+ambassadorNames+" WHERE "+communityFilter("community")+" ORDER BY name", false)
}

func postVar() cog.Builder[dashboard.VariableModel] {
	return chVar("post", "作品",
		"SELECT post_id, if(title = '', post_id, title) FROM posts WHERE platform = ${platform:singlequote} ORDER BY published_at DESC LIMIT 2000", false)
}

func kindVar() cog.Builder[dashboard.VariableModel] {
	return dashboard.NewCustomVariableBuilder("kind").
		Label("预警类型").
		Values(dashboard.StringOrMap{String: ptr("爆款 : viral,低触达 : low_reach")}).
		Multi(true).
		IncludeAll(true).
		Current(all())
}

// quietDaysVar is N in "who has not posted for N days".
func quietDaysVar() cog.Builder[dashboard.VariableModel] {
	return dashboard.NewCustomVariableBuilder("quiet_days").
		Label("未发帖天数 ≥").
		Values(dashboard.StringOrMap{String: ptr("3,7,14,30")}).
		Current(option("3", "3"))
}

// promTarget is one PromQL query and its legend.
type promTarget struct{ expr, legend string }

func (t promTarget) ranged() *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Datasource(promRef()).Expr(t.expr).LegendFormat(t.legend).Range()
}

func (t promTarget) instant() *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Datasource(promRef()).Expr(t.expr).LegendFormat(t.legend).Instant()
}

func ptr[T any](v T) *T { return &v }
