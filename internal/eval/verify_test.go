package eval

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func sc(pairs ...any) []Score {
	var s []Score
	for i := 0; i < len(pairs); i += 2 {
		s = append(s, Score{Sim: pairs[i].(float64), Same: pairs[i+1].(bool)})
	}
	return s
}

// six is a small hand-worked example: positives 0.9 0.8 0.6, negatives 0.7 0.4 0.3.
var six = sc(0.9, true, 0.8, true, 0.7, false, 0.6, true, 0.4, false, 0.3, false)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestAccuracyAndBestThreshold(t *testing.T) {
	for _, tc := range []struct {
		t, want float64
	}{{0.75, 5.0 / 6}, {0.5, 5.0 / 6}, {0.65, 4.0 / 6}, {-1, 0.5}, {1, 0.5}, {0.9, 4.0 / 6}} {
		if got := Accuracy(six, tc.t); !near(got, tc.want) {
			t.Errorf("Accuracy(t=%g) = %g, want %g", tc.t, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name          string
		s             []Score
		wantT, wantAc float64
	}{
		// Boundaries at 0.5 and 0.75 both give 5/6; the first of the two middle ones wins.
		{"six", six, 0.5, 5.0 / 6},
		{"separable", sc(0.2, false, 0.4, false, 0.6, true, 0.8, true), 0.5, 1},
		{"all same", sc(0.2, true, 0.4, true), 0.2, 1},
		{"all different", sc(0.2, false, 0.4, false), math.Nextafter(0.4, 1), 1},
		{"ties", sc(0.5, true, 0.5, false, 0.5, true), 0.5, 2.0 / 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th, acc, err := BestThreshold(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if !near(th, tc.wantT) || !near(acc, tc.wantAc) {
				t.Errorf("BestThreshold = %g, %g; want %g, %g", th, acc, tc.wantT, tc.wantAc)
			}
			if got := Accuracy(tc.s, th); !near(got, acc) {
				t.Errorf("Accuracy at the best threshold = %g, reported %g", got, acc)
			}
		})
	}
	if _, _, err := BestThreshold(nil); err == nil {
		t.Error("BestThreshold(nil): no error")
	}
}

func TestKFold(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		s := []Score{{0.9, true, 0}, {0.1, false, 0}, {0.6, true, 1}, {0.65, false, 1}}
		r, err := KFold(s)
		if err != nil {
			t.Fatal(err)
		}
		// Fold 0 tested at the threshold from fold 1 (0.6): both right.
		// Fold 1 tested at 0.5 (midway 0.1..0.9): 0.65 false-accepted.
		want := []float64{1, 0.5}
		for i := range want {
			if !near(r.Accuracies[i], want[i]) {
				t.Errorf("fold %d accuracy %g, want %g (thresholds %v)", i, r.Accuracies[i], want[i], r.Thresholds)
			}
		}
		if !near(r.Mean, 0.75) || !near(r.Std, 0.25) {
			t.Errorf("mean %g std %g, want 0.75 0.25", r.Mean, r.Std)
		}
	})
	t.Run("separable 10 folds", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		var s []Score
		for f := 0; f < 10; f++ {
			for i := 0; i < 300; i++ {
				s = append(s, Score{0.5 + 0.5*rng.Float64(), true, f}, Score{-0.5 + 0.9*rng.Float64(), false, f})
			}
		}
		r, err := KFold(s)
		if err != nil {
			t.Fatal(err)
		}
		if r.Mean != 1 || r.Std != 0 || len(r.Accuracies) != 10 {
			t.Errorf("separable: %+v", r)
		}
		for _, th := range r.Thresholds {
			if th <= 0.4 || th >= 0.5 {
				t.Errorf("threshold %g outside the gap (0.4, 0.5)", th)
			}
		}
	})
	if _, err := KFold(six); err == nil {
		t.Error("one fold: no error")
	}
}

