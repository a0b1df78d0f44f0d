package imgio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"strconv"
	"strings"

	// Decoders are registered with the image package by these imports; Decode
	// picks one by the file's magic bytes, never by its extension.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// DefaultMaxPixels is the pixel limit used when Options.MaxPixels is 0.
const DefaultMaxPixels = 100_000_000

// maxInputBytes caps how much of a file or reader Decode reads into memory.
const maxInputBytes = 512 << 20

// MaxInputBytes is the largest file DecodeFile reads (ErrTooLarge beyond):
// callers may refuse bigger files before reading them at all.
const MaxInputBytes = maxInputBytes

// Sentinel error kinds. Errors returned by Decode and DecodeFile wrap one of
// these (test with errors.Is) and also name the input and the reason.
var (
	// ErrNotImage: the content is not in any supported image format.
	ErrNotImage = errors.New("not an image")
	// ErrTruncated: the data ends before the image does.
	ErrTruncated = errors.New("truncated")
	// ErrTooLarge: the image has more pixels than the limit, or the input is
	// larger than 512 MiB.
	ErrTooLarge = errors.New("too large")
	// ErrEmpty: the input has no bytes at all.
	ErrEmpty = errors.New("empty file")
	// ErrCorrupt: the data is in a supported format but invalid.
	ErrCorrupt = errors.New("corrupt")
	// ErrUnsupported: the data is in a supported format but uses a feature
	// the decoder does not implement (for example 12-bit JPEG).
	ErrUnsupported = errors.New("unsupported")
)

// Error is the error Decode and DecodeFile return for a fault of the input
// itself (not an I/O error): which input, which kind, and why. Callers take
// the kind and the reason from its fields (errors.As), never from the text.
type Error struct {
	Name string // the input's name as given (the path, for DecodeFile)
	// Kind is one of ErrNotImage, ErrTruncated, ErrTooLarge, ErrEmpty,
	// ErrCorrupt and ErrUnsupported; errors.Is(err, Kind) holds.
	Kind error
	// Reason says what is wrong, without the name: it starts with the kind
	// ("truncated JPEG", "too large: 30000x30000 (900 MP > 100 MP limit)").
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("decode %q: %s", e.Name, e.Reason) }

func (e *Error) Unwrap() error { return e.Kind }

// fault is an *Error of kind; the reason is the kind's text followed by
// format.
func fault(name string, kind error, format string, args ...any) *Error {
	return &Error{Name: name, Kind: kind, Reason: kind.Error() + fmt.Sprintf(format, args...)}
}

// Options bound the work Decode does.
type Options struct {
	// MaxPixels refuses images with more than this many pixels (width*height)
	// before any pixel buffer is allocated. 0 means DefaultMaxPixels.
	MaxPixels int64
}

