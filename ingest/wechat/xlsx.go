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
// that make a number a percentage or a date. Standard library only.

// maxXLSXPart bounds what one part of the archive may inflate to.
const maxXLSXPart = 128 << 20

func readXLSX(data []byte) (*table, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a readable XLSX file (cut short, or still being written?): %w", err)
	}
	parts := map[string]*zip.File{}
	for _, f := range zr.File {
		parts[strings.TrimPrefix(f.Name, "/")] = f
	}
	read := func(name string) ([]byte, error) {
		f, ok := parts[name]
		if !ok {
			return nil, nil
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("XLSX part %s: %w", name, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, maxXLSXPart+1))
		if err != nil {
			return nil, fmt.Errorf("XLSX part %s: %w", name, err)
		}
		if len(b) > maxXLSXPart {
			return nil, fmt.Errorf("XLSX part %s is larger than %d MB", name, maxXLSXPart>>20)
		}
		return b, nil
	}

	wbBytes, err := read("xl/workbook.xml")
	if err != nil {
		return nil, err
	}
	if wbBytes == nil {
		return nil, errors.New("not an XLSX workbook (no xl/workbook.xml)")
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
	if err := xml.Unmarshal(wbBytes, &wb); err != nil {
		return nil, fmt.Errorf("XLSX workbook: %w", err)
	}
	date1904 := wb.Pr.Date1904 == "1" || wb.Pr.Date1904 == "true"

	// Relationships of the workbook: sheet and shared string targets.
	rels := map[string]string{}
	sharedPath, stylesPath := "xl/sharedStrings.xml", "xl/styles.xml"
	if b, err := read("xl/_rels/workbook.xml.rels"); err != nil {
		return nil, err
	} else if b != nil {
		var rs struct {
			Rel []struct {
				ID     string `xml:"Id,attr"`
				Type   string `xml:"Type,attr"`
				Target string `xml:"Target,attr"`
			} `xml:"Relationship"`
		}
		if err := xml.Unmarshal(b, &rs); err != nil {
			return nil, fmt.Errorf("XLSX workbook relationships: %w", err)
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
	if b, err := read(sharedPath); err != nil {
		return nil, err
	} else if b != nil {
		var sst struct {
			SI []richText `xml:"si"`
		}
		if err := xml.Unmarshal(b, &sst); err != nil {
			return nil, fmt.Errorf("XLSX shared strings: %w", err)
		}
		for _, si := range sst.SI {
			shared = append(shared, si.text())
		}
	}

	styles, err := readStyles(read, stylesPath)
	if err != nil {
		return nil, err
	}

	sb, err := read(sheetPath)
	if err != nil {
		return nil, err
	}
	if sb == nil {
		return nil, fmt.Errorf("XLSX: the first sheet (%s) is missing", sheetPath)
	}
	var ws struct {
		Rows []struct {
			R     int `xml:"r,attr"`
			Cells []struct {
				R  string    `xml:"r,attr"`
				T  string    `xml:"t,attr"`
				S  int       `xml:"s,attr"`
				V  *string   `xml:"v"`
				IS *richText `xml:"is"`
			} `xml:"c"`
		} `xml:"sheetData>row"`
	}
	if err := xml.Unmarshal(sb, &ws); err != nil {
		return nil, fmt.Errorf("XLSX sheet %s: %w", sheetPath, err)
	}
	t := &table{format: "xlsx"}
	prevRow := 0
	for _, row := range ws.Rows {
		num := row.R
		if num <= 0 {
			num = prevRow + 1
		}
		prevRow = num
		var cells []string
		col := -1
		for _, c := range row.Cells {
			if i, ok := refColumn(c.R); ok {
				col = i
			} else {
				col++
			}
			if col > 16383 {
				return nil, fmt.Errorf("XLSX sheet %s: cell %q is out of range", sheetPath, c.R)
			}
			var v string
			switch c.T {
			case "s":
				if c.V != nil {
					i, err := strconv.Atoi(strings.TrimSpace(*c.V))
					if err != nil || i < 0 || i >= len(shared) {
						return nil, fmt.Errorf("XLSX sheet %s: cell %s%d refers to shared string %q that does not exist", sheetPath, columnLetter(col), num, *c.V)
					}
					v = shared[i]
				}
			case "inlineStr":
				if c.IS != nil {
					v = c.IS.text()
				}
			case "b":
				if c.V != nil && strings.TrimSpace(*c.V) == "1" {
					v = "TRUE"
				} else {
					v = "FALSE"
				}
			case "str", "e", "d":
				if c.V != nil {
					v = *c.V
				}
			default: // a number
				if c.V != nil {
					v = styles.format(strings.TrimSpace(*c.V), c.S, date1904)
				}
			}
			for len(cells) <= col {
				cells = append(cells, "")
			}
			cells[col] = v
		}
		t.rows = append(t.rows, tableRow{line: num, cells: cells})
	}
	return t, nil
}

// richText is a string item: plain <t>, or runs <r><t>; phonetic runs are skipped.
type richText struct {
	T string `xml:"t"`
	R []struct {
		T string `xml:"t"`
	} `xml:"r"`
}

func (r *richText) text() string {
	if len(r.R) == 0 {
		return r.T
	}
	var b strings.Builder
	b.WriteString(r.T)
	for _, run := range r.R {
		b.WriteString(run.T)
	}
	return b.String()
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

func readStyles(read func(string) ([]byte, error), p string) (numberStyles, error) {
	var ns numberStyles
	b, err := read(p)
	if err != nil || b == nil {
		return ns, err
	}
	var st struct {
		NumFmts []struct {
			ID   int    `xml:"numFmtId,attr"`
			Code string `xml:"formatCode,attr"`
		} `xml:"numFmts>numFmt"`
		Xfs []struct {
			NumFmtID int `xml:"numFmtId,attr"`
		} `xml:"cellXfs>xf"`
	}
	if err := xml.Unmarshal(b, &st); err != nil {
		return ns, fmt.Errorf("XLSX styles: %w", err)
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
