package wechat_test

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tongxin/tongxin/ingest/roster"
	"github.com/tongxin/tongxin/ingest/wechat"
	"github.com/tongxin/tongxin/snapshot"
)

// hand-built workbooks: what other tools (WPS, LibreOffice, scripts) write
// differently from Excel.
func zipOf(t *testing.T, parts map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range parts {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const ns = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`

func TestXLSXVariants(t *testing.T) {
	acct := roster.Account{Platform: snapshot.WeChatChannels, AccountID: "sphNME8PNY4FS9", AmbassadorID: "amb01"}
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	book := func(sheet string, extra map[string]string) map[string]string {
		parts := map[string]string{
			"xl/workbook.xml": `<workbook ` + ns + `><workbookPr date1904="1"/><sheets><sheet name="数据" sheetId="7" r:id="rId9"/><sheet name="说明" sheetId="8" r:id="rId10"/></sheets></workbook>`,
			"xl/_rels/workbook.xml.rels": `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
				`<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/data.xml"/>` +
				`<Relationship Id="rId10" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/notes.xml"/>` +
				`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="strings.xml"/>` +
				`<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`,
			"xl/strings.xml": `<sst ` + ns + `><si><t>视频ID</t></si><si><r><t>发布</t></r><r><rPr><b/></rPr><t>时间</t></r><rPh><t>はっぴょう</t></rPh></si><si><t>播放量</t></si><si><t>完播率</t></si></sst>`,
			"xl/styles.xml": `<styleSheet ` + ns + `><numFmts count="2"><numFmt numFmtId="200" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/><numFmt numFmtId="201" formatCode="0.0&quot;%&quot;;[Red]0"/></numFmts>` +
				`<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="200"/><xf numFmtId="9"/><xf numFmtId="3"/></cellXfs></styleSheet>`,
			"xl/worksheets/data.xml":  sheet,
			"xl/worksheets/notes.xml": `<worksheet ` + ns + `><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>不是这张</t></is></c></row></sheetData></worksheet>`,
		}
		for k, v := range extra {
			parts[k] = v
		}
		return parts
	}
	// Row 1: header from shared strings (one with rich-text runs and a
	// phonetic run) plus an inline string; row 3 has no r attributes; row 5
	// is empty and skipped; a date in the 1904 system with a custom CJK format.
	sheet := `<worksheet ` + ns + `><sheetData>` +
		`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="F1" t="inlineStr"><is><t>喜欢</t></is></c></row>` +
		`<row r="3"><c t="inlineStr"><is><t>export/one</t></is></c><c s="1"><v>44711.5</v></c><c s="3"><v>1234</v></c><c s="2"><v>0.0441</v></c><c/><c t="str"><v>17</v></c></row>` +
		`<row r="4"><c r="A4" t="inlineStr"><is><t>export/two</t></is></c><c r="B4" t="str"><v>2026/05/01 08:00</v></c><c r="C4"><v>1.2345E4</v></c><c r="D4" t="e"><v>#DIV/0!</v></c></row>` +
		`<row r="5"></row>` +
		`<row r="6"><c r="A6" t="inlineStr"><is><t>export/three</t></is></c><c r="B6" t="d"><v>2026-05-02T09:30:00</v></c><c r="C6"><v>5</v></c></row>` +
		`</sheetData></worksheet>`
	ex, err := wechat.Parse("variants.xlsx", zipOf(t, book(sheet, nil)), acct, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Snapshots) != 2 || len(ex.Errors) != 1 {
		t.Fatalf("%d snapshots, %d errors (%v); want 2 and 1", len(ex.Snapshots), len(ex.Errors), ex.Errors)
	}
	one := ex.Snapshots[0]
	// 44711.5 in the 1904 system is 2026-05-31 12:00 China time.
	if one.PostID != "export/one" || !one.PublishedAt.Equal(time.Date(2026, 5, 31, 4, 0, 0, 0, time.UTC)) || *one.Plays != 1234 ||
		one.CompletionRate == nil || *one.CompletionRate != 0.0441 || *one.Likes != 17 {
		t.Errorf("row 3 read as %+v published %v", one.Metrics, one.PublishedAt)
	}
	three := ex.Snapshots[1]
	if three.PostID != "export/three" || !three.PublishedAt.Equal(time.Date(2026, 5, 2, 1, 30, 0, 0, time.UTC)) || *three.Plays != 5 || three.Likes != nil {
		t.Errorf("row 6 read as %+v published %v", three.Metrics, three.PublishedAt)
	}
	if msg := ex.Errors[0].Error(); !strings.Contains(msg, "variants.xlsx: row 4, cell D4, column D (完播率): \"#DIV/0!\"") {
		t.Errorf("error %q does not name the row, cell and column", msg)
	}

	// A shared string index that does not exist, and a workbook without a sheet.
	bad := `<worksheet ` + ns + `><sheetData><row r="1"><c r="A1" t="s"><v>99</v></c></row></sheetData></worksheet>`
	if _, err := wechat.Parse("bad.xlsx", zipOf(t, book(bad, nil)), acct, at); err == nil || !strings.Contains(err.Error(), "shared string") {
		t.Errorf("bad shared string: %v", err)
	}
	if _, err := wechat.Parse("nosheet.xlsx", zipOf(t, map[string]string{"xl/workbook.xml": `<workbook ` + ns + `/>`}), acct, at); err == nil || !strings.Contains(err.Error(), "first sheet") {
		t.Errorf("no sheet: %v", err)
	}
	if _, err := wechat.Parse("notxlsx.xlsx", zipOf(t, map[string]string{"word/document.xml": "<w/>"}), acct, at); err == nil || !strings.Contains(err.Error(), "no xl/workbook.xml") {
		t.Errorf("a .docx: %v", err)
	}
}
