package wechat

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/snapshot"
)

// Export is one console export file, read.
type Export struct {
	Path       string
	Format     string // "csv" or "xlsx"
	Account    roster.Account
	ExportedAt time.Time // observed_at of every snapshot
	// TimeFrom says where ExportedAt came from: "file name", "modification
	// time" or "given".
	TimeFrom  string
	Posts     []ingest.Post
	Snapshots []snapshot.Snapshot
	// Errors are the rows that could not be read, each a *RowError; the
	// rest of the file went through.
	Errors []error
	// CutShort says the file ends inside a row: it is probably still being
	// written (the Watcher waits for more before it gives up on it).
	CutShort bool
	// Missing, filled by the Watcher, lists the posts an earlier export of
	// the same account had, published within this export's span, that this
	// one lacks: deleted or hidden since.
	Missing []string
}

// ErrExportTime marks an export whose time (from its file name or
// modification time) is impossible: the content may be fine, so the
// Watcher does not remember it as failed by content.
var ErrExportTime = errors.New("export time")

// RowError is one row of an export that could not be read.
type RowError struct {
	File   string
	Line   int    // the CSV line, or the spreadsheet row number
	Cell   string // XLSX: the cell reference (F7); empty for CSV
	Column string // "column F (播放量)"; empty when the row as a whole is wrong
	Value  string
	Err    error
}

