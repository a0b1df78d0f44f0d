package imgio

import (
	"bytes"
	"encoding/binary"
	"errors"

	exif "github.com/dsoprea/go-exif/v3"
	exifcommon "github.com/dsoprea/go-exif/v3/common"
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

// errStop ends the tag walk once IFD0 has been read.
var errStop = errors.New("stop")

// tiffOrientation reads the Orientation tag of IFD0 from a TIFF structure
// (byte-order mark, 42, IFD offset, ...) with go-exif. It returns 0 when the
// tag is absent or unreadable.
func tiffOrientation(tiff []byte) (o int) {
	defer func() {
		// go-exif reports errors by panicking internally and recovering at its
		// API boundary; its recovery itself panics on a non-error value.
		if recover() != nil {
			o = 0
		}
	}()
	im, err := exifcommon.NewIfdMappingWithStandard()
	if err != nil {
		return 0
	}
	visitor := func(ite *exif.IfdTagEntry) error {
		if ite.IfdPath() != exifcommon.IfdStandardIfdIdentity.String() {
			return errStop // past IFD0 (tags are sorted, children come later)
		}
		if ite.TagId() != orientationTag {
			return nil
		}
		if v, err := ite.Value(); err == nil {
			if s, ok := v.([]uint16); ok && len(s) > 0 {
				o = int(s[0])
			}
		}
		return errStop
	}
	// The walk ends with errStop (or a parse error after IFD0): o holds
	// whatever was found before that, so the error itself carries nothing.
	_, _, _ = exif.Visit(exifcommon.IfdStandardIfdIdentity, im, exif.NewTagIndex(), tiff, visitor, nil)
	return o
}
