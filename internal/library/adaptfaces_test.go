package library

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdaptedVectors: the adapted vectors of a face set are the stored
// transform of the raw ones, read from the adapted flat file or (when it is
// gone) computed; a library without a kept adaptation of its model is an
// error wrapping ErrNoAdaptedSimilarity that names why.
func TestAdaptedVectors(t *testing.T) {
	ctx := context.Background()
	f := indexedAdaptFixture(t, ctx)
	fs, err := f.lib.FolderSet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([][]float32, fs.Set.Len())
	for i := range raw {
		raw[i] = fs.Set.Row(i)
	}
	if a, _ := f.lib.Adaptation(); a != nil && !a.Kept {
		if _, _, err := f.lib.AdaptedVectors(ctx, fs.FaceIDs, raw); !errors.Is(err, ErrNoAdaptedSimilarity) || !strings.Contains(err.Error(), "not kept") {
			t.Errorf("adaptation not kept: %v", err)
		}
	}
	if err := os.Remove(filepath.Join(f.lib.Dir(), AdaptFile)); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if _, _, err := f.lib.AdaptedVectors(ctx, fs.FaceIDs, raw); !errors.Is(err, ErrNoAdaptedSimilarity) || !strings.Contains(err.Error(), "none was fitted") {
		t.Errorf("no adaptation: %v", err)
	}
	a := f.forceAdapt(t, ctx, wccn8())
	if _, err := f.lib.RefreshAdaptation(ctx, AdaptOptions{}); err != nil { // writes the adapted flat file
		t.Fatal(err)
	}
	want, err := a.Transform.ApplyAll(fs.Set.Vecs)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string) {
		t.Helper()
		got, ga, err := f.lib.AdaptedVectors(ctx, fs.FaceIDs, raw)
		if err != nil || ga.ID != a.ID || len(got) != len(raw) {
			t.Fatalf("%s: %d vectors of %v, %v", name, len(got), ga, err)
		}
		for i, v := range got {
			for j, x := range v {
				if d := math.Abs(float64(x - want[i*a.Transform.Out+j])); d > 1e-5 {
					t.Fatalf("%s: face %d dim %d: %v, want %v", name, fs.FaceIDs[i], j, x, want[i*a.Transform.Out+j])
				}
			}
		}
	}
	if _, err := os.Stat(filepath.Join(f.lib.Dir(), AdaptedFlatFile)); err != nil {
		t.Fatalf("no adapted flat file to read: %v", err)
	}
	// The flat file's path is taken: the index is fresh, exact and flat and
	// the file is current with it.
	info, status, err := f.lib.IndexStatus(ctx)
	if err != nil || status != IndexFresh || !info.Exact() || info.Storage != StorageFlat ||
		!flatCurrent(filepath.Join(f.lib.Dir(), AdaptedFlatFile), IndexInfo{Dim: a.Transform.Out, Count: info.Count, Generation: info.Generation}) {
		t.Fatalf("index %+v %s %v: the adapted flat file would not be read", info, status, err)
	}
	check("from the adapted flat file")
	if err := os.Remove(filepath.Join(f.lib.Dir(), AdaptedFlatFile)); err != nil {
		t.Fatal(err)
	}
	check("from the transform")
	a.Model = "another-model"
	if err := writeJSONAtomic(filepath.Join(f.lib.Dir(), AdaptFile), a); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.lib.AdaptedVectors(ctx, fs.FaceIDs, raw); !errors.Is(err, ErrNoAdaptedSimilarity) || !strings.Contains(err.Error(), "another-model") {
		t.Errorf("another model's adaptation: %v", err)
	}
}
