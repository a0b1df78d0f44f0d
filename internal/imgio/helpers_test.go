package imgio

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/facesearch/facesearch/internal/testenv"
)

// face returns the path of a photo under the shared faces folder.
func face(tb testing.TB, rel string) string {
	tb.Helper()
	return filepath.Join(testenv.Faces(tb), filepath.FromSlash(rel))
}

// writeTemp writes data to a new file named name in a temporary directory.
func writeTemp(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// readFile reads a file or fails the test.
func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// pattern returns a w x h opaque test image with distinct colours in every
// row and column, so that any flip, rotation or offset changes it.
func pattern(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / max(w-1, 1)), uint8(y * 255 / max(h-1, 1)), uint8((x*7 + y*13) % 256), 255})
		}
	}
	return m
}

// toRGBARef converts m to RGBA the slow, obvious way: composite over white
// with the colour model's own conversion. It is the reference toRGBA must match.
func toRGBARef(m image.Image) *image.RGBA {
	b := m.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := m.At(x, y).RGBA()
			w := 0xffff - a
			out.SetRGBA(x-b.Min.X, y-b.Min.Y, color.RGBA{uint8((r + w) >> 8), uint8((g + w) >> 8), uint8((bl + w) >> 8), 255})
		}
	}
	return out
}

// meanAbsDiff is the mean absolute difference of the R, G and B channels of
// two images of the same size, in 8-bit units.
func meanAbsDiff(tb testing.TB, a, b *image.RGBA) float64 {
	tb.Helper()
	if a.Rect != b.Rect {
		tb.Fatalf("size mismatch: %v vs %v", a.Rect, b.Rect)
	}
	var sum, n float64
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			ca, cb := a.RGBAAt(x, y), b.RGBAAt(x, y)
			sum += absd(ca.R, cb.R) + absd(ca.G, cb.G) + absd(ca.B, cb.B)
			n += 3
		}
	}
	return sum / n
}

func absd(a, b uint8) float64 {
	if a > b {
		return float64(a - b)
	}
	return float64(b - a)
}

// checkRGBA fails unless m has origin (0,0), the size in info, and is opaque.
func checkRGBA(tb testing.TB, m *image.RGBA, info Info) {
	tb.Helper()
	if m == nil {
		tb.Fatal("nil image with nil error")
	}
	if m.Rect.Min != (image.Point{}) {
		tb.Errorf("Bounds().Min = %v, want (0,0)", m.Rect.Min)
	}
	if m.Rect.Dx() != info.Width || m.Rect.Dy() != info.Height {
		tb.Errorf("image is %dx%d, Info says %dx%d", m.Rect.Dx(), m.Rect.Dy(), info.Width, info.Height)
	}
	for i := 3; i < len(m.Pix); i += 4 {
		if m.Pix[i] != 255 {
			tb.Fatalf("pixel %d has alpha %d, want opaque", i/4, m.Pix[i])
		}
	}
}

// Independent reference transforms for the orientation tests, written from
// the geometry rather than from orient's offset table.

// rotCW rotates m 90 degrees clockwise: source (x,y) lands at (H-1-y, x).
func rotCW(m *image.RGBA) *image.RGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewRGBA(image.Rect(0, 0, h, w))
	for y := range h {
		for x := range w {
			out.SetRGBA(h-1-y, x, m.RGBAAt(x, y))
		}
	}
	return out
}

// flipH mirrors m left to right.
func flipH(m *image.RGBA) *image.RGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			out.SetRGBA(w-1-x, y, m.RGBAAt(x, y))
		}
	}
	return out
}

// storedFor returns the pixels a camera would store for the upright image u
// under EXIF orientation o, so that a viewer honouring o shows u.
func storedFor(u *image.RGBA, o int) *image.RGBA {
	switch o {
	case 2: // viewer mirrors
		return flipH(u)
	case 3: // viewer rotates 180
		return rotCW(rotCW(u))
	case 4: // viewer mirrors vertically
		return flipH(rotCW(rotCW(u)))
	case 5: // viewer transposes (self-inverse)
		return flipH(rotCW(u))
	case 6: // viewer rotates clockwise, so the camera stored it counter-clockwise
		return rotCW(rotCW(rotCW(u)))
	case 7: // viewer transverses (self-inverse)
		return flipH(rotCW(rotCW(rotCW(u))))
	case 8: // viewer rotates counter-clockwise
		return rotCW(u)
	}
	return u
}

// tiffWithOrientation builds a minimal TIFF structure (header and one IFD
// holding only the Orientation tag, type SHORT).
func tiffWithOrientation(order binary.ByteOrder, o uint16) []byte {
	var b bytes.Buffer
	if order == binary.LittleEndian {
		b.WriteString("II")
	} else {
		b.WriteString("MM")
	}
	w := func(v any) { _ = binary.Write(&b, order, v) }
	w(uint16(42))
	w(uint32(8)) // IFD0 offset
	w(uint16(1)) // one entry
	w(uint16(orientationTag))
	w(uint16(3)) // SHORT
	w(uint32(1)) // count
	w(o)
	w(uint16(0)) // value padding
	w(uint32(0)) // no next IFD
	return b.Bytes()
}

// withEXIF inserts an APP1 EXIF segment carrying tiff right after the SOI
// marker of a JPEG stream.
func withEXIF(tb testing.TB, jpg, tiff []byte) []byte {
	tb.Helper()
	if len(jpg) < 2 || jpg[0] != 0xff || jpg[1] != 0xd8 {
		tb.Fatal("not a JPEG stream")
	}
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// encodeJPEG encodes m at quality q or fails the test.
func encodeJPEG(tb testing.TB, m image.Image, q int) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: q}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}
