package eval

import (
	"context"
	"math/rand/v2"
	"testing"
)

func TestVerifyMissing(t *testing.T) {
	vec := map[Image][]float32{
		{"a", 1}: {1, 0}, {"a", 2}: {0.8, 0.6}, {"b", 1}: {0, 1}, {"b", 2}: {0.6, 0.8},
		{"d", 1}: {1, 0}, {"d", 2}: {0.6, 0.8}, {"e", 1}: {0.1, 0.99498744},
		// {"c", 1} has no face
	}
	emb := func(im Image) []float32 { return vec[im] }
	var pairs []Pair
	for f := 0; f < 2; f++ {
		pairs = append(pairs,
			Pair{A: Image{"a", 1}, B: Image{"a", 2}, Same: true, Fold: f},
			Pair{A: Image{"b", 1}, B: Image{"b", 2}, Same: true, Fold: f},
			Pair{A: Image{"d", 1}, B: Image{"d", 2}, Same: true, Fold: f},
			Pair{A: Image{"a", 1}, B: Image{"b", 1}, Fold: f},
			Pair{A: Image{"a", 1}, B: Image{"e", 1}, Fold: f},
			Pair{A: Image{"c", 1}, B: Image{"b", 1}, Fold: f}, // missing, different: must count as wrong
		)
	}
	pairs = append(pairs, Pair{A: Image{"c", 1}, B: Image{"c", 1}, Same: true, Fold: 1}) // missing, same
	v, err := Verify(pairs, emb, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if v.MissingPairs != 3 || len(v.Missing) != 1 || v.Missing[0] != (Image{"c", 1}) {
		t.Errorf("missing: %d pairs, %v", v.MissingPairs, v.Missing)
	}
	// Both folds choose 0.35 (between 0.1 and 0.6), which is right for all
	// pairs with faces. Fold 0: 6 pairs, the missing different pair is wrong
	// at any threshold: 5/6. Fold 1: 7 pairs, two missing ones wrong: 5/7.
	if !near(v.KFold.Accuracies[0], 5.0/6) || !near(v.KFold.Accuracies[1], 5.0/7) {
		t.Errorf("fold accuracies %v (thresholds %v), want [5/6 5/7]", v.KFold.Accuracies, v.KFold.Thresholds)
	}
	if v.BestAccuracy > 10.0/13+1e-12 {
		t.Errorf("best accuracy %g: missing pairs must stay wrong", v.BestAccuracy)
	}
	if _, err := Verify(nil, emb, 0.5); err == nil {
		t.Error("no pairs: no error")
	}
}

func TestCheckCalibrationSynthetic(t *testing.T) {
	groups := synthFaces(rand.New(rand.NewPCG(9, 9)), 600, 96)
	for _, tc := range []struct {
		name   string
		groups []Group
		dirty  bool
	}{
		{"all", groups, false},
		{"hardest half, misfiled", Hardest(groups, 0.5), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			moved := 0
			prep := func(g []Group) []Group {
				if !tc.dirty {
					return g
				}
				var out []Group
				out, moved = Misfile(g, 0.02, 3)
				return out
			}
			h, err := CheckCalibration(context.Background(), tc.groups, CalibrateOptions{FAR: 1e-3, DiffPairs: 400_000}, prep)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("threshold %.4f: held-out FAR %.2e over %d pairs, TAR %.4f; %d misfiled, %d outliers",
				h.Calibration.Threshold, h.FAR, h.DiffPairs, h.TAR, moved, len(h.Calibration.Outliers))
			if !h.Within(2) {
				t.Errorf("held-out FAR %.2e not within a factor 2 of 1e-3", h.FAR)
			}
			if tc.dirty && moved == 0 {
				t.Error("nothing misfiled")
			}
		})
	}
}

func TestHardestAndMisfile(t *testing.T) {
	tight := Group{Name: "tight", Vectors: [][]float32{{1, 0}, {1, 0}, {0.99, 0.14}}}
	loose := Group{Name: "loose", Vectors: [][]float32{{1, 0}, {0, 1}}}
	single := Group{Name: "single", Vectors: [][]float32{{1, 0}}}
	h := Hardest([]Group{tight, single, loose}, 0.5)
	if len(h) != 1 || h[0].Name != "loose" {
		t.Errorf("Hardest = %v", h)
	}
	big := Group{Name: "big"}
	for range 100 {
		big.Vectors = append(big.Vectors, []float32{1, 0})
	}
	out, moved := Misfile([]Group{big, single}, 0.5, 1)
	if moved == 0 || len(out[0].Vectors)+len(out[1].Vectors) != 101 || len(out[1].Vectors) != 1+moved {
		t.Errorf("moved %d: sizes %d %d", moved, len(out[0].Vectors), len(out[1].Vectors))
	}
	if len(big.Vectors) != 100 {
		t.Error("Misfile changed its input")
	}
}
