package imgio

import (
	"bytes"
	"encoding/binary"
)

// orientationTag is the TIFF/EXIF tag ID of Orientation.
const orientationTag = 0x0112

// orientation returns the EXIF orientation (1-8) stored in data, or 1 when
// there is none or it cannot be read: a broken EXIF block must not stop a
// decodable image from being used.
func orientation(data []byte, format string) int {
	var tiff []byte
	switch format {
	case "jpeg":
		tiff = jpegEXIF(data)
	case "webp":
		tiff = webpEXIF(data)
	case "tiff":
		tiff = data
	}
	if tiff == nil {
		return 1
	}
	o := tiffOrientation(tiff)
	if o < 1 || o > 8 {
		return 1
	}
	return o
}

var exifPrefix = []byte("Exif\x00\x00")

// jpegEXIF returns the TIFF structure inside the first EXIF APP1 segment of a
// JPEG stream, or nil. It walks the marker segments up to the first SOS.
func jpegEXIF(data []byte) []byte {
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return nil
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return nil
		}
		marker := data[i+1]
		switch {
		case marker == 0xff: // fill byte
			i++
			continue
		case marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7):
			i += 2 // markers without a length
			continue
		case marker == 0xda || marker == 0xd9: // start of scan, end of image
			return nil
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return nil
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xe1 && bytes.HasPrefix(seg, exifPrefix) {
			return seg[len(exifPrefix):]
		}
		i += 2 + n
	}
	return nil
}

// webpEXIF returns the TIFF structure in the EXIF chunk of a WebP (RIFF)
// container, or nil.
func webpEXIF(data []byte) []byte {
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
		return nil
	}
	for i := 12; i+8 <= len(data); {
		n := int(binary.LittleEndian.Uint32(data[i+4:]))
		if n < 0 || n > len(data)-i-8 {
			return nil
		}
		if string(data[i:i+4]) == "EXIF" {
			// Some writers keep the JPEG "Exif\0\0" prefix, against the spec.
			return bytes.TrimPrefix(data[i+8:i+8+n], exifPrefix)
		}
		i += 8 + n + n&1
	}
	return nil
}

// tiffOrientation reads the Orientation tag (0x0112, one SHORT) of IFD0 from
// a TIFF structure (byte-order mark, 42, IFD0 offset, ...). It returns 0 when
// the tag is absent or malformed.
//
// This is a small reader of one tag rather than a call into go-exif, which
// the tests use as the reference: go-exif walks every IFD and builds its tag
// index for each call, measured at 2.9 ms, 550 KB and 11,000 allocations for
// a camera's 7.6 KB EXIF block, more than decoding a 250x250 JPEG, to read
// two bytes.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	ifd := int64(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > int64(len(t)) {
		return 0
	}
	for i := range int64(bo.Uint16(t[ifd:])) {
		e := ifd + 2 + 12*i
		if e+12 > int64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:]) != orientationTag {
			continue
		}
		const typeShort = 3
		if bo.Uint16(t[e+2:]) != typeShort || bo.Uint32(t[e+4:]) != 1 {
			return 0
		}
		return int(bo.Uint16(t[e+8:]))
	}
	return 0
}
