package qr

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"

	"github.com/boombuler/barcode"
	bqr "github.com/boombuler/barcode/qr"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Image geometry.
const (
	// QuietZone is the white margin around the symbol, in modules (ISO/IEC 18004 asks
	// for at least 4).
	QuietZone = 4
	// DefaultModulePixels is the module size when no width is asked for (the official
	// C# client's PixelsPerModule).
	DefaultModulePixels = 5
	// MaxSize is the largest width Render accepts, in pixels.
	MaxSize = 4000
)

// Options tune Render. The zero value gives DefaultModulePixels and no label.
type Options struct {
	// Size is the wanted width of the code (symbol plus quiet zone) in pixels; the
	// module size is the largest whole number of pixels that fits. 0 means
	// DefaultModulePixels per module.
	Size int
	// Label is printed under the code (see Label); "" prints nothing. Printable ASCII
	// only (a KSeF number or OFFLINE).
	Label string
}

// Image is a rendered QR code.
type Image struct {
	PNG          []byte
	Width        int // pixels
	Height       int // pixels, including the label band
	Modules      int // side of the symbol in modules, without the quiet zone
	ModulePixels int // pixels per module
	CodeLeft     int // x of the quiet zone's left edge (the code is centred when the label is wider)
	CodeWidth    int // pixels of symbol plus quiet zone, also its height from y=0
	LabelScale   int // pixels per font pixel of the label (0 without a label)
}

// Render encodes text (a link) as a QR code with error-correction level M, draws it
// black on white with a QuietZone-module margin, prints opt.Label under it in a
// bitmap font, and returns the PNG. Bad options give an *InputError.
func Render(text string, opt Options) (*Image, error) {
	canvas, img, err := draw1(text, opt)
	if err != nil {
		return nil, err
	}
	if img.PNG, err = encodePNG(canvas); err != nil {
		return nil, err
	}
	return img, nil
}

