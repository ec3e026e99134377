// Package errcode holds the platforms' error-code tables: for each code the
// platform documents, the Kind tongxin makes of it, the HTTP status the
// platform answers it with and the platform's own text. The adapters
// (ingest/douyin, ingest/weibo) classify their answers by these tables and
// the simulator (tools/simulator) answers from them, so the two cannot
// drift apart. The tables live here, not in the adapter packages, because
// the adapters' tests import the simulator.
package errcode

import (
	"strconv"

	"github.com/tongxin/tongxin/ingest"
)

// Code is one row of a platform's error table.
type Code struct {
	Code   int
	Kind   ingest.Kind
	Status int    // the HTTP status the platform answers the code with
	Text   string // the platform's description (Douyin) or error text (Weibo)
	// OAuth marks codes of the OAuth endpoints (authorization, tokens)
	// rather than of the data APIs.
	OAuth bool
}

// Table is one platform's codes, indexed.
type Table struct {
	Rows   []Code
	byCode map[int]Code
}

func newTable(rows []Code) *Table {
	t := &Table{Rows: rows, byCode: make(map[int]Code, len(rows))}
	for _, r := range rows {
		if _, dup := t.byCode[r.Code]; dup {
			panic("errcode: code listed twice: " + strconv.Itoa(r.Code))
		}
		t.byCode[r.Code] = r
	}
	return t
}

// Lookup returns the row of code.
func (t *Table) Lookup(code int) (Code, bool) {
	c, ok := t.byCode[code]
	return c, ok
}

// Kind is the Kind of code, or KindUnknown for a code not in the table.
func (t *Table) Kind(code int) ingest.Kind {
	if c, ok := t.byCode[code]; ok {
		return c.Kind
	}
	return ingest.KindUnknown
}

// Transient returns the data-API codes that a retry (after a wait) gets
// past: what the simulator's "envelope" fault draws from.
func (t *Table) Transient() []Code {
	var out []Code
	for _, r := range t.Rows {
		if !r.OAuth && (r.Kind == ingest.KindRateLimited || r.Kind == ingest.KindUnavailable) {
			out = append(out, r)
		}
	}
	return out
}
