// Package verdict gives a library search result a verdict a person can act
// on: match, possible or no_match, with the stranger rate of its score and
// its margin over the best other person.
//
// It is open-set (1:N) calibration in the vocabulary of ISO/IEC 19795-1 and
// NIST's 1:N face evaluations. A non-mated search is one whose person is not
// in the library; FPIR is the share of them that return a candidate at or
// above a threshold. A mated search is one whose person is; FNIR is the share
// that miss their person at the threshold. Both are estimated from the
// library's own folders (see Sample), then the operating points are fitted
// on the scores (Fit, a pure function of the samples, so that other
// similarity spaces can feed it samples of their own).
package verdict

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Verdicts.
const (
	Match    = "match"
	Possible = "possible"
	NoMatch  = "no_match"
	// Uncalibrated is given when the library is too small to calibrate: the
	// score is shown without a verdict.
	Uncalibrated = "uncalibrated"
)

// Calibration statuses.
const (
	StatusCalibrated   = "calibrated"
	StatusUncalibrated = "uncalibrated"
)

// Default operating points.
const (
	DefaultMatchFPIR    = 0.01
	DefaultPossibleFPIR = 0.10
)

// MinFolders is the fewest folders with non-mated searches any calibration
// needs: non-mated searches from one folder are correlated (they share a
// person), so a few folders say little about strangers in general.
const MinFolders = 10

// MinNonMatedFolders returns the fewest distinct folders (people) behind
// the non-mated searches a match point at FPIR p needs when the samples do
// not name their folders (Samples.NonMatedCluster unset, e.g. a calibration
// stored before folders were recorded): 0.3/p (30 at 1%), at least
// MinFolders. Samples that name them (Sample, cross-fitting) are fitted
// with the folder-clustered bound instead and need MinFolders. The searches floor (MinNonMated, 3/p) counts
// searches, which are not independent when a folder has many photos: ten
// people with a hundred photos each give 1,000 searches whose few high
// stranger scores likely come from one or two people. Requiring a tenth as
// many people as searches means that, even if every search of a person
// scored alike, the people behind the scores at the match point are
// themselves a sample of 30 or more, the usual minimum for a cluster
// (folder-level) estimate.
func MinNonMatedFolders(p float64) int { return max(MinFolders, int(math.Ceil(0.3/p))) }

// MaxSearchesPerFolder is the mean number of non-mated searches per folder
// above which the calibration warns that its searches are correlated (the
// effective sample is nearer the number of folders than of searches).
const MaxSearchesPerFolder = 5

// upperZ is the one-sided 95% normal quantile of the Wilson bound.
const upperZ = 1.6448536269514722

// UpperFPIR returns the one-sided 95% Wilson upper confidence bound of a
// rate measured as k of n (treating the n searches as independent).
func UpperFPIR(k, n int) float64 {
	if n == 0 {
		return 1
	}
	nf, ph, z2 := float64(n), float64(k)/float64(n), upperZ*upperZ
	return math.Min(1, (ph+z2/(2*nf)+upperZ*math.Sqrt(ph*(1-ph)/nf+z2/(4*nf*nf)))/(1+z2/nf))
}

// allowedAbove returns the most non-mated searches of n that may score at
// or above a threshold at FPIR target p: the largest k whose one-sided 95%
// upper bound (UpperFPIR) is at most p, so that the fitted point holds on
// strangers, not only on the sample (fitting at the point estimate ⌊p·n⌋
// gave 1.30% on held-out LFW strangers for a 1% target).
func allowedAbove(p float64, n int) int {
	k := int(math.Floor(p * float64(n)))
	for k > 0 && UpperFPIR(k, n) > p {
		k--
	}
	return k
}

// MinMated is the fewest mated searches behind an FNIR.
const MinMated = 20

// MinNonMated returns the fewest non-mated searches a calibration at match
// FPIR p needs: 3/p, so that the 95% upper bound of an FPIR measured as 0
// of them is below p (with fewer, no threshold can be shown to hold at p).
// The bound treats searches as independent; MinNonMatedFolders guards
// against the many searches of few people.
func MinNonMated(p float64) int { return int(math.Ceil(3 / p)) }

