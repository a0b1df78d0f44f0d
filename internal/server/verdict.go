package server

import "context"

// Verdict is the verdict on a search, as the library gives it to the CLI
// too (docs/VERDICTS.md): match, possible, no_match, or uncalibrated when
// the library is too small to calibrate.
type Verdict struct {
	Verdict    string  `json:"verdict"`
	Person     string  `json:"person"`
	Similarity float32 `json:"similarity"`
	// StrangerRate is the share of the library's non-mated searches scoring
	// at least Similarity (StrangersAtOrAbove of StrangerSearches; null when
	// uncalibrated); StrangerText says it in words ("1 in 300").
	StrangerRate       *float64 `json:"stranger_rate"`
	StrangersAtOrAbove int      `json:"strangers_at_or_above"`
	StrangerSearches   int      `json:"stranger_searches"`
	StrangerText       string   `json:"stranger_text"`
	// Margin is Similarity minus the best other person's (null when no
	// other person was returned).
	Margin *float64 `json:"margin"`
	// The library's operating points.
	Calibration       string  `json:"calibration"` // calibrated or uncalibrated
	Reason            string  `json:"reason,omitempty"`
	MatchThreshold    float32 `json:"match_threshold"`
	MatchFPIR         float64 `json:"match_fpir"`
	PossibleThreshold float32 `json:"possible_threshold"`
	PossibleFPIR      float64 `json:"possible_fpir"`
}

// JudgedSearcher is a Searcher that also judges its results against the
// library's open-set calibration. When the Searcher implements it, search
// answers carry a verdict and badges follow it instead of Threshold.
type JudgedSearcher interface {
	SearchJudged(ctx context.Context, vec []float32, k int) ([]Match, *Verdict, error)
}

// rowVerdict labels one match's similarity with v's operating points ("" without).
func (v *Verdict) row(sim float32) string {
	if v == nil || v.Calibration != "calibrated" {
		return ""
	}
	switch {
	case sim >= v.MatchThreshold:
		return "match"
	case sim >= v.PossibleThreshold:
		return "possible"
	}
	return "no_match"
}
