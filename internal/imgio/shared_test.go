package imgio

import (
	"bytes"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/testenv"
)

// sharedImages lists the image files under the shared faces folder: all of
// them outside lfw, and every step-th one of lfw's 13,233.
func sharedImages(tb testing.TB, step int) []string {
	tb.Helper()
	root := testenv.Faces(tb)
	var out []string
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp":
		default:
			return nil
		}
		if strings.HasPrefix(p, filepath.Join(root, "lfw")+string(filepath.Separator)) {
			n++
			if n%step != 0 {
				return nil
			}
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestDecodeAllShared decodes every shared photo outside lfw and a sample of
// lfw: each must decode to an opaque, non-blank RGBA image of its header's
// size.
func TestDecodeAllShared(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the full decode of ~340 shared photos")
	}
	paths := sharedImages(t, 100)
	if len(paths) < 300 {
		t.Fatalf("only %d shared images found", len(paths))
	}
	for _, p := range paths {
		img, info, err := DecodeFile(p, Options{})
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		checkRGBA(t, img, info)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _, err := image.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		w, h := cfg.Width, cfg.Height
		if info.Orientation >= 5 {
			w, h = h, w
		}
		if info.Width != w || info.Height != h {
			t.Errorf("%s: %dx%d, header says %dx%d (orientation %d)", p, info.Width, info.Height, cfg.Width, cfg.Height, info.Orientation)
		}
		if variance(img) < 50 {
			t.Errorf("%s: pixel variance %.1f, looks blank", p, variance(img))
		}
	}
	t.Logf("decoded %d shared images", len(paths))
}

// BenchmarkDecode measures DecodeFile on real photos of typical sizes, and
// the plain image.Decode of the same bytes for comparison.
func BenchmarkDecode(b *testing.B) {
	for _, rel := range []string{
		"lfw/Aaron_Eckhart/Aaron_Eckhart_0001.jpg", // 250x250 JPEG
		"face_recognition/obama/obama-1080p.jpg",   // 1920x1080 JPEG
		"face_recognition/obama/32bit.png",         // 626x1200 RGBA PNG
		"faceapi_js/amy/amy1.png",                  // 150x150 grey PNG
		"deepface/person_03/img47.jpg",             // WebP
	} {
		p := face(b, rel)
		data := readFile(b, p)
		b.Run(filepath.Base(rel)+"/imgio", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, _, err := Decode(bytes.NewReader(data), p, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(filepath.Base(rel)+"/image.Decode", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
