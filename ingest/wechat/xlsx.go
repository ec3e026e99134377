package wechat

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// The XLSX reader: just enough of SpreadsheetML to read a table from the
// first sheet — shared and inline strings, numbers, and the number formats
// that make a number a percentage or a date. Standard library only. The
// shared strings and the sheet are streamed, never held as XML, and every
// byte inflated counts against MaxXLSXUncompressed.

// maxXLSXMetaPart bounds the small parts (workbook, its relationships,
// styles), which are decoded whole; real ones are a few kilobytes.
const maxXLSXMetaPart = 1 << 20

// maxXLSXEntries bounds the zip entries of an XLSX (a real one has about
// ten); each costs the zip reader a few hundred bytes.
const maxXLSXEntries = 1000

// maxXLSXRow is the last row a spreadsheet can have.
const maxXLSXRow = 1 << 20

func readXLSX(data []byte) (*table, error) {
	// Counted before zip.NewReader, which allocates for every entry.
	if n := bytes.Count(data, []byte("PK\x01\x02")); n > maxXLSXEntries {
		return nil, limitErr("", "zip entries in an XLSX", maxXLSXEntries, int64(n))
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a readable XLSX file (cut short, or still being written?): %w", err)
	}
	parts := map[string]*zip.File{}
	var declared uint64
	for _, f := range zr.File {
		if f.UncompressedSize64 > MaxXLSXUncompressed-declared {
			return nil, limitErr("part "+f.Name, "uncompressed XLSX size in bytes (as its zip entries declare it)", MaxXLSXUncompressed, 0)
		}
		declared += f.UncompressedSize64
		parts[strings.TrimPrefix(f.Name, "/")] = f
	}
	budget := &inflateBudget{left: MaxXLSXUncompressed}
	// open streams one part (nil when there is none), counted against the budget.
	open := func(name string) (*xlsxPart, error) {
		f, ok := parts[name]
		if !ok {
			return nil, nil
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("XLSX part %s: %w", name, err)
		}
		tripped := new(error)
		lim := &xmlLimitReader{r: &budgetReader{r: rc, b: budget, part: name, tripped: tripped}, part: name, tripped: tripped}
		return &xlsxPart{Reader: lim, Closer: rc, tripped: tripped}, nil
	}
	// decode reads a small part whole into v; it says whether the part exists.
	decode := func(name, what string, v any) (bool, error) {
		rc, err := open(name)
		if rc == nil || err != nil {
			return false, err
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, maxXLSXMetaPart+1))
		if err != nil {
			return true, xlsxErr(what, rc.why(err))
		}
		if len(b) > maxXLSXMetaPart {
			return true, limitErr("part "+name, "size of an XLSX "+what+" part in bytes", maxXLSXMetaPart, 0)
		}
		if err := xml.Unmarshal(b, v); err != nil {
			return true, fmt.Errorf("XLSX %s: %w", what, err)
		}
		return true, nil
	}

	var wb struct {
		Pr struct {
			Date1904 string `xml:"date1904,attr"`
		} `xml:"workbookPr"`
		Sheets []struct {
			Name  string     `xml:"name,attr"`
			Attrs []xml.Attr `xml:",any,attr"`
		} `xml:"sheets>sheet"`
	}
	if ok, err := decode("xl/workbook.xml", "workbook", &wb); err != nil {
		return nil, err
	} else if !ok {
		return nil, errors.New("not an XLSX workbook (no xl/workbook.xml)")
	}
	date1904 := wb.Pr.Date1904 == "1" || wb.Pr.Date1904 == "true"

	// Relationships of the workbook: sheet and shared string targets.
	rels := map[string]string{}
	sharedPath, stylesPath := "xl/sharedStrings.xml", "xl/styles.xml"
	var rs struct {
		Rel []struct {
			ID     string `xml:"Id,attr"`
			Type   string `xml:"Type,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if _, err := decode("xl/_rels/workbook.xml.rels", "workbook relationships", &rs); err != nil {
		return nil, err
	}
	for _, r := range rs.Rel {
		target := r.Target
		if strings.HasPrefix(target, "/") {
			target = strings.TrimPrefix(target, "/")
		} else {
			target = path.Join("xl", target)
		}
		rels[r.ID] = target
		switch {
		case strings.HasSuffix(r.Type, "/sharedStrings"):
			sharedPath = target
		case strings.HasSuffix(r.Type, "/styles"):
			stylesPath = target
		}
	}
	sheetPath := "xl/worksheets/sheet1.xml"
	if len(wb.Sheets) > 0 {
		for _, a := range wb.Sheets[0].Attrs {
			if a.Name.Local == "id" && strings.Contains(a.Name.Space, "relationships") {
				if p, ok := rels[a.Value]; ok {
					sheetPath = p
				}
			}
		}
	}

	var shared []string
	if rc, err := open(sharedPath); err != nil {
		return nil, err
	} else if rc != nil {
		shared, err = readSharedStrings(rc, sharedPath)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}

	styles, err := readStyles(decode, stylesPath)
	if err != nil {
		return nil, err
	}

	rc, err := open(sheetPath)
	if err != nil {
		return nil, err
	}
	if rc == nil {
		return nil, fmt.Errorf("XLSX: the first sheet (%s) is missing", sheetPath)
	}
	defer rc.Close()
	t := newTable("xlsx")
	if err := readSheet(rc, sheetPath, t, shared, styles, date1904); err != nil {
		return nil, err
	}
	return t, nil
}

// xlsxErr keeps a LimitError as it is and says which part other errors are in.
func xlsxErr(what string, err error) error {
	var le *LimitError
	if errors.As(err, &le) {
		return err
	}
	return fmt.Errorf("XLSX %s: %w", what, err)
}

// readSharedStrings streams the shared string table.
func readSharedStrings(r *xlsxPart, part string) ([]string, error) {
	d := xml.NewDecoder(r)
	var shared []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return shared, nil
		}
		if err != nil {
			return nil, xlsxErr("shared strings", r.why(err))
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "si" {
			if len(shared) >= MaxExportCells {
				return nil, limitErr("part "+part, "shared strings", MaxExportCells, 0)
			}
			s, err := readText(d, true, "part "+part)
			if err != nil {
				return nil, xlsxErr("shared strings", r.why(err))
			}
			shared = append(shared, s)
		}
	}
}

// readText reads the text of the element just started, up to its end: with
// rich, the <t> runs of a string item (phonetic runs skipped), else all of
// its text. It is bounded by MaxCellBytes.
func readText(d *xml.Decoder, rich bool, where string) (string, error) {
	var b strings.Builder
	depth, inT, inPh := 0, 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			switch tok.Name.Local {
			case "t":
				inT++
			case "rPh":
				inPh++
			}
		case xml.EndElement:
			if depth == 0 {
				return b.String(), nil
			}
			depth--
			switch tok.Name.Local {
			case "t":
				inT--
			case "rPh":
				inPh--
			}
		case xml.CharData:
			if !rich || (inT > 0 && inPh == 0) {
				if b.Len()+len(tok) > MaxCellBytes {
					return "", limitErr(where, "length of one cell in bytes", MaxCellBytes, 0)
				}
				b.Write(tok)
			}
		}
	}
}

// xlsxCell is one <c> element as read.
type xlsxCell struct {
	ref, typ string
	style    int
	v        *string
	is       *string
}

// readSheet streams the sheet's rows into t, cell by cell.
func readSheet(r *xlsxPart, sheetPath string, t *table, shared []string, styles numberStyles, date1904 bool) error {
	d := xml.NewDecoder(r)
	inData := false
	prevRow := 0
	var row *tableRow
	col := -1
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return xlsxErr("sheet "+sheetPath, r.why(err))
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			switch {
			case tok.Name.Local == "sheetData":
				inData = true
			case !inData:
			case tok.Name.Local == "row" && row == nil:
				num := 0
				if v, ok := attr(tok, "r"); ok {
					num, _ = strconv.Atoi(strings.TrimSpace(v))
				}
				if num <= 0 {
					num = prevRow + 1
				}
				if num > maxXLSXRow {
					return fmt.Errorf("XLSX sheet %s: row %d is out of range", sheetPath, num)
				}
				prevRow = num
				row, col = &tableRow{line: num}, -1
			case tok.Name.Local == "c" && row != nil:
				c := xlsxCell{}
				c.ref, _ = attr(tok, "r")
				c.typ, _ = attr(tok, "t")
				if s, ok := attr(tok, "s"); ok {
					c.style, _ = strconv.Atoi(strings.TrimSpace(s))
				}
				where := fmt.Sprintf("row %d, cell %s", row.line, c.ref)
				if err := readCell(d, &c, where); err != nil {
					return xlsxErr("sheet "+sheetPath, r.why(err))
				}
				if i, ok := refColumn(c.ref); ok {
					col = i
				} else {
					col++
				}
				if col > 16383 {
					return fmt.Errorf("XLSX sheet %s: cell %q is out of range", sheetPath, c.ref)
				}
				v, err := c.value(shared, styles, date1904)
				if err != nil {
					return fmt.Errorf("XLSX sheet %s: cell %s%d %w", sheetPath, columnLetter(col), row.line, err)
				}
				if v == "" {
					continue // nothing in it, wherever it is
				}
				if t.cells++; t.cells > MaxExportCells {
					return limitErr(t.where(row.line, col), "non-empty cells", MaxExportCells, 0)
				}
				if col >= MaxExportColumns {
					return limitErr(t.where(row.line, col), "columns", MaxExportColumns, int64(col+1))
				}
				row.put(col, v)
			}
		case xml.EndElement:
			switch {
			case tok.Name.Local == "sheetData":
				inData = false
			case tok.Name.Local == "row" && row != nil:
				row.fields = row.width
				if err := t.add(*row); err != nil {
					return err
				}
				row = nil
			}
		}
	}
}

// readCell reads the value and inline string of the <c> element just started.
func readCell(d *xml.Decoder, c *xlsxCell, where string) error {
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			switch tok.Name.Local {
			case "v":
				s, err := readText(d, false, where)
				if err != nil {
					return err
				}
				c.v = &s
			case "is":
				s, err := readText(d, true, where)
				if err != nil {
					return err
				}
				c.is = &s
			default:
				if err := d.Skip(); err != nil {
					return err
				}
			}
		case xml.EndElement:
			return nil
		}
	}
}

// value is the text the importer reads from a cell.
func (c *xlsxCell) value(shared []string, styles numberStyles, date1904 bool) (string, error) {
	switch c.typ {
	case "s":
		if c.v != nil {
			i, err := strconv.Atoi(strings.TrimSpace(*c.v))
			if err != nil || i < 0 || i >= len(shared) {
				return "", fmt.Errorf("refers to shared string %q that does not exist", *c.v)
			}
			return shared[i], nil
		}
	case "inlineStr":
		if c.is != nil {
			return *c.is, nil
		}
	case "b":
		if c.v != nil {
			if strings.TrimSpace(*c.v) == "1" {
				return "TRUE", nil
			}
			return "FALSE", nil
		}
	case "str", "e", "d":
		if c.v != nil {
			return *c.v, nil
		}
	default: // a number
		if c.v != nil {
			return styles.format(strings.TrimSpace(*c.v), c.style, date1904), nil
		}
	}
	return "", nil
}

func attr(se xml.StartElement, local string) (string, bool) {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// refColumn reads the column of a cell reference like "AB12".
func refColumn(ref string) (int, bool) {
	col := 0
	n := 0
	for _, c := range ref {
		if c >= 'A' && c <= 'Z' {
			col = col*26 + int(c-'A'+1)
			n++
			continue
		}
		if c >= 'a' && c <= 'z' {
			col = col*26 + int(c-'a'+1)
			n++
			continue
		}
		break
	}
	if n == 0 || n > 3 {
		return 0, false
	}
	return col - 1, true
}

// numberStyles knows, for each cell style, whether it shows a number as a
// percentage or as a date.
type numberStyles struct {
	percent, date []bool
}

func readStyles(decode func(name, what string, v any) (bool, error), p string) (numberStyles, error) {
	var ns numberStyles
	var st struct {
		NumFmts []struct {
			ID   int    `xml:"numFmtId,attr"`
			Code string `xml:"formatCode,attr"`
		} `xml:"numFmts>numFmt"`
		Xfs []struct {
			NumFmtID int `xml:"numFmtId,attr"`
		} `xml:"cellXfs>xf"`
	}
	if _, err := decode(p, "styles", &st); err != nil {
		return ns, err
	}
	codes := map[int]string{}
	for _, f := range st.NumFmts {
		codes[f.ID] = f.Code
	}
	for _, xf := range st.Xfs {
		pct, date := builtinFormat(xf.NumFmtID)
		if code, ok := codes[xf.NumFmtID]; ok {
			pct, date = classifyFormat(code)
		}
		ns.percent = append(ns.percent, pct)
		ns.date = append(ns.date, date)
	}
	return ns, nil
}

// builtinFormat classifies the built-in number formats, including the
// CJK date formats Chinese Excel uses (27–36, 50–58).
func builtinFormat(id int) (percent, date bool) {
	switch {
	case id == 9 || id == 10:
		return true, false
	case id >= 14 && id <= 22, id >= 27 && id <= 36, id >= 45 && id <= 47, id >= 50 && id <= 58:
		return false, true
	}
	return false, false
}

// classifyFormat looks at a custom format code outside quotes and brackets.
func classifyFormat(code string) (percent, date bool) {
	var plain strings.Builder
	inQuote, inBracket := false, false
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '[':
			inBracket = true
		case c == ']':
			inBracket = false
		case inBracket:
		case c == '\\':
			i++
		default:
			plain.WriteByte(c)
		}
	}
	s := strings.ToLower(plain.String())
	if strings.Contains(s, "%") {
		return true, false
	}
	return false, strings.ContainsAny(s, "ydhs") || strings.Contains(code, "年") || strings.Contains(code, "月") || strings.Contains(code, "日")
}

// format turns a numeric cell into the text the importer reads: a
// percentage gets its "%", a date becomes "2006/01/02 15:04:05".
func (ns numberStyles) format(v string, style int, date1904 bool) string {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	switch {
	case style >= 0 && style < len(ns.percent) && ns.percent[style]:
		return strconv.FormatFloat(f*100, 'f', -1, 64) + "%"
	case style >= 0 && style < len(ns.date) && ns.date[style]:
		return excelTime(f, date1904).In(chinaTime).Format("2006/01/02 15:04:05")
	}
	return v
}
