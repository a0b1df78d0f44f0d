package library

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/adapt"
)

// adaptTree is adapt.MinFolders folders of 6 photos: enough for an
// adaptation.
func adaptTree(extra int) map[string]string {
	files := map[string]string{}
	seed := 100
	for p := range adapt.MinFolders {
		for i := range 6 + extra {
			seed++
			files[fmt.Sprintf("p%02d/%d.jpg", p, i)] = fakeSpec(p, seed, 1)
		}
	}
	return files
}

// indexedAdaptFixture indexes adaptTree(0) into a new fixture.
func indexedAdaptFixture(t testing.TB, ctx context.Context) *fixture {
	t.Helper()
	root := t.TempDir()
	writeTree(t, root, adaptTree(0))
	f := newFixture(t, root)
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	return f
}

// wccn8 is the transform the storage and search tests force.
func wccn8() adapt.Params { return adapt.Params{Kind: adapt.KindWCCN, Dim: 8, Shrink: 0.5} }

// forceAdapt fits p and keeps it whatever it gains (MinGain < 0), as
// adapt --refit --min-gain -1 does, and fails unless it was kept.
func (f *fixture) forceAdapt(t testing.TB, ctx context.Context, p adapt.Params) *AdaptInfo {
	t.Helper()
	a, err := f.lib.Adapt(ctx, AdaptOptions{Force: true, Select: adapt.SelectOptions{MinGain: -1, Candidates: []adapt.Params{p}}})
	if err != nil || !a.Kept {
		t.Fatalf("adapt: %+v, %v", a, err)
	}
	return a
}