func TestAUC(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    []Score
		want float64
	}{
		{"six", six, 8.0 / 9},
		{"perfect", sc(0.1, false, 0.2, false, 0.8, true, 0.9, true), 1},
		{"reversed", sc(0.1, true, 0.2, true, 0.8, false, 0.9, false), 0},
		{"interleaved", sc(1.0, true, 2.0, false, 3.0, false, 4.0, true), 0.5},
		{"all tied", sc(0.5, true, 0.5, false, 0.5, false), 0.5},
		// pos {0.5,0.5} neg {0.5,0.1}: 2 ties (1/2 each) + 2 wins = 3 of 4.
		{"ties", sc(0.5, true, 0.5, true, 0.5, false, 0.1, false), 0.75},
	} {
		got, err := AUC(tc.s)
		if err != nil {
			t.Fatal(err)
		}
		if !near(got, tc.want) {
			t.Errorf("%s: AUC %g, want %g", tc.name, got, tc.want)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var s []Score
	for i := 0; i < 20000; i++ {
		s = append(s, Score{Sim: rng.Float64(), Same: i%2 == 0})
	}
	if got, _ := AUC(s); math.Abs(got-0.5) > 0.02 {
		t.Errorf("random ranking: AUC %g, want about 0.5", got)
	}
	if _, err := AUC(sc(0.1, true)); !errors.Is(err, ErrOneClass) {
		t.Errorf("one class: err %v", err)
	}
}

func TestROC(t *testing.T) {
	got, err := ROC(six)
	if err != nil {
		t.Fatal(err)
	}
	want := []ROCPoint{
		{math.Inf(1), 0, 0}, {0.9, 0, 1.0 / 3}, {0.8, 0, 2.0 / 3}, {0.7, 1.0 / 3, 2.0 / 3},
		{0.6, 1.0 / 3, 1}, {0.4, 2.0 / 3, 1}, {0.3, 1, 1},
	}
	if len(got) != len(want) {
		t.Fatalf("ROC has %d points, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].Threshold != want[i].Threshold || !near(got[i].FAR, want[i].FAR) || !near(got[i].TAR, want[i].TAR) {
			t.Errorf("point %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	at := ROCAt(got, []float64{0, 0.5, 1})
	if at[0].Threshold != 0.8 || at[1].Threshold != 0.6 || at[2].TAR != 1 {
		t.Errorf("ROCAt = %+v", at)
	}
	// Ties collapse to one point.
	tied, _ := ROC(sc(0.5, true, 0.5, false))
	if len(tied) != 2 || tied[1].FAR != 1 || tied[1].TAR != 1 {
		t.Errorf("tied ROC = %+v", tied)
	}
}

func TestTARAtFAR(t *testing.T) {
	for _, tc := range []struct {
		far, wantTAR, wantT float64
	}{
		{0, 2.0 / 3, math.Nextafter(0.7, 1)},
		{0.2, 2.0 / 3, math.Nextafter(0.7, 1)},      // floor(0.6) = 0 accepted
		{0.34, 1, math.Nextafter(0.4, 1)},           // one negative (0.7) may pass
		{2.0 / 3, 1, math.Nextafter(0.3, 1)},        // two may pass
		{1, 1, math.Inf(-1)},                        // everything
		{1.0 / 3, 1, math.Nextafter(0.4, 1)},        // exactly 1/3 of 3 (float rounding)
		{0.999, 1, math.Nextafter(0.3, 1)},          // two of three
		{1e-3, 2.0 / 3, math.Nextafter(0.7, 1)},     // the LFW figure on a tiny set
		{0.5, 1, math.Nextafter(0.4, math.Inf(1))},  // floor(1.5) = 1
		{0.67, 1, math.Nextafter(0.3, math.Inf(1))}, // floor(2.01) = 2
	} {
		tar, th, err := TARAtFAR(six, tc.far)
		if err != nil {
			t.Fatal(err)
		}
		if !near(tar, tc.wantTAR) || th != tc.wantT {
			t.Errorf("TARAtFAR(%g) = %g at %g, want %g at %g", tc.far, tar, th, tc.wantTAR, tc.wantT)
		}
	}
	// Ties among negatives never push the FAR above the target.
	tied := sc(0.9, true, 0.5, true, 0.5, false, 0.5, false, 0.1, false, 0.1, false)
	tar, th, _ := TARAtFAR(tied, 0.25) // one of four negatives may pass, but two tie at 0.5
	if tar != 0.5 || th <= 0.5 {
		t.Errorf("tied: TAR %g at %g, want 0.5 above 0.5", tar, th)
	}
	if _, _, err := TARAtFAR(six, 1.5); err == nil {
		t.Error("FAR 1.5: no error")
	}
	if _, _, err := TARAtFAR(sc(0.1, false), 0.1); !errors.Is(err, ErrOneClass) {
		t.Errorf("one class: %v", err)
	}
}

func TestIdentify(t *testing.T) {
	labels := []string{"a", "a", "b", "b", "c", ""}
	sim := [][]float64{
		{1, .5, .6, .1, 0, 0},  // best other: 2 (b), then 1 (a): rank 2
		{.9, 1, .2, .1, 0, 0},  // 0: rank 1
		{.1, .2, 1, .8, 0, 0},  // 3: rank 1
		{.5, .4, .3, 1, .9, 0}, // 4 (c), 0, 1, 2: rank 4
		{0, 0, 0, 0, 1, 0},     // c is alone: not a query
		{0, 0, 0, 0, 0, 1},     // unlabelled: not a query
	}
	id, err := Identify(context.Background(), labels, MatrixSearcher(sim), IdentifyOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.5, 0.75, 0.75, 1, 1}
	if id.Queries != 4 || len(id.CMC) != 5 {
		t.Fatalf("%+v", id)
	}
	for i := range want {
		if !near(id.CMC[i], want[i]) {
			t.Errorf("rank %d: %g, want %g", i+1, id.CMC[i], want[i])
		}
	}
	if id.Rank(1) != 0.5 || id.Rank(6) != 0 {
		t.Errorf("Rank: %g %g", id.Rank(1), id.Rank(6))
	}

	// Brute force over vectors: a nil vector (no face) is a miss as a query
	// and never returned.
	vecs := [][]float32{{1, 0}, {0.9, 0.1}, {0, 1}, nil, {0.1, 0.9}}
	bl := []string{"a", "a", "b", "b", "x"}
	id, err = Identify(context.Background(), bl, BruteForceSearcher(vecs), IdentifyOptions{MaxRank: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Queries 0,1,2,3: 0->1 hit, 1->0 hit, 2->4 (x) then 1 (a): miss, 3: nil.
	if id.Queries != 4 || id.Rank(1) != 0.5 || id.Rank(2) != 0.5 {
		t.Errorf("brute force: %+v", id)
	}
	bad := func(context.Context, int, int) ([]int, error) { return []int{99}, nil }
	if _, err := Identify(context.Background(), bl, bad, IdentifyOptions{}); err == nil {
		t.Error("out-of-range index: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Identify(ctx, bl, BruteForceSearcher(vecs), IdentifyOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestTopK(t *testing.T) {
	got := topK(6, 3, func(j int) float32 { return []float32{0.1, 0.9, 0.5, 0.9, 0.2, 0.7}[j] })
	want := []int{1, 3, 5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("topK = %v, want %v", got, want)
		}
	}
	if got := topK(2, 5, func(j int) float32 { return float32(j) }); len(got) != 2 || got[0] != 1 {
		t.Errorf("k > n: %v", got)
	}
}
