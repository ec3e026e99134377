package report

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tongxin/tongxin/report/reporttest"
)

// printed is one number the HTML prints, with the query it says it came from.
type printed struct {
	query, key, field, format, text string
}

var numRe = regexp.MustCompile(`<(?:span|text) class="n" data-q="([^"]*)" data-k="([^"]*)" data-f="([^"]*)" data-fmt="([^"]*)"[^>]*>([^<]*)<`)

func unescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`).Replace(s)
}

func printedNumbers(html []byte) []printed {
	var out []printed
	for _, m := range numRe.FindAllStringSubmatch(string(html), -1) {
		out = append(out, printed{unescape(m[1]), unescape(m[2]), unescape(m[3]), m[4], unescape(m[5])})
	}
	return out
}

// matches says whether text is how a reader would print v in format f:
// parsed back from the text, independently of the report's formatter.
func matches(text string, v any, f string) error {
	x, isNum := Number(v)
	if !isNum {
		if text != "—" {
			return fmt.Errorf("printed %q for NULL", text)
		}
		return nil
	}
	t := strings.ReplaceAll(text, ",", "")
	unit, tol := 1.0, 0.5
	switch {
	case f == "wan" && strings.HasSuffix(t, "万"):
		t, unit, tol = strings.TrimSuffix(t, "万"), 1e4, 0.05
	case f == "pct" || f == "spct":
		t, unit, tol = strings.TrimPrefix(strings.TrimSuffix(t, "%"), "+"), 0.01, 0.05
		if f == "spct" && x >= 0 && !strings.HasPrefix(text, "+") {
			return fmt.Errorf("change %q lacks its + sign", text)
		}
	case f == "dec":
		tol = 0.05
	case f == "sint" && math.Round(x) > 0 && !strings.HasPrefix(text, "+"):
		return fmt.Errorf("difference %q lacks its + sign", text)
	}
	y, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return fmt.Errorf("printed %q is not a number", text)
	}
	if math.Abs(y-x/unit) > tol+1e-9 {
		return fmt.Errorf("printed %q, the query gives %v", text, v)
	}
	if (f == "int" || f == "sint") && y != math.Round(x) {
		return fmt.Errorf("printed %q, the query gives %v", text, v)
	}
	return nil
}

func TestDailyReportNumbersAndRendering(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the ClickHouse engine and chromium; skipped with -short")
	}
	date := time.Date(2026, 11, 22, 0, 0, 0, 0, Beijing)
	s := reporttest.Seed(t, 7, time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC))
	ctx := context.Background()
	cfg := DefaultConfig()
	p := NewPeriod(Daily, date)
	if _, err := Publish(ctx, s.Conn, cfg, p, time.Now()); err != nil {
		t.Fatal(err)
	}
	r, err := Build(ctx, s.Conn, cfg, p, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if keep := os.Getenv("TONGXIN_REPORT_KEEP"); keep != "" {
		dir = keep
	}
	files, err := Write(ctx, r, dir)
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(files.HTML)
	if err != nil {
		t.Fatal(err)
	}
	card, err := os.ReadFile(files.CardHTML)
	if err != nil {
		t.Fatal(err)
	}

	// Every printed number equals a fresh run of the query it names.
	seen := checkNumbers(t, ctx, s.Conn, p, cfg, html, card)
	for _, want := range []string{"platform_totals", "topic_progress", "top_posts", "posts_100k", "ambassador_ranking",
		"community_ranking", "roster_summary", "freshness", "published_ranking", "amplifications", "amplification_totals"} {
		if !seen[want] {
			t.Errorf("no number of query %s printed", want)
		}
	}
	// The seeded day is a real one: posts moved, and so did the topic.
	tot := r.Find("platform_totals", "")
	if x, _ := Number(tot.Get("engagement_inc")); x <= 0 {
		t.Errorf("the seeded day gained no engagement: %v", tot.Vals)
	}
	if len(r.Rows["top_posts"]) != 10 {
		t.Errorf("TOP10 has %d posts", len(r.Rows["top_posts"]))
	}

	// The PDF prints the same numbers (its text, as pdftotext reads it).
	pdfText := pdfToText(t, files.PDF)
	missing := 0
	for _, n := range printedNumbers(html) {
		if !strings.Contains(pdfText, n.text) {
			missing++
			if missing < 5 {
				t.Errorf("the PDF lacks %s[%s].%s = %q", n.query, n.key, n.field, n.text)
			}
		}
	}
	for _, want := range []string{"传播日报", "各平台数据", "未发布", "官方号助推"} {
		if !strings.Contains(pdfText, want) {
			t.Errorf("the PDF text lacks %q", want)
		}
	}

	checkRendering(t, ctx, files, filepath.Join(dir, "pages"))

	// The weekly report (Monday 2026-11-16 to Sunday 2026-11-22) prints its
	// own numbers the same way.
	wp := NewPeriod(Weekly, date)
	if wp.First.Format("2006-01-02") != "2026-11-16" || wp.Days() != 7 {
		t.Fatalf("the week of %s starts %s and has %d days", date.Format("2006-01-02"), wp.First.Format("2006-01-02"), wp.Days())
	}
	if _, err := Publish(ctx, s.Conn, cfg, wp, time.Now()); err != nil {
		t.Fatal(err)
	}
	wr, err := Build(ctx, s.Conn, cfg, wp, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wpage, err := wr.HTML()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(wpage), "传播周报") || !strings.Contains(string(wpage), "周增") {
		t.Error("the weekly report does not call itself 周报 with 周增")
	}
	seen = checkNumbers(t, ctx, s.Conn, wp, cfg, wpage)
	if !seen["published_ranking"] {
		t.Error("the weekly report prints no 周榜")
	}
	// 官方号助推: the week's official reposts, each a row of the section,
	// as many as the scenario made in the week.
	reposts := 0
	for _, rp := range s.Scenario.Reposts {
		if !rp.RepostedAt.Before(wp.From) && rp.RepostedAt.Before(wp.To) {
			reposts++
		}
	}
	if reposts == 0 || len(wr.Rows["amplifications"]) != reposts || !seen["amplifications"] || !seen["amplification_totals"] {
		t.Errorf("the week had %d official reposts; the 周报 lists %d (numbers printed: %v, totals %v)",
			reposts, len(wr.Rows["amplifications"]), seen["amplifications"], seen["amplification_totals"])
	}
	if !strings.Contains(string(wpage), "官方号助推") {
		t.Error("the weekly report has no 官方号助推 section")
	}
}

func pdfToText(t *testing.T, pdf string) string {
	t.Helper()
	out, err := exec.Command("pdftotext", "-layout", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext %s: %v (make tools installs poppler-utils)", pdf, err)
	}
	// pdftotext may break a long table line; numbers stay whole.
	return string(out)
}

// checkNumbers checks every number printed in the pages against a fresh
// run of the query it names, and returns the queries seen.
func checkNumbers(t *testing.T, ctx context.Context, conn driver.Conn, p Period, cfg Config, pages ...[]byte) map[string]bool {
	t.Helper()
	qs, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	fresh := map[string][]Row{}
	var nums []printed
	for _, page := range pages {
		nums = append(nums, printedNumbers(page)...)
	}
	if len(nums) < 100 {
		t.Fatalf("only %d marked numbers in the HTML", len(nums))
	}
	seen := map[string]bool{}
	for _, n := range nums {
		q, ok := qs[n.query]
		if !ok {
			t.Fatalf("number %q names query %q, which does not exist", n.text, n.query)
		}
		if _, ok := fresh[n.query]; !ok {
			rows, err := Run(ctx, conn, q, p.Params(cfg))
			if err != nil {
				t.Fatal(err)
			}
			fresh[n.query] = rows
		}
		var row *Row
		for i := range fresh[n.query] {
			if fresh[n.query][i].Key == n.key {
				row = &fresh[n.query][i]
			}
		}
		if row == nil {
			t.Errorf("%s: no row %q for printed %q", n.query, n.key, n.text)
			continue
		}
		v, ok := row.Vals[n.field]
		if !ok {
			t.Errorf("%s: no column %s", n.query, n.field)
			continue
		}
		if err := matches(n.text, v, n.format); err != nil {
			t.Errorf("%s[%s].%s: %v", n.query, n.key, n.field, err)
		}
		seen[n.query] = true
	}
	return seen
}
