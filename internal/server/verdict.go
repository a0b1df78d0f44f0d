package server

import (
	"context"
	"image"
)

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
	// Stale says the calibration is of an older catalog generation
	// ("calibrated at generation N; run index to refresh"); it still judges.
	Stale string `json:"stale,omitempty"`
}

// JudgedSearcher is a Searcher that also judges its results against the
// library's open-set calibration. When the Searcher implements it, search
// answers carry a verdict and badges follow it instead of Threshold.
type JudgedSearcher interface {
	SearchJudged(ctx context.Context, vec []float32, k int) ([]Match, *Verdict, error)
}

// row labels one match's similarity with v's operating points ("" without):
// only the verdict's person can be a match; another person's row above the
// match point is "possible" with aboveMatch true ("also above the match
// level"), so that a lookalike never gets a match badge beside the top
// person.
func (v *Verdict) row(sim float32, person string) (label string, aboveMatch bool) {
	if v == nil || v.Calibration != "calibrated" {
		return "", false
	}
	switch {
	case sim >= v.MatchThreshold && person == v.Person:
		return "match", false
	case sim >= v.MatchThreshold:
		return "possible", true
	case sim >= v.PossibleThreshold:
		return "possible", false
	}
	return "no_match", false
}

// PhotoSearcher runs the library's photo search use case (detection, the
// default face choice, face numbering and the judged search) in one call,
// the same as the CLI's 'search' and 'check' (library.Searcher.SearchPhoto).
// When the Searcher implements it, photo uploads go through it instead of
// Detector and JudgedSearcher.
type PhotoSearcher interface {
	// SearchPhoto searches face number face (1-based; 0: the primary face)
	// of img. A photo without a face is a KindNoFace error, a face number
	// beyond the photo's faces a KindBadRequest one; the answer's Faces
	// are filled in both cases when known.
	SearchPhoto(ctx context.Context, img *image.RGBA, face, k int) (*PhotoAnswer, error)
}

// PhotoAnswer is a judged photo search.
type PhotoAnswer struct {
	Faces   []QueryFace // every face, numbered from 1 in this order
	Primary int         // number of the primary face (0: none)
	Face    int         // number of the face searched
	Matches []Match
	Verdict *Verdict
}
