package review

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/adapt"
	"github.com/facesearch/facesearch/internal/library"
)

// TestServeSearchesInTheLibrarysSimilarity: on a library whose adaptation is
// kept, the server searches in the adapted similarity and finds its stored
// calibration, like search and check (a raw searcher found none, since only
// the adapted calibration is stored, and the page gave no verdicts).
func TestServeSearchesInTheLibrarysSimilarity(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	lib := plantedLibrary(t, r, 40, 10)
	ctx := context.Background()

	w := openLib(t, lib, false)
	// Keep a transform whatever its gain on these planted faces.
	a, err := w.Adapt(ctx, library.AdaptOptions{Force: true, Select: adapt.SelectOptions{MinGain: -1,
		Candidates: []adapt.Params{{Kind: adapt.KindWCCN, Dim: 16, Shrink: 0.5}}}})
	if err != nil || !a.Kept {
		t.Fatalf("adapt: %+v, %v", a, err)
	}
	if _, err := w.Calibrate(ctx, library.CalibrateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.Close()

	l := openLib(t, lib, true)
	defer l.Close()
	b, err := New(ctx, l, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := b.search.Similarity(); !strings.HasPrefix(got, "adapted:") {
		t.Errorf("serve searches in %q, want the library's adapted similarity", got)
	}
	if b.SearchSimilarity() != b.search.Similarity() || b.CleanseSimilarity() != "raw" {
		t.Errorf("the API names search %q, cleansing %q; want %q and raw", b.SearchSimilarity(), b.CleanseSimilarity(), b.search.Similarity())
	}
	c, err := b.search.Calibration(ctx)
	if err != nil || !c.Calibrated() || c.Similarity != b.search.Similarity() {
		t.Errorf("serve's calibration %+v (%v): want the stored one of its similarity", c, err)
	}
}
