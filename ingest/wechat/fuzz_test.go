package wechat_test

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tongxin/tongxin/ingest/wechat"
)

// checkParse parses one input and checks what holds for any input: no
// panic, an error names the file, every snapshot has a post and the
// export's time, every row error names the file.
func checkParse(t *testing.T, name string, data []byte) {
	ex, err := wechat.Parse(name, data, limitAcct, limitAt)
	if err != nil {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the error %q does not name the file", err)
		}
		return
	}
	if len(ex.Snapshots) > wechat.MaxExportRows {
		t.Errorf("%d snapshots from one file", len(ex.Snapshots))
	}
	for _, s := range ex.Snapshots {
		if s.PostID == "" || !s.ObservedAt.Equal(limitAt) || s.PublishedAt.After(limitAt) {
			t.Errorf("snapshot %+v", s)
		}
	}
	for _, e := range ex.Errors {
		if !strings.Contains(e.Error(), name) {
			t.Errorf("the row error %q does not name the file", e)
		}
	}
}

func testdataFiles(f *testing.F, ext string) [][]byte {
	paths, _ := filepath.Glob(filepath.Join("testdata", "export", "*"+ext))
	sub, _ := filepath.Glob(filepath.Join("testdata", "export", "*", "*"+ext))
	var out [][]byte
	for _, p := range append(paths, sub...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		f.Fatalf("no %s testdata", ext)
	}
	return out
}

// FuzzParseCSV: any bytes as a CSV export. Seeds: the testdata exports,
// and rows far wider than MaxExportColumns.
func FuzzParseCSV(f *testing.F) {
	for _, b := range testdataFiles(f, ".csv") {
		f.Add(b)
	}
	// the million-column case, scaled down: the fuzzing engine slows to a
	// crawl on megabyte inputs (TestCSVMillionColumnsRefused has the real one)
	f.Add([]byte("视频ID,发布时间,播放量\nexport/a,2026/05/01,1" + strings.Repeat(",", 2000) + "\n"))
	f.Add([]byte("视频ID,发布时间,播放量" + strings.Repeat(",", 300) + "\nexport/a,2026/05/01,1\n"))
	f.Add([]byte("视频ID;发布时间;播放量\r\n\"export/\"\"a\"\"\";2026/05/01;\"1,2万\"\r\n\"cut"))
	f.Add([]byte("视频ID\t发布时间\t播放量\nexport/b\t2026/05/01\t1\"2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, "fuzz.csv", data)
	})
}

// FuzzParseXLSX: any bytes as an XLSX export. Seeds: the testdata
// workbooks (whole and cut short) and a zip bomb.
func FuzzParseXLSX(f *testing.F) {
	for _, b := range testdataFiles(f, ".xlsx") {
		f.Add(b)
	}
	f.Add(zipBomb(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, "fuzz.xlsx", data)
	})
}

// FuzzXLSXSheet: any sheet and shared strings in an otherwise well-formed
// workbook, which is where a mutation of the XML gets past the zip layer.
// Seeds: the testdata workbook's own parts, far-right cells, a value at
// XFD1048576, a huge text and an element with huge attributes.
func FuzzXLSXSheet(f *testing.F) {
	book := testdataFiles(f, "093000.xlsx")[0]
	zr, err := zip.NewReader(bytes.NewReader(book), int64(len(book)))
	if err != nil {
		f.Fatal(err)
	}
	part := func(name string) string {
		for _, zf := range zr.File {
			if zf.Name == name {
				rc, _ := zf.Open()
				b, _ := io.ReadAll(rc)
				rc.Close()
				return string(b)
			}
		}
		f.Fatalf("no %s in the testdata workbook", name)
		return ""
	}
	realSheet, realShared := part("xl/worksheets/sheet1.xml"), part("xl/sharedStrings.xml")
	wrap := func(rows string) string {
		return `<worksheet ` + ns + `><sheetData>` + rows + `</sheetData></worksheet>`
	}
	f.Add(realSheet, realShared)
	f.Add(wrap(inlineRow(1, "视频ID", "发布时间", "播放量")+`<c r="XFD1" s="0"/></row>`+inlineRow(2, "export/a", "2026/05/01", "1")+`<c r="XFD2"/></row>`), "")
	f.Add(wrap(inlineRow(1, "视频ID", "发布时间")+`</row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>`), "")
	f.Add(wrap(`<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c><c t="s"><v>2</v></c></row><row><c t="s"><v>3</v></c><c><v>46000.5</v></c><c s="0"><v>1E3</v></c></row>`),
		`<sst `+ns+`><si><t>视频ID</t></si><si><r><t>发布</t></r><r><t>时间</t></r><rPh><t>x</t></rPh></si><si><t>播放量</t></si><si><t>export/z</t></si></sst>`)
	// (TestXLSXHugeTokensRefused has the huge text and attributes at full size)
	f.Add(wrap(inlineRow(1, strings.Repeat("视", 4000))+`</row>`), "")
	f.Add(wrap(`<row r="1"><c r="A1"`+strings.Repeat(` x="1"`, 2000)+`><v>1</v></c></row>`), "")
	f.Fuzz(func(t *testing.T, sheet, shared string) {
		parts := map[string]string{
			"xl/workbook.xml":          `<workbook ` + ns + `><sheets><sheet name="单篇视频" sheetId="1"/></sheets></workbook>`,
			"xl/worksheets/sheet1.xml": sheet,
		}
		if shared != "" {
			parts["xl/sharedStrings.xml"] = shared
		}
		checkParse(t, "fuzz.xlsx", zipOf(t, parts))
	})
}

// zipBomb is an XLSX whose sheet inflates to just over MaxXLSXUncompressed.
func zipBomb(tb testing.TB) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("xl/workbook.xml")
	if err != nil {
		tb.Fatal(err)
	}
	io.WriteString(w, `<workbook `+ns+`><sheets><sheet name="s" sheetId="1"/></sheets></workbook>`)
	w, err = zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		tb.Fatal(err)
	}
	io.WriteString(w, `<worksheet `+ns+`><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>`)
	io.Copy(w, io.LimitReader(zeroes{}, wechat.MaxXLSXUncompressed+1))
	io.WriteString(w, `</t></is></c></row></sheetData></worksheet>`)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
