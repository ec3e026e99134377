package wechat

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
)

type splitRecord struct {
	line   int
	fields []string
	bad    bool
}

// FuzzSplitCSV: within the limits, splitCSV reads what encoding/csv reads —
// the same records, fields, first lines and unsplittable records.
func FuzzSplitCSV(f *testing.F) {
	for _, s := range []string{
		"a,b,c\n1,2,3\n", "a,\"b,\"\"x\"\"\",c\r\n\r\n1,\"2\n3\",4", "a,b\"c\nd,e\n", "\"a\"b,c\nd\n", "\"open\nx,y\n", "a;b\tc\r", "\n\n,\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var want []splitRecord
		r := csv.NewReader(strings.NewReader(text))
		r.FieldsPerRecord = -1
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				want = append(want, splitRecord{line: pe.StartLine, bad: true})
				continue
			}
			if err != nil {
				t.Skip(err)
			}
			if len(rec) > MaxExportColumns {
				t.Skip("over the column limit")
			}
			line, _ := r.FieldPos(0)
			want = append(want, splitRecord{line: line, fields: rec})
		}
		var got []splitRecord
		err := splitCSV(text, ',', func(row tableRow, bad error) error {
			if bad != nil {
				got = append(got, splitRecord{line: row.line, bad: true})
				return nil
			}
			fields := make([]string, row.fields)
			for _, c := range row.cells {
				fields[c.col] = c.v
			}
			got = append(got, splitRecord{line: row.line, fields: fields})
			return nil
		})
		if err != nil {
			t.Skip(err) // a limit
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d records, encoding/csv %d:\n%+v\n%+v", text, len(got), len(want), got, want)
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.line != w.line || g.bad != w.bad || strings.Join(g.fields, "\x00") != strings.Join(w.fields, "\x00") || len(g.fields) != len(w.fields) {
				t.Fatalf("%q: record %d is %+v, encoding/csv %+v", text, i, g, w)
			}
		}
	})
}
