package report

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

// checkRendering looks at the pictures as a reader would: the card PNG, a
// screenshot of the HTML page and the PDF's pages rendered by pdftoppm.
// In each, the title in the red band must be CJK glyphs (many different
// shapes, not a row of identical .notdef boxes) and the charts must be drawn
// (pixels of every platform's colour).
func checkRendering(t *testing.T, ctx context.Context, files Files, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := FindChromium("")
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "page.png")
	if err := Screenshot(ctx, bin, files.HTML, page, 1000, 3200); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftoppm", "-r", "80", "-png", files.PDF, filepath.Join(dir, "pdf")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s (make tools installs poppler-utils)", err, out)
	}
	pdfPages, _ := filepath.Glob(filepath.Join(dir, "pdf-*.png"))
	sort.Strings(pdfPages)
	if len(pdfPages) == 0 {
		t.Fatal("pdftoppm rendered no page")
	}
	for _, c := range []struct {
		name   string
		pages  []string
		colors int // how many platform colours the pictures must show
	}{
		{"card", []string{files.PNG}, 3},
		{"page", []string{page}, 3},
		{"pdf", pdfPages, 3},
	} {
		imgs := make([]image.Image, len(c.pages))
		for i, p := range c.pages {
			imgs[i] = readPNG(t, p)
		}
		shapes, err := titleGlyphShapes(imgs[0])
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		} else if shapes < 8 {
			t.Errorf("%s: the title shows %d distinct glyph shapes; CJK text would show about 10 (boxes: 1)", c.name, shapes)
		}
		for _, p := range platformOrder {
			want := hexColor(platformColors[p])
			n := 0
			for _, img := range imgs {
				n += countColor(img, want, 14)
			}
			if n < 150 {
				t.Errorf("%s: %d pixels of %s's chart colour %s: the chart is not drawn", c.name, n, p, platformColors[p])
			}
		}
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func hexColor(s string) color.RGBA {
	var r, g, b uint8
	fmt.Sscanf(s, "#%02x%02x%02x", &r, &g, &b)
	return color.RGBA{r, g, b, 255}
}

func near(c color.Color, want color.RGBA, tol int) bool {
	r, g, b, _ := c.RGBA()
	d := func(x uint32, y uint8) int {
		v := int(x>>8) - int(y)
		if v < 0 {
			return -v
		}
		return v
	}
	return d(r, want.R) <= tol && d(g, want.G) <= tol && d(b, want.B) <= tol
}

func countColor(img image.Image, want color.RGBA, tol int) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if near(img.At(x, y), want, tol) {
				n++
			}
		}
	}
	return n
}

var bandColor = hexColor("#b3261e")

// titleGlyphShapes finds the red header band at the top of img, takes its
// first line of light ink (the title), cuts it into blobs at empty columns
// and counts the distinct blob shapes (each blob's size and a coarse 6×6
// ink grid). Real CJK glyphs differ from each other; missing glyphs are all
// the same .notdef box.
func titleGlyphShapes(img image.Image) (int, error) {
	b := img.Bounds()
	isBand := func(x, y int) bool { return near(img.At(x, y), bandColor, 16) }
	ink := func(x, y int) bool {
		r, g, bl, _ := img.At(x, y).RGBA()
		return r>>8 > 200 && g>>8 > 170 && bl>>8 > 170
	}
	// The band: the first rows mostly of the band colour (the PDF has
	// margins around it); the title is looked for between its edges.
	top, bottom, left, right := -1, -1, b.Max.X, b.Min.X
	for y := b.Min.Y; y < b.Min.Y+b.Dy()/2; y++ {
		n, l, r := 0, b.Max.X, b.Min.X
		for x := b.Min.X; x < b.Max.X; x++ {
			if isBand(x, y) {
				n, l, r = n+1, min(l, x), max(r, x)
			}
		}
		if n > b.Dx()/2 {
			if top < 0 {
				top = y
			}
			bottom, left, right = y, min(left, l), max(right, r)
		} else if top >= 0 {
			break
		}
	}
	if top < 0 || bottom-top < 20 {
		return 0, fmt.Errorf("no red title band at the top")
	}
	b = image.Rect(left, top, right+1, bottom+1)
	// The title: the first run of rows with ink.
	rowInk := func(y int) bool {
		for x := b.Min.X; x < b.Max.X; x++ {
			if ink(x, y) {
				return true
			}
		}
		return false
	}
	y0 := top
	for y0 <= bottom && !rowInk(y0) {
		y0++
	}
	y1 := y0
	for y1 <= bottom && rowInk(y1) {
		y1++
	}
	if y1-y0 < 8 {
		return 0, fmt.Errorf("no title text in the band (ink rows %d–%d)", y0, y1)
	}
	colInk := func(x int) bool {
		for y := y0; y < y1; y++ {
			if ink(x, y) {
				return true
			}
		}
		return false
	}
	shapes := map[string]bool{}
	for x := b.Min.X; x < b.Max.X; {
		if !colInk(x) {
			x++
			continue
		}
		x0 := x
		for x < b.Max.X && colInk(x) {
			x++
		}
		w, h := x-x0, y1-y0
		if w < 3 {
			continue
		}
		key := fmt.Sprintf("%d×%d:", w*6/h, 0)
		for gy := 0; gy < 6; gy++ {
			for gx := 0; gx < 6; gx++ {
				n, tot := 0, 0
				for y := y0 + gy*h/6; y < y0+(gy+1)*h/6; y++ {
					for xx := x0 + gx*w/6; xx < x0+(gx+1)*w/6; xx++ {
						tot++
						if ink(xx, y) {
							n++
						}
					}
				}
				if tot > 0 && n*3 > tot {
					key += "#"
				} else {
					key += "."
				}
			}
		}
		shapes[key] = true
	}
	return len(shapes), nil
}

// The glyph check can fail: a title of code points no font has (they render
// as the same .notdef box, or not at all) is refused, and the same page
// with CJK text is accepted.
func TestTitleGlyphCheckRefusesBoxes(t *testing.T) {
	if testing.Short() {
		t.Skip("needs chromium; skipped with -short")
	}
	bin, err := FindChromium("")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		title string
		ok    bool
	}{
		{"\U000F0001\U000F0002\U000F0003\U000F0004\U000F0005\U000F0006\U000F0007\U000F0008\U000F0009\U000F000A", false},
		{"同心西山·寻美西山传播日报", true},
	} {
		page := filepath.Join(dir, "t.html")
		html := `<!DOCTYPE html><meta charset="utf-8"><style>` + styleCSS + `</style><header class="band"><h1>` + c.title + `</h1><p>x</p></header>`
		if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
			t.Fatal(err)
		}
		shot := filepath.Join(dir, "t.png")
		if err := Screenshot(context.Background(), bin, page, shot, 800, 300); err != nil {
			t.Fatal(err)
		}
		n, err := titleGlyphShapes(readPNG(t, shot))
		if got := err == nil && n >= 8; got != c.ok {
			t.Errorf("title %q: %d shapes (%v); accepted %v, want %v", c.title, n, err, got, c.ok)
		}
	}
}
