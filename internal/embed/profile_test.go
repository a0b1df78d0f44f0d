package embed

import (
	"context"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/model/onnxtest"
	"github.com/facesearch/facesearch/internal/ort/orttest"
	"github.com/facesearch/facesearch/internal/testenv"
)

// profilePipeline loads profile name with the default detector and
// landmarks and, as its feature model, an Identity graph of the profile's
// input shape (odd tensor names, as user models have): its "embedding" is
// the preprocessed input itself.
func profilePipeline(tb testing.TB, name string) (*Pipeline, *model.Manifest) {
	tb.Helper()
	def, realHome := orttest.Manifest(tb)
	m, err := model.Builtin(name)
	if err != nil {
		tb.Fatal(err)
	}
	home := tb.TempDir()
	for _, role := range []string{"detect", "landmark"} {
		src, _ := def.Path(realHome, role)
		dst := filepath.Join(home, m.Files[role].Path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.Symlink(src, dst); err != nil {
			tb.Fatal(err)
		}
	}
	in := m.Feature
	feat := filepath.Join(home, m.Files["feature"].Path)
	if err := os.MkdirAll(filepath.Dir(feat), 0o755); err != nil {
		tb.Fatal(err)
	}
	onnxtest.Write(tb, filepath.Dir(feat), filepath.Base(feat), onnxtest.Identity("input.1", "683", []int64{1, 3, int64(in.Height), int64(in.Width)}))
	m.EmbeddingDim = 3 * in.Width * in.Height
	p, err := New(Options{Home: home, Manifest: m, Runtime: orttest.Runtime(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p, m
}

// gradient is a w x h crop with R = x, G = y, B = 255 - x (mod 256).
func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(x), uint8(y), uint8(255-x), 255
		}
	}
	return img
}

// want computes the specified input tensor of gradient(w, h) by hand: planes
// in the given order of R, G, B, (v - mean) / std.
func want(w, h int, planes [3]int, mean, std [3]float64) []float32 {
	out := make([]float32, 3*w*h)
	for k, c := range planes {
		for y := range h {
			for x := range w {
				v := [3]float64{float64(uint8(x)), float64(uint8(y)), float64(uint8(255 - x))}[c]
				out[k*w*h+y*w+x] = float32((v - mean[c]) / std[c])
			}
		}
	}
	return out
}

func TestProfilePreprocessing(t *testing.T) {
	imagenetMean := [3]float64{0.485 * 255, 0.456 * 255, 0.406 * 255}
	imagenetStd := [3]float64{0.229 * 255, 0.224 * 255, 0.225 * 255}
	tests := []struct {
		profile   string
		side      int
		planes    [3]int
		mean, std [3]float64
	}{
		{"japanese-face-v1", 224, [3]int{0, 1, 2}, imagenetMean, imagenetStd},
		{"arcface-112", 112, [3]int{0, 1, 2}, [3]float64{127.5, 127.5, 127.5}, [3]float64{127.5, 127.5, 127.5}},
		{"faceplugin-v1", 112, [3]int{2, 1, 0}, [3]float64{127, 127, 127}, [3]float64{128, 128, 128}},
	}
	for _, tc := range tests {
		t.Run(tc.profile, func(t *testing.T) {
			m, err := model.Builtin(tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			if m.Feature.Width != tc.side || m.Feature.Height != tc.side {
				t.Fatalf("feature input %dx%d, want %d", m.Feature.Width, m.Feature.Height, tc.side)
			}
			crop := gradient(tc.side, tc.side)
			exp := want(tc.side, tc.side, tc.planes, tc.mean, tc.std)
			got, err := FeatureInput(crop, m.Feature)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(got, exp); d > 1e-5 {
				t.Errorf("FeatureInput differs from the specification by %g", d)
			}
			// Through onnxruntime: the Identity model's output is what
			// reached it (Embed L2-normalises it).
			p, _ := profilePipeline(t, tc.profile)
			emb, err := p.Embed(context.Background(), crop)
			if err != nil {
				t.Fatal(err)
			}
			norm := append([]float32(nil), exp...)
			if err := Normalize(norm); err != nil {
				t.Fatal(err)
			}
			if len(emb) != len(norm) {
				t.Fatalf("model got %d values, want %d", len(emb), len(norm))
			}
			if d := maxDiff(emb, norm); d > 1e-6 {
				t.Errorf("values reaching the model differ from the specification by %g", d)
			}
		})
	}
}

// TestProfileResizesCrop: a 112 crop given to a 224 model is resized (a flat
// colour stays flat), and a photo's faces are aligned straight at 224.
func TestProfile224Crops(t *testing.T) {
	p, m := profilePipeline(t, "japanese-face-v1")
	flat := image.NewRGBA(image.Rect(0, 0, 112, 112))
	for i := 0; i < len(flat.Pix); i += 4 {
		flat.Pix[i], flat.Pix[i+1], flat.Pix[i+2], flat.Pix[i+3] = 200, 100, 50, 255
	}
	emb, err := p.Embed(context.Background(), flat)
	if err != nil {
		t.Fatal(err)
	}
	big := image.NewRGBA(image.Rect(0, 0, 224, 224))
	for i := 0; i < len(big.Pix); i += 4 {
		big.Pix[i], big.Pix[i+1], big.Pix[i+2], big.Pix[i+3] = 200, 100, 50, 255
	}
	exp, err := FeatureInput(big, m.Feature)
	if err != nil {
		t.Fatal(err)
	}
	Normalize(exp)
	if d := maxDiff(emb, exp); d > 1e-6 {
		t.Errorf("resized 112 crop differs from a flat 224 crop by %g", d)
	}
	if _, err := p.Embed(context.Background(), image.NewRGBA(image.Rect(0, 0, 100, 100))); err == nil {
		t.Error("a 100x100 crop was accepted")
	}

	faces := testenv.Faces(t)
	img := load(t, faces, "faceapi_js/amy/amy1.png")
	fs, err := p.Faces(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 {
		t.Fatalf("%d faces, want 1", len(fs))
	}
	if got := len(fs[0].Embedding); got != 3*224*224 {
		t.Errorf("embedding of %d values, want the 3x224x224 input", got)
	}
	if b := fs[0].Crop.Bounds(); b.Dx() != 112 {
		t.Errorf("stored crop %v, want 112x112", b)
	}
}

func TestUserModelNotAdded(t *testing.T) {
	m, err := model.Builtin("japanese-face-v1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Options{Home: t.TempDir(), Manifest: m, LibPath: "/nonexistent"})
	if err == nil || !strings.Contains(err.Error(), "facesearch models add japanese-face-v1 FILE.onnx") {
		t.Errorf("New without the user model: %v, want the add hint", err)
	}
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}
