package embed

import (
	"image"
	"path/filepath"
	"testing"

	"github.com/facesearch/facesearch/internal/imgio"
	"github.com/facesearch/facesearch/internal/ort/orttest"
)

// newPipeline loads the default models with opts' thresholds (Home,
// Manifest and Runtime are filled in).
func newPipeline(tb testing.TB, opts Options) *Pipeline {
	tb.Helper()
	m, home := orttest.Manifest(tb)
	opts.Home, opts.Manifest = home, m
	opts.Runtime = orttest.Runtime(tb)
	p, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// load decodes a photo below the shared faces directory (test goroutine
// only: it calls Fatal).
func load(tb testing.TB, faces, rel string) *image.RGBA {
	tb.Helper()
	img, err := decode(faces, rel)
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// decode is load for worker goroutines.
func decode(faces, rel string) (*image.RGBA, error) {
	img, _, err := imgio.DecodeFile(filepath.Join(faces, rel), imgio.Options{})
	return img, err
}
