package wechat

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Bounds on an export file. An export comes from outside (a browser
// download, a drop folder anyone with the share can write to), so what it
// may make the importer hold is bounded on every path — Parse, ReadFile,
// ImportFiles and the Watcher all apply these, and a file over one is
// refused as a whole with a *LimitError naming the file, the bound and
// where it was crossed. A real console export is a few hundred kilobytes
// with 19 columns and one row per post; the bounds leave room for years
// of posts and for a sheet someone added notes to.
const (
	// MaxExportSize is the largest export file read, in bytes.
	MaxExportSize = 16 << 20
	// MaxXLSXUncompressed bounds what an XLSX may inflate to, in bytes:
	// the sum of the sizes its zip entries declare, and separately the
	// bytes actually read out of them (a declared size can lie).
	MaxXLSXUncompressed = 64 << 20
	// MaxExportColumns is the most columns a row may have: CSV fields in
	// one record, or the column of an XLSX cell that holds a value (cells
	// without a value, which Excel writes for formatting, are ignored
	// wherever they are).
	MaxExportColumns = 256
	// MaxExportRows is the most rows (records) a file may have; blank rows
	// below the header are not kept and not counted.
	MaxExportRows = 50_000
	// MaxExportCells is the most non-empty cells a file may have
	// (XLSX: including its shared strings).
	MaxExportCells = 1_000_000
	// MaxCellBytes is the longest a single cell may be.
	MaxCellBytes = 64 << 10
	// maxXMLTag bounds one XML tag (from < to >) inside an XLSX: it bounds
	// the attributes encoding/xml collects for one element.
	maxXMLTag = 64 << 10
	// maxXMLText bounds one run of text between two tags (a cell's value,
	// escaped: up to 6 bytes per character).
	maxXMLText = 8 * MaxCellBytes
)

// LimitError says an export file is over one of its bounds; the file is
// refused as a whole (nothing of it is imported) and stays refused until it
// changes.
type LimitError struct {
	File  string
	Where string // "line 7, column 257", "row 3, cell XFD3", "part xl/worksheets/sheet1.xml" …; may be empty
	What  string // what is over the bound: "columns", "file size" …
	Limit int64
	Got   int64 // the value seen, when known (0 otherwise)
}

func (e *LimitError) Error() string {
	msg := "wechat export " + e.File + ": "
	if e.Where != "" {
		msg += e.Where + ": "
	}
	msg += fmt.Sprintf("%s over the limit of %d", e.What, e.Limit)
	if e.Got > 0 {
		msg += fmt.Sprintf(" (got %d)", e.Got)
	}
	return msg + "; the file is refused"
}

// limitErr is a LimitError before Parse knows the file's name.
func limitErr(where, what string, limit, got int64) error {
	return &LimitError{Where: where, What: what, Limit: limit, Got: got}
}

// nameLimitError sets the file name of a LimitError in err, if there is one.
func nameLimitError(err error, name string) bool {
	var le *LimitError
	if errors.As(err, &le) {
		le.File = name
		return true
	}
	return false
}

// readExportFile reads an export file within MaxExportSize: the size is
// checked before anything is read, and the read stops at the bound in case
// the file grows meanwhile.
func readExportFile(path string) ([]byte, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("wechat export: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("wechat export: %w", err)
	}
	if st.Size() > MaxExportSize {
		return nil, st, &LimitError{File: path, What: "file size in bytes", Limit: MaxExportSize, Got: st.Size()}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxExportSize+1))
	if err != nil {
		return nil, st, fmt.Errorf("wechat export %s: %w", path, err)
	}
	if len(data) > MaxExportSize {
		return nil, st, &LimitError{File: path, What: "file size in bytes", Limit: MaxExportSize}
	}
	return data, st, nil
}

// inflateBudget counts the bytes read out of an XLSX's parts against
// MaxXLSXUncompressed, across all of them.
type inflateBudget struct{ left int64 }

type budgetReader struct {
	r       io.Reader
	b       *inflateBudget
	part    string
	tripped *error // set to the LimitError when the bound is crossed
}

func (r *budgetReader) Read(p []byte) (int, error) {
	// Up to one byte past the budget is asked for: getting it means over.
	if r.b.left < 0 {
		return 0, trip(r.tripped, limitErr("part "+r.part, "uncompressed XLSX size in bytes", MaxXLSXUncompressed, 0))
	}
	if int64(len(p)) > r.b.left+1 {
		p = p[:r.b.left+1]
	}
	n, err := r.r.Read(p)
	r.b.left -= int64(n)
	if r.b.left < 0 {
		return 0, trip(r.tripped, limitErr("part "+r.part, "uncompressed XLSX size in bytes", MaxXLSXUncompressed, 0))
	}
	return n, err
}

// xmlLimitReader refuses XML with a tag (from < to the > that ends it,
// outside quoted attribute values) longer than maxXMLTag, or a run of text
// between tags longer than maxXMLText, so that no single token encoding/xml
// builds (an element's attributes, a text) is unbounded.
type xmlLimitReader struct {
	r       io.Reader
	part    string
	tripped *error // set to the LimitError when a bound is crossed
	inTag   bool
	quote   byte
	n       int // bytes of the current tag or text run
}

func (t *xmlLimitReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	for _, c := range p[:n] {
		switch {
		case !t.inTag:
			if c == '<' {
				t.inTag, t.n = true, 0
			}
		case t.quote != 0:
			if c == t.quote {
				t.quote = 0
			}
		case c == '"' || c == '\'':
			t.quote = c
		case c == '>':
			t.inTag, t.n = false, 0
		}
		t.n++
		if t.inTag && t.n > maxXMLTag {
			return 0, trip(t.tripped, limitErr("part "+t.part, "length of one XML tag in bytes", maxXMLTag, 0))
		}
		if !t.inTag && t.n > maxXMLText {
			return 0, trip(t.tripped, limitErr("part "+t.part, "length of one XML text in bytes", maxXMLText, 0))
		}
	}
	return n, err
}

// trip records the first limit crossed while reading a part: encoding/xml
// may report a read error as a syntax error (a character cut in two), so
// the reader of the part asks for it afterwards (xlsxPart.why).
func trip(slot *error, err error) error {
	if slot != nil && *slot == nil {
		*slot = err
	}
	return err
}

// xlsxPart is one part of an XLSX being read within the limits.
type xlsxPart struct {
	io.Reader
	io.Closer
	tripped *error
}

// why is the error reading the part ended with: the limit crossed, if one
// was, else err.
func (p *xlsxPart) why(err error) error {
	if *p.tripped != nil {
		return *p.tripped
	}
	return err
}