// Samples are the score samples of a library's searches.
type Samples struct {
	// NonMated holds, for each non-mated search, the best score against the
	// library (own folder and its aliases excluded).
	NonMated []float64
	// Mated holds, for each mated search, the best score against the
	// query's own folder (the query image and its near-duplicates excluded).
	Mated []float64
	// NonMatedFolders and MatedFolders count the distinct folders behind
	// each sample.
	NonMatedFolders, MatedFolders int
	// NonMatedCluster, when set (one per non-mated score), names the folder
	// each non-mated search came from: the operating points are then
	// fitted with the clustered bound (people, not searches, as the
	// independent units; clusterUpper), which also lets the searches of
	// one folder be repeated (pooled cross-fitting deals), and the floor
	// of people is MinFolders rather than MinNonMatedFolders.
	NonMatedCluster []int
}

// FitOptions sets the operating points (zero values: the defaults).
type FitOptions struct {
	MatchFPIR, PossibleFPIR float64
}

func (o FitOptions) withDefaults() FitOptions {
	if o.MatchFPIR == 0 {
		o.MatchFPIR = DefaultMatchFPIR
	}
	if o.PossibleFPIR == 0 {
		o.PossibleFPIR = DefaultPossibleFPIR
	}
	return o
}

// Validate checks the operating points.
func (o FitOptions) Validate() error {
	o = o.withDefaults()
	if !(o.MatchFPIR > 0 && o.MatchFPIR < 1) || !(o.PossibleFPIR > 0 && o.PossibleFPIR < 1) {
		return fmt.Errorf("FPIR %g,%g: each must be between 0 and 1", o.MatchFPIR, o.PossibleFPIR)
	}
	if o.PossibleFPIR < o.MatchFPIR {
		return fmt.Errorf("FPIR %g,%g: the possible point's FPIR must be at least the match point's", o.MatchFPIR, o.PossibleFPIR)
	}
	return nil
}

// Point is one operating point.
type Point struct {
	// FPIR is the target; Threshold the lowest score whose measured FPIR
	// has a one-sided 95% upper bound (UpperFPIR) at most FPIR;
	// MeasuredFPIR, UpperFPIR and FNIR the rates at Threshold.
	FPIR         float64 `json:"fpir"`
	Threshold    float32 `json:"threshold"`
	MeasuredFPIR float64 `json:"measured_fpir"`
	UpperFPIR    float64 `json:"measured_fpir_upper95"`
	FNIR         float64 `json:"fnir"`
	// NonMatedAbove counts the non-mated searches at or above Threshold.
	NonMatedAbove int `json:"non_mated_at_or_above"`
}

// Calibration is a fitted open-set calibration.
type Calibration struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Similarity names the score space ("raw" cosine of the embeddings, or
	// "adapted:<transform id>").
	Similarity string `json:"similarity"`
	// Generation and Model identify the catalog state it was computed on.
	Generation int64  `json:"generation"`
	Model      string `json:"model"`
	Faces      int    `json:"faces"`
	Folders    int    `json:"folders"`

	NonMatedSearches int `json:"non_mated_searches"`
	MatedSearches    int `json:"mated_searches"`
	NonMatedFolders  int `json:"non_mated_folders"`
	MatedFolders     int `json:"mated_folders"`

	Match    Point    `json:"match"`
	Possible Point    `json:"possible"`
	Warnings []string `json:"warnings,omitempty"`
	// AliasFolderPairs and Outliers count what the sampling left out.
	AliasFolderPairs int     `json:"alias_folder_pairs"`
	Outliers         int     `json:"outliers"`
	SampleSeconds    float64 `json:"sample_seconds"`

	// NonMated and Mated are the samples, ascending (the curves).
	NonMated []float32 `json:"non_mated"`
	Mated    []float32 `json:"mated"`
	// NonMatedClusters, when the points were fitted with the clustered
	// bound, holds the folder of each NonMated score (same order).
	NonMatedClusters []int32 `json:"non_mated_clusters,omitempty"`

	// Stale, set only in memory, says the calibration is of an older
	// catalog generation ("calibrated at generation N; run index to
	// refresh"): read-only commands still judge with it.
	Stale string `json:"stale,omitempty"`
}

