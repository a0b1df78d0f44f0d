package imgio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

func encodePNG(tb testing.TB, m image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// translucent is a pattern whose left third is fully transparent and middle
// third half transparent.
func translucent(w, h int) *image.NRGBA {
	m := pattern(w, h)
	for y := range h {
		for x := range w {
			c := m.NRGBAAt(x, y)
			switch {
			case x < w/3:
				c.A = 0
			case x < 2*w/3:
				c.A = 128
			}
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

func deep(w, h int) *image.NRGBA64 {
	m := image.NewNRGBA64(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA64(x, y, color.NRGBA64{uint16(x * 65535 / (w - 1)), uint16(y * 65535 / (h - 1)), 0x1234, 0xffff})
		}
	}
	return m
}

func paletted(w, h int, transparent bool) *image.Paletted {
	pal := append(color.Palette{}, palette.WebSafe...)
	if transparent {
		pal[0] = color.NRGBA{}
	}
	m := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for y := range h {
		for x := range w {
			m.SetColorIndex(x, y, uint8((x+y*w)%len(pal)))
		}
	}
	return m
}

func grey(w, h int) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 7)
	}
	return m
}

// TestDecodeGenerated decodes lossless fixtures of every format and checks the
// pixels against a reference conversion (alpha composited over white).
func TestDecodeGenerated(t *testing.T) {
	const w, h = 40, 30
	enc := func(f func(*bytes.Buffer, image.Image) error) func(testing.TB, image.Image) []byte {
		return func(tb testing.TB, m image.Image) []byte {
			var b bytes.Buffer
			if err := f(&b, m); err != nil {
				tb.Fatal(err)
			}
			return b.Bytes()
		}
	}
	pngEnc := enc(func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) })
	gifEnc := enc(func(b *bytes.Buffer, m image.Image) error { return gif.Encode(b, m, nil) })
	bmpEnc := enc(func(b *bytes.Buffer, m image.Image) error { return bmp.Encode(b, m) })
	tiffEnc := enc(func(b *bytes.Buffer, m image.Image) error {
		return tiff.Encode(b, m, &tiff.Options{Compression: tiff.Deflate})
	})
	tests := []struct {
		name   string // file name; extensions deliberately lie for some
		img    image.Image
		encode func(testing.TB, image.Image) []byte
		format string
	}{
		{"rgba.png", translucent(w, h), pngEnc, "png"},
		{"opaque.png", pattern(w, h), pngEnc, "png"},
		{"deep16.png", deep(w, h), pngEnc, "png"},
		{"palette.png", paletted(w, h, false), pngEnc, "png"},
		{"palette-transparent.png", paletted(w, h, true), pngEnc, "png"},
		{"grey.png", grey(w, h), pngEnc, "png"},
		{"anim.gif", paletted(w, h, true), gifEnc, "gif"},
		{"photo.bmp", pattern(w, h), bmpEnc, "bmp"},
		{"photo.tif", translucent(w, h), tiffEnc, "tiff"},
		{"grey.tif", grey(w, h), tiffEnc, "tiff"},
		{"really-a-png.jpg", pattern(w, h), pngEnc, "png"},
		{"no-extension", pattern(w, h), bmpEnc, "bmp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, tc.name, tc.encode(t, tc.img))
			got, info, err := DecodeFile(p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkRGBA(t, got, info)
			want := Info{Format: tc.format, Width: w, Height: h, Orientation: 1}
			if info != want {
				t.Errorf("info = %+v, want %+v", info, want)
			}
			// The reference works from the in-memory source: every format here
			// is lossless for these images.
			ref := toRGBARef(tc.img)
			if d := meanAbsDiff(t, got, ref); d > 0.5 {
				t.Errorf("mean abs diff from reference = %.2f, want ~0", d)
			}
		})
	}
}

