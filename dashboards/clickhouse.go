package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
)

// ClickHousePlugin is the plugin id of Grafana's ClickHouse datasource
// (grafana-clickhouse-datasource); the foundation SDK has no query type for
// it, so this file gives one, in the plugin's own query model.
const ClickHousePlugin = "grafana-clickhouse-datasource"

// The plugin's result formats (sqlutil.FormatQueryOption on its backend).
const (
	FormatTimeSeries = 0
	FormatTable      = 1
)

// ClickHouseQuery is one target of a ClickHouse panel as the plugin stores
// it: SQL mode, the raw SQL (with the plugin's macros), and the result format.
type ClickHouseQuery struct {
	RefId      string                `json:"refId"`
	Datasource *common.DataSourceRef `json:"datasource,omitempty"`
	EditorType string                `json:"editorType"`
	// QueryType is the plugin's display kind: "table" or "timeseries".
	QueryType string `json:"queryType"`
	Format    int    `json:"format"`
	RawSql    string `json:"rawSql"`
}

func (ClickHouseQuery) ImplementsDataqueryVariant() {}
func (ClickHouseQuery) DataqueryType() string       { return ClickHousePlugin }

func (q ClickHouseQuery) Validate() error {
	if q.RawSql == "" {
		return errors.New("clickhouse query: empty rawSql")
	}
	if q.Format != FormatTable && q.Format != FormatTimeSeries {
		return fmt.Errorf("clickhouse query %s: format %d is neither table nor time series", q.RefId, q.Format)
	}
	return nil
}

func (q ClickHouseQuery) Equals(other variants.Dataquery) bool {
	o, ok := other.(ClickHouseQuery)
	if !ok {
		if p, isPtr := other.(*ClickHouseQuery); isPtr && p != nil {
			o, ok = *p, true
		}
	}
	if !ok {
		return false
	}
	same := q.RefId == o.RefId && q.EditorType == o.EditorType && q.QueryType == o.QueryType &&
		q.Format == o.Format && q.RawSql == o.RawSql
	if (q.Datasource == nil) != (o.Datasource == nil) {
		return false
	}
	if q.Datasource != nil {
		same = same && q.Datasource.Equals(*o.Datasource)
	}
	return same
}

// Build makes ClickHouseQuery its own SDK builder.
func (q ClickHouseQuery) Build() (variants.Dataquery, error) { return q, q.Validate() }

// ClickHouseVariant lets the SDK's runtime decode ClickHouse targets; the
// strict decoder refuses fields the plugin's model does not have.
func ClickHouseVariant() variants.DataqueryConfig {
	return variants.DataqueryConfig{
		Identifier: ClickHousePlugin,
		DataqueryUnmarshaler: func(raw []byte) (variants.Dataquery, error) {
			var q ClickHouseQuery
			err := json.Unmarshal(raw, &q)
			return q, err
		},
		StrictDataqueryUnmarshaler: func(raw []byte) (variants.Dataquery, error) {
			var q ClickHouseQuery
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&q); err != nil {
				return nil, fmt.Errorf("clickhouse query: %w", err)
			}
			return q, q.Validate()
		},
	}
}
