package simulator

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tongxin/tongxin/snapshot"
)

// WeChat Channels has no open API. The simulator offers what tongxin reads
// instead:
//   - a data vendor's JSON feed (the shape documented in ingest/wechat):
//     GET /wechat_channels/v1/accounts/{finder_id}/posts and
//     POST /wechat_channels/v1/stats, authenticated by X-Api-Key;
//   - the creator console's export file, written by WriteExport.

// WeChatFeedKey is the API key the simulated vendor feed accepts.
const WeChatFeedKey = "sim-wechat-feed-key"

// Limits of the simulated feed.
const (
	wcMaxPage  = 50
	wcDefPage  = 20
	wcMaxBatch = 50
)

var wcRequests atomic.Uint64

// chinaZone is the console's time zone.
var chinaZone = time.FixedZone("CST", 8*3600)

func (s *Server) mountWeChat(mux *http.ServeMux) {
	mux.HandleFunc("GET /wechat_channels/v1/accounts/{finder_id}/posts", s.wcList)
	mux.HandleFunc("POST /wechat_channels/v1/stats", s.wcStats)
}

// wcStatsJSON is a post's counters as the feed gives them.
type wcStatsJSON struct {
	Play           int64    `json:"play"`
	Like           int64    `json:"like"`
	Comment        int64    `json:"comment"`
	Share          int64    `json:"share"`
	Forward        int64    `json:"forward"`
	Recommend      int64    `json:"recommend"`
	CompletionRate *float64 `json:"completion_rate"`
	AvgPlaySeconds *float64 `json:"avg_play_seconds"`
}

type wcPostJSON struct {
	ExportID    string      `json:"export_id"`
	FinderID    string      `json:"finder_id"`
	Description string      `json:"description"`
	PublishedAt string      `json:"published_at"`
	Stats       wcStatsJSON `json:"stats"`
}

func wcStatsOf(c Counters) wcStatsJSON {
	st := wcStatsJSON{Play: c.Plays, Like: c.Likes, Comment: c.Comments, Share: c.Shares, Forward: c.Forwards, Recommend: c.Recommends}
	if c.Plays > 0 { // no plays, no watch statistics
		rate, avg := c.CompletionRate, c.AvgWatchSeconds
		st.CompletionRate, st.AvgPlaySeconds = &rate, &avg
	}
	return st
}

func (s *Server) wcPost(p *Post, at time.Time) wcPostJSON {
	return wcPostJSON{ExportID: p.PostID, FinderID: p.AccountID, Description: p.Title,
		PublishedAt: p.PublishedAt.UTC().Format(time.RFC3339), Stats: wcStatsOf(s.Observe(p, at))}
}

// wcBegin draws the request's fault and checks its key. It returns the
// request id, or "" when it has answered already.
func (s *Server) wcBegin(w http.ResponseWriter, r *http.Request) string {
	rid := fmt.Sprintf("wcf-%d-%06d", s.Scenario.Seed, wcRequests.Add(1))
	w.Header().Set("X-Request-Id", rid)
	fault := s.Draw(snapshot.WeChatChannels)
	switch fault {
	case FaultRateLimit:
		w.Header().Set("Retry-After", "2")
		wcError(w, rid, http.StatusTooManyRequests, "rate_limited", "too many requests for this API key; slow down")
		return ""
	case FaultServerError:
		switch rid[len(rid)-1] % 3 {
		case 0:
			wcError(w, rid, http.StatusInternalServerError, "internal_error", "internal error")
		case 1:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n")
		default:
			w.Header().Set("Retry-After", "5")
			wcError(w, rid, http.StatusServiceUnavailable, "upstream_unavailable", "the console did not answer; try again later")
		}
		return ""
	case FaultTimeout:
		Hang(w, r)
		return ""
	case FaultExpire:
		// The vendor's console session for the account lapsed; it logs in
		// again by itself.
		w.Header().Set("Retry-After", "5")
		wcError(w, rid, http.StatusUnauthorized, "session_expired", "the console session for this account expired and is being renewed; retry shortly")
		return ""
	}
	switch key := r.Header.Get("X-Api-Key"); {
	case key == "":
		wcError(w, rid, http.StatusUnauthorized, "missing_api_key", "send the API key in the X-Api-Key header")
		return ""
	case key != WeChatFeedKey:
		wcError(w, rid, http.StatusUnauthorized, "invalid_api_key", "the API key is not valid")
		return ""
	}
	if fault == FaultMalformed {
		s.wcMalformed(w, r, rid)
		return ""
	}
	return rid
}