// TestCompositeOverWhite pins the alpha choice: transparent is white,
// half-transparent red is pink.
func TestCompositeOverWhite(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 3, 1))
	m.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 0})
	m.SetNRGBA(1, 0, color.NRGBA{255, 0, 0, 128})
	m.SetNRGBA(2, 0, color.NRGBA{255, 0, 0, 255})
	got, _, err := Decode(bytes.NewReader(encodePNG(t, m)), "a.png", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []color.RGBA{{255, 255, 255, 255}, {255, 127, 127, 255}, {255, 0, 0, 255}}
	for x, w := range want {
		c := got.RGBAAt(x, 0)
		if absd(c.R, w.R) > 1 || absd(c.G, w.G) > 1 || absd(c.B, w.B) > 1 || c.A != 255 {
			t.Errorf("pixel %d = %v, want %v", x, c, w)
		}
	}
}

// TestDecodeOrigin checks that a decoder result not at (0,0) is rebased.
func TestDecodeOrigin(t *testing.T) {
	src := pattern(20, 10)
	sub := src.SubImage(image.Rect(5, 3, 15, 10)).(*image.NRGBA)
	got := toRGBA(sub, 1)
	if got.Rect != image.Rect(0, 0, 10, 7) {
		t.Fatalf("bounds = %v", got.Rect)
	}
	if d := meanAbsDiff(t, got, toRGBARef(sub)); d != 0 {
		t.Errorf("diff = %v", d)
	}
}

// TestDecodeShared decodes real photos of the awkward kinds.
func TestDecodeShared(t *testing.T) {
	tests := []struct {
		path          string
		format        string
		width, height int
	}{
		// WebP data under a .jpg name.
		{"deepface/person_03/img47.jpg", "webp", 0, 0},
		// RGBA PNG.
		{"face_recognition/obama/32bit.png", "png", 626, 1200},
		// 150x150 greyscale crop.
		{"faceapi_js/amy/amy1.png", "png", 150, 150},
		// Progressive JPEG.
		{"registry_samples/grace_hopper/grace_hopper_512x512.jpg", "jpeg", 512, 512},
		// JPEG with a real EXIF block (Orientation 1, Exif sub-IFD).
		{"deepface/person_01/img1.jpg", "jpeg", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			img, info, err := DecodeFile(face(t, tc.path), Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkRGBA(t, img, info)
			if info.Format != tc.format || info.Orientation != 1 {
				t.Errorf("info = %+v, want format %s orientation 1", info, tc.format)
			}
			if tc.width != 0 && (info.Width != tc.width || info.Height != tc.height) {
				t.Errorf("size %dx%d, want %dx%d", info.Width, info.Height, tc.width, tc.height)
			}
			if v := variance(img); v < 100 {
				t.Errorf("pixel variance %.1f: image looks blank", v)
			}
		})
	}
}

// TestGreyIsNeutral checks that a greyscale photo becomes R=G=B.
func TestGreyIsNeutral(t *testing.T) {
	img, _, err := DecodeFile(face(t, "faceapi_js/amy/amy1.png"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(img.Pix); i += 4 {
		if p := img.Pix[i : i+3]; p[0] != p[1] || p[1] != p[2] {
			t.Fatalf("pixel %d = %v, want grey", i/4, p)
		}
	}
}

// TestDecodeFixtures decodes the committed JPEGs that Go's encoder cannot
// write (see testdata/README.md): both are the 64x48 gradient of
// testdata/README.md, so they must match it closely.
func TestDecodeFixtures(t *testing.T) {
	ref := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			ref.SetRGBA(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), uint8(255 - x*2), 255})
		}
	}
	for _, name := range []string{"cmyk.jpg", "progressive.jpg"} {
		t.Run(name, func(t *testing.T) {
			img, info, err := DecodeFile(filepath.Join("testdata", name), Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkRGBA(t, img, info)
			if info.Format != "jpeg" {
				t.Errorf("format %q", info.Format)
			}
			if d := meanAbsDiff(t, img, ref); d > 4 {
				t.Errorf("mean abs diff from the source gradient = %.2f, want < 4", d)
			}
		})
	}
}

