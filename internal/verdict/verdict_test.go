package verdict

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/adapt"
	"github.com/facesearch/facesearch/internal/eval"
)

func TestFitOperatingPoints(t *testing.T) {
	var s Samples
	for i := 1; i <= 1000; i++ {
		s.NonMated = append(s.NonMated, float64(i)/1000) // 0.001 .. 1.000
	}
	for i := 0; i < 100; i++ {
		s.Mated = append(s.Mated, 0.5+float64(i)/200) // 0.50 .. 0.995
	}
	s.NonMatedFolders, s.MatedFolders = 100, 50
	c, err := Fit(s, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Calibrated() {
		t.Fatalf("uncalibrated: %s", c.Reason)
	}
	tests := []struct {
		name  string
		p     Point
		fpir  float64
		above int
	}{
		// Fitted conservatively: the most strangers above whose one-sided
		// 95% Wilson bound stays at the target (not ⌊p·n⌋ = 10 and 100).
		{"match", c.Match, 0.01, 4},
		{"possible", c.Possible, 0.10, 84},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.p.NonMatedAbove != tc.above || tc.p.MeasuredFPIR > tc.fpir || tc.p.UpperFPIR > tc.fpir || UpperFPIR(tc.above+1, 1000) <= tc.fpir {
				t.Errorf("%d above (FPIR %g, upper %g), want %d above, the most with upper bound ≤ %g", tc.p.NonMatedAbove, tc.p.MeasuredFPIR, tc.p.UpperFPIR, tc.above, tc.fpir)
			}
			// FNIR: share of mated scores below the threshold.
			miss := 0
			for _, m := range s.Mated {
				if float32(m) < tc.p.Threshold {
					miss++
				}
			}
			if got := float64(miss) / 100; math.Abs(got-tc.p.FNIR) > 1e-12 {
				t.Errorf("FNIR %g, want %g", tc.p.FNIR, got)
			}
		})
	}
	j := c.Judge(float32(c.Match.Threshold), 0.2, true)
	if j.Verdict != Match || j.StrangersAtOrAbove != 4 || j.StrangerText() != "1 in 250" || j.Margin == nil {
		t.Errorf("judge at the match threshold: %+v %q", j, j.StrangerText())
	}
	if j := c.Judge(0.95, 0, false); j.Verdict != Possible || j.Margin != nil {
		t.Errorf("judge 0.95: %+v", j)
	}
	if j := c.Judge(0.5, 0, false); j.Verdict != NoMatch || j.StrangerText() != "1 in 2.0" {
		t.Errorf("judge 0.5: %+v %q", j, j.StrangerText())
	}
	if j := c.Judge(1.5, 0, false); j.StrangerText() != "none of 1000 strangers (fewer than 1 in 334, 95%)" {
		t.Errorf("above every stranger: %q, want the bound of the samples", j.StrangerText())
	}
	r, err := c.Refit(FitOptions{MatchFPIR: 0.005, PossibleFPIR: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Calibrated() || r.Match.NonMatedAbove != 1 || r.Possible.Threshold != c.Match.Threshold {
		t.Errorf("refit: match %+v, possible %+v", r.Match, r.Possible)
	}
}

func TestFitUncalibrated(t *testing.T) {
	tests := []struct {
		name, reason string
		s            Samples
	}{
		{"few searches", "non-mated searches", Samples{NonMated: make([]float64, 299), Mated: make([]float64, 100), NonMatedFolders: 50}},
		{"few folders", "folders", Samples{NonMated: make([]float64, 1000), Mated: make([]float64, 100), NonMatedFolders: 9}},
		// 1,000 searches but only 29 people behind them: the 1% point needs 30.
		{"few people", "needs at least 30 people", Samples{NonMated: make([]float64, 1000), Mated: make([]float64, 100), NonMatedFolders: 29}},
		{"few mates", "mated", Samples{NonMated: make([]float64, 1000), Mated: make([]float64, 5), NonMatedFolders: 50}},
		{"empty", "non-mated", Samples{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Fit(tc.s, FitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if c.Calibrated() || !strings.Contains(c.Reason, tc.reason) {
				t.Fatalf("status %s, reason %q; want uncalibrated for %q", c.Status, c.Reason, tc.reason)
			}
			if j := c.Judge(0.99, 0, false); j.Verdict != Uncalibrated || j.StrangerText() != "" {
				t.Errorf("judge on an uncalibrated library: %+v", j)
			}
		})
	}
	if _, err := Fit(Samples{}, FitOptions{MatchFPIR: 0.2, PossibleFPIR: 0.1}); err == nil {
		t.Error("possible FPIR below match FPIR accepted")
	}
}

// planted builds folders of unit vectors around random person centres.
type planted struct {
	rng    *rand.Rand
	dim    int
	noise  float64
	groups []eval.Group
}

func (p *planted) centre() []float32 {
	v := make([]float32, p.dim)
	for i := range v {
		v[i] = float32(p.rng.NormFloat64())
	}
	return unit(v)
}

func (p *planted) face(c []float32) []float32 {
	v := make([]float32, p.dim)
	for i := range v {
		v[i] = c[i] + float32(p.noise*p.rng.NormFloat64())
	}
	return unit(v)
}

func unit(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(s))
	}
	return v
}