// wcMalformed answers 200 with a body that is not the documented shape.
func (s *Server) wcMalformed(w http.ResponseWriter, r *http.Request, rid string) {
	w.Header().Set("Content-Type", "application/json")
	switch rid[len(rid)-1] % 4 {
	case 0: // cut off mid-way
		fmt.Fprintf(w, `{"request_id":%q,"posts":[{"export_id":"export/UzFfAgtgekIEAQAAAAAA","stats":{"play":12`, rid)
	case 1: // the list is an object
		fmt.Fprintf(w, `{"request_id":%q,"posts":{"export_id":"export/UzFfAgtgekIEAQAAAAAA"},"stats":{"play":"many"},"has_more":false}`, rid)
	case 2: // a counter as the console displays it
		fmt.Fprintf(w, `{"request_id":%q,"posts":[{"export_id":"export/UzFfAgtgekIEAQAAAAAA","published_at":"2026-05-01T08:00:00Z","stats":{"play":"1.2万"}}],"stats":[{"export_id":"export/UzFfAgtgekIEAQAAAAAA","published_at":"2026-05-01T08:00:00Z","stats":{"play":"1.2万"}}],"has_more":false,"next_cursor":""}`, rid)
	default: // an HTML login page with status 200
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<!DOCTYPE html><html><head><title>视频号助手</title></head><body>请使用微信扫码登录</body></html>")
	}
}

func wcError(w http.ResponseWriter, rid string, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg, "request_id": rid}})
}

func wcJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) wcAccount(finder string) bool {
	for _, a := range s.Scenario.Accounts(snapshot.WeChatChannels) {
		if a == finder {
			return true
		}
	}
	return false
}

// wcNewestFirst orders posts by published time, then id, newest first: the
// order the cursor walks.
func wcNewestFirst(ps []*Post) []*Post {
	out := append([]*Post(nil), ps...)
	sort.Slice(out, func(i, j int) bool {
		if !out[i].PublishedAt.Equal(out[j].PublishedAt) {
			return out[i].PublishedAt.After(out[j].PublishedAt)
		}
		return out[i].PostID > out[j].PostID
	})
	return out
}

func (s *Server) wcList(w http.ResponseWriter, r *http.Request) {
	rid := s.wcBegin(w, r)
	if rid == "" {
		return
	}
	finder := r.PathValue("finder_id")
	if !s.wcAccount(finder) {
		wcError(w, rid, http.StatusNotFound, "account_not_found", "no WeChat Channels account "+strconv.Quote(finder)+" in this feed")
		return
	}
	limit := wcDefPage
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > wcMaxPage {
			wcError(w, rid, http.StatusBadRequest, "invalid_request", fmt.Sprintf("limit must be 1 to %d", wcMaxPage))
			return
		}
		limit = n
	}
	now := s.Clock.Now()
	posts := wcNewestFirst(s.Scenario.PostsOf(snapshot.WeChatChannels, finder, now))
	start := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		pub, id, err := wcDecodeCursor(c)
		if err != nil {
			wcError(w, rid, http.StatusBadRequest, "invalid_cursor", "the cursor is not one this feed gave out")
			return
		}
		start = len(posts)
		for i, p := range posts {
			if p.PublishedAt.Before(pub) || (p.PublishedAt.Equal(pub) && p.PostID < id) {
				start = i
				break
			}
		}
	}
	end := min(start+limit, len(posts))
	page := struct {
		Posts      []wcPostJSON `json:"posts"`
		NextCursor string       `json:"next_cursor"`
		HasMore    bool         `json:"has_more"`
		RequestID  string       `json:"request_id"`
	}{Posts: []wcPostJSON{}, RequestID: rid}
	for _, p := range posts[start:end] {
		page.Posts = append(page.Posts, s.wcPost(p, now))
	}
	if end < len(posts) {
		last := posts[end-1]
		page.HasMore, page.NextCursor = true, wcEncodeCursor(last.PublishedAt, last.PostID)
	}
	wcJSON(w, page)
}

