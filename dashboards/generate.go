// Package dashboards is the office's Grafana dashboards as code (built with
// grafana-foundation-sdk) and their provisioning: `tongxin dashboards --out
// DIR` writes what Files returns. The six dashboards read the ClickHouse
// views of aggregate/warehouse through the grafana-clickhouse-datasource
// plugin, and the services' Prometheus metrics; the datasources are
// dashboard variables ($ds_ch, $ds_prom), provisioned with the uids
// tongxin-clickhouse and tongxin-prometheus.
package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// UIDs lists the dashboards in the order the office reads them.
var UIDs = []string{UIDOverview, UIDLeaderboard, UIDAmbassador, UIDPost, UIDAlerts, UIDHealth}

var boards = map[string]func() *board{
	UIDOverview:    overview,
	UIDLeaderboard: leaderboard,
	UIDAmbassador:  ambassador,
	UIDPost:        post,
	UIDAlerts:      alerts,
	UIDHealth:      health,
}

// Build returns the six dashboards.
func Build() ([]dashboard.Dashboard, error) {
	var out []dashboard.Dashboard
	for _, uid := range UIDs {
		d, err := boards[uid]().b.Build()
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", uid, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// Where Files puts things, relative to the output directory. The provider
// file points Grafana at DashboardsPath, where the deployment mounts
// DIR/dashboards.
const (
	DashboardsDir      = "dashboards"
	DatasourcesFile    = "provisioning/datasources/tongxin.yaml"
	ProviderFile       = "provisioning/dashboards/tongxin.yaml"
	DashboardsPath     = "/var/lib/grafana/dashboards"
	generatedByComment = "# Written by `tongxin dashboards --out DIR` (package dashboards); do not edit by hand.\n"
)

// Files returns every file `tongxin dashboards` writes, by path relative to
// the output directory: dashboards/<uid>.json and the provisioning files.
func Files() (map[string][]byte, error) {
	ds, err := Build()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		DatasourcesFile: []byte(generatedByComment + datasourcesYAML),
		ProviderFile:    []byte(generatedByComment + providerYAML),
	}
	for _, d := range ds {
		b, err := encode(d)
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", *d.Uid, err)
		}
		files[filepath.Join(DashboardsDir, *d.Uid+".json")] = b
	}
	return files, nil
}

// encode writes a dashboard as indented JSON with sorted keys. The SDK's
// own marshalling escapes < and > as \u003c and \u003e, which makes the SQL
// unreadable to a person importing the file; a round trip through generic
// values with HTML escaping off keeps them as they are.
func encode(d dashboard.Dashboard) ([]byte, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write writes Files into dir (created if needed) and returns the paths
// written, sorted.
func Write(dir string) ([]string, error) {
	files, err := Files()
	if err != nil {
		return nil, err
	}
	var paths []string
	for rel, b := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths, nil
}

// The ClickHouse datasource speaks the native protocol (CLICKHOUSE_PORT is
// the native port, 9000 or 9440 with TLS); its password is secure JSON data.
// Grafana expands the $VARIABLES from its environment when it loads the file.
const datasourcesYAML = `apiVersion: 1
datasources:
  - name: 同心 ClickHouse
    uid: ` + ClickHouseUID + `
    type: ` + ClickHousePlugin + `
    editable: false
    jsonData:
      host: ${CLICKHOUSE_HOST}
      port: ${CLICKHOUSE_PORT}
      protocol: native
      username: ${CLICKHOUSE_USER}
      defaultDatabase: tongxin
    secureJsonData:
      password: ${CLICKHOUSE_PASSWORD}
  - name: 同心 Prometheus
    uid: ` + PrometheusUID + `
    type: prometheus
    access: proxy
    editable: false
    url: ${PROMETHEUS_URL}
`

const providerYAML = `apiVersion: 1
providers:
  - name: tongxin
    orgId: 1
    folder: 同心
    type: file
    disableDeletion: true
    allowUiUpdates: false
    updateIntervalSeconds: 60
    options:
      path: ` + DashboardsPath + `
      foldersFromFilesStructure: false
`
