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

// MinFolders is the fewest folders with non-mated searches a calibration
// needs: non-mated searches from one folder are correlated (they share a
// person), so a few folders say little about strangers in general.
const MinFolders = 10

// MinMated is the fewest mated searches behind an FNIR.
const MinMated = 20

// MinNonMated returns the fewest non-mated searches a calibration at match
// FPIR p needs: 3/p, so that the match threshold lies above at least three
// stranger scores (with fewer, one stranger photo decides it; at 300
// searches and p = 1%, the true FPIR of the fitted threshold is within about
// 0.2%–3% with 95% confidence).
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
	// does not exceed it; MeasuredFPIR and FNIR the rates at Threshold.
	FPIR         float64 `json:"fpir"`
	Threshold    float32 `json:"threshold"`
	MeasuredFPIR float64 `json:"measured_fpir"`
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
		NonMated: sorted32(s.NonMated), Mated: sorted32(s.Mated)}
	for _, v := range s.NonMated {
		if math.IsNaN(v) {
			return nil, errors.New("fit: a non-mated score is NaN")
		}
	}
	switch need := MinNonMated(o.MatchFPIR); {
	case len(s.NonMated) < need:
		c.uncalibrated(fmt.Sprintf("%d non-mated searches; a match point at FPIR %g needs at least %d (3/FPIR)", len(s.NonMated), o.MatchFPIR, need))
	case s.NonMatedFolders < MinFolders:
		c.uncalibrated(fmt.Sprintf("%d folders; calibration needs at least %d people", s.NonMatedFolders, MinFolders))
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
	return c, nil
}

func (c *Calibration) uncalibrated(reason string) {
	c.Status, c.Reason = StatusUncalibrated, reason
}

// point finds the operating point at FPIR p on the stored curves.
func (c *Calibration) point(p float64) Point {
	n := len(c.NonMated)
	allowed := int(math.Floor(p * float64(n)))
	// NonMated ascending: the allowed highest scores are the last ones; the
	// threshold lies just above the next one down.
	var t float32
	if allowed >= n {
		t = c.NonMated[0]
	} else {
		t = math.Nextafter32(c.NonMated[n-1-allowed], float32(math.Inf(1)))
	}
	above := c.atOrAbove(t)
	pt := Point{FPIR: p, Threshold: t, NonMatedAbove: above, MeasuredFPIR: float64(above) / float64(n)}
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
	r, err := Fit(s, opts)
	if err != nil {
		return nil, err
	}
	r.Similarity, r.Generation, r.Model, r.Faces, r.Folders = c.Similarity, c.Generation, c.Model, c.Faces, c.Folders
	r.AliasFolderPairs, r.Outliers, r.SampleSeconds = c.AliasFolderPairs, c.Outliers, c.SampleSeconds
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