func variance(m *image.RGBA) float64 {
	var s, s2, n float64
	for i := 0; i < len(m.Pix); i += 4 {
		v := float64(m.Pix[i+1])
		s += v
		s2 += v * v
		n++
	}
	return s2/n - (s/n)*(s/n)
}

// hugePNG is a syntactically valid PNG whose IHDR claims w x h pixels, with a
// tiny IDAT: decoding it for real would allocate gigabytes.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}) // zlib of nothing
	chunk("IEND", nil)
	return b.Bytes()
}

func TestDecodeErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	jpg := encodeJPEG(t, pattern(64, 48), 90)
	pngData := encodePNG(t, pattern(64, 48))
	unreadable := write("secret.jpg", jpg)
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		opt     Options
		want    error
		wantMsg string
		skip    string
	}{
		{name: "empty", path: write("z.jpg", nil), want: ErrEmpty, wantMsg: "empty file"},
		{name: "text", path: write("b.jpg", []byte("hello world\n")), want: ErrNotImage, wantMsg: `not an image (starts with "hello wo")`},
		{name: "truncated jpeg", path: write("x.jpg", jpg[:len(jpg)/2]), want: ErrTruncated, wantMsg: "truncated JPEG"},
		{name: "truncated jpeg header", path: write("h.jpg", jpg[:40]), want: ErrTruncated, wantMsg: "truncated JPEG"},
		{name: "truncated png", path: write("t.png", pngData[:len(pngData)/2]), want: ErrTruncated, wantMsg: "truncated PNG"},
		{name: "corrupt png", path: write("c.png", badCRC(pngData)), want: ErrCorrupt, wantMsg: "corrupt PNG"},
		{name: "corrupt jpeg", path: write("c.jpg", badHuffman(jpg)), want: ErrCorrupt, wantMsg: "corrupt JPEG"},
		{name: "huge png", path: write("big.png", hugePNG(30000, 30000)), want: ErrTooLarge, wantMsg: "too large: 30000x30000 (900 MP > 100 MP limit)"},
		{name: "over custom limit", path: write("small.png", pngData), opt: Options{MaxPixels: 1000}, want: ErrTooLarge, wantMsg: "64x48 (0.003072 MP > 0.001 MP limit)"},
		{name: "directory", path: dir, want: syscall.EISDIR, wantMsg: "is a directory"},
		{name: "missing", path: filepath.Join(dir, "nope.jpg"), want: fs.ErrNotExist, wantMsg: "no such file"},
		{name: "unreadable", path: unreadable, want: fs.ErrPermission, wantMsg: "permission denied",
			skip: map[bool]string{true: "running as root: chmod 000 does not stop reads"}[os.Geteuid() == 0]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			img, info, err := DecodeFile(tc.path, tc.opt)
			if err == nil {
				t.Fatalf("no error; got %v %+v", img.Rect, info)
			}
			if img != nil {
				t.Error("non-nil image with an error")
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %q is not %v", err, tc.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, `decode "`+tc.path+`": `) || !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("error %q, want `decode %q: ...%s...`", msg, tc.path, tc.wantMsg)
			}
			// The file's own faults carry their kind and reason as values;
			// I/O errors do not.
			var ie *Error
			isFault := errors.As(err, &ie)
			if fault := isKind(tc.want); isFault != fault {
				t.Fatalf("errors.As(%q, *Error) = %v, want %v", err, isFault, fault)
			}
			if isFault && (ie.Kind != tc.want || ie.Name != tc.path || msg != `decode "`+tc.path+`": `+ie.Reason || !strings.HasPrefix(ie.Reason, tc.want.Error())) {
				t.Errorf("*Error %+v for %q: want kind %v, name %q and the message's reason", *ie, msg, tc.want, tc.path)
			}
		})
	}
}