// encodePNG encodes the canvas as PNG.
func encodePNG(canvas *image.Gray) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, canvas); err != nil {
		return nil, fmt.Errorf("qr: encode PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// draw1 draws one code with its label on a canvas of its own (see Render); the
// returned Image has no PNG yet.
func draw1(text string, opt Options) (*image.Gray, *Image, error) {
	for _, r := range opt.Label {
		if r < 0x20 || r > 0x7e {
			return nil, nil, &InputError{Field: "label", Msg: fmt.Sprintf("%q: only printable ASCII can be printed under the code", opt.Label)}
		}
	}
	// Level M, the mode chosen from the text (a link is bytes) and the mask with the
	// lowest penalty, as ISO/IEC 18004 describes. (boombuler/barcode rather than go-qr,
	// whose package initialisation fills a 512 KiB Kanji table in every ksefpl process.)
	code, err := bqr.EncodeWithColor(text, bqr.M, bqr.Auto, barcode.ColorScheme16)
	if err != nil {
		return nil, nil, &InputError{Field: "link", Msg: "cannot be encoded as a QR code: " + err.Error(), Err: err}
	}
	n := code.Bounds().Dx()
	side := n + 2*QuietZone
	mp := DefaultModulePixels
	switch {
	case opt.Size < 0 || opt.Size > MaxSize:
		return nil, nil, &InputError{Field: "size", Msg: fmt.Sprintf("%d px is outside 1..%d", opt.Size, MaxSize)}
	case opt.Size > 0 && opt.Size < side:
		return nil, nil, &InputError{Field: "size", Msg: fmt.Sprintf("%d px is too small: this link needs %d modules with the quiet zone, so at least %d px", opt.Size, side, side)}
	case opt.Size > 0:
		mp = opt.Size / side
	}
	img := &Image{Modules: n, ModulePixels: mp, CodeWidth: side * mp}
	img.Width, img.Height = img.CodeWidth, img.CodeWidth

	var labelW, labelH, pad int
	if opt.Label != "" {
		pad = max(mp, 4)
		glyphs := len(opt.Label) * basicfont.Face7x13.Advance
		img.LabelScale = max(1, min((img.CodeWidth-2*pad)/glyphs, mp/2))
		labelW, labelH = glyphs*img.LabelScale, basicfont.Face7x13.Height*img.LabelScale
		img.Width = max(img.CodeWidth, labelW+2*pad)
		img.Height = img.CodeWidth + labelH + pad
	}
	canvas := image.NewGray(image.Rect(0, 0, img.Width, img.Height))
	draw.Draw(canvas, canvas.Bounds(), image.White, image.Point{}, draw.Src)
	img.CodeLeft = (img.Width - img.CodeWidth) / 2
	q := QuietZone * mp
	for my := 0; my < n; my++ {
		for mx := 0; mx < n; mx++ {
			if code.At(mx, my) == barcode.ColorScheme16.Foreground {
				fillBlack(canvas, image.Rect(img.CodeLeft+q+mx*mp, q+my*mp, img.CodeLeft+q+(mx+1)*mp, q+(my+1)*mp))
			}
		}
	}
	if opt.Label != "" {
		drawLabel(canvas, opt.Label, (img.Width-labelW)/2, img.CodeWidth, img.LabelScale)
	}
	return canvas, img, nil
}

// drawLabel prints s in the bitmap font at (x, y) (top-left), each font pixel scaled
// to a scale×scale block so that it stays sharp.
func drawLabel(dst *image.Gray, s string, x, y, scale int) {
	small := image.NewGray(image.Rect(0, 0, len(s)*basicfont.Face7x13.Advance, basicfont.Face7x13.Height))
	draw.Draw(small, small.Bounds(), image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: small, Src: image.Black, Face: basicfont.Face7x13, Dot: fixed.P(0, basicfont.Face7x13.Ascent)}
	d.DrawString(s)
	b := small.Bounds()
	for sy := b.Min.Y; sy < b.Max.Y; sy++ {
		for sx := b.Min.X; sx < b.Max.X; sx++ {
			if small.GrayAt(sx, sy).Y >= 128 {
				continue
			}
			fillBlack(dst, image.Rect(x+sx*scale, y+sy*scale, x+(sx+1)*scale, y+(sy+1)*scale))
		}
	}
}

// fillBlack paints r black.
func fillBlack(dst *image.Gray, r image.Rectangle) {
	r = r.Intersect(dst.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := dst.Pix[dst.PixOffset(r.Min.X, y):dst.PixOffset(r.Max.X, y)]
		clear(row)
	}
}

// Code is one QR code to draw: its link and the label printed under it.
type Code struct {
	Link  string
	Label string
}

// Placed is one code of a Sheet: its geometry as Render gives it (PNG empty, CodeLeft
// relative to the panel) and where its panel starts in the sheet.
type Placed struct {
	Image
	Code
	// X is the left edge of the code's panel in the sheet (its top is y=0).
	X int
}

// Sheet is several codes drawn side by side in one PNG.
type Sheet struct {
	PNG    []byte
	Width  int // pixels
	Height int // pixels: the tallest panel
	Codes  []Placed
}

// RenderCodes draws codes left to right in one PNG, each as Render draws it (its
// quiet zone, its label under it), panels top-aligned on a white background: for an
// offline invoice KOD I (labelled OFFLINE or with the KSeF number) on the left and KOD
// II (labelled CERTYFIKAT) on the right. size is the width of each code as
// Options.Size (0: DefaultModulePixels per module), so each code keeps its own module
// size. One code gives the same picture as Render. No code or bad options give an
// *InputError.
func RenderCodes(size int, codes ...Code) (*Sheet, error) {
	if len(codes) == 0 {
		return nil, &InputError{Field: "codes", Msg: "nothing to draw"}
	}
	sh := &Sheet{}
	canvases := make([]*image.Gray, len(codes))
	for i, c := range codes {
		canvas, img, err := draw1(c.Link, Options{Size: size, Label: c.Label})
		if err != nil {
			return nil, err
		}
		canvases[i] = canvas
		sh.Codes = append(sh.Codes, Placed{Image: *img, Code: c, X: sh.Width})
		sh.Width += img.Width
		sh.Height = max(sh.Height, img.Height)
	}
	out := image.NewGray(image.Rect(0, 0, sh.Width, sh.Height))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	for i, p := range sh.Codes {
		draw.Draw(out, canvases[i].Bounds().Add(image.Pt(p.X, 0)), canvases[i], image.Point{}, draw.Src)
	}
	var err error
	if sh.PNG, err = encodePNG(out); err != nil {
		return nil, err
	}
	return sh, nil
}
