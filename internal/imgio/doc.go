// Package imgio decodes image files into upright, opaque RGBA, safely.
//
// The format is chosen by content, never by the file name: JPEG (baseline,
// progressive, CMYK and YCCK), PNG (1 to 16 bits, palette, grey, alpha), GIF
// (first frame), BMP, TIFF and WebP. Every result is an *image.RGBA with
// origin (0,0): grey and paletted images become RGB, and transparency is
// composited over white, which is what a viewer shows and gives a face
// detector no false dark edges.
//
// The EXIF Orientation tag (1-8) is applied for JPEG (APP1), WebP (EXIF
// chunk) and TIFF (IFD0), so a phone photo taken sideways comes out upright.
// The tag is read by a small reader of IFD0 (see tiffOrientation for why not
// go-exif, which the tests use as the reference); a missing or unreadable EXIF
// block counts as orientation 1, since it says nothing about the pixels.
//
// Decoding is bounded. At most 512 MiB of input is read. The image header is
// read first with image.DecodeConfig, and an image whose width*height exceeds
// Options.MaxPixels (default 100 megapixels) is refused before any pixel
// buffer is allocated. A decoder panic becomes an error.
//
// Errors name the input and the reason. A fault of the input itself is an
// *Error whose Kind is one of the sentinel kinds (ErrNotImage, ErrTruncated,
// ErrTooLarge, ErrEmpty, ErrCorrupt, ErrUnsupported; errors.Is holds) and
// whose Reason is the message without the name; I/O errors from DecodeFile
// wrap the os error.
// For example:
//
//	decode "a/b.jpg": not an image (starts with "hello wo")
//	decode "x.jpg": truncated JPEG
//	decode "big.png": too large: 30000x30000 (900 MP > 100 MP limit)
package imgio