// Calibrated reports whether c gives verdicts.
func (c *Calibration) Calibrated() bool { return c != nil && c.Status == StatusCalibrated }

// Fit fits the operating points on s. A calibration that cannot be trusted
// (too few searches or folders) comes back with StatusUncalibrated and the
// reason; its samples are kept.
func Fit(s Samples, opts FitOptions) (*Calibration, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	c := &Calibration{Status: StatusCalibrated, Similarity: "raw",
		NonMatedSearches: len(s.NonMated), MatedSearches: len(s.Mated),
		NonMatedFolders: s.NonMatedFolders, MatedFolders: s.MatedFolders,
		Mated: sorted32(s.Mated)}
	clustered := len(s.NonMatedCluster) == len(s.NonMated) && len(s.NonMated) > 0
	if clustered {
		c.NonMated, c.NonMatedClusters = sortedWith(s.NonMated, s.NonMatedCluster)
	} else {
		c.NonMated = sorted32(s.NonMated)
	}
	for _, v := range s.NonMated {
		if math.IsNaN(v) {
			return nil, errors.New("fit: a non-mated score is NaN")
		}
	}
	switch need := MinNonMated(o.MatchFPIR); {
	case len(s.NonMated) < need:
		c.uncalibrated(fmt.Sprintf("%d non-mated searches; a match point at FPIR %g needs at least %d (3/FPIR)", len(s.NonMated), o.MatchFPIR, need))
	case clustered && s.NonMatedFolders < MinFolders:
		c.uncalibrated(fmt.Sprintf("%d folders behind the non-mated searches; calibration needs at least %d people", s.NonMatedFolders, MinFolders))
	case !clustered && s.NonMatedFolders < MinNonMatedFolders(o.MatchFPIR):
		c.uncalibrated(fmt.Sprintf("%d folders; a match point at FPIR %g needs at least %d people (0.3/FPIR, at least %d) behind the non-mated searches", s.NonMatedFolders, o.MatchFPIR, MinNonMatedFolders(o.MatchFPIR), MinFolders))
	case len(s.Mated) < MinMated:
		c.uncalibrated(fmt.Sprintf("%d mated searches (folders with two photos or more); calibration needs at least %d", len(s.Mated), MinMated))
	}
	if len(c.NonMated) == 0 {
		return c, nil
	}
	c.Match = c.point(o.MatchFPIR)
	c.Possible = c.point(o.PossibleFPIR)
	for _, p := range []Point{c.Match, c.Possible} {
		if n := p.FPIR * float64(len(s.NonMated)); n < 10 {
			c.Warnings = append(c.Warnings, fmt.Sprintf("FPIR %g rests on %.0f of %d non-mated searches: the threshold is rough", p.FPIR, n, len(s.NonMated)))
		}
	}
	if f := s.NonMatedFolders; f > 0 && len(s.NonMated) > MaxSearchesPerFolder*f && !clustered {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%d non-mated searches come from %d folders (%.0f each): searches of one person are correlated, so the rates rest on fewer independent samples than searches", len(s.NonMated), f, float64(len(s.NonMated))/float64(f)))
	}
	return c, nil
}

// MatchThreshold is the match threshold Fit certifies at FPIR fpir from
// non-mated scores alone, with the folder-clustered bound when folders
// names the folder of each score (nil: searches taken as independent).
// It ignores the floors of people and searches that decide whether a
// calibration may be used: it is the rule, for comparing similarities
// (adapt.Certify, eval library).
func MatchThreshold(nonMated []float64, folders []int, fpir float64) (float64, error) {
	if len(nonMated) == 0 {
		return 0, errors.New("match threshold: no non-mated scores")
	}
	s := Samples{NonMated: nonMated}
	if len(folders) == len(nonMated) {
		s.NonMatedCluster = folders
	}
	c, err := Fit(s, FitOptions{MatchFPIR: fpir, PossibleFPIR: max(fpir, DefaultPossibleFPIR)})
	if err != nil {
		return 0, err
	}
	return float64(c.Match.Threshold), nil
}

