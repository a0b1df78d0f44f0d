package imgio

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/testenv"

	exif "github.com/dsoprea/go-exif/v3"
	exifcommon "github.com/dsoprea/go-exif/v3/common"
)

// exifReference reads IFD0's Orientation with go-exif: the reference that
// tiffOrientation must agree with. It returns 0 when go-exif finds none.
func exifReference(tiff []byte) (o int) {
	defer func() {
		if recover() != nil { // go-exif panics on some malformed input
			o = 0
		}
	}()
	im, err := exifcommon.NewIfdMappingWithStandard()
	if err != nil {
		return 0
	}
	_, _, _ = exif.Visit(exifcommon.IfdStandardIfdIdentity, im, exif.NewTagIndex(), tiff, func(ite *exif.IfdTagEntry) error {
		if ite.IfdPath() == exifcommon.IfdStandardIfdIdentity.String() && ite.TagId() == orientationTag {
			if v, err := ite.Value(); err == nil {
				if s, ok := v.([]uint16); ok && len(s) == 1 {
					o = int(s[0])
				}
			}
		}
		return nil
	}, nil)
	return o
}

// TestTIFFOrientationMatchesGoExif compares the small reader with go-exif on
// crafted blocks and on every EXIF block among the shared photos (outside
// lfw, whose JPEGs carry none).
func TestTIFFOrientationMatchesGoExif(t *testing.T) {
	blocks := map[string][]byte{}
	for o := uint16(0); o <= 9; o++ {
		blocks["le"+string(rune('0'+o))] = tiffWithOrientation(binary.LittleEndian, o)
		blocks["be"+string(rune('0'+o))] = tiffWithOrientation(binary.BigEndian, o)
	}
	root := testenv.Faces(t)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "lfw" {
			return filepath.SkipDir
		}
		if ext := strings.ToLower(filepath.Ext(p)); ext == ".jpg" || ext == ".jpeg" {
			if tiff := jpegEXIF(readFile(t, p)); tiff != nil {
				blocks[p] = tiff
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 20+10 {
		t.Fatalf("only %d EXIF blocks found among the shared photos", len(blocks)-20)
	}
	for name, tiff := range blocks {
		if got, want := tiffOrientation(tiff), exifReference(tiff); got != want {
			t.Errorf("%s: Orientation %d, go-exif says %d", name, got, want)
		}
	}
}

// TestOrientation stores a real face rotated/mirrored the opposite way with an
// EXIF Orientation tag, and checks that decoding gives back the upright face.
func TestOrientation(t *testing.T) {
	upright, _, err := DecodeFile(face(t, "face_recognition/obama/obama-240p.jpg"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Re-encode once so that the reference has the same JPEG loss as the
	// variants (the 427x240 frame is not square, so a missed 90-degree turn
	// also changes the size).
	for o := 1; o <= 8; o++ {
		for _, order := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
			t.Run(string(rune('0'+o))+"/"+order.String(), func(t *testing.T) {
				stored := storedFor(upright, o)
				data := withEXIF(t, encodeJPEG(t, stored, 95), tiffWithOrientation(order, uint16(o)))
				got, info, err := Decode(bytes.NewReader(data), "rotated.jpg", Options{})
				if err != nil {
					t.Fatal(err)
				}
				checkRGBA(t, got, info)
				if info.Orientation != o {
					t.Errorf("Orientation = %d, want %d", info.Orientation, o)
				}
				if got.Rect != upright.Rect {
					t.Fatalf("size %v, want upright %v", got.Rect, upright.Rect)
				}
				if d := meanAbsDiff(t, got, upright); d > 3 {
					t.Errorf("mean abs diff from upright = %.2f, want < 3", d)
				}
				if o == 3 {
					// The test can fail: the stored pixels are far from upright.
					if d := meanAbsDiff(t, stored, upright); d < 10 {
						t.Errorf("stored 180-degree variant differs by only %.2f", d)
					}
				}
			})
		}
	}
}

// TestOrientationParsing covers the container walkers and bad EXIF values.
func TestOrientationParsing(t *testing.T) {
	jpg := encodeJPEG(t, pattern(8, 8), 90)
	riff := func(chunks ...[]byte) []byte {
		body := []byte("WEBP")
		for i := 0; i+1 < len(chunks); i += 2 {
			hdr := make([]byte, 8)
			copy(hdr, chunks[i])
			binary.LittleEndian.PutUint32(hdr[4:], uint32(len(chunks[i+1])))
			body = append(append(body, hdr...), chunks[i+1]...)
			if len(chunks[i+1])%2 == 1 {
				body = append(body, 0)
			}
		}
		out := []byte("RIFF\x00\x00\x00\x00")
		binary.LittleEndian.PutUint32(out[4:], uint32(len(body)))
		return append(out, body...)
	}
	le6 := tiffWithOrientation(binary.LittleEndian, 6)
	tests := []struct {
		name   string
		data   []byte
		format string
		want   int
	}{
		{"jpeg without exif", jpg, "jpeg", 1},
		{"jpeg 6", withEXIF(t, jpg, le6), "jpeg", 6},
		{"jpeg 8 big-endian", withEXIF(t, jpg, tiffWithOrientation(binary.BigEndian, 8)), "jpeg", 8},
		{"jpeg orientation 0", withEXIF(t, jpg, tiffWithOrientation(binary.BigEndian, 0)), "jpeg", 1},
		{"jpeg orientation 9", withEXIF(t, jpg, tiffWithOrientation(binary.BigEndian, 9)), "jpeg", 1},
		{"jpeg cut exif", withEXIF(t, jpg, le6[:14]), "jpeg", 1},
		{"jpeg garbage exif", withEXIF(t, jpg, []byte("II*\x00\xff\xff\xff\xff")), "jpeg", 1},
		{"tiff 3", tiffWithOrientation(binary.BigEndian, 3), "tiff", 3},
		{"webp exif chunk", riff([]byte("VP8X"), make([]byte, 10), []byte("EXIF"), le6), "webp", 6},
		{"webp exif with prefix", riff([]byte("ICCP"), []byte{1, 2, 3}, []byte("EXIF"), append([]byte("Exif\x00\x00"), le6...)), "webp", 6},
		{"webp no exif", riff([]byte("VP8 "), make([]byte, 10)), "webp", 1},
		{"webp lying chunk size", append([]byte("RIFF\x00\x00\x00\x00WEBPEXIF\xff\xff\xff\x7f"), le6...), "webp", 1},
		{"png is not read", encodePNG(t, pattern(4, 4)), "png", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := orientation(tc.data, tc.format); got != tc.want {
				t.Errorf("orientation = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestRealEXIF reads Orientation from camera EXIF blocks (with Exif and GPS
// sub-IFDs and thumbnails), which say 1.
func TestRealEXIF(t *testing.T) {
	for _, rel := range []string{"deepface/person_01/img1.jpg", "face_recognition/obama/obama3.jpg", "face_recognition/biden/knn_train_biden.jpg"} {
		t.Run(rel, func(t *testing.T) {
			data := readFile(t, face(t, rel))
			tiff := jpegEXIF(data)
			if tiff == nil {
				t.Fatal("no EXIF segment found")
			}
			if o := tiffOrientation(tiff); o != 1 {
				t.Errorf("Orientation = %d, want 1", o)
			}
		})
	}
}
