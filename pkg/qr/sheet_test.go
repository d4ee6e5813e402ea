package qr

import (
	"bytes"
	"errors"
	"image"
	"image/draw"
	"image/png"
	"testing"
)

// checkSheet decodes the sheet's PNG, checks its size against the panels, and scans
// each panel's code and reads its label back.
func checkSheet(t *testing.T, sh *Sheet) {
	t.Helper()
	m, err := png.Decode(bytes.NewReader(sh.PNG))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	if b := m.Bounds(); b.Dx() != sh.Width || b.Dy() != sh.Height {
		t.Fatalf("PNG is %dx%d, RenderCodes reported %dx%d", b.Dx(), b.Dy(), sh.Width, sh.Height)
	}
	x, h := 0, 0
	for i, p := range sh.Codes {
		if p.X != x {
			t.Fatalf("code %d at x=%d, want %d (panels side by side)", i, p.X, x)
		}
		x += p.Width
		h = max(h, p.Height)
		panel := image.NewGray(image.Rect(0, 0, p.Width, p.Height))
		draw.Draw(panel, panel.Bounds(), m, image.Pt(p.X, 0), draw.Src)
		img := p.Image
		checkQuietZone(t, panel, &img)
		if got := scanQR(t, panel, &img); got != p.Link {
			t.Fatalf("code %d scans as %q, want %q", i, got, p.Link)
		}
		if got := readLabel(t, panel, &img); got != p.Label {
			t.Fatalf("code %d label reads %q, want %q", i, got, p.Label)
		}
		// Below a shorter panel the sheet is white.
		for y := p.Height; y < sh.Height; y++ {
			for px := p.X; px < p.X+p.Width; px++ {
				if dark(m, px, y) {
					t.Fatalf("dark pixel (%d,%d) below code %d", px, y, i)
				}
			}
		}
	}
	if x != sh.Width || h != sh.Height {
		t.Fatalf("sheet %dx%d, panels %dx%d", sh.Width, sh.Height, x, h)
	}
}

func TestRenderCodesSideBySide(t *testing.T) {
	kod1, kod2 := Code{Link: docLink, Label: LabelOffline}, Code{Link: docCertLink, Label: LabelCertificate}
	sh, err := RenderCodes(0, kod1, kod2)
	if err != nil {
		t.Fatal(err)
	}
	if len(sh.Codes) != 2 || sh.Codes[0].Code != kod1 || sh.Codes[1].Code != kod2 {
		t.Fatalf("codes %+v", sh.Codes)
	}
	one, two := sh.Codes[0], sh.Codes[1]
	if one.ModulePixels != DefaultModulePixels || two.ModulePixels != DefaultModulePixels || two.Modules <= one.Modules {
		t.Fatalf("modules: KOD I %d×%d px, KOD II %d×%d px", one.Modules, one.ModulePixels, two.Modules, two.ModulePixels)
	}
	// Each panel is what Render draws for that code alone.
	for i, c := range []Code{kod1, kod2} {
		alone, err := Render(c.Link, Options{Label: c.Label})
		if err != nil {
			t.Fatal(err)
		}
		p := sh.Codes[i].Image
		if p.PNG != nil || p.Width != alone.Width || p.Height != alone.Height || p.Modules != alone.Modules ||
			p.ModulePixels != alone.ModulePixels || p.CodeLeft != alone.CodeLeft || p.CodeWidth != alone.CodeWidth || p.LabelScale != alone.LabelScale {
			t.Fatalf("code %d: %+v, alone %+v", i, p, *alone)
		}
	}
	if sh.Width != one.Width+two.Width || sh.Height != max(one.Height, two.Height) {
		t.Fatalf("sheet %dx%d for panels %dx%d and %dx%d", sh.Width, sh.Height, one.Width, one.Height, two.Width, two.Height)
	}
	checkSheet(t, sh)
}

func TestRenderCodesSizeAndSingle(t *testing.T) {
	sh, err := RenderCodes(600, Code{Link: docLink, Label: ksefNumber}, Code{Link: docCertLink, Label: LabelCertificate})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range sh.Codes {
		if p.CodeWidth > 600 || p.ModulePixels != 600/(p.Modules+2*QuietZone) {
			t.Fatalf("code %d: %+v", i, p.Image)
		}
	}
	checkSheet(t, sh)
	// One code is exactly Render's picture.
	single, err := RenderCodes(0, Code{Link: docCertLink, Label: LabelCertificate})
	if err != nil {
		t.Fatal(err)
	}
	alone, err := Render(docCertLink, Options{Label: LabelCertificate})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(single.PNG, alone.PNG) || single.Width != alone.Width || single.Height != alone.Height {
		t.Fatal("RenderCodes of one code differs from Render")
	}
	var ie *InputError
	if _, err := RenderCodes(0); !errors.As(err, &ie) {
		t.Fatalf("no codes: %v", err)
	}
	if _, err := RenderCodes(30, Code{Link: docLink}, Code{Link: docCertLink}); !errors.As(err, &ie) || ie.Field != "size" {
		t.Fatalf("too small: %v", err)
	}
	if _, err := RenderCodes(0, Code{Link: docLink, Label: "żółw"}); !errors.As(err, &ie) || ie.Field != "label" {
		t.Fatalf("label: %v", err)
	}
}