func (o Options) maxPixels() int64 {
	if o.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

// Info describes a decoded image.
type Info struct {
	// Format is the detected format: "jpeg", "png", "gif", "bmp", "tiff" or "webp".
	Format string
	// Width and Height are those of the returned (upright) image.
	Width, Height int
	// Orientation is the EXIF orientation (1-8) that was applied; 1 when the
	// file has none.
	Orientation int
}

// DecodeFile reads and decodes the image file at path; see Decode.
func DecodeFile(path string, opt Options) (*image.RGBA, Info, error) {
	f, st, err := OpenRegular(path)
	if errors.Is(err, ErrNotImage) { // a FIFO, a device, a directory
		return nil, Info{}, &Error{Name: path, Kind: ErrNotImage, Reason: err.Error()}
	}
	if err != nil {
		return nil, Info{}, fmt.Errorf("decode %q: %w", path, err)
	}
	defer f.Close()
	if st.Size() > maxInputBytes {
		return nil, Info{}, fault(path, ErrTooLarge, ": file is %d MiB (> %d MiB limit)", st.Size()>>20, maxInputBytes>>20)
	}
	var buf bytes.Buffer
	buf.Grow(int(st.Size()) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(f, maxInputBytes+1)); err != nil {
		return nil, Info{}, fmt.Errorf("decode %q: %w", path, err)
	}
	if buf.Len() > maxInputBytes { // the file grew since Stat
		return nil, Info{}, fault(path, ErrTooLarge, ": more than %d MiB of data", maxInputBytes>>20)
	}
	return decodeBytes(buf.Bytes(), path, opt)
}

// Decode reads all of r (at most 512 MiB) and decodes it as an image, choosing
// the decoder by content: JPEG (baseline, progressive, CMYK/YCCK), PNG (any
// bit depth, palette, alpha), GIF (first frame), BMP, TIFF or WebP. name is
// used only in error messages.
//
// The pixel count from the header is checked against opt.MaxPixels before
// decoding. EXIF orientation is applied for JPEG, TIFF and WebP. The result is
// always an opaque *image.RGBA with Bounds().Min == (0,0): greyscale and
// paletted images are expanded to RGB and translucent pixels are composited
// over white (a transparent background reads as white, as in a viewer, rather
// than as black, which would give a face detector a hard false edge).
//
// Decode never panics: a panic inside a decoder is returned as ErrCorrupt. On
// error the image is nil and Info holds at most the detected Format.
func Decode(r io.Reader, name string, opt Options) (*image.RGBA, Info, error) {
	data, err := readCapped(r, maxInputBytes)
	if errors.Is(err, ErrTooLarge) {
		return nil, Info{}, fault(name, ErrTooLarge, ": more than %d MiB of data", maxInputBytes>>20)
	}
	if err != nil {
		return nil, Info{}, fmt.Errorf("decode %q: %w", name, err)
	}
	return decodeBytes(data, name, opt)
}

// readCapped reads all of r, refusing with ErrTooLarge more than limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d MiB of data", ErrTooLarge, limit>>20)
	}
	return data, nil
}

func decodeBytes(data []byte, name string, opt Options) (img *image.RGBA, info Info, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fault(name, ErrCorrupt, " %s: decoder panic: %v", upper(info.Format), p)
			img, info = nil, Info{Format: info.Format}
		}
	}()
	if len(data) == 0 {
		return nil, Info{}, fault(name, ErrEmpty, "")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			if f := heifBrand(data); f != "" {
				return nil, Info{Format: f}, fault(name, ErrUnsupported, " %s: facesearch has no %s decoder (convert the photo to JPEG, e.g. with heif-convert)", f, f)
			}
			return nil, Info{}, fault(name, ErrNotImage, " (starts with %q)", prefix(data))
		}
		return nil, Info{}, classify(name, err, data, sniff(data))
	}
	info.Format = format
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, info, fault(name, ErrCorrupt, " %s: %dx%d pixels", upper(format), cfg.Width, cfg.Height)
	}
	if max := opt.maxPixels(); int64(cfg.Width)*int64(cfg.Height) > max {
		return nil, info, fault(name, ErrTooLarge, ": %dx%d (%s MP > %s MP limit)",
			cfg.Width, cfg.Height, mp(int64(cfg.Width)*int64(cfg.Height)), mp(max))
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, info, classify(name, err, data, format)
	}
	canvas := image.Rect(0, 0, cfg.Width, cfg.Height)
	if b := src.Bounds(); b != canvas {
		// A GIF's first frame may cover only part of its logical screen;
		// every other decoder returns exactly what its header said.
		if !b.In(canvas) {
			return nil, info, fault(name, ErrCorrupt, " %s: header says %dx%d, image is %v",
				upper(format), cfg.Width, cfg.Height, b)
		}
		src = onCanvas{src, canvas}
	}
	info.Orientation = orientation(data, format)
	img = toRGBA(src, info.Orientation)
	info.Width, info.Height = img.Rect.Dx(), img.Rect.Dy()
	return img, info, nil
}

// onCanvas places an image on a larger transparent canvas.
type onCanvas struct {
	image.Image
	canvas image.Rectangle
}

func (c onCanvas) Bounds() image.Rectangle { return c.canvas }

func (c onCanvas) At(x, y int) color.Color {
	if !(image.Point{x, y}.In(c.Image.Bounds())) {
		return color.Transparent
	}
	return c.Image.At(x, y)
}