func wcEncodeCursor(pub time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1|" + strconv.FormatInt(pub.Unix(), 10) + "|" + id))
}

func wcDecodeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", err
	}
	parts := strings.SplitN(string(b), "|", 3)
	if len(parts) != 3 || parts[0] != "v1" {
		return time.Time{}, "", errors.New("bad cursor")
	}
	sec, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return time.Time{}, "", err
	}
	return time.Unix(sec, 0).UTC(), parts[2], nil
}

func (s *Server) wcStats(w http.ResponseWriter, r *http.Request) {
	// Read the body first: only then does net/http notice a client that
	// gives up (the timeout fault hangs until it does).
	body, rerr := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rid := s.wcBegin(w, r)
	if rid == "" {
		return
	}
	var req struct {
		FinderID  string   `json:"finder_id"`
		ExportIDs []string `json:"export_ids"`
	}
	if err := json.Unmarshal(body, &req); rerr != nil || err != nil {
		wcError(w, rid, http.StatusBadRequest, "invalid_request", "the body must be {\"finder_id\":…,\"export_ids\":[…]}")
		return
	}
	switch {
	case len(req.ExportIDs) == 0:
		wcError(w, rid, http.StatusBadRequest, "invalid_request", "export_ids is empty")
		return
	case len(req.ExportIDs) > wcMaxBatch:
		wcError(w, rid, http.StatusBadRequest, "too_many_ids", fmt.Sprintf("at most %d export_ids per request", wcMaxBatch))
		return
	}
	if req.FinderID != "" && !s.wcAccount(req.FinderID) {
		wcError(w, rid, http.StatusNotFound, "account_not_found", "no WeChat Channels account "+strconv.Quote(req.FinderID)+" in this feed")
		return
	}
	now := s.Clock.Now()
	out := struct {
		Stats     []wcPostJSON `json:"stats"`
		Missing   []string     `json:"missing"`
		RequestID string       `json:"request_id"`
	}{Stats: []wcPostJSON{}, Missing: []string{}, RequestID: rid}
	seen := map[string]bool{}
	for _, id := range req.ExportIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		p, ok := s.Scenario.Post(snapshot.WeChatChannels, id)
		if !ok || !p.VisibleAt(now) || (req.FinderID != "" && p.AccountID != req.FinderID) {
			out.Missing = append(out.Missing, id)
			continue
		}
		out.Stats = append(out.Stats, s.wcPost(p, now))
	}
	wcJSON(w, out)
}

// WeChatExportColumns are the console export's columns, all of them, in its
// order (视频号助手 → 数据中心 → 视频数据 → 单篇视频 → 下载表格). The last
// four concern a WeCom (企业微信) link on the video and are blank without one.
var WeChatExportColumns = []string{"视频描述", "视频ID", "发布时间", "完播率", "平均播放时长", "播放量", "推荐", "喜欢", "评论量", "分享量",
	"关注量", "转发聊天和朋友圈", "设为铃声", "设为状态", "设为朋友圈封面", "企微链接点击次数", "企微链接点击人数", "添加到通讯录次数", "添加到通讯录人数"}

// WeChatExportDate is how the console writes 发布时间: the China date only.
const WeChatExportDate = "2006/01/02"

