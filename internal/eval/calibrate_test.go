package eval

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// synthFaces makes a clustered stand-in for face embeddings: people drawn
// around a few "demographic" directions (so that some strangers look alike
// and the different-person tail is heavier than a Gaussian's), each image a
// noisy copy of its person's centre. Same-person cosine is about 0.5-0.75,
// different-person about 0 +- 0.1 with a tail, as with real face models.
func synthFaces(rng *rand.Rand, people, dim int) []Group {
	demo := make([][]float32, 8)
	for i := range demo {
		demo[i] = randUnit(rng, dim)
	}
	groups := make([]Group, people)
	for p := range groups {
		centre := mix(rng, demo[rng.IntN(len(demo))], 0.4, dim)
		n := 2 + rng.IntN(12)
		if rng.IntN(20) == 0 {
			n += 40 // a few large folders
		}
		noise := 0.55 + 0.35*rng.Float64()
		for range n {
			groups[p].Vectors = append(groups[p].Vectors, mix(rng, centre, 1/noise, dim))
		}
		groups[p].Name = string(rune('A'+p%26)) + string(rune('a'+p/26%26)) + string(rune('0'+p/676))
	}
	return groups
}

func randUnit(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return unit(v)
}

// mix returns normalise(w*c + unit gaussian noise).
func mix(rng *rand.Rand, c []float32, w float64, dim int) []float32 {
	n := randUnit(rng, dim)
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(w)*c[i] + n[i]
	}
	return unit(v)
}

func unit(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
	return v
}

// diffSims returns the similarities of all different-person pairs of groups,
// sorted.
func diffSims(groups []Group) []float64 {
	type im struct {
		g int
		v []float32
	}
	var all []im
	for g, gr := range groups {
		for _, v := range gr.Vectors {
			all = append(all, im{g, v})
		}
	}
	var sims []float64
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			if all[i].g != all[j].g {
				sims = append(sims, float64(Dot(all[i].v, all[j].v)))
			}
		}
	}
	sort.Float64s(sims)
	return sims
}

// fracAbove returns the fraction of sorted values at or above t.
func fracAbove(sorted []float64, t float64) float64 {
	i := sort.SearchFloat64s(sorted, t)
	return float64(len(sorted)-i) / float64(len(sorted))
}

func TestCalibrateSynthetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	const dim = 128
	// One population, split by person into a calibration and a held-out half.
	all := synthFaces(rng, 700, dim)
	calib, held := all[:400], all[400:]
	heldDiff := diffSims(held)

	// Dirty copy of the calibration half: 2% of images misfiled into another
	// folder, and one person's images spread over 12 folders (an alias
	// problem, e.g. "G_W_Bush" and "George_Bush"), which floods the
	// different-person pairs with same-person ones.
	dirty := make([]Group, len(calib))
	for g := range calib {
		dirty[g] = Group{Name: calib[g].Name, Vectors: append([][]float32(nil), calib[g].Vectors...)}
	}
	misfiled := 0
	for g := range dirty {
		for i := 0; i < len(dirty[g].Vectors); i++ {
			if len(dirty[g].Vectors) > 3 && rng.Float64() < 0.02 {
				to := rng.IntN(len(dirty))
				if to == g {
					continue
				}
				dirty[to].Vectors = append(dirty[to].Vectors, dirty[g].Vectors[i])
				dirty[g].Vectors = append(dirty[g].Vectors[:i], dirty[g].Vectors[i+1:]...)
				misfiled++
			}
		}
	}
	alias := mix(rng, randUnit(rng, dim), 0.4, dim)
	for k := range 12 {
		var vs [][]float32
		for range 25 {
			vs = append(vs, mix(rng, alias, 1/0.6, dim))
		}
		dirty = append(dirty, Group{Name: "alias" + string(rune('a'+k)), Vectors: vs})
	}

	for _, far := range []float64{1e-3, 1e-2} {
		for _, tc := range []struct {
			name   string
			groups []Group
			opts   CalibrateOptions
			within bool // held-out FAR within a factor 2 of the target
		}{
			{"clean", calib, CalibrateOptions{}, true},
			{"dirty trimmed", dirty, CalibrateOptions{}, true},
			// Without trimming the alias folders wreck the estimate; this
			// shows the factor-2 check can fail.
			{"dirty untrimmed", dirty, CalibrateOptions{NoTrim: true}, far == 1e-2},
		} {
			t.Run(tc.name, func(t *testing.T) {
				o := tc.opts
				o.FAR = far
				o.Seed = 1
				c, err := Calibrate(context.Background(), tc.groups, o)
				if err != nil {
					t.Fatal(err)
				}
				got, n := fracAbove(heldDiff, c.Threshold), len(heldDiff)
				t.Logf("FAR %g: threshold %.4f, calibration FAR %.2e TAR %.4f (%d same, %d diff pairs, %d outliers, %d merged); held-out FAR %.2e over %d pairs",
					far, c.Threshold, c.MeasuredFAR, c.TAR, len(c.Same), len(c.Diff), len(c.Outliers), c.MergedGroupPairs, got, n)
				in := got >= far/2 && got <= far*2
				if in != tc.within {
					t.Errorf("held-out FAR %.2e for target %g: within factor 2 = %v, want %v", got, far, in, tc.within)
				}
				if c.MeasuredFAR > far {
					t.Errorf("calibration FAR %g above target %g", c.MeasuredFAR, far)
				}
				if tc.within && (c.TAR < 0.5 || c.TAR > 1) {
					t.Errorf("TAR %g implausible", c.TAR)
				}
				if len(c.Curve) < 10 || len(c.Curve) > 210 {
					t.Errorf("curve has %d points", len(c.Curve))
				}
			})
		}
	}

	c, err := Calibrate(context.Background(), dirty, CalibrateOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Outliers) < misfiled*7/10 {
		t.Errorf("found %d outliers for %d misfiled images", len(c.Outliers), misfiled)
	}
	if c.MergedGroupPairs < 12*11/2*9/10 {
		t.Errorf("merged %d folder pairs, want most of the %d alias pairs", c.MergedGroupPairs, 12*11/2)
	}
	if c.MergedGroupPairs > 12*11/2+20 {
		t.Errorf("merged %d folder pairs: too many strangers taken for one person", c.MergedGroupPairs)
	}
	// Trimming should not discard many good images: outliers stay close to
	// the number of misfiled ones.
	if len(c.Outliers) > misfiled*2+20 {
		t.Errorf("%d outliers for %d misfiled images: over-trimming", len(c.Outliers), misfiled)
	}
	t.Logf("%d misfiled, %d outliers, %d merged folder pairs", misfiled, len(c.Outliers), c.MergedGroupPairs)
}

func TestCalibrateErrors(t *testing.T) {
	ctx := context.Background()
	one := []Group{{Name: "a", Vectors: [][]float32{{1, 0}, {0.9, 0.1}}}}
	for _, tc := range []struct {
		name   string
		groups []Group
		opts   CalibrateOptions
	}{
		{"no groups", nil, CalibrateOptions{}},
		{"singletons", []Group{{Name: "a", Vectors: [][]float32{{1, 0}}}, {Name: "b", Vectors: [][]float32{{0, 1}}}}, CalibrateOptions{}},
		{"one folder", one, CalibrateOptions{}},
		{"bad FAR", one, CalibrateOptions{FAR: 2}},
		{"nil vector", []Group{{Name: "a", Vectors: [][]float32{nil, {1, 0}, {1, 0}}}}, CalibrateOptions{}},
	} {
		if _, err := Calibrate(ctx, tc.groups, tc.opts); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	// Tiny but valid: warns that the figures are rough.
	c, err := Calibrate(ctx, []Group{
		{Name: "a", Vectors: [][]float32{{1, 0}, {0.9, 0.1}}},
		{Name: "b", Vectors: [][]float32{{0, 1}, {0.1, 0.9}}},
	}, CalibrateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 2 || len(c.Same) != 2 || len(c.Diff) != 4 {
		t.Errorf("tiny: %+v", c)
	}
}

func TestThinROC(t *testing.T) {
	var s []Score
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 5000; i++ {
		s = append(s, Score{Sim: rng.NormFloat64() + 2, Same: true}, Score{Sim: rng.NormFloat64()})
	}
	full, _ := ROC(s)
	thin := ThinROC(full, 50)
	if len(thin) > 52 || len(thin) < 20 {
		t.Fatalf("%d points", len(thin))
	}
	if thin[0] != full[0] || thin[len(thin)-1] != full[len(full)-1] {
		t.Error("end points lost")
	}
	for i := 1; i < len(thin); i++ {
		if thin[i].FAR < thin[i-1].FAR || thin[i].TAR < thin[i-1].TAR {
			t.Fatalf("not monotone at %d: %+v %+v", i, thin[i-1], thin[i])
		}
	}
}
