package embed

import (
	"context"
	"image"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/ort/orttest"
	"github.com/facesearch/facesearch/internal/testenv"
)

// mirror returns img flipped left to right (independent of mirrorRows).
func mirror(img *image.RGBA) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			out.SetRGBA(b.Dx()-1-x, y, img.RGBAAt(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

func TestMirrorRows(t *testing.T) {
	tests := []struct {
		name string
		w    int
		in   []float32
		want []float32
	}{
		{"one row", 3, []float32{1, 2, 3}, []float32{3, 2, 1}},
		{"two planes of 2x2", 2, []float32{1, 2, 3, 4, 5, 6, 7, 8}, []float32{2, 1, 4, 3, 6, 5, 8, 7}},
		{"even width", 4, []float32{1, 2, 3, 4}, []float32{4, 3, 2, 1}},
		{"width 1", 1, []float32{1, 2}, []float32{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.Clone(tt.in)
			mirrorRows(got, tt.w)
			if !slices.Equal(got, tt.want) {
				t.Errorf("mirrorRows(%v, %d) = %v, want %v", tt.in, tt.w, got, tt.want)
			}
		})
	}
}

// TestFlipAverage: on a real LFW face the flip-averaged embedding is
// normalise(f(crop) + f(mirror(crop))) with f the raw model output, unit
// length, the same for the crop and its mirror, and not the single-pass
// embedding; the model ID says so, whether the option or the manifest
// turns it on.
func TestFlipAverage(t *testing.T) {
	faces := testenv.Faces(t)
	ctx := context.Background()
	p := newPipeline(t, Options{})
	pf := newPipeline(t, Options{FlipAverage: true})

	img := load(t, faces, filepath.Join("lfw", "Aaron_Peirsol", "Aaron_Peirsol_0001.jpg"))
	fs, err := pf.Faces(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	i := Primary(fs, img.Bounds())
	if i < 0 {
		t.Fatal("no face found")
	}
	got := fs[i].Embedding
	crop := fs[i].Crop

	raw := func(c *image.RGBA) []float32 {
		t.Helper()
		in, err := FeatureInput(c, p.m.Feature)
		if err != nil {
			t.Fatal(err)
		}
		v, err := p.features(in)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	want := raw(crop)
	for k, v := range raw(mirror(crop)) {
		want[k] += v
	}
	if err := Normalize(want); err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(got, want); d > 1e-5 {
		t.Errorf("flip-averaged embedding differs from normalise(f(crop)+f(mirror)) by up to %g", d)
	}
	if n := norm(got); math.Abs(n-1) > 1e-5 {
		t.Errorf("flip-averaged embedding has norm %.7f, want 1", n)
	}

	m, err := pf.Embed(ctx, mirror(crop))
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(got, m); d > 1e-6 {
		t.Errorf("flip-averaged embeddings of the crop and its mirror differ by up to %g", d)
	}
	single, err := p.Embed(ctx, crop)
	if err != nil {
		t.Fatal(err)
	}
	if c := Cosine(single, got); c < 0.9 || c > 0.99999 {
		t.Errorf("cosine of single-pass and flip-averaged embeddings %.6f, want in [0.9, 0.99999]", c)
	}
	t.Logf("cosine single-pass vs flip-averaged: %.4f", Cosine(single, got))

	mf, home := orttest.Manifest(t)
	mf.FlipAverage = true
	pm, err := New(Options{Home: home, Manifest: mf, Runtime: orttest.Runtime(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer pm.Close()
	for _, tt := range []struct {
		name string
		p    *Pipeline
		id   string
		flip bool
	}{
		{"default", p, model.DefaultName, false},
		{"option", pf, model.DefaultName + model.FlipSuffix, true},
		{"manifest", pm, model.DefaultName + model.FlipSuffix, true},
	} {
		if tt.p.ModelID() != tt.id || tt.p.FlipAverage() != tt.flip {
			t.Errorf("%s: ModelID %q, FlipAverage %v; want %q, %v", tt.name, tt.p.ModelID(), tt.p.FlipAverage(), tt.id, tt.flip)
		}
	}
	e, err := pm.Embed(ctx, crop)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(got, e); d > 1e-6 {
		t.Errorf("manifest flip_average embedding differs from Options.FlipAverage by %g", d)
	}
}