// WriteExport writes the creator console's export of one WeChat Channels
// account as it stands at `at`: every post visible then, newest first,
// with the counters Observe gives, in the console's columns
// (WeChatExportColumns) and formats: 发布时间 the China date only
// ("2026/05/09"), 完播率 "4.41%", 平均播放时长 "14.73秒", "-" for both
// while a post has no plays. account is the finder id or the ambassador id;
// format is "csv" (the console's own download: UTF-8 with BOM) or "xlsx"
// (the same table as Excel saves it: numbers, percentages and dates as
// numeric cells). The file is named
// <ambassador>_视频号_单篇视频_<YYYYMMDD_HHMMSS China time>.<format> in dir,
// appears at once (written aside, then renamed, as a browser download
// does), and has `at` as its modification time.
func (s *Server) WriteExport(dir, account string, at time.Time, format string) (string, error) {
	finder, amb, err := s.wcResolve(account)
	if err != nil {
		return "", err
	}
	format = strings.ToLower(strings.TrimPrefix(format, "."))
	if format == "" {
		format = "csv"
	}
	at = at.UTC().Truncate(time.Second)
	posts := wcNewestFirst(s.Scenario.PostsOf(snapshot.WeChatChannels, finder, at))
	rows := make([]wcExportRow, 0, len(posts))
	for _, p := range posts {
		rows = append(rows, wcExportRow{post: p, c: s.Observe(p, at)})
	}
	var data []byte
	switch format {
	case "csv":
		data, err = wcExportCSV(rows)
	case "xlsx":
		data, err = wcExportXLSX(rows)
	default:
		return "", fmt.Errorf("simulator: export format %q: want csv or xlsx", format)
	}
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("simulator: %w", err)
	}
	name := amb + "_视频号_单篇视频_" + at.In(chinaZone).Format("20060102_150405") + "." + format
	path := filepath.Join(dir, name)
	tmp := path + ".crdownload"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return "", fmt.Errorf("simulator: %w", err)
	}
	if err := os.Chtimes(tmp, at, at); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("simulator: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("simulator: %w", err)
	}
	return path, nil
}

// wcResolve finds the finder id and the ambassador id of an account.
func (s *Server) wcResolve(account string) (finder, amb string, err error) {
	for _, a := range s.Scenario.Accounts(snapshot.WeChatChannels) {
		ps := s.Scenario.byAccount[snapshot.WeChatChannels+":"+a]
		if len(ps) == 0 {
			continue
		}
		if a == account || ps[0].AmbassadorID == account {
			return a, ps[0].AmbassadorID, nil
		}
	}
	return "", "", fmt.Errorf("simulator: no WeChat Channels account %q (give a finder id or an ambassador id)", account)
}

type wcExportRow struct {
	post *Post
	c    Counters
}

// follows is the 关注量 column, which tongxin does not read.
func (r wcExportRow) follows() int64 { return r.c.Likes / 20 }

func wcExportCSV(rows []wcExportRow) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	cw := csv.NewWriter(&buf)
	cw.Write(WeChatExportColumns)
	for _, r := range rows {
		rate, avg := "-", "-"
		if r.c.Plays > 0 {
			rate = strconv.FormatFloat(r.c.CompletionRate*100, 'f', 2, 64) + "%"
			avg = strconv.FormatFloat(r.c.AvgWatchSeconds, 'f', -1, 64) + "秒"
		}
		n := func(v int64) string { return strconv.FormatInt(v, 10) }
		cw.Write([]string{
			r.post.Title, r.post.PostID, r.post.PublishedAt.In(chinaZone).Format(WeChatExportDate),
			rate, avg, n(r.c.Plays), n(r.c.Recommends), n(r.c.Likes), n(r.c.Comments), n(r.c.Shares),
			n(r.follows()), n(r.c.Forwards), "0", "0", "0", "", "", "", "",
		})
	}
	cw.Flush()
	return buf.Bytes(), cw.Error()
}

// XLSXCell is one cell of a sheet WriteXLSX writes (see XLSXText and the others).
type XLSXCell struct {
	str   string
	num   float64
	isNum bool
	style int // 0 general, 1 percent, 2 date and time
}

func wcExportXLSX(rows []wcExportRow) ([]byte, error) {
	var table [][]XLSXCell
	var head []XLSXCell
	for _, c := range WeChatExportColumns {
		head = append(head, XLSXCell{str: c})
	}
	table = append(table, head)
	num := func(v int64) XLSXCell { return XLSXCell{num: float64(v), isNum: true} }
	for _, r := range rows {
		rate, avg := XLSXCell{str: "-"}, XLSXCell{str: "-"}
		if r.c.Plays > 0 {
			// what Excel makes of the console's "6.06%": 0.0606 shown as a percentage
			rate = XLSXCell{num: math.Round(r.c.CompletionRate*1e4) / 1e4, isNum: true, style: 1}
			avg = XLSXCell{str: strconv.FormatFloat(r.c.AvgWatchSeconds, 'f', -1, 64) + "秒"}
		}
		// what Excel makes of "2026/05/09": the day's serial, shown as a date
		pub := r.post.PublishedAt.In(chinaZone)
		day := time.Date(pub.Year(), pub.Month(), pub.Day(), 0, 0, 0, 0, time.UTC).Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)).Hours() / 24
		table = append(table, []XLSXCell{
			{str: r.post.Title}, {str: r.post.PostID}, {num: day, isNum: true, style: 3},
			rate, avg, num(r.c.Plays), num(r.c.Recommends), num(r.c.Likes), num(r.c.Comments), num(r.c.Shares),
			num(r.follows()), num(r.c.Forwards), num(0), num(0), num(0),
		})
	}
	return WriteXLSX("单篇视频", table)
}

