// Package report writes the office's reports — 日报 (a Beijing day) and 周报
// (seven Beijing days) — from ClickHouse alone: a self-contained HTML page
// whose charts are SVG drawn here (no script, no CDN), a PDF and a PNG
// summary card for the chat robots, both rendered by headless Chromium
// with Debian's CJK fonts.
//
// Every number printed comes from one SQL query embedded from queries/*.sql
// and is marked in the HTML with the query, row and column it came from
// (data-q, data-k, data-f), so a test or a sceptical reader can re-run it.
package report

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Config is what a report needs besides the data.
type Config struct {
	Campaign string // the campaign's name in titles: 寻美西山
	Index    IndexWeights
	// Chromium is the headless browser for the PDF and PNG; empty looks up
	// chromium, then chromium-browser, on PATH.
	Chromium string
}

// DefaultConfig is the seed campaign's. Its targets (the Douyin topic
// 寻美西山 against the source article's 1230万 plays) come from the
// campaign_targets table.
func DefaultConfig() Config {
	return Config{Campaign: "寻美西山", Index: DefaultIndexWeights()}
}

// Report is one report's data: every query's rows for its period.
type Report struct {
	Config    Config
	Period    Period
	Generated time.Time // wall clock, when the queries ran
	Rows      map[string][]Row
}

// Build runs every report query for the period.
func Build(ctx context.Context, conn driver.Conn, cfg Config, p Period, now time.Time) (*Report, error) {
	qs, err := Queries()
	if err != nil {
		return nil, err
	}
	r := &Report{Config: cfg, Period: p, Generated: now, Rows: map[string][]Row{}}
	params := p.Params(cfg)
	for _, name := range sortedNames(qs) {
		rows, err := Run(ctx, conn, qs[name], params)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", p.Kind, p.Last.Format("2006-01-02"), err)
		}
		r.Rows[name] = rows
	}
	return r, nil
}

// One is the first row of a query that returns one row (an empty row if none).
func (r *Report) One(query string) Row {
	if rows := r.Rows[query]; len(rows) > 0 {
		return rows[0]
	}
	return Row{Query: query, Vals: map[string]any{}}
}

// Find is the row of query with key (an empty row if none).
func (r *Report) Find(query, key string) Row {
	for _, row := range r.Rows[query] {
		if row.Key == key {
			return row
		}
	}
	return Row{Query: query, Key: key, Vals: map[string]any{}}
}
