package wechat_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/wechat"
	"github.com/tongxin/tongxin/snapshot"
)

// allocated is how many bytes f allocates on the heap.
func allocated(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

var limitAcct = roster.Account{Platform: snapshot.WeChatChannels, AccountID: "sphNME8PNY4FS9", AmbassadorID: "amb01"}
var limitAt = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// sheetXLSX is a workbook whose first sheet is sheetData (rows only).
func sheetXLSX(t *testing.T, sheetData string) []byte {
	t.Helper()
	return zipOf(t, map[string]string{
		"xl/workbook.xml":          `<workbook ` + ns + `><sheets><sheet name="单篇视频" sheetId="1"/></sheets></workbook>`,
		"xl/worksheets/sheet1.xml": `<worksheet ` + ns + `><sheetData>` + sheetData + `</sheetData></worksheet>`,
	})
}

func inlineRow(n int, cells ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<row r="%d">`, n)
	for i, c := range cells {
		fmt.Fprintf(&b, `<c r="%c%d" t="inlineStr"><is><t>%s</t></is></c>`, 'A'+i, n, c)
	}
	return b.String()
}

func wantLimit(t *testing.T, err error, parts ...string) {
	t.Helper()
	var le *wechat.LimitError
	if !errors.As(err, &le) {
		t.Fatalf("want a *LimitError, got %v", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("the error %q does not say %q", err, p)
		}
	}
}

// A few-KB XLSX whose rows reach the last column: formatting-only cells at
// XFD (which Excel writes) cost nothing, and a value there refuses the file
// — neither pads rows out to 16384 columns.
func TestXLSXFarRightCellsStaySparse(t *testing.T) {
	const rows = 300
	var sheet strings.Builder
	sheet.WriteString(inlineRow(1, "视频ID", "发布时间", "播放量") + `<c r="XFD1" s="0"/></row>`)
	for i := 2; i <= rows+1; i++ {
		sheet.WriteString(inlineRow(i, fmt.Sprintf("export/p%d", i), "2026/05/01 08:00:00", "12"))
		fmt.Fprintf(&sheet, `<c r="XFD%d" s="0"/></row>`, i)
	}
	data := sheetXLSX(t, sheet.String())
	if len(data) > 16<<10 {
		t.Fatalf("the workbook is %d bytes; the case is a small file", len(data))
	}
	var ex *wechat.Export
	var err error
	n := allocated(func() { ex, err = wechat.Parse("farright.xlsx", data, limitAcct, limitAt) })
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Snapshots) != rows || len(ex.Errors) != 0 {
		t.Fatalf("%d snapshots and errors %v; want %d and none", len(ex.Snapshots), ex.Errors, rows)
	}
	t.Logf("%d-byte workbook, %d rows reaching XFD: %d KiB allocated", len(data), rows, n>>10)
	// Padded rows would be 16384 strings × 16 bytes = 256 KiB each: 75 MiB.
	if n > 8<<20 {
		t.Errorf("reading a %d-byte workbook allocated %d MiB", len(data), n>>20)
	}

	bomb := sheetXLSX(t, inlineRow(1, "视频ID", "发布时间", "播放量")+`</row>`+
		inlineRow(2, "export/p2", "2026/05/01", "12")+`</row>`+
		`<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>`)
	n = allocated(func() { _, err = wechat.Parse("bomb.xlsx", bomb, limitAcct, limitAt) })
	wantLimit(t, err, "bomb.xlsx", "row 1048576, cell XFD1048576", "columns over the limit of 256")
	if n > 4<<20 {
		t.Errorf("refusing a %d-byte workbook allocated %d MiB", len(bomb), n>>20)
	}
}

// A CSV row with a million columns is refused, naming the line and column,
// without a million fields being allocated.
func TestCSVMillionColumnsRefused(t *testing.T) {
	data := []byte("视频ID,发布时间,播放量\nexport/a,2026/05/01,1" + strings.Repeat(",", 1_000_000) + "\n")
	var err error
	n := allocated(func() { _, err = wechat.Parse("wide.csv", data, limitAcct, limitAt) })
	wantLimit(t, err, "wide.csv", "line 2, column 257", "columns over the limit of 256")
	t.Logf("%d-byte CSV refused: %v (%d KiB allocated)", len(data), err, n>>10)
	// a million fields would be 16 MB of string headers alone
	if n > 4*uint64(len(data)) {
		t.Errorf("refusing a %d-byte CSV allocated %d bytes", len(data), n)
	}
	// Within the limit, a row of empty fields is no error (sparse, ignored).
	ok := []byte("视频ID,发布时间,播放量" + strings.Repeat(",", 200) + "\nexport/a,2026/05/01,1" + strings.Repeat(",", 200) + "\n")
	ex, err := wechat.Parse("ok.csv", ok, limitAcct, limitAt)
	if err != nil || len(ex.Snapshots) != 1 || len(ex.Errors) != 0 {
		t.Fatalf("%v %+v", err, ex)
	}
}

// rawEntry adds a deflated entry whose headers declare size as its
// uncompressed size, whatever it really is.
func rawEntry(t *testing.T, zw *zip.Writer, name string, body io.Reader, size uint64) {
	t.Helper()
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
	if _, err := io.Copy(fw, body); err != nil {
		t.Fatal(err)
	}
	fw.Close()
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CompressedSize64: uint64(comp.Len()), UncompressedSize64: size})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp.Bytes())
}

// A zip bomb: a sheet that inflates to 100 MB, declared honestly, and the
// same with headers that claim it is small.
func TestXLSXZipBombRefused(t *testing.T) {
	const big = 100 << 20
	head, tail := `<worksheet `+ns+`><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>`, `</t></is></c></row></sheetData></worksheet>`
	sheet := func() io.Reader {
		return io.MultiReader(strings.NewReader(head), io.LimitReader(zeroes{}, big), strings.NewReader(tail))
	}
	for _, declared := range []uint64{uint64(len(head) + big + len(tail)), 1000} {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		wb := `<workbook ` + ns + `><sheets><sheet name="s" sheetId="1"/></sheets></workbook>`
		rawEntry(t, zw, "xl/workbook.xml", strings.NewReader(wb), uint64(len(wb)))
		rawEntry(t, zw, "xl/worksheets/sheet1.xml", sheet(), declared)
		zw.Close()
		data := buf.Bytes()
		var err error
		n := allocated(func() { _, err = wechat.Parse("bomb.xlsx", data, limitAcct, limitAt) })
		if err == nil || !strings.Contains(err.Error(), "bomb.xlsx") {
			t.Errorf("declared %d: %v", declared, err)
		}
		if declared > wechat.MaxXLSXUncompressed {
			wantLimit(t, err, "bomb.xlsx", "uncompressed XLSX size", "67108864")
		}
		t.Logf("declared %d: %v (%d KiB allocated)", declared, err, n>>10)
		if n > 8<<20 {
			t.Errorf("declared %d: refusing a %d-byte XLSX allocated %d MiB", declared, len(data), n>>20)
		}
	}
}

// Within the size bound, one XML token can still be made huge: a text of
// a megabyte, an element with 200 000 attributes. Both are refused before
// encoding/xml builds them.
func TestXLSXHugeTokensRefused(t *testing.T) {
	for _, c := range []struct{ name, sheet, want string }{
		{"text", inlineRow(1, strings.Repeat("视", 1<<20/3)) + `</row>`, "length of one XML text"},
		{"attributes", `<row r="1"><c r="A1"` + strings.Repeat(` x="1"`, 200_000) + `><v>1</v></c></row>`, "length of one XML tag"},
	} {
		data := sheetXLSX(t, c.sheet)
		var err error
		n := allocated(func() { _, err = wechat.Parse(c.name+".xlsx", data, limitAcct, limitAt) })
		wantLimit(t, err, c.name+".xlsx", "part xl/worksheets/sheet1.xml", c.want)
		if n > 4<<20 {
			t.Errorf("%s: refusing a %d-byte XLSX allocated %d MiB", c.name, len(data), n>>20)
		}
	}
}

type zeroes struct{}

func (zeroes) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}

// A drop folder with a file over the size limit: it is refused at once,
// reported once, naming the file and the limit; the export beside it is
// imported.
func TestWatcherRefusesOversizedFile(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join("testdata", "export", "amb01_视频号_单篇视频_20260510_143000.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "amb01_视频号_单篇视频_20260510_143000.csv"), good, 0o644); err != nil {
		t.Fatal(err)
	}
	big := append(append([]byte{}, good...), bytes.Repeat([]byte("\n"), wechat.MaxExportSize)...)
	if err := os.WriteFile(filepath.Join(dir, "amb02_视频号_单篇视频_20260510_150000.csv"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	col := &collector{}
	// A grace of an hour: a file over a limit is not one to wait for.
	w := newWatcher(t, dir, col, 40*time.Millisecond, time.Hour)
	stop := runWatcher(t, w)
	waitFor(t, "the good export and the refusal", 5*time.Second, func() bool { got, fails := col.got(); return len(got) == 1 && len(fails) == 1 })
	time.Sleep(200 * time.Millisecond)
	stop()
	got, fails := col.got()
	if len(got) != 1 || len(fails) != 1 || len(got[0].Snapshots) == 0 {
		t.Fatalf("%d exports, failures %v", len(got), fails)
	}
	for _, want := range []string{"amb02_视频号_单篇视频_20260510_150000.csv", "file size in bytes over the limit of 16777216 (got 16"} {
		if !strings.Contains(fails[0], want) {
			t.Errorf("the failure %q does not say %q", fails[0], want)
		}
	}
	// `tongxin import` refuses it the same way and reads the other file.
	snaps, errs := wechat.ImportFiles(t.Context(), []string{dir}, builtinRoster(t), wechat.ImportOptions{})
	if len(snaps) != len(got[0].Snapshots) || len(errs) != 1 {
		t.Fatalf("import: %d snapshots, errors %v", len(snaps), errs)
	}
	wantLimit(t, errs[0], "amb02_视频号_单篇视频_20260510_150000.csv", "file size")
}

// Thousands of tiny zip entries (each costs the zip reader a few hundred
// bytes to list) are refused before they are listed.
func TestXLSXTooManyEntriesRefused(t *testing.T) {
	parts := map[string]string{
		"xl/workbook.xml":          `<workbook ` + ns + `><sheets><sheet name="s" sheetId="1"/></sheets></workbook>`,
		"xl/worksheets/sheet1.xml": `<worksheet ` + ns + `><sheetData/></worksheet>`,
	}
	for i := range 5000 {
		parts[fmt.Sprintf("x/%d", i)] = ""
	}
	data := zipOf(t, parts)
	var err error
	n := allocated(func() { _, err = wechat.Parse("many.xlsx", data, limitAcct, limitAt) })
	wantLimit(t, err, "many.xlsx", "zip entries in an XLSX over the limit of 1000 (got 5002)")
	if n > 64<<10 {
		t.Errorf("refusing %d entries allocated %d KiB", len(parts), n>>10)
	}
}
