package imgio

import (
	"image"
	"image/color"
	"image/draw"
)

// toRGBA converts src to an opaque *image.RGBA with origin (0,0), composited
// over white, and turned upright according to the EXIF orientation o (1-8;
// other values are treated as 1).
func toRGBA(src image.Image, o int) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	if p, ok := src.(*image.Paletted); ok {
		drawPaletted(dst, p)
	} else {
		drawOverWhite(dst, src)
	}
	if o < 2 || o > 8 {
		return dst
	}
	return orient(dst, o)
}

// drawOverWhite draws src onto dst (same size, origin (0,0)) composited over
// white.
func drawOverWhite(dst *image.RGBA, src image.Image) {
	if !isOpaque(src) {
		draw.Draw(dst, dst.Rect, image.NewUniform(color.White), image.Point{}, draw.Src)
	}
	// Over on an opaque white canvas composites; for opaque sources draw
	// treats it as Src and uses its fast paths (YCbCr, Gray, CMYK, RGBA, NRGBA).
	draw.Draw(dst, dst.Rect, src, src.Bounds().Min, draw.Over)
}

// drawPaletted converts a paletted image (GIF, palette PNG) through a
// 256-entry table of its colours composited over white; image/draw has no
// fast path for it.
func drawPaletted(dst *image.RGBA, p *image.Paletted) {
	var lut [256][4]uint8
	for i := range lut {
		c := color.RGBA64{A: 0xffff} // black for indexes past the palette (the decoders reject those)
		if i < len(p.Palette) {
			r, g, b, a := p.Palette[i].RGBA()
			c = color.RGBA64{uint16(r), uint16(g), uint16(b), uint16(a)}
		}
		w := uint32(0xffff - c.A)
		lut[i] = [4]uint8{uint8((uint32(c.R) + w) >> 8), uint8((uint32(c.G) + w) >> 8), uint8((uint32(c.B) + w) >> 8), 255}
	}
	b := p.Rect
	for y := range b.Dy() {
		src := p.Pix[y*p.Stride : y*p.Stride+b.Dx()]
		row := dst.Pix[y*dst.Stride : y*dst.Stride+4*b.Dx()]
		for x, idx := range src {
			copy(row[4*x:4*x+4], lut[idx][:])
		}
	}
}

// isOpaque reports whether src is known to be fully opaque without scanning
// it pixel by pixel for the common decoder output types.
func isOpaque(src image.Image) bool {
	switch src.(type) {
	case *image.YCbCr, *image.Gray, *image.Gray16, *image.CMYK:
		return true
	}
	return false
}

// orient returns a copy of m transformed for display as EXIF orientation o
// (2-8) prescribes.
func orient(m *image.RGBA, o int) *image.RGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	// The source pixel of destination (dx, dy) is
	// (x0 + xdx*dx + xdy*dy, y0 + ydx*dx + ydy*dy).
	var x0, xdx, xdy, y0, ydx, ydy int
	switch o {
	case 2: // mirror horizontally
		x0, xdx, ydy = w-1, -1, 1
	case 3: // rotate 180
		x0, xdx, y0, ydy = w-1, -1, h-1, -1
	case 4: // mirror vertically
		xdx, y0, ydy = 1, h-1, -1
	case 5: // transpose
		xdy, ydx = 1, 1
	case 6: // rotate 90 clockwise
		xdy, y0, ydx = 1, h-1, -1
	case 7: // transverse
		x0, xdy, y0, ydx = w-1, -1, h-1, -1
	case 8: // rotate 90 counter-clockwise
		x0, xdy, ydx = w-1, -1, 1
	}
	// Byte offset into m.Pix of the source pixel, and its steps per dx and dy.
	off0 := y0*m.Stride + 4*x0
	stepX := ydx*m.Stride + 4*xdx
	stepY := ydy*m.Stride + 4*xdy
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for dy := range dh {
		drow := dst.Pix[dy*dst.Stride : dy*dst.Stride+4*dw]
		si := off0 + dy*stepY
		for dx := 0; dx < 4*dw; dx += 4 {
			copy(drow[dx:dx+4], m.Pix[si:si+4])
			si += stepX
		}
	}
	return dst
}
