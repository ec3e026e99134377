package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrNoChromium says the PDF and PNG could not be made because no headless
// Chromium is installed; the HTML was still written.
var ErrNoChromium = errors.New("no headless chromium: install Debian's chromium and fonts-noto-cjk (make tools) for the PDF and PNG; the HTML was written")

// Files are the paths of one report's outputs.
type Files struct {
	HTML, CardHTML, PDF, PNG string
}

// renderTimeout bounds one Chromium run (wall clock).
const renderTimeout = 2 * time.Minute

// Write writes the report into dir as <slug>.html, <slug>-card.html,
// <slug>.pdf and <slug>.png (slug: daily-2026-12-02). The HTML files are
// written first; a missing Chromium is ErrNoChromium, with Files naming
// what was written.
func Write(ctx context.Context, r *Report, dir string) (Files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, fmt.Errorf("report output directory: %w", err)
	}
	slug := r.Period.Slug()
	f := Files{HTML: filepath.Join(dir, slug+".html"), CardHTML: filepath.Join(dir, slug+"-card.html")}
	page, err := r.HTML()
	if err != nil {
		return Files{}, fmt.Errorf("report page: %w", err)
	}
	card, err := r.CardHTML()
	if err != nil {
		return Files{}, fmt.Errorf("report card: %w", err)
	}
	if err := os.WriteFile(f.HTML, page, 0o644); err != nil {
		return Files{}, err
	}
	if err := os.WriteFile(f.CardHTML, card, 0o644); err != nil {
		return Files{HTML: f.HTML}, err
	}
	bin, err := FindChromium(r.Config.Chromium)
	if err != nil {
		return f, err
	}
	pdf, png := filepath.Join(dir, slug+".pdf"), filepath.Join(dir, slug+".png")
	if err := PrintPDF(ctx, bin, f.HTML, pdf); err != nil {
		return f, err
	}
	f.PDF = pdf
	if err := Screenshot(ctx, bin, f.CardHTML, png, CardWidth, CardHeight); err != nil {
		return f, err
	}
	f.PNG = png
	return f, nil
}

// FindChromium is the browser at path, or chromium / chromium-browser on PATH.
func FindChromium(path string) (string, error) {
	if path != "" {
		if p, err := exec.LookPath(path); err == nil {
			return p, nil
		}
		return "", fmt.Errorf("chromium %q is not an executable: %w", path, ErrNoChromium)
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// PrintPDF prints the HTML file to an A4 PDF.
func PrintPDF(ctx context.Context, chromium, htmlFile, pdf string) error {
	return runChromium(ctx, chromium, pdf, "--no-pdf-header-footer", "--print-to-pdf="+pdf, fileURL(htmlFile))
}

// Screenshot renders the HTML file into a width × height PNG.
func Screenshot(ctx context.Context, chromium, htmlFile, png string, width, height int) error {
	return runChromium(ctx, chromium, png, "--hide-scrollbars", "--screenshot="+png,
		"--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), fileURL(htmlFile))
}

func fileURL(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return "file://" + abs
}

// runChromium runs one headless Chromium in a profile of its own (so runs
// never share state) and checks that it wrote out.
func runChromium(ctx context.Context, chromium, out string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, renderTimeout)
	defer cancel()
	profile, err := os.MkdirTemp("", "tongxin-chromium-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)
	base := []string{"--headless", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--no-default-browser-check", "--disable-extensions", "--user-data-dir=" + profile}
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root with its sandbox; the page is our
		// own HTML with no script.
		base = append(base, "--no-sandbox")
	}
	_ = os.Remove(out)
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	output, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("chromium writing %s: %w\n%s", filepath.Base(out), err, tail(string(output), 800))
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		return fmt.Errorf("chromium wrote no %s:\n%s", filepath.Base(out), tail(string(output), 800))
	}
	return nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