// isKind reports whether err is one of the sentinel kinds.
func isKind(err error) bool {
	for _, k := range []error{ErrNotImage, ErrTruncated, ErrTooLarge, ErrEmpty, ErrCorrupt, ErrUnsupported} {
		if err == k {
			return true
		}
	}
	return false
}

// badCRC flips a byte inside the first IDAT chunk of a PNG, leaving the
// structure intact.
func badCRC(p []byte) []byte {
	out := bytes.Clone(p)
	i := bytes.Index(out, []byte("IDAT"))
	out[i+6] ^= 0xff
	return out
}

// badHuffman overwrites the entropy-coded data after the SOS header with a
// code that is in no Huffman table, keeping the end marker.
func badHuffman(j []byte) []byte {
	out := bytes.Clone(j)
	sos := jpegFirstScan(out)
	start := sos + 2 + int(binary.BigEndian.Uint16(out[sos+2:]))
	for i := start; i < len(out)-2; i++ {
		out[i] = 0xfe
	}
	return out
}

// TestTruncatedEveryFormat cuts generated files of each format at several
// points: every cut is reported as truncated, naming the format.
func TestTruncatedEveryFormat(t *testing.T) {
	m := pattern(64, 48)
	encode := func(f func(*bytes.Buffer) error) []byte {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	files := []struct {
		name, format string
		data         []byte
	}{
		{"a.jpg", "JPEG", encodeJPEG(t, m, 90)},
		{"a.png", "PNG", encodePNG(t, m)},
		{"a.gif", "GIF", encode(func(b *bytes.Buffer) error { return gif.Encode(b, m, nil) })},
		{"a.bmp", "BMP", encode(func(b *bytes.Buffer) error { return bmp.Encode(b, m) })},
		{"a.tif", "TIFF", encode(func(b *bytes.Buffer) error { return tiff.Encode(b, m, nil) })},
		{"deflate.tif", "TIFF", encode(func(b *bytes.Buffer) error {
			return tiff.Encode(b, m, &tiff.Options{Compression: tiff.Deflate})
		})},
	}
	for _, f := range files {
		for _, frac := range []float64{0.1, 0.5, 0.9, 0.99} {
			n := int(float64(len(f.data)) * frac)
			img, _, err := Decode(bytes.NewReader(f.data[:n]), f.name, Options{})
			want := fmt.Sprintf("decode %q: truncated %s", f.name, f.format)
			if img != nil || !errors.Is(err, ErrTruncated) || err.Error() != want {
				t.Errorf("%s cut to %d of %d bytes: %v, want %q", f.name, n, len(f.data), err, want)
			}
		}
	}
}

// TestTruncatedShared cuts real files in half: a baseline JPEG, a progressive
// JPEG and a WebP.
func TestTruncatedShared(t *testing.T) {
	for _, tc := range []struct{ rel, format string }{
		{"face_recognition/obama/obama-240p.jpg", "JPEG"},
		{"registry_samples/grace_hopper/grace_hopper_512x512.jpg", "JPEG"},
		{"deepface/person_03/img47.jpg", "WebP"},
	} {
		data := readFile(t, face(t, tc.rel))
		_, _, err := Decode(bytes.NewReader(data[:len(data)/2]), "half.jpg", Options{})
		if want := `decode "half.jpg": truncated ` + tc.format; !errors.Is(err, ErrTruncated) || err.Error() != want {
			t.Errorf("%s: error %v, want %q", tc.rel, err, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encodePNG(f, translucent(6, 5)))
	f.Add(encodePNG(f, paletted(5, 4, true)))
	f.Add(encodePNG(f, deep(4, 3)))
	f.Add(withEXIF(f, encodeJPEG(f, pattern(9, 7), 80), tiffWithOrientation(binary.LittleEndian, 6)))
	for _, enc := range []func(*bytes.Buffer, image.Image) error{
		func(b *bytes.Buffer, m image.Image) error { return gif.Encode(b, m, nil) },
		func(b *bytes.Buffer, m image.Image) error { return bmp.Encode(b, m) },
		func(b *bytes.Buffer, m image.Image) error { return tiff.Encode(b, m, nil) },
	} {
		var b bytes.Buffer
		if err := enc(&b, pattern(5, 4)); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Add(hugePNG(30000, 30000))
	f.Add([]byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"))
	f.Add([]byte{})
	kinds := []error{ErrNotImage, ErrTruncated, ErrTooLarge, ErrEmpty, ErrCorrupt, ErrUnsupported}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, info, err := Decode(bytes.NewReader(data), "fuzz", Options{MaxPixels: 1 << 20})
		if err != nil {
			if img != nil {
				t.Fatal("non-nil image with an error")
			}
			for _, k := range kinds {
				if errors.Is(err, k) {
					return
				}
			}
			t.Fatalf("error %q wraps no sentinel kind", err)
		}
		checkRGBA(t, img, info)
	})
}

// TestGIFFrameOnScreen: a GIF whose first frame covers part of the logical
// screen decodes to the screen size with the rest white.
func TestGIFFrameOnScreen(t *testing.T) {
	frame := paletted(10, 6, false)
	frame.Rect = image.Rect(5, 4, 15, 10)
	var b bytes.Buffer
	err := gif.EncodeAll(&b, &gif.GIF{
		Image:  []*image.Paletted{frame},
		Delay:  []int{0},
		Config: image.Config{ColorModel: frame.Palette, Width: 20, Height: 12},
	})
	if err != nil {
		t.Fatal(err)
	}
	img, info, err := Decode(&b, "framed.gif", Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkRGBA(t, img, info)
	if info.Width != 20 || info.Height != 12 {
		t.Fatalf("size %dx%d, want the 20x12 screen", info.Width, info.Height)
	}
	if c := img.RGBAAt(0, 0); c != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("outside the frame: %v, want white", c)
	}
	r, g, bl, _ := frame.At(5, 4).RGBA()
	if c := img.RGBAAt(5, 4); c != (color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}) {
		t.Errorf("frame corner: %v", c)
	}
}

// errReader fails after its data, like a broken disk or connection.
type errReader struct{ data []byte }

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, errors.New("connection reset")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadCapped(t *testing.T) {
	const mib = 1 << 20
	big := bytes.Repeat([]byte{1}, mib+1)
	if _, err := readCapped(bytes.NewReader(big), mib); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "more than 1 MiB") {
		t.Errorf("over the cap: %v, want ErrTooLarge", err)
	}
	if data, err := readCapped(bytes.NewReader(big[:mib]), mib); err != nil || len(data) != mib {
		t.Errorf("at the cap: %d bytes, %v", len(data), err)
	}
	_, _, err := Decode(&errReader{[]byte("\x89PNG")}, "net.png", Options{})
	if err == nil || err.Error() != `decode "net.png": read: connection reset` {
		t.Errorf("reader error: %v", err)
	}
}

func TestHEIFUnsupported(t *testing.T) {
	tests := []struct {
		brand, want string
	}{{"heic", "HEIC"}, {"mif1", "HEIC"}, {"avif", "AVIF"}}
	for _, tc := range tests {
		data := append([]byte("\x00\x00\x00\x18ftyp"+tc.brand+"\x00\x00\x00\x00"), make([]byte, 64)...)
		_, info, err := Decode(bytes.NewReader(data), "IMG_0001."+tc.brand, Options{})
		if !errors.Is(err, ErrUnsupported) || info.Format != tc.want || !strings.Contains(err.Error(), "convert the photo to JPEG") {
			t.Errorf("%s: %v (format %q), want ErrUnsupported naming %s", tc.brand, err, info.Format, tc.want)
		}
	}
	// Another ISO media file (an MP4 video) is not an image.
	mp4 := append([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x00\x00"), make([]byte, 64)...)
	if _, _, err := Decode(bytes.NewReader(mp4), "clip.mp4", Options{}); !errors.Is(err, ErrNotImage) {
		t.Errorf("mp4: %v, want ErrNotImage", err)
	}
}