func (c *Calibration) uncalibrated(reason string) {
	c.Status, c.Reason = StatusUncalibrated, reason
}

// point finds the operating point at FPIR p on the stored curves.
func (c *Calibration) point(p float64) Point {
	n := len(c.NonMated)
	allowed := allowedAbove(p, n)
	clustered := len(c.NonMatedClusters) == n && n > 0
	if clustered {
		cl := make([]int, n)
		for i, x := range c.NonMatedClusters {
			cl[i] = int(x)
		}
		allowed = clusteredAllowed(c.NonMated, cl, p)
	}
	// NonMated ascending: the allowed highest scores are the last ones; the
	// threshold lies just above the next one down.
	var t float32
	if allowed >= n {
		t = c.NonMated[0]
	} else {
		t = math.Nextafter32(c.NonMated[n-1-allowed], float32(math.Inf(1)))
	}
	above := c.atOrAbove(t)
	pt := Point{FPIR: p, Threshold: t, NonMatedAbove: above, MeasuredFPIR: float64(above) / float64(n), UpperFPIR: UpperFPIR(above, n)}
	if clustered {
		pt.UpperFPIR = c.clusteredUpper(t)
	}
	if m := len(c.Mated); m > 0 {
		miss := sort.Search(m, func(i int) bool { return c.Mated[i] >= t })
		pt.FNIR = float64(miss) / float64(m)
	}
	return pt
}

// atOrAbove counts the non-mated scores ≥ t.
func (c *Calibration) atOrAbove(t float32) int {
	n := len(c.NonMated)
	return n - sort.Search(n, func(i int) bool { return c.NonMated[i] >= t })
}

// Refit returns a copy of c with the operating points fitted again at opts
// (from the stored samples; no search is run).
func (c *Calibration) Refit(opts FitOptions) (*Calibration, error) {
	s := Samples{NonMated: to64(c.NonMated), Mated: to64(c.Mated), NonMatedFolders: c.NonMatedFolders, MatedFolders: c.MatedFolders}
	if len(c.NonMatedClusters) == len(c.NonMated) && len(c.NonMated) > 0 {
		for _, x := range c.NonMatedClusters {
			s.NonMatedCluster = append(s.NonMatedCluster, int(x))
		}
	}
	r, err := Fit(s, opts)
	if err != nil {
		return nil, err
	}
	r.Similarity, r.Generation, r.Model, r.Faces, r.Folders = c.Similarity, c.Generation, c.Model, c.Faces, c.Folders
	r.AliasFolderPairs, r.Outliers, r.SampleSeconds = c.AliasFolderPairs, c.Outliers, c.SampleSeconds
	r.warnAliases()
	return r, nil
}

func sorted32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	slices.Sort(out)
	return out
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// sortedWith sorts v ascending, carrying the cluster of each value.
func sortedWith(v []float64, cl []int) ([]float32, []int32) {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	out, oc := make([]float32, len(v)), make([]int32, len(v))
	for i, j := range idx {
		out[i], oc[i] = float32(v[j]), int32(cl[j])
	}
	return out, oc
}

// clusteredUpper is the clustered bound (clusterUpper) of the FPIR at t.
func (c *Calibration) clusteredUpper(t float32) float64 {
	n := len(c.NonMated)
	ids := map[int32]int{}
	for _, x := range c.NonMatedClusters {
		if _, ok := ids[x]; !ok {
			ids[x] = len(ids)
		}
	}
	above, total := make([]int, len(ids)), make([]int, len(ids))
	k := 0
	for i, x := range c.NonMatedClusters {
		total[ids[x]]++
		if c.NonMated[i] >= t {
			above[ids[x]]++
			k++
		}
	}
	return clusterUpper(above, total, k, n, uint64(k))
}