func (p *planted) folder(name string, c []float32, n int) int {
	g := eval.Group{Name: name}
	for i := 0; i < n; i++ {
		g.Vectors = append(g.Vectors, p.face(c))
	}
	p.groups = append(p.groups, g)
	return len(p.groups) - 1
}

// TestSamplePlanted plants one person filed under two folders and photos
// of a person misfiled into another's folder: neither may count as a
// stranger scoring high, and the alias folders must not be mates either.
func TestSamplePlanted(t *testing.T) {
	p := &planted{rng: rand.New(rand.NewPCG(3, 4)), dim: 64, noise: 0.08}
	centres := make([][]float32, 40)
	for i := range centres {
		centres[i] = p.centre()
		p.folder(string(rune('A'+i%26))+string(rune('a'+i/26)), centres[i], 10)
	}
	clean := append([]eval.Group(nil), p.groups...)
	// Person 0 filed again as "alias"; one photo of person 1 misfiled in 2.
	p.folder("alias", centres[0], 6)
	p.groups[2].Vectors = append(p.groups[2].Vectors, p.face(centres[1]))

	base, _, err := Sample(context.Background(), clean, SampleOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, rep, err := Sample(context.Background(), p.groups, SampleOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.AliasFolderPairs != 1 || rep.Outliers < 1 {
		t.Errorf("found %d alias folder pairs and %d outliers, want 1 and at least 1", rep.AliasFolderPairs, rep.Outliers)
	}
	maxOf := func(v []float64) float64 {
		m := -2.0
		for _, x := range v {
			m = max(m, x)
		}
		return m
	}
	minOf := func(v []float64) float64 {
		m := 2.0
		for _, x := range v {
			m = min(m, x)
		}
		return m
	}
	// Same-person scores here are ~0.7, strangers below ~0.45.
	if got, clean := maxOf(s.NonMated), maxOf(base.NonMated); got > clean+0.05 {
		t.Errorf("best non-mated score %.3f (clean library %.3f): an alias or misfiled photo counted as a stranger", got, clean)
	}
	raw, _, err := Sample(context.Background(), p.groups, SampleOptions{Seed: 1, NoTrim: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, clean := maxOf(raw.NonMated), maxOf(base.NonMated); got < clean+0.1 {
		t.Errorf("untrimmed labels: best non-mated %.3f, clean %.3f: the planted errors do not show", got, clean)
	}
	if got := minOf(s.Mated); got < 0.4 {
		t.Errorf("worst mated score %.3f: the misfiled photo counted as a mate", got)
	}
	if want := 40*10 + 6 + 1 - rep.Outliers; len(s.NonMated) != want || s.NonMatedFolders != 41 {
		t.Errorf("%d non-mated searches from %d folders, want %d from 41 (outliers are no query)", len(s.NonMated), s.NonMatedFolders, want)
	}
	// Without label reading, the planted errors show up as high strangers.
	c, err := Calibrate(context.Background(), p.groups, SampleOptions{Seed: 1}, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Calibrated() || c.Match.Threshold > 0.6 {
		t.Errorf("calibration %s (%s): match threshold %.3f", c.Status, c.Reason, c.Match.Threshold)
	}
}

// TestCalibrateTwentyFolders: a raw calibration of 20 people is fitted
// with the folder-clustered bound (each non-mated score carries its
// folder), so it gives verdicts with the MinFolders floor rather than the
// 0.3/FPIR people of the independent-search bound; with 9 folders it is
// still uncalibrated; and its bound is never below the Wilson bound of the
// same scores taken as independent.
func TestCalibrateTwentyFolders(t *testing.T) {
	for _, tc := range []struct {
		folders    int
		calibrated bool
	}{{20, true}, {9, false}} {
		p := &planted{rng: rand.New(rand.NewPCG(7, 8)), dim: 32, noise: 0.05}
		for i := 0; i < tc.folders; i++ {
			p.folder(string(rune('a'+i)), p.centre(), 40)
		}
		s, _, err := Sample(context.Background(), p.groups, SampleOptions{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.NonMatedCluster) != len(s.NonMated) {
			t.Fatalf("%d folders: %d clusters for %d non-mated scores", tc.folders, len(s.NonMatedCluster), len(s.NonMated))
		}
		c, err := Fit(s, FitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Calibrated() != tc.calibrated {
			t.Fatalf("%d folders: status %s (%s), want calibrated=%v", tc.folders, c.Status, c.Reason, tc.calibrated)
		}
		if len(c.NonMatedClusters) != len(c.NonMated) {
			t.Errorf("%d folders: the calibration keeps %d clusters for %d scores", tc.folders, len(c.NonMatedClusters), len(c.NonMated))
		}
		ind := s
		ind.NonMatedCluster, ind.NonMatedFolders = nil, 100
		w, err := Fit(ind, FitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Match.Threshold < w.Match.Threshold {
			t.Errorf("%d folders: clustered match threshold %.4f below the independent-search one %.4f", tc.folders, c.Match.Threshold, w.Match.Threshold)
		}
	}
}

// TestSampleKNNFallback checks that a query whose k nearest are all its own
// folder still gets a non-mated score (the scan fallback), with a KNN that
// only ever returns k rows.
func TestSampleKNNFallback(t *testing.T) {
	p := &planted{rng: rand.New(rand.NewPCG(5, 6)), dim: 32, noise: 0.05}
	p.folder("big", p.centre(), 2100) // larger than the k cap of 2048
	for i := 0; i < 12; i++ {
		p.folder(string(rune('a'+i)), p.centre(), 3)
	}
	s, rep, err := Sample(context.Background(), p.groups, SampleOptions{Seed: 1, MaxQueries: 50000, PerFolder: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if want := 2100 + 12*3 - rep.Outliers; len(s.NonMated) != want {
		t.Errorf("%d non-mated searches, want %d", len(s.NonMated), want)
	}
}

// TestWarnAliases: alias folder pairs above 2% of the folders get a warning
// (they leave the stranger sample, so a wrong merge hides high strangers).
func TestWarnAliases(t *testing.T) {
	tests := []struct {
		folders, pairs int
		warn           bool
	}{{100, 2, false}, {100, 3, true}, {36, 18, true}, {0, 0, false}}
	for _, tc := range tests {
		c := &Calibration{Folders: tc.folders, AliasFolderPairs: tc.pairs}
		c.warnAliases()
		if got := len(c.Warnings) == 1 && strings.Contains(c.Warnings[0], "underestimated"); got != tc.warn {
			t.Errorf("%d pairs of %d folders: warnings %q, want a warning %v", tc.pairs, tc.folders, c.Warnings, tc.warn)
		}
	}
}

// MatchThreshold is Fit's match point: with folders, the clustered bound,
// never below the independent-search one; without (or with a folder list
// of another length), the independent-search bound.
func TestMatchThreshold(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var non []float64
	var folders []int
	for f := range 40 {
		lift := 0.0
		if f < 2 {
			lift = 0.3 // two folders hold most of the high scores
		}
		for range 25 {
			non = append(non, 0.3+lift+0.1*r.NormFloat64())
			folders = append(folders, f)
		}
	}
	indep, err := MatchThreshold(non, nil, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if mism, _ := MatchThreshold(non, folders[:10], 0.01); mism != indep {
		t.Errorf("a folder list of another length: %.4f, want the independent bound %.4f", mism, indep)
	}
	clustered, err := MatchThreshold(non, folders, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if clustered < indep {
		t.Errorf("clustered threshold %.4f below the independent one %.4f", clustered, indep)
	}
	if adapt.RateAt(non, clustered) > 0.01 || adapt.RateAt(non, indep) > 0.01 {
		t.Errorf("thresholds %.4f / %.4f let through %.3f / %.3f of the samples", clustered, indep, adapt.RateAt(non, clustered), adapt.RateAt(non, indep))
	}
	if _, err := MatchThreshold(nil, nil, 0.01); err == nil {
		t.Error("no scores accepted")
	}
}
