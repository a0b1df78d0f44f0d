package adapt

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// synth makes folders×per unit vectors of dimension dim: each folder has a
// random centre, and every face adds a strong nuisance shared by all
// folders (in the first `nuisance` dimensions) plus weak isotropic noise.
// Within-folder scatter is then far from isotropic, which WCCN removes.
func synth(tb testing.TB, folders, per, dim, nuisance int, seed uint64) Set {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	s := Set{Dim: dim}
	for f := range folders {
		c := make([]float64, dim)
		for j := nuisance; j < dim; j++ {
			c[j] = r.NormFloat64()
		}
		for range per {
			v := make([]float32, dim)
			for j := range dim {
				x := c[j] * 0.35
				if j < nuisance {
					x += 1.2 * r.NormFloat64()
				} else {
					x += 0.12 * r.NormFloat64()
				}
				v[j] = float32(x)
			}
			normalize(v)
			s.Vecs = append(s.Vecs, v...)
			s.Folders = append(s.Folders, f)
		}
	}
	return s
}

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	f := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= f
	}
}

func TestFitShapesAndUnitOutput(t *testing.T) {
	s := synth(t, 12, 8, 16, 4, 1)
	for _, tc := range []struct {
		p   Params
		out int
	}{
		{Params{Kind: KindCentre}, 16},
		{Params{Kind: KindWCCN, Dim: 8, Shrink: 0.5}, 8},
		{Params{Kind: KindWCCN, Dim: 512, Shrink: 0.3}, 16}, // capped at the input dimension
		{Params{Kind: KindLDA, Dim: 16, Shrink: 0.5}, 11},   // folders − 1
		{Params{Kind: KindLDA, Dim: 16, Shrink: 0.5, OutDim: 4}, 4},
	} {
		t.Run(tc.p.String(), func(t *testing.T) {
			tr, err := Fit(s, tc.p, FitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tr.In != 16 || tr.Out != tc.out {
				t.Fatalf("%d→%d, want 16→%d", tr.In, tr.Out, tc.out)
			}
			all, err := tr.ApplyAll(s.Vecs)
			if err != nil {
				t.Fatal(err)
			}
			for i := range s.Len() {
				row := all[i*tr.Out : (i+1)*tr.Out]
				var n float64
				for _, x := range row {
					n += float64(x) * float64(x)
				}
				if math.Abs(n-1) > 1e-4 {
					t.Fatalf("row %d has norm² %g", i, n)
				}
				one, err := tr.Apply(s.Row(i))
				if err != nil {
					t.Fatal(err)
				}
				for j := range one {
					if math.Abs(float64(one[j]-row[j])) > 1e-5 {
						t.Fatalf("Apply and ApplyAll differ at row %d dim %d: %g vs %g", i, j, one[j], row[j])
					}
				}
			}
		})
	}
}

func TestFitErrors(t *testing.T) {
	s := synth(t, 1, 5, 8, 2, 1)
	if _, err := Fit(s, Params{Kind: KindWCCN}, FitOptions{}); err == nil || !strings.Contains(err.Error(), "too few folders") {
		t.Errorf("one folder: err %v, want too few folders", err)
	}
	s = synth(t, 4, 5, 8, 2, 1)
	if _, err := Fit(s, Params{Kind: "pca"}, FitOptions{}); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, err := Fit(s, Params{Kind: KindRaw}, FitOptions{}); err == nil {
		t.Error("raw has no transform, but Fit returned one")
	}
	if _, err := Fit(s, Params{Kind: KindWCCN}, FitOptions{Weighting: "heavy"}); err == nil {
		t.Error("unknown weighting accepted")
	}
	tr, _ := Fit(s, Params{Kind: KindCentre}, FitOptions{})
	if _, err := tr.ApplyAll(make([]float32, 7)); err == nil {
		t.Error("7 floats for 8 dimensions accepted")
	}
}

// WCCN must remove the shared nuisance: within-folder similarity goes up
// relative to between-folder similarity.
func TestWCCNSeparatesFolders(t *testing.T) {
	s := synth(t, 12, 10, 16, 4, 2)
	raw := pairFigures(splitPairs(s).same, splitPairs(s).diff)
	tr, err := Fit(s, Params{Kind: KindWCCN, Dim: 16, Shrink: 0.1}, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := transformSet(tr, s)
	if err != nil {
		t.Fatal(err)
	}
	p := splitPairs(ts)
	ad := pairFigures(p.same, p.diff)
	if !(ad.AUC > raw.AUC+0.02) {
		t.Errorf("AUC raw %.3f, WCCN %.3f: want a clear gain", raw.AUC, ad.AUC)
	}
}

func TestInliersDropsMisfiled(t *testing.T) {
	s := synth(t, 6, 8, 16, 0, 3) // no nuisance: folders are tight
	// Misfile folder 1's first face into folder 0.
	for i, f := range s.Folders {
		if f == 1 {
			s.Folders[i] = 0
			break
		}
	}
	_, dropped, err := inliers(s, groupByFolder(s.Folders), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dropped != 1 {
		t.Errorf("dropped %d faces, want the 1 misfiled", dropped)
	}
	if _, d, _ := inliers(s, groupByFolder(s.Folders), true, nil); d != 0 {
		t.Errorf("KeepOutliers dropped %d", d)
	}
}

func TestThresholdAt(t *testing.T) {
	non := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0}
	for _, tc := range []struct {
		fpir float64
		want float64 // share of non ≥ threshold must be ≤ fpir
	}{{0.01, 0}, {0.1, 0.1}, {0.25, 0.2}, {0.5, 0.5}} {
		thr, err := ThresholdAt(non, tc.fpir)
		if err != nil {
			t.Fatal(err)
		}
		if got := RateAt(non, thr); got != tc.want {
			t.Errorf("fpir %g: threshold %g passes %g, want %g", tc.fpir, thr, got, tc.want)
		}
	}
	if _, err := ThresholdAt(nil, 0.01); err == nil {
		t.Error("no samples accepted")
	}
}

func TestSelectKeepsWCCNWhenItHelps(t *testing.T) {
	s := synth(t, 30, 10, 16, 4, 4)
	sel, err := Select(context.Background(), s, SelectOptions{Candidates: []Params{{Kind: KindWCCN, Dim: 16, Shrink: 0.1}}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Keep || sel.Best.Params.Kind != KindWCCN {
		t.Fatalf("not kept: %s (raw %.3f, best %.3f)", sel.Reason, sel.Raw.MatedRate, sel.Best.MatedRate)
	}
	if sel.Raw.Mated == 0 || sel.Raw.NonMated != s.Len() {
		t.Errorf("raw: %d mated, %d non-mated queries; want >0 and every face (%d) once as a stranger", sel.Raw.Mated, sel.Raw.NonMated, s.Len())
	}
}

func TestSelectRefusesSmallLibraries(t *testing.T) {
	s := synth(t, MinFolders-1, 10, 16, 4, 5)
	sel, err := Select(context.Background(), s, SelectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sel.Keep || !strings.Contains(sel.Reason, "adaptation needs") {
		t.Errorf("keep %v, reason %q", sel.Keep, sel.Reason)
	}
}

func TestCrossFitSamples(t *testing.T) {
	s := synth(t, 15, 6, 16, 4, 6)
	out, err := CrossFit(context.Background(), s, Params{Kind: KindWCCN, Dim: 16, Shrink: 0.3}, CrossFitOptions{Folds: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.NonMated) != s.Len() || len(out.Mated) != s.Len() {
		t.Errorf("%d non-mated, %d mated samples; want %d each", len(out.NonMated), len(out.Mated), s.Len())
	}
	// At most DefaultCalibrationFolds folders: leave one folder out, one
	// deal whatever Repeats asks (every deal is the same).
	lofo, err := CrossFit(context.Background(), s, Params{Kind: KindWCCN, Dim: 16, Shrink: 0.3}, CrossFitOptions{Repeats: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(lofo.NonMated) != s.Len() || lofo.Folders != 15 {
		t.Errorf("leave-one-folder-out: %d non-mated samples from %d folders; want %d from 15", len(lofo.NonMated), lofo.Folders, s.Len())
	}
	if _, err := CrossFit(context.Background(), synth(t, 1, 6, 16, 4, 6), Params{Kind: KindWCCN}, CrossFitOptions{}); err == nil {
		t.Error("1 folder accepted")
	}
}

func TestSelectionConfirm(t *testing.T) {
	for _, tc := range []struct {
		name         string
		keep         bool
		adapted, raw float64
		minGain      float64
		want         bool
		reasonSays   string
	}{
		{"lead holds", true, 0.85, 0.80, 0, true, "certified on the whole library"},
		{"lead lost at the certified thresholds", true, 0.756, 0.792, 0, false, "less than the 1 required"},
		{"gain under the minimum", true, 0.805, 0.80, 0, false, "less than the 1 required"},
		{"negative minimum keeps it for measurement", true, 0.70, 0.80, -1, true, "certified"},
		{"any negative minimum keeps it", true, 0.70, 0.80, -0.01, true, "certified"},
		{"not kept stays not kept", false, 0.90, 0.80, 0, false, "held-out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sel := Selection{Keep: tc.keep, Reason: "held-out", Best: Score{Params: Params{Kind: KindWCCN, Dim: 8}}}
			sel.Confirm(Certified{Adapted: tc.adapted, Raw: tc.raw, Mated: 100}, tc.minGain)
			if sel.Keep != tc.want || !strings.Contains(sel.Reason, tc.reasonSays) || sel.Certified == nil {
				t.Errorf("keep %v (want %v), reason %q (want it to say %q), certified %v", sel.Keep, tc.want, sel.Reason, tc.reasonSays, sel.Certified)
			}
		})
	}
}

// Cross-fitted strangers are searched against the folders the transform was
// fitted on, never against their fold-mates: with every folder filed twice
// (an identical twin folder), a face finds its twin (score 1) exactly when
// the twin was dealt into another fold.
func TestCrossFitStrangersMeetFittedFoldersOnly(t *testing.T) {
	base := synth(t, 6, 3, 16, 4, 11)
	s := Set{Dim: base.Dim}
	for _, copyOf := range []int{0, 1} {
		for i := range base.Len() {
			s.Vecs = append(s.Vecs, base.Row(i)...)
			s.Folders = append(s.Folders, 2*base.Folders[i]+copyOf) // folders 2f and 2f+1 are twins
		}
	}
	const folds = 3
	out, err := CrossFit(context.Background(), s, Params{Kind: KindRaw}, CrossFitOptions{Folds: folds})
	if err != nil {
		t.Fatal(err)
	}
	groups := groupByFolder(s.Folders)
	fold := map[int]int{} // folder id -> fold
	for gi, f := range assignFolds(len(groups), folds, 0) {
		fold[s.Folders[groups[gi][0]]] = f
	}
	apart := 0
	for i, score := range out.NonMated {
		f := out.NonMatedFolder[i]
		twin := f ^ 1
		if fold[f] != fold[twin] {
			apart++
		}
		if found := score > 0.999; found != (fold[f] != fold[twin]) {
			t.Errorf("folder %d (fold %d, twin %d in fold %d): best stranger score %.3f", f, fold[f], twin, fold[twin], score)
		}
	}
	if apart == 0 || apart == len(out.NonMated) {
		t.Fatalf("the deal put every twin pair %s; the test needs both cases", map[bool]string{true: "apart", false: "together"}[apart > 0])
	}
	// Twins declared aliases (one person filed twice) are never each
	// other's stranger.
	twins := func(a, b int) bool { return a^1 == b }
	out, err = CrossFit(context.Background(), s, Params{Kind: KindRaw}, CrossFitOptions{Folds: folds, Alias: twins})
	if err != nil {
		t.Fatal(err)
	}
	for i, score := range out.NonMated {
		if score > 0.999 {
			t.Errorf("folder %d met its alias folder as a stranger (score %.3f)", out.NonMatedFolder[i], score)
		}
	}
}

// Certify of the raw cosine against itself: the same samples, thresholds and
// rates on both sides, from the rule it is given.
func TestCertifyRawAgainstItself(t *testing.T) {
	s := synth(t, 12, 6, 16, 4, 2)
	calls := 0
	rule := func(non []float64, folders []int) (float64, error) {
		calls++
		if len(folders) != len(non) {
			t.Errorf("rule given %d scores, %d folders", len(non), len(folders))
		}
		return ThresholdAt(non, 0.05)
	}
	c, smp, err := Certify(context.Background(), s, Params{Kind: KindRaw}, CrossFitOptions{}, rule)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || c.Adapted != c.Raw || c.AdaptedThreshold != c.RawThreshold || c.Folders != 12 || len(smp.NonMated) != s.Len() || c.Mated != len(smp.Mated) {
		t.Errorf("rule called %d times; certified %+v with %d non-mated samples", calls, c, len(smp.NonMated))
	}
	if c.Raw <= 0 || c.Raw > 1 {
		t.Errorf("raw mated rate %.3f at its own threshold", c.Raw)
	}
}