// WriteXLSX builds a one-sheet workbook with the standard library: shared
// strings, numbers, and three number formats (style 1 "0.00%", style 2
// "yyyy/mm/dd hh:mm:ss", style 3 the built-in short date). A row may be
// shorter than others; its missing cells are not written.
func WriteXLSX(sheet string, table [][]XLSXCell) ([]byte, error) {
	var shared []string
	index := map[string]int{}
	var sh bytes.Buffer
	sh.WriteString(xml.Header + `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheetData>`)
	for i, row := range table {
		fmt.Fprintf(&sh, `<row r="%d">`, i+1)
		for j, c := range row {
			ref := xlsxColumn(j) + strconv.Itoa(i+1)
			if c.isNum {
				style := ""
				if c.style > 0 {
					style = fmt.Sprintf(` s="%d"`, c.style)
				}
				fmt.Fprintf(&sh, `<c r="%s"%s><v>%s</v></c>`, ref, style, strconv.FormatFloat(c.num, 'g', -1, 64))
				continue
			}
			k, ok := index[c.str]
			if !ok {
				k = len(shared)
				index[c.str] = k
				shared = append(shared, c.str)
			}
			fmt.Fprintf(&sh, `<c r="%s" t="s"><v>%d</v></c>`, ref, k)
		}
		sh.WriteString(`</row>`)
	}
	sh.WriteString(`</sheetData></worksheet>`)

	var ss bytes.Buffer
	fmt.Fprintf(&ss, xml.Header+`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">`, len(shared), len(shared))
	for _, s := range shared {
		ss.WriteString(`<si><t xml:space="preserve">`)
		xml.EscapeText(&ss, []byte(s))
		ss.WriteString(`</t></si>`)
	}
	ss.WriteString(`</sst>`)

	var sheetName bytes.Buffer
	xml.EscapeText(&sheetName, []byte(sheet))
	parts := []struct{ name, body string }{
		{"[Content_Types].xml", xml.Header + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
			`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
			`<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>` +
			`</Types>`},
		{"_rels/.rels", xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>` +
			`</Relationships>`},
		{"xl/workbook.xml", xml.Header + `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
			`<sheets><sheet name="` + sheetName.String() + `" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>` +
			`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>` +
			`</Relationships>`},
		{"xl/styles.xml", xml.Header + `<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
			`<numFmts count="1"><numFmt numFmtId="176" formatCode="yyyy/mm/dd\ hh:mm:ss"/></numFmts>` +
			`<fonts count="1"><font><sz val="11"/><name val="等线"/></font></fonts>` +
			`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
			`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
			`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
			`<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
			`<xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>` +
			`<xf numFmtId="176" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>` +
			`<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>` +
			`<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles>` +
			`</styleSheet>`},
		{"xl/worksheets/sheet1.xml", sh.String()},
		{"xl/sharedStrings.xml", ss.String()},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(f, p.body); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// XLSXText, XLSXNumber, XLSXPercent and XLSXDate make cells for WriteXLSX.
func XLSXText(s string) XLSXCell { return XLSXCell{str: s} }

func XLSXNumber(v float64) XLSXCell { return XLSXCell{num: v, isNum: true} }

func XLSXPercent(v float64) XLSXCell { return XLSXCell{num: v, isNum: true, style: 1} }

func XLSXDate(t time.Time) XLSXCell {
	return XLSXCell{num: t.In(chinaZone).Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, chinaZone)).Seconds() / 86400, isNum: true, style: 2}
}

func xlsxColumn(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}
