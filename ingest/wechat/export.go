package wechat

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tongxin/tongxin/ingest"
	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/snapshot"
)

// MaxExportSize is the largest export file read (a real one is a few
// hundred kilobytes even for an account with years of posts).
const MaxExportSize = 64 << 20

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

// table is an export's cells before interpretation.
type table struct {
	format    string // "csv" or "xlsx"
	rows      []tableRow
	errs      []error // rows the CSV reader could not split
	truncated bool    // CSV: the data does not end with a line break
	cutShort  bool    // the last row is incomplete
}

type tableRow struct {
	line  int
	cells []string
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
// header, a required column missing).
//
// Export files are judged on the wall clock (they are named and stamped in
// real time): an export time before WeChat Channels existed or later than
// now plus snapshot.FutureMargin is an error wrapping ErrExportTime, and a
// row that breaks the snapshot rules is a RowError.
func Parse(name string, data []byte, acct roster.Account, exportedAt time.Time) (*Export, error) {
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
		return nil, fmt.Errorf("wechat export %s: %w", name, err)
	}
	return interpret(name, t, acct, exportedAt.UTC(), now)
}

// headerSearchRows is how many rows above the header a file may carry
// (notes such as "由于数据统计口径调整…").
const headerSearchRows = 30

// findHeader returns the index of the header row, or -1.
func findHeader(rows []tableRow) (int, header) {
	for i, r := range rows {
		if i >= headerSearchRows {
			break
		}
		h, known := matchHeader(r.cells)
		if known >= 3 || (known >= 2 && (h.index[fID] >= 0 || h.index[fPublished] >= 0)) {
			return i, h
		}
	}
	return -1, header{}
}

func interpret(name string, t *table, acct roster.Account, at, now time.Time) (*Export, error) {
	hi, h := findHeader(t.rows)
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
		if allEmpty(r.cells) {
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
	width := len(r.cells)
	for width > 0 && strings.TrimSpace(r.cells[width-1]) == "" {
		width--
	}
	switch {
	case len(r.cells) < h.width && last && t.truncated:
		t.cutShort = true
		return ingest.Post{}, snapshot.Snapshot{}, rowErr(fmt.Errorf("the row has %d of the header's %d columns and the file ends inside it: the file was cut short (still being written?)", len(r.cells), h.width))
	case len(r.cells) < h.width && t.format == "csv":
		return ingest.Post{}, snapshot.Snapshot{}, rowErr(fmt.Errorf("the row has %d of the header's %d columns", len(r.cells), h.width))
	case width > h.width:
		return ingest.Post{}, snapshot.Snapshot{}, rowErr(fmt.Errorf("the row has %d columns but the header only %d (a description with an unquoted comma?)", width, h.width))
	}
	cell := func(f field) (string, int) {
		i := h.index[f]
		if i < 0 || i >= len(r.cells) {
			return "", i
		}
		return r.cells[i], i
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
	return post, snap, nil
}

func allEmpty(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(strings.Trim(c, "\ufeff")) != "" {
			return false
		}
	}
	return true
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
	t := &table{format: "csv", truncated: len(text) > 0 && !strings.HasSuffix(text, "\n") && !strings.HasSuffix(text, "\r")}
	delim := sniffDelimiter(text)
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = delim
	r.FieldsPerRecord = -1
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				msg := pe.Err
				if errors.Is(pe.Err, csv.ErrQuote) && t.truncated {
					t.cutShort = true
					msg = fmt.Errorf("%w: the file ends inside a quoted field: it was cut short (still being written?)", pe.Err)
				}
				t.errs = append(t.errs, &RowError{Line: pe.StartLine, Err: fmt.Errorf("cannot split the row into columns: %w", msg)})
				continue
			}
			return nil, err
		}
		line, _ := r.FieldPos(0)
		t.rows = append(t.rows, tableRow{line: line, cells: rec})
	}
	return t, nil
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

// sniffDelimiter picks the separator under which a header row appears.
func sniffDelimiter(text string) rune {
	for _, d := range []rune{',', '\t', ';'} {
		r := csv.NewReader(strings.NewReader(text))
		r.Comma = d
		r.FieldsPerRecord = -1
		r.LazyQuotes = true
		var rows []tableRow
		for i := 0; i < headerSearchRows; i++ {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				continue
			}
			rows = append(rows, tableRow{cells: rec})
		}
		if i, _ := findHeader(rows); i >= 0 {
			return d
		}
	}
	return ','
}