func (e *RowError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Cell != "" {
		fmt.Fprintf(&b, ": row %d, cell %s", e.Line, e.Cell)
	} else {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Column != "" {
		b.WriteString(", " + e.Column)
	}
	b.WriteString(": ")
	if e.Value != "" {
		b.WriteString(quote(e.Value) + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *RowError) Unwrap() error { return e.Err }

// table is an export's cells before interpretation. Rows are kept sparse:
// only cells holding something, and after the header only the columns the
// importer reads, so a row's cost does not depend on how far right its
// last cell is.
type table struct {
	format    string     // "csv" or "xlsx"
	rows      []tableRow // the rows up to the header, the header, then the data rows
	header    int        // index of the header row in rows; -1 when none was found
	hdr       header
	scanned   int     // rows looked at for the header
	records   int     // rows read, against MaxExportRows
	cells     int     // non-empty cells read, against MaxExportCells
	errs      []error // rows the CSV reader could not split
	truncated bool    // CSV: the data does not end with a line break
	cutShort  bool    // the last row is incomplete
}

func newTable(format string) *table { return &table{format: format, header: -1} }

type tableRow struct {
	line   int
	fields int         // CSV: the number of fields in the record
	width  int         // the last column holding more than spaces, plus one; 0 for a blank row
	cells  []tableCell // the non-empty cells in column order
}

type tableCell struct {
	col int
	v   string
}

// get returns the row's cell in column col ("" when it has none).
func (r *tableRow) get(col int) string {
	for _, c := range r.cells {
		if c.col == col {
			return c.v
		}
		if c.col > col {
			break
		}
	}
	return ""
}

// put sets the cell in column col to v (not empty). Cells come in column
// order in a well-formed sheet; one that does not is put in its place, and
// a second one for the same column replaces the first, as Excel would.
func (r *tableRow) put(col int, v string) {
	i := len(r.cells)
	for i > 0 && r.cells[i-1].col >= col {
		i--
	}
	if i == len(r.cells) { // the usual case: on the right of the others
		r.cells = append(r.cells, tableCell{col: col, v: v})
		if !blank(v) {
			r.width = col + 1
		}
		return
	}
	if r.cells[i].col == col {
		r.cells[i].v = v
	} else {
		r.cells = append(r.cells, tableCell{})
		copy(r.cells[i+1:], r.cells[i:])
		r.cells[i] = tableCell{col: col, v: v}
	}
	r.width = 0
	for _, c := range r.cells {
		if !blank(c.v) {
			r.width = c.col + 1
		}
	}
}

// dense returns the row's cells up to its width, for matching a header.
func (r *tableRow) dense() []string {
	out := make([]string, r.width)
	for _, c := range r.cells {
		if c.col < r.width {
			out[c.col] = c.v
		}
	}
	return out
}

// blank says a cell holds nothing but spaces (or a byte order mark).
func blank(v string) bool { return strings.TrimSpace(strings.Trim(v, "\ufeff")) == "" }

// where names a cell for a LimitError: "line 7, column 20" or "row 7, cell T7".
func (t *table) where(line, col int) string {
	if t.format == "xlsx" {
		return fmt.Sprintf("row %d, cell %s%d", line, columnLetter(col), line)
	}
	return fmt.Sprintf("line %d, column %d", line, col+1)
}

// count counts one row of the file (kept or not) against MaxExportRows.
func (t *table) count(line int) error {
	if t.records++; t.records > MaxExportRows {
		return limitErr(fmt.Sprintf("%s %d", lineWord(t), line), "rows", MaxExportRows, 0)
	}
	return nil
}

// add keeps one row. The header is looked for in the first
// headerSearchRows rows, which are kept whole; after it only the cells of
// the columns the importer reads are kept, and blank rows are dropped.
func (t *table) add(r tableRow) error {
	if r.width == 0 && t.header >= 0 {
		return nil
	}
	if err := t.count(r.line); err != nil {
		return err
	}
	if t.format == "csv" { // readSheet counts an XLSX's cells as it reads them
		if t.cells += len(r.cells); t.cells > MaxExportCells {
			return limitErr(fmt.Sprintf("line %d", r.line), "non-empty cells", MaxExportCells, 0)
		}
	}
	if t.header < 0 {
		if t.scanned >= headerSearchRows {
			return nil // no header: interpret says so; nothing more is needed
		}
		t.scanned++
		if h, ok := isHeader(r.dense()); ok {
			t.header, t.hdr = len(t.rows), h
		}
		t.rows = append(t.rows, r)
		return nil
	}
	kept := r.cells[:0] // the row's own cells: filtered in place
	for _, c := range r.cells {
		if t.hdr.reads(c.col) {
			kept = append(kept, c)
		}
	}
	clear(r.cells[len(kept):])
	r.cells = kept
	t.rows = append(t.rows, r)
	return nil
}

// cellRef is how an error names a cell: "F7" in a spreadsheet, nothing in CSV.
func (t *table) cellRef(col, line int) string {
	if t.format == "xlsx" {
		return fmt.Sprintf("%s%d", columnLetter(col), line)
	}
	return ""
}

// Parse reads one export's bytes: CSV (UTF-8 with or without BOM, or UTF-16
// with BOM; comma, tab or semicolon separated) or XLSX. name is used in
// messages. Rows that cannot be read are in Export.Errors; an error is
// returned only when nothing in the file can be read (not a table, no
// header, a required column missing) or the file is over one of the export
// bounds (a *LimitError; see MaxExportSize and the others).
//
// Export files are judged on the wall clock (they are named and stamped in
// real time): an export time before WeChat Channels existed or later than
// now plus snapshot.FutureMargin is an error wrapping ErrExportTime, and a
// row that breaks the snapshot rules is a RowError.
func Parse(name string, data []byte, acct roster.Account, exportedAt time.Time) (*Export, error) {
	if len(data) > MaxExportSize {
		return nil, &LimitError{File: name, What: "file size in bytes", Limit: MaxExportSize, Got: int64(len(data))}
	}
	now := time.Now()
	if floor, ceiling := snapshot.ObservedWindow(snapshot.WeChatChannels, now); exportedAt.Before(floor) || exportedAt.After(ceiling) {
		return nil, fmt.Errorf("wechat export %s: %w %s is not within %s .. %s (now plus %s): a wrong date in the file name, or a wrong clock? Rename the file with the real export time",
			name, ErrExportTime, exportedAt.In(chinaTime).Format("2006-01-02 15:04:05 CST"), floor.In(chinaTime).Format("2006-01-02"),
			ceiling.In(chinaTime).Format("2006-01-02 15:04:05 CST"), snapshot.FutureMargin)
	}
	var (
		t   *table
		err error
	)
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06")) {
		t, err = readXLSX(data)
	} else {
		t, err = readCSV(data)
	}
	if err != nil {
		if nameLimitError(err, name) {
			return nil, err
		}
		return nil, fmt.Errorf("wechat export %s: %w", name, err)
	}
	return interpret(name, t, acct, exportedAt.UTC(), now)
}

// headerSearchRows is how many rows above the header a file may carry
// (notes such as "由于数据统计口径调整…").
const headerSearchRows = 30

// isHeader says whether a row is the header row: it names at least three
// of the export's columns, or two of them including 视频ID or 发布时间.
func isHeader(cells []string) (header, bool) {
	h, known := matchHeader(cells)
	return h, known >= 3 || (known >= 2 && (h.index[fID] >= 0 || h.index[fPublished] >= 0))
}

func interpret(name string, t *table, acct roster.Account, at, now time.Time) (*Export, error) {
	hi, h := t.header, t.hdr
	if hi < 0 {
		if len(t.rows) == 0 {
			return nil, fmt.Errorf("wechat export %s: the file is empty", name)
		}
		return nil, fmt.Errorf("wechat export %s: no header row: none of the first %d rows names the export's columns (%s, %s, %s …)",
			name, headerSearchRows, fieldNames[fID], fieldNames[fPublished], fieldNames[fPlays])
	}
	if miss := h.missingRequired(); len(miss) > 0 {
		return nil, fmt.Errorf("wechat export %s: line %d: required column %s missing (the header has %s)",
			name, t.rows[hi].line, strings.Join(miss, " and "), strings.Join(nonEmpty(h.names), ", "))
	}
	ex := &Export{Format: t.format, Account: acct, ExportedAt: at}
	for _, e := range t.errs {
		var re *RowError
		if errors.As(e, &re) {
			re.File = name
		}
		ex.Errors = append(ex.Errors, e)
	}
	seen := map[string]int{}
	data := t.rows[hi+1:]
	for i, r := range data {
		if r.width == 0 {
			continue
		}
		last := i == len(data)-1
		post, snap, errs := readRow(name, t, &h, r, last, acct, at, now)
		if len(errs) == 0 {
			if first, dup := seen[post.PostID]; dup {
				errs = append(errs, &RowError{File: name, Line: r.line, Column: h.columnName(h.index[fID]), Cell: t.cellRef(h.index[fID], r.line), Value: post.PostID,
					Err: fmt.Errorf("the same 视频ID is already on %s %d; this row is skipped", lineWord(t), first)})
			} else {
				seen[post.PostID] = r.line
			}
		}
		if len(errs) > 0 {
			ex.Errors = append(ex.Errors, errs...)
			continue
		}
		ex.Posts = append(ex.Posts, post)
		ex.Snapshots = append(ex.Snapshots, snap)
	}
	ex.CutShort = t.cutShort
	return ex, nil
}

func lineWord(t *table) string {
	if t.format == "xlsx" {
		return "row"
	}
	return "line"
}

// readRow reads one data row into a post and its snapshot, or errors.
func readRow(name string, t *table, h *header, r tableRow, last bool, acct roster.Account, at, now time.Time) (ingest.Post, snapshot.Snapshot, []error) {
	rowErr := func(err error) []error { return []error{&RowError{File: name, Line: r.line, Err: err}} }
	switch {
	case t.format == "csv" && r.fields < h.width && last && t.truncated:
		t.cutShort = true
		return ingest.Post{}, snapshot.Snapshot{}, rowErr(fmt.Errorf("the row has %d of the header's %d columns and the file ends inside it: the file was cut short (still being written?)", r.fields, h.width))
	case t.format == "csv" && r.fields < h.width:
		return ingest.Post{}, snapshot.Snapshot{}, rowErr(fmt.Errorf("the row has %d of the header's %d columns", r.fields, h.width))
	case r.width > h.width:
		return ingest.Post{}, snapshot.Snapshot{}, rowErr(fmt.Errorf("the row has %d columns but the header only %d (a description with an unquoted comma?)", r.width, h.width))
	}
	cell := func(f field) (string, int) {
		i := h.index[f]
		if i < 0 {
			return "", i
		}
		return r.get(i), i
	}
	var errs []error
	bad := func(f field, col int, v string, err error) {
		errs = append(errs, &RowError{File: name, Line: r.line, Column: h.columnName(col), Cell: t.cellRef(col, r.line), Value: v, Err: err})
	}
	id, idCol := cell(fID)
	id = normalizeCell(id)
	if id == "" {
		bad(fID, idCol, "", errors.New("no 视频ID"))
	}
	pubRaw, pubCol := cell(fPublished)
	published, err := parseTime(pubRaw)
	switch {
	case err != nil:
		bad(fPublished, pubCol, pubRaw, fmt.Errorf("cannot read as a date and time: %v", err))
	case published.After(at):
		bad(fPublished, pubCol, pubRaw, fmt.Errorf("published after the export was made (%s)", at.In(chinaTime).Format("2006/01/02 15:04:05 CST")))
	}
	var m snapshot.Metrics
	for _, c := range []struct {
		f   field
		dst **int64
	}{{fPlays, &m.Plays}, {fLikes, &m.Likes}, {fComments, &m.Comments}, {fShares, &m.Shares}, {fForwards, &m.Forwards}, {fRecommends, &m.Recommends}} {
		v, col := cell(c.f)
		if col < 0 {
			continue
		}
		n, err := parseCount(v)
		if err != nil {
			bad(c.f, col, v, fmt.Errorf("cannot read as a count: %v", err))
			continue
		}
		*c.dst = n
	}
	if v, col := cell(fCompletion); col >= 0 {
		in := v
		if h.percent[fCompletion] && !strings.Contains(in, "%") && !absent(normalizeCell(in)) {
			in += "%"
		}
		rate, err := parseRate(in)
		if err != nil {
			bad(fCompletion, col, v, fmt.Errorf("cannot read as a completion rate: %v", err))
		}
		m.CompletionRate = rate
	}
	if v, col := cell(fAvgWatch); col >= 0 {
		secs, err := parseSeconds(v)
		if err != nil {
			bad(fAvgWatch, col, v, fmt.Errorf("cannot read as seconds: %v", err))
		}
		m.AvgWatchSeconds = secs
	}
	if len(errs) > 0 {
		return ingest.Post{}, snapshot.Snapshot{}, errs
	}
	title, _ := cell(fDescription)
	post := ingest.Post{
		Platform: snapshot.WeChatChannels, PostID: id, AccountID: acct.AccountID, AmbassadorID: acct.AmbassadorID,
		PublishedAt: published, Title: strings.TrimSpace(title),
	}
	snap := snapshot.Snapshot{
		Schema: snapshot.SchemaVersion, Platform: snapshot.WeChatChannels,
		AmbassadorID: acct.AmbassadorID, AccountID: acct.AccountID, PostID: id,
		PublishedAt: published, ObservedAt: at, Metrics: m, Source: snapshot.SourceExport,
	}
	if err := snap.ValidateAt(now); err != nil {
		return ingest.Post{}, snapshot.Snapshot{}, []error{&RowError{File: name, Line: r.line, Err: fmt.Errorf("post %s: %w", snapshot.Clip(id), err)}}
	}
	if post.Title != "" {
		// The 视频描述 column is the title. Facts that break their bounds
		// are named and left out by the aggregator, the counters kept.
		snap.Facts = snapshot.NewFacts(snapshot.WeChatChannels, post.Title, "")
	}
	return post, snap, nil
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// readCSV splits a CSV export into rows.
func readCSV(data []byte) (*table, error) {
	text, err := decodeText(data)
	if err != nil {
		return nil, err
	}
	t := newTable("csv")
	t.truncated = len(text) > 0 && !strings.HasSuffix(text, "\n") && !strings.HasSuffix(text, "\r")
	err = splitCSV(text, sniffDelimiter(text), func(r tableRow, bad error) error {
		if bad == nil {
			return t.add(r)
		}
		if err := t.count(r.line); err != nil {
			return err
		}
		if errors.Is(bad, csv.ErrQuote) && t.truncated {
			t.cutShort = true
			bad = fmt.Errorf("%w: the file ends inside a quoted field: it was cut short (still being written?)", bad)
		}
		t.errs = append(t.errs, &RowError{Line: r.line, Err: fmt.Errorf("cannot split the row into columns: %w", bad)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// errStopSplit ends splitCSV early without an error.
var errStopSplit = errors.New("stop")

// splitCSV reads CSV records as encoding/csv does (RFC 4180: a quoted field
// may hold the separator, doubled quotes and line breaks; a record ends at
// \n or \r\n; empty lines are skipped) but keeps only the non-empty fields
// of each, so that a record of a million empty fields costs nothing, and
// refuses, with a *LimitError, a record of more than MaxExportColumns
// fields or a field longer than MaxCellBytes. A record that cannot be split
// is handed to fn as bad (csv.ErrQuote or csv.ErrBareQuote) with its first
// line, and the split goes on after the line where it went wrong. fn's
// error ends the split (errStopSplit: without an error).
func splitCSV(text string, delim rune, fn func(r tableRow, bad error) error) error {
	d := byte(delim)
	stops := string(d) + "\n\r\""
	pos, line := 0, 1
	cellsHint := 0
	n := len(text)
	// endsRecord says whether a record ends at i: a line break or the end.
	endsRecord := func(i int) bool {
		return i >= n || text[i] == '\n' || (text[i] == '\r' && (i+1 >= n || text[i+1] == '\n'))
	}
	// skipBreak steps over the line break at pos, if any.
	skipBreak := func() {
		if pos < n && text[pos] == '\r' {
			pos++
		}
		if pos < n && text[pos] == '\n' {
			pos++
			line++
		}
	}
	for pos < n {
		if endsRecord(pos) {
			skipBreak() // an empty line
			continue
		}
		r := tableRow{line: line, cells: make([]tableCell, 0, cellsHint)}
		var bad error
		for col := 0; ; col++ {
			if col >= MaxExportColumns {
				return limitErr(fmt.Sprintf("line %d, column %d", line, col+1), "columns", MaxExportColumns, 0)
			}
			var v string
			tooLong := func() error {
				return limitErr(fmt.Sprintf("line %d, column %d", r.line, col+1), "length of one cell in bytes", MaxCellBytes, 0)
			}
			if pos < n && text[pos] == '"' {
				// A quoted field: its pieces between quotes, joined only
				// when there is more than one ("" inside, or \r\n to make \n).
				pos++
				var b strings.Builder
				joined, total := false, 0
				add := func(piece string) {
					if strings.Contains(piece, "\r\n") {
						piece = strings.ReplaceAll(piece, "\r\n", "\n")
					}
					switch {
					case !joined && v == "":
						v = piece
					case !joined:
						b.WriteString(v)
						joined = true
						fallthrough
					default:
						b.WriteString(piece)
					}
				}
				for {
					q := strings.IndexByte(text[pos:], '"')
					if q < 0 { // never closed: a bad record, whatever its length
						line += strings.Count(text[pos:], "\n")
						pos, bad = n, csv.ErrQuote
						break
					}
					piece := text[pos : pos+q]
					line += strings.Count(piece, "\n")
					if total += len(piece); total > MaxCellBytes {
						return tooLong()
					}
					add(piece)
					pos += q + 1
					if pos < n && text[pos] == '"' {
						add(`"`)
						pos++
						continue
					}
					break
				}
				if joined {
					v = b.String()
				}
				if bad == nil && !endsRecord(pos) && text[pos] != d {
					bad = csv.ErrQuote
				}
			} else {
				start := pos
				for {
					i := strings.IndexAny(text[pos:], stops)
					if i < 0 {
						pos = n
						break
					}
					pos += i
					if text[pos] == '"' {
						if bad == nil {
							bad = csv.ErrBareQuote
						}
						pos++
						continue
					}
					if text[pos] == '\r' && !endsRecord(pos) {
						pos++ // a \r inside a line is data
						continue
					}
					break
				}
				v = text[start:pos]
				if len(v) > MaxCellBytes {
					return tooLong()
				}
			}
			if bad != nil {
				// go on after the line where the record went wrong
				for pos < n && text[pos] != '\n' {
					pos++
				}
				skipBreak()
				break
			}
			r.fields = col + 1
			if v != "" {
				r.cells = append(r.cells, tableCell{col: col, v: v})
				if !blank(v) {
					r.width = col + 1
				}
			}
			if endsRecord(pos) {
				skipBreak()
				break
			}
			pos++ // the separator
		}
		if bad != nil {
			r = tableRow{line: r.line}
		}
		cellsHint = len(r.cells)
		if err := fn(r, bad); err != nil {
			if err == errStopSplit {
				return nil
			}
			return err
		}
	}
	return nil
}

// decodeText turns the file's bytes into text: UTF-8 (BOM or not) or UTF-16
// with a BOM (Excel's "Unicode text"). Anything else is an error that says
// what to do.
func decodeText(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		le := data[0] == 0xFF
		data = data[2:]
		u := make([]uint16, len(data)/2)
		for i := range u {
			if le {
				u[i] = uint16(data[2*i]) | uint16(data[2*i+1])<<8
			} else {
				u[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
			}
		}
		return string(utf16.Decode(u)), nil
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return "", errors.New("not a CSV or XLSX file (binary data)")
	}
	if !utf8.Valid(data) {
		return "", errors.New("not UTF-8 text: the table was probably re-saved by Excel as GBK/ANSI; download it again from 视频号助手, or save it as \"CSV UTF-8\" or as XLSX")
	}
	return string(data), nil
}

// sniffDelimiter picks the separator under which a header row appears in
// the first rows.
func sniffDelimiter(text string) rune {
	for _, d := range []rune{',', '\t', ';'} {
		rows, found := 0, false
		splitCSV(text, d, func(r tableRow, bad error) error {
			if rows++; rows > headerSearchRows {
				return errStopSplit
			}
			if _, ok := isHeader(r.dense()); bad == nil && ok {
				found = true
				return errStopSplit
			}
			return nil
		})
		if found {
			return d
		}
	}
	return ','
}