func TestAdaptationStoredSearchedAndReversible(t *testing.T) {
	ctx := context.Background()
	f := indexedAdaptFixture(t, ctx)
	// The fake faces gain nothing from adaptation: the index run fitted
	// one and did not keep it.
	a, err := f.lib.Adaptation()
	if err != nil || a == nil {
		t.Fatalf("no adaptation after index: %v", err)
	}
	if a.Kept {
		t.Logf("kept on fake faces: %s", a.Selection.Reason)
	}
	// Force a kept transform (MinGain < 0) to exercise storage and search.
	a = f.forceAdapt(t, ctx, wccn8())
	if !a.Kept || a.Transform == nil || !strings.HasPrefix(a.ID, "wccn-d8-") || a.MatchThreshold == 0 || len(a.NonMated) == 0 {
		t.Fatalf("adaptation %+v", a)
	}
	s, err := f.lib.Searcher(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Similarity(); got != "adapted:"+a.ID {
		t.Errorf("similarity %q, want adapted:%s", got, a.ID)
	}
	thr, src, _ := s.Threshold(ctx, nil)
	if src != ThresholdAdapted || float64(thr) != float64(float32(a.MatchThreshold)) {
		t.Errorf("threshold %v from %q, want the adaptation's %v", thr, src, a.MatchThreshold)
	}
	// A library face searched by its own raw embedding comes first with
	// adapted similarity 1.
	fs, err := f.lib.FolderSet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hits, err := s.Search(ctx, fs.Set.Row(3), SearchOptions{K: 3, Min: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) == 0 || hits[0].FaceID != fs.FaceIDs[3] || math.Abs(float64(hits[0].Similarity)-1) > 1e-4 {
		t.Errorf("hits %+v, want face %d at 1", hits, fs.FaceIDs[3])
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(f.lib.Dir(), AdaptedFlatFile)); err != nil {
		t.Fatal(err)
	}

	// New photos: the index run keeps the transform (less than 10% more
	// faces) and brings the adapted vectors to the new generation.
	writeTree(t, f.root, map[string]string{"p00/new.jpg": fakeSpec(0, 999, 1)})
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	b, err := f.lib.Adaptation()
	if err != nil || b == nil || b.ID != a.ID {
		t.Fatalf("adaptation after a small change: %+v, %v; want %s kept", b, err, a.ID)
	}
	s, err = f.lib.Searcher(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Similarity() != "adapted:"+a.ID || s.idx.Ntotal() != s.Info().Count {
		t.Errorf("after the change: similarity %q, %d adapted vectors for %d faces", s.Similarity(), s.idx.Ntotal(), s.Info().Count)
	}
	s.Close()

	// Reversible: the raw setting searches raw cosines.
	if err := f.lib.SetSimilarity(ctx, SimilarityRaw); err != nil {
		t.Fatal(err)
	}
	s, err = f.lib.Searcher(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Similarity() != SimilarityRaw {
		t.Errorf("similarity %q after --similarity raw", s.Similarity())
	}
	if _, src, _ := s.Threshold(ctx, nil); src == ThresholdAdapted {
		t.Error("raw similarity with the adapted threshold")
	}
	s.Close()
	if err := f.lib.SetSimilarity(ctx, "cosine"); err == nil {
		t.Error("similarity \"cosine\" accepted")
	}
}

func TestAdaptationCorruptFileFallsBackToRawWithError(t *testing.T) {
	ctx := context.Background()
	f := indexedAdaptFixture(t, ctx)
	if err := os.WriteFile(filepath.Join(f.lib.Dir(), AdaptFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.lib.Adaptation(); err == nil || !strings.Contains(err.Error(), AdaptFile) {
		t.Errorf("corrupt %s: err %v, want one naming the file", AdaptFile, err)
	}
	// The next index run refits instead of failing.
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	if a, err := f.lib.Adaptation(); err != nil || a == nil {
		t.Errorf("after refit: %v, %v", a, err)
	}
}

// TestDamagedAdaptedVectorsAreCaughtAndRewritten: damage to the adapted
// vectors that the stamp cannot see (the stamp rewritten to match, as after
// damage below the file system) is found by VerifyIndex (stats --check) and
// repaired by the next index run; a stale stamp (the file's mode changed) is
// re-recorded by index so that searches skip the checksum again.
func TestDamagedAdaptedVectorsAreCaughtAndRewritten(t *testing.T) {
	ctx := context.Background()
	f := indexedAdaptFixture(t, ctx)
	a := f.forceAdapt(t, ctx, wccn8())
	s, err := f.lib.Searcher(ctx) // writes the adapted vectors if behind
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := f.lib.VerifyIndex(ctx); err != nil {
		t.Fatalf("sound library: %v", err)
	}
	path := filepath.Join(f.lib.Dir(), AdaptedFlatFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	clear(b[flatHeaderSize : flatHeaderSize+64])
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if a, err = f.lib.Adaptation(); err != nil {
		t.Fatal(err)
	}
	a.VectorsStamp = statStamp(path)
	if err := writeJSONAtomic(filepath.Join(f.lib.Dir(), AdaptFile), a); err != nil {
		t.Fatal(err)
	}
	if err := f.lib.VerifyIndex(ctx); !errors.Is(err, ErrIndexDamaged) {
		t.Fatalf("VerifyIndex over damaged adapted vectors: %v, want ErrIndexDamaged", err)
	}
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.lib.VerifyIndex(ctx); err != nil {
		t.Errorf("after index: %v (the adapted vectors were not rewritten)", err)
	}

	// A harmless mode change makes the stamp stale; index re-records it.
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	if a, err = f.lib.Adaptation(); err != nil {
		t.Fatal(err)
	}
	if platformStamp(fi) != nil && !sameStamp(a.VectorsStamp, fi) {
		t.Errorf("stamp after chmod and index: %+v, want the file's %+v", a.VectorsStamp, platformStamp(fi))
	}
}

// TestRefreshCalibrationFollowsTheSimilarity: after a refit or a switch of
// similarity the stored calibration is in another similarity than the
// searches' (check would answer uncalibrated); RefreshCalibration, which
// 'adapt' calls, makes it fresh in the searches' similarity.
func TestRefreshCalibrationFollowsTheSimilarity(t *testing.T) {
	ctx := context.Background()
	f := indexedAdaptFixture(t, ctx)
	a := f.forceAdapt(t, ctx, wccn8())
	for _, step := range []struct {
		name, setting, want string
	}{{"after the refit", "", "adapted:" + a.ID}, {"after --similarity raw", SimilarityRaw, SimilarityRaw}} {
		if step.setting != "" {
			if err := f.lib.SetSimilarity(ctx, step.setting); err != nil {
				t.Fatal(err)
			}
		}
		if c, fresh, err := f.lib.Calibration(ctx); err != nil || fresh {
			t.Fatalf("%s: stored calibration fresh=%v (%v), %v; want stale before the refresh", step.name, fresh, c != nil, err)
		}
		c, err := f.lib.RefreshCalibration(ctx)
		if err != nil || c == nil {
			t.Fatalf("%s: RefreshCalibration: %v, %v", step.name, c, err)
		}
		got, fresh, err := f.lib.Calibration(ctx)
		if err != nil || !fresh || got.Similarity != step.want {
			t.Errorf("%s: calibration in %q fresh=%v (%v), want fresh in %q", step.name, got.Similarity, fresh, err, step.want)
		}
	}
}

// TestAdaptationMemo: Adaptation parses adapt.json once while its stamp
// holds, hands out copies (a caller's change does not leak into the next
// call), and reads the file again once it is rewritten.
func TestAdaptationMemo(t *testing.T) {
	ctx := context.Background()
	f := indexedAdaptFixture(t, ctx)
	a, err := f.lib.Adaptation()
	if err != nil || a == nil {
		t.Fatalf("adaptation: %v, %v", a, err)
	}
	id := a.ID
	a.ID = "changed by the caller"
	b, err := f.lib.Adaptation()
	if err != nil || b.ID != id {
		t.Fatalf("second read %q, %v; want %q (a copy, not the caller's)", b.ID, err, id)
	}
	b.ID = "rewritten"
	if err := writeJSONAtomic(filepath.Join(f.lib.Dir(), AdaptFile), b); err != nil {
		t.Fatal(err)
	}
	c, err := f.lib.Adaptation()
	if err != nil || c.ID != "rewritten" {
		t.Fatalf("after a rewrite %q, %v; want the new file's", c.ID, err)
	}
	if err := os.WriteFile(filepath.Join(f.lib.Dir(), AdaptFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.lib.Adaptation(); err == nil {
		t.Error("a damaged adapt.json read from the memo")
	}
}

func TestNeedsRefit(t *testing.T) {
	certified := adapt.Selection{Certified: &adapt.Certified{}}
	for _, tc := range []struct {
		name string
		a    *AdaptInfo
		want bool
	}{
		{"none yet", nil, true},
		{"another model", &AdaptInfo{Model: "old", Faces: 100, Folders: 20}, true},
		{"unchanged, raw kept", &AdaptInfo{Model: "m", Faces: 100, Folders: 20}, false},
		{"unchanged, certified transform", &AdaptInfo{Model: "m", Faces: 100, Folders: 20, Kept: true, Selection: certified}, false},
		{"transform kept before the certification existed", &AdaptInfo{Model: "m", Faces: 100, Folders: 20, Kept: true}, true},
		{"10% more faces", &AdaptInfo{Model: "m", Faces: 100, Folders: 20, Kept: true, Selection: certified}, true},
	} {
		faces := 100
		if tc.name == "10% more faces" {
			faces = 110
		}
		if got := needsRefit(tc.a, "m", faces, 20); got != tc.want {
			t.Errorf("%s: needsRefit %v, want %v", tc.name, got, tc.want)
		}
	}
}
