package qr

import (
	"bytes"
	"errors"
	"image"
	"image/draw"
	"image/png"
	"testing"

	goqr "github.com/piglig/go-qr"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

const ksefNumber = "5265877635-20250826-0100001AF629-AF"

// decodePNG reads the PNG back and checks that its size is the reported one.
func decodePNG(t *testing.T, img *Image) image.Image {
	t.Helper()
	m, err := png.Decode(bytes.NewReader(img.PNG))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	if b := m.Bounds(); b.Dx() != img.Width || b.Dy() != img.Height {
		t.Fatalf("PNG is %dx%d, Render reported %dx%d", b.Dx(), b.Dy(), img.Width, img.Height)
	}
	return m
}

func dark(m image.Image, x, y int) bool {
	r, g, b, _ := m.At(x, y).RGBA()
	return (r+g+b)/3 < 0x8000
}

// checkQuietZone requires QuietZone white modules around the symbol and the finder
// pattern's dark corner just inside it.
func checkQuietZone(t *testing.T, m image.Image, img *Image) {
	t.Helper()
	q := QuietZone * img.ModulePixels
	for y := 0; y < img.CodeWidth; y++ {
		for x := img.CodeLeft; x < img.CodeLeft+img.CodeWidth; x++ {
			inZone := y < q || y >= img.CodeWidth-q || x < img.CodeLeft+q || x >= img.CodeLeft+img.CodeWidth-q
			if inZone && dark(m, x, y) {
				t.Fatalf("dark pixel (%d,%d) in the quiet zone", x, y)
			}
		}
	}
	for _, p := range []image.Point{{q, q}, {img.CodeWidth - q - 1, q}, {q, img.CodeWidth - q - 1}} {
		if !dark(m, img.CodeLeft+p.X, p.Y) {
			t.Fatalf("finder corner (%d,%d) is not dark", img.CodeLeft+p.X, p.Y)
		}
	}
}

// scanQR decodes the QR code in the image's code square with an image decoder.
func scanQR(t *testing.T, m image.Image, img *Image) string {
	t.Helper()
	code := image.NewGray(image.Rect(0, 0, img.CodeWidth, img.CodeWidth))
	draw.Draw(code, code.Bounds(), m, image.Pt(img.CodeLeft, 0), draw.Src)
	s, err := goqr.Decode(code)
	if err != nil {
		t.Fatalf("QR code does not scan: %v", err)
	}
	return s
}

// readLabel reads the label band back by matching every character cell against the
// glyphs of the label font (an OCR for the one font the label uses).
func readLabel(t *testing.T, m image.Image, img *Image) string {
	t.Helper()
	f, k := basicfont.Face7x13, img.LabelScale
	glyph := func(r rune) [13][7]bool {
		g := image.NewGray(image.Rect(0, 0, f.Advance, f.Height))
		draw.Draw(g, g.Bounds(), image.White, image.Point{}, draw.Src)
		(&font.Drawer{Dst: g, Src: image.Black, Face: f, Dot: fixed.P(0, f.Ascent)}).DrawString(string(r))
		var out [13][7]bool
		for y := range out {
			for x := range out[y] {
				out[y][x] = g.GrayAt(x, y).Y < 128
			}
		}
		return out
	}
	// The label's extent: the dark pixels below the code.
	minX, maxX := img.Width, -1
	top := -1
	for y := img.CodeWidth; y < img.Height; y++ {
		for x := 0; x < img.Width; x++ {
			if dark(m, x, y) {
				minX, maxX = min(minX, x), max(maxX, x)
				if top < 0 {
					top = y
				}
			}
		}
	}
	if maxX < 0 {
		return ""
	}
	// Glyph cells start at the label's left edge minus the first glyph's blank columns;
	// find the alignment by trying each offset of up to one cell.
	var best string
	for off := 0; off < f.Advance*k; off += k {
		x0 := minX - off
		cells := (maxX - x0 + f.Advance*k) / (f.Advance * k)
		s := []rune{}
		ok := true
		for c := 0; c < cells && ok; c++ {
			var cell [13][7]bool
			for y := 0; y < f.Height; y++ {
				for x := 0; x < f.Advance; x++ {
					px, py := x0+(c*f.Advance+x)*k, img.CodeWidth+y*k
					cell[y][x] = px >= 0 && px < img.Width && py < img.Height && dark(m, px, py)
				}
			}
			found := false
			for r := rune(0x20); r <= 0x7e; r++ {
				if glyph(r) == cell {
					s, found = append(s, r), true
					break
				}
			}
			ok = found
		}
		if ok && len(s) > len(best) {
			best = string(s)
		}
	}
	return best
}

func TestRenderScansBackWithQuietZoneAndLabel(t *testing.T) {
	for _, label := range []string{LabelOffline, ksefNumber} {
		img, err := Render(docLink, Options{Label: label})
		if err != nil {
			t.Fatal(err)
		}
		m := decodePNG(t, img)
		if img.ModulePixels != DefaultModulePixels || img.CodeWidth != (img.Modules+2*QuietZone)*DefaultModulePixels {
			t.Fatalf("%s: module %d px, code %d px for %d modules", label, img.ModulePixels, img.CodeWidth, img.Modules)
		}
		if (img.Modules-17)%4 != 0 || img.Modules < 21 {
			t.Fatalf("%d modules is not a QR version size", img.Modules)
		}
		if img.Height <= img.CodeWidth {
			t.Fatalf("%s: no label band (height %d, code %d)", label, img.Height, img.CodeWidth)
		}
		checkQuietZone(t, m, img)
		if got := scanQR(t, m, img); got != docLink {
			t.Fatalf("scanned %q, want %q", got, docLink)
		}
		if got := readLabel(t, m, img); got != label {
			t.Fatalf("label reads %q, want %q", got, label)
		}
	}
}

func TestRenderSize(t *testing.T) {
	small, err := Render(docLink, Options{})
	if err != nil {
		t.Fatal(err)
	}
	side := small.Modules + 2*QuietZone
	for _, size := range []int{side, side*3 + side - 1, 600} {
		img, err := Render(docLink, Options{Size: size})
		if err != nil {
			t.Fatal(err)
		}
		m := decodePNG(t, img)
		if img.ModulePixels != size/side || img.Width != img.ModulePixels*side || img.Width > size || img.Height != img.Width {
			t.Fatalf("size %d: %+v", size, *img)
		}
		checkQuietZone(t, m, img)
		if got := scanQR(t, m, img); got != docLink {
			t.Fatalf("size %d: scanned %q", size, got)
		}
	}
	for _, size := range []int{side - 1, -5, MaxSize + 1} {
		_, err := Render(docLink, Options{Size: size})
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != "size" {
			t.Errorf("size %d: got %v, want an InputError on size", size, err)
		}
	}
}

// At one pixel per module the 35-character KSeF number is wider than the code: the
// image widens and the code stays centred and scannable.
func TestRenderWideLabelCentresCode(t *testing.T) {
	probe, err := Render(docLink, Options{})
	if err != nil {
		t.Fatal(err)
	}
	side := probe.Modules + 2*QuietZone
	img, err := Render(docLink, Options{Size: side, Label: ksefNumber})
	if err != nil {
		t.Fatal(err)
	}
	m := decodePNG(t, img)
	if img.Width <= img.CodeWidth || img.CodeLeft != (img.Width-img.CodeWidth)/2 {
		t.Fatalf("width %d, code %d at %d", img.Width, img.CodeWidth, img.CodeLeft)
	}
	checkQuietZone(t, m, img)
	if got := scanQR(t, m, img); got != docLink {
		t.Fatalf("scanned %q", got)
	}
	if got := readLabel(t, m, img); got != ksefNumber {
		t.Fatalf("label reads %q", got)
	}
}

func TestRenderRefusesNonASCIILabel(t *testing.T) {
	_, err := Render(docLink, Options{Label: "Faktura żółta"})
	var ie *InputError
	if !errors.As(err, &ie) || ie.Field != "label" {
		t.Fatalf("got %v", err)
	}
}