// classify turns a decoder error into one of the sentinel kinds, keeping the
// decoder's own message. Decoders report a cut-off file inconsistently (io
// errors, "short Huffman data", "not enough pixel data"), so truncation is
// also judged from the container: a file whose end marker is missing.
func classify(name string, err error, data []byte, format string) *Error {
	f := upper(format)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || truncated(data, format) {
		return fault(name, ErrTruncated, " %s", f)
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "EOF"):
		// Some decoders flatten io.ErrUnexpectedEOF into their message.
		return fault(name, ErrTruncated, " %s (%s)", f, msg)
	case strings.Contains(msg, "unsupported"):
		return fault(name, ErrUnsupported, " %s: %s", f, msg)
	}
	return fault(name, ErrCorrupt, " %s: %s", f, msg)
}

// truncated reports whether data, which failed to decode as format, lacks
// the end of its container.
func truncated(data []byte, format string) bool {
	switch format {
	case "jpeg":
		// After the first SOS (so past any EXIF thumbnail) only the end of
		// image marker can be an 0xff 0xd9 pair: entropy-coded data stuffs
		// every 0xff with 0x00.
		sos := jpegFirstScan(data)
		return sos < 0 || !bytes.Contains(data[sos:], []byte{0xff, 0xd9})
	case "png":
		return !pngComplete(data)
	case "gif":
		return data[len(data)-1] != 0x3b // trailer
	case "webp":
		return len(data) < 12 || int64(binary.LittleEndian.Uint32(data[4:]))+8 > int64(len(data))
	case "bmp":
		return len(data) < 6 || int64(binary.LittleEndian.Uint32(data[2:])) > int64(len(data))
	}
	return false
}

// jpegFirstScan returns the offset of the first SOS marker of a JPEG stream,
// walking the marker segments before it, or -1 when the data ends first.
func jpegFirstScan(data []byte) int {
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return -1
		}
		switch marker := data[i+1]; {
		case marker == 0xda:
			return i
		case marker == 0xff:
			i++
			continue
		case marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8):
			i += 2
			continue
		}
		i += 2 + int(binary.BigEndian.Uint16(data[i+2:]))
	}
	return -1
}

// pngComplete reports whether the PNG chunk sequence reaches IEND within data.
func pngComplete(data []byte) bool {
	for i := 8; i+12 <= len(data); {
		n := int64(binary.BigEndian.Uint32(data[i:]))
		if string(data[i+4:i+8]) == "IEND" {
			return true
		}
		next := int64(i) + 12 + n
		if next > int64(len(data)) {
			return false
		}
		i = int(next)
	}
	return false
}

// heifBrand names the format of an ISO base media file holding an image
// (what phones write): "HEIC" or "AVIF", "" for anything else.
func heifBrand(data []byte) string {
	if len(data) < 12 || string(data[4:8]) != "ftyp" {
		return ""
	}
	switch string(data[8:12]) {
	case "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1":
		return "HEIC"
	case "avif", "avis":
		return "AVIF"
	}
	return ""
}

// sniff names the format from the magic bytes when DecodeConfig recognised the
// format but failed on the header.
func sniff(data []byte) string {
	for _, m := range []struct{ magic, format string }{
		{"\xff\xd8", "jpeg"}, {"\x89PNG\r\n\x1a\n", "png"}, {"GIF8", "gif"}, {"BM", "bmp"},
		{"II*\x00", "tiff"}, {"MM\x00*", "tiff"}, {"RIFF", "webp"},
	} {
		if strings.HasPrefix(string(data[:min(len(data), 8)]), m.magic) {
			return m.format
		}
	}
	return "image"
}

func upper(format string) string {
	switch format {
	case "", "image":
		return "image"
	case "webp":
		return "WebP"
	}
	return strings.ToUpper(format)
}

// prefix returns the first bytes of data for an error message.
func prefix(data []byte) string {
	return string(data[:min(len(data), 8)])
}

// mp formats a pixel count in megapixels with up to 4 significant digits.
func mp(pixels int64) string {
	return strconv.FormatFloat(float64(pixels)/1e6, 'g', 4, 64)
}
