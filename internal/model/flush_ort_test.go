package model_test

import (
	"image"
	_ "image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/draw"

	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/ort"
	"github.com/facesearch/facesearch/internal/ort/orttest"
	"github.com/facesearch/facesearch/internal/testenv"
)

// featureModels writes the denormal-flushed copy of the original
// fr_feature.onnx into a temporary folder and returns both paths. The flushed
// copy is made here rather than taken from FACESEARCH_HOME, so the test
// checks FlushDenormals itself.
func featureModels(tb testing.TB) (orig, flushed string) {
	tb.Helper()
	m, home := orttest.Manifest(tb)
	d := m.Files["feature"].DerivedFrom
	if d == nil {
		tb.Fatal("feature file has no derived_from")
	}
	orig = filepath.Join(home, d.Path)
	b, err := os.ReadFile(orig)
	if err != nil {
		testenv.Missing(tb, "original feature model: %v", err)
	}
	out, n, err := model.FlushDenormals(b)
	if err != nil {
		tb.Fatal(err)
	}
	if n == 0 {
		tb.Fatalf("%s: no denormals flushed", orig)
	}
	flushed = filepath.Join(tb.TempDir(), "fr_feature.flushed.onnx")
	if err := os.WriteFile(flushed, out, 0o644); err != nil {
		tb.Fatal(err)
	}
	return orig, flushed
}

func featureSession(tb testing.TB, rt *ort.Runtime, path string) *ort.Session {
	tb.Helper()
	s, err := rt.NewSession(path, []string{"input"}, []string{"output"}, ort.SessionOptions{IntraOpThreads: 1})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// faceTensor loads a photo, takes the central square holding the face (LFW
// photos are 250x250 with the face in the middle), resizes it to 112x112 and
// returns it as a [1,3,112,112] tensor, (p-127)/128, BGR.
func faceTensor(tb testing.TB, path string, crop image.Rectangle) ort.Tensor {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, 112, 112))
	draw.BiLinear.Scale(dst, dst.Bounds(), img, crop.Add(img.Bounds().Min), draw.Src, nil)
	data := make([]float32, 3*112*112)
	for y := range 112 {
		for x := range 112 {
			o := dst.PixOffset(x, y)
			for c, src := range []int{2, 1, 0} { // BGR
				data[c*112*112+y*112+x] = (float32(dst.Pix[o+src]) - 127) / 128
			}
		}
	}
	return ort.Tensor{Shape: []int64{1, 3, 112, 112}, Data: data}
}

func randomTensor(seed uint64, scale float32) ort.Tensor {
	r := rand.New(rand.NewPCG(seed, 1))
	data := make([]float32, 3*112*112)
	for i := range data {
		data[i] = (r.Float32()*2 - 1) * scale
	}
	return ort.Tensor{Shape: []int64{1, 3, 112, 112}, Data: data}
}

// TestFlushedFeatureModelSameOutputs runs the original and the flushed
// embedding model on real face crops and on random inputs, and checks that
// the embeddings agree.
func TestFlushedFeatureModelSameOutputs(t *testing.T) {
	faces := testenv.Faces(t)
	rt := orttest.Runtime(t)
	origPath, flushedPath := featureModels(t)
	orig, flushed := featureSession(t, rt, origPath), featureSession(t, rt, flushedPath)

	lfwCrop := image.Rect(69, 69, 181, 181) // the middle 112x112 of a 250x250 LFW photo
	inputs := map[string]ort.Tensor{
		"lfw Aaron_Peirsol_0001":    faceTensor(t, filepath.Join(faces, "lfw/Aaron_Peirsol/Aaron_Peirsol_0001.jpg"), lfwCrop),
		"lfw AJ_Cook_0001":          faceTensor(t, filepath.Join(faces, "lfw/AJ_Cook/AJ_Cook_0001.jpg"), lfwCrop),
		"lfw Aaron_Eckhart_0001":    faceTensor(t, filepath.Join(faces, "lfw/Aaron_Eckhart/Aaron_Eckhart_0001.jpg"), image.Rect(50, 50, 200, 200)),
		"random uniform [-1,1]":     randomTensor(1, 1),
		"random small [-1e-3,1e-3]": randomTensor(2, 1e-3),
		"zeros":                     {Shape: []int64{1, 3, 112, 112}, Data: make([]float32, 3*112*112)},
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			a, err := orig.Run([]ort.Tensor{in})
			if err != nil {
				t.Fatal(err)
			}
			b, err := flushed.Run([]ort.Tensor{in})
			if err != nil {
				t.Fatal(err)
			}
			ea, eb := a[0].Data, b[0].Data
			if len(ea) != 512 || len(eb) != 512 {
				t.Fatalf("embedding sizes %d, %d, want 512", len(ea), len(eb))
			}
			var maxDiff, maxAbs float64
			identical := true
			for i := range ea {
				if ea[i] != eb[i] {
					identical = false
				}
				maxDiff = max(maxDiff, math.Abs(float64(ea[i]-eb[i])))
				maxAbs = max(maxAbs, math.Abs(float64(ea[i])))
			}
			cos := cosine(ea, eb)
			t.Logf("bit-identical %v, max |diff| %.3g (max |value| %.3g), cosine %.9f", identical, maxDiff, maxAbs, cos)
			if maxDiff > 1e-5*max(maxAbs, 1) || !(cos > 0.999999) {
				t.Errorf("flushed model differs: max |diff| %.3g (max |value| %.3g), cosine %.9f", maxDiff, maxAbs, cos)
			}
		})
	}
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 && bb == 0 {
		return 1
	}
	return ab / math.Sqrt(aa*bb)
}

// BenchmarkFeatureModel times one embedding at 1 onnxruntime thread with the
// original and the denormal-flushed fr_feature.onnx.
func BenchmarkFeatureModel(b *testing.B) {
	faces := testenv.Faces(b)
	rt := orttest.Runtime(b)
	origPath, flushedPath := featureModels(b)
	in := faceTensor(b, filepath.Join(faces, "lfw/Aaron_Peirsol/Aaron_Peirsol_0001.jpg"), image.Rect(69, 69, 181, 181))
	for _, c := range []struct{ name, path string }{{"original", origPath}, {"flushed", flushedPath}} {
		b.Run(c.name, func(b *testing.B) {
			s := featureSession(b, rt, c.path)
			if _, err := s.Run([]ort.Tensor{in}); err != nil { // warm up
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := s.Run([]ort.Tensor{in}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/embedding")
		})
	}
}
