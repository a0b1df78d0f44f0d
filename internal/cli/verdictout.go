package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/verdict"
)

// calibrationJSON describes the open-set calibration behind the verdicts
// of search, check and the API (docs/VERDICTS.md).
type calibrationJSON struct {
	Status            string   `json:"status"` // calibrated or uncalibrated
	Reason            string   `json:"reason,omitempty"`
	Similarity        string   `json:"similarity"`
	MatchFPIR         float64  `json:"match_fpir"`
	MatchThreshold    float64  `json:"match_threshold"`
	MatchFNIR         float64  `json:"match_fnir"`
	PossibleFPIR      float64  `json:"possible_fpir"`
	PossibleThreshold float64  `json:"possible_threshold"`
	PossibleFNIR      float64  `json:"possible_fnir"`
	NonMatedSearches  int      `json:"non_mated_searches"`
	MatedSearches     int      `json:"mated_searches"`
	Generation        int64    `json:"generation"`
	Warnings          []string `json:"warnings,omitempty"`
	// AliasFolderPairs and Outliers count what the sampling left out:
	// folder pairs taken for one person, faces set aside as misfiled.
	AliasFolderPairs int `json:"alias_folder_pairs"`
	Outliers         int `json:"outliers"`
	// Stale says the calibration is of an older generation (still used).
	Stale string `json:"stale,omitempty"`
}

func calibrationOut(c *verdict.Calibration) calibrationJSON {
	return calibrationJSON{Status: c.Status, Reason: c.Reason, Similarity: c.Similarity,
		MatchFPIR: c.Match.FPIR, MatchThreshold: r4(c.Match.Threshold), MatchFNIR: r4f(c.Match.FNIR),
		PossibleFPIR: c.Possible.FPIR, PossibleThreshold: r4(c.Possible.Threshold), PossibleFNIR: r4f(c.Possible.FNIR),
		NonMatedSearches: c.NonMatedSearches, MatedSearches: c.MatedSearches, Generation: c.Generation, Warnings: c.Warnings, Stale: c.Stale,
		AliasFolderPairs: c.AliasFolderPairs, Outliers: c.Outliers}
}

// VerdictJSON is the verdict on one search (exported only so that encoding/json
// can fill it when embedded by pointer).
type VerdictJSON struct {
	Verdict    string  `json:"verdict"`
	Person     string  `json:"person"`
	PersonB64  string  `json:"person_b64,omitempty"`
	Similarity float64 `json:"similarity"`
	// Score is the person score the verdict judged (the best face's
	// similarity, or the adapted similarity's person statistic).
	Score              float64  `json:"person_score"`
	StrangerRate       *float64 `json:"stranger_rate"` // null when uncalibrated
	StrangersAtOrAbove int      `json:"strangers_at_or_above"`
	StrangerSearches   int      `json:"stranger_searches"`
	StrangerText       string   `json:"stranger_text,omitempty"`
	Margin             *float64 `json:"margin"`
}

func judgementOut(j *library.Judged) VerdictJSON {
	o := VerdictJSON{Verdict: j.Judgement.Verdict, Person: show(j.Best.Person), PersonB64: b64IfInvalid(j.Best.Person),
		Similarity: r4(j.Best.Best.Similarity), Score: r4(j.Score), StrangersAtOrAbove: j.Judgement.StrangersAtOrAbove,
		StrangerSearches: j.Judgement.StrangerSearches, StrangerText: j.Judgement.StrangerText(), Margin: j.Judgement.Margin}
	if j.Best.Person == "" {
		o.Similarity, o.Score = 0, 0
	}
	if j.Judgement.StrangerSearches > 0 {
		r := j.Judgement.StrangerRate
		o.StrangerRate = &r
	}
	return o
}

// rowVerdict labels one result's similarity with the operating points;
// only the best person's rows can be a match (verdict.Calibration.Row).
func rowVerdict(c *verdict.Calibration, s float32, isBest bool) (string, bool) {
	return c.Row(s, isBest)
}

func r4f(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// fpirFlag parses --fpir MATCH[,POSSIBLE].
func parseFPIR(cmd, v string) (verdict.FitOptions, error) {
	var o verdict.FitOptions
	if v == "" {
		return o, nil
	}
	parts := strings.Split(v, ",")
	if len(parts) > 2 {
		return o, usageError{fmt.Sprintf("%s: --fpir %q: want MATCH[,POSSIBLE], e.g. 0.01,0.1", cmd, v)}
	}
	var xs []float64
	for _, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return o, usageError{fmt.Sprintf("%s: --fpir %q: %q is not a number", cmd, v, p)}
		}
		xs = append(xs, x)
	}
	o.MatchFPIR = xs[0]
	if len(xs) == 2 {
		o.PossibleFPIR = xs[1]
	} else {
		o.PossibleFPIR = max(verdict.DefaultPossibleFPIR, xs[0])
	}
	if err := o.Validate(); err != nil {
		return o, usageError{fmt.Sprintf("%s: --fpir: %v", cmd, err)}
	}
	return o, nil
}

const fpirUsage = "operating points MATCH[,POSSIBLE] as false-positive identification rates (default: the library's, 0.01,0.1)"

// searcherCalibration returns the searcher's calibration, refitted at fo
// when given.
func searcherCalibration(ctx context.Context, s *library.Searcher, fo verdict.FitOptions) (*verdict.Calibration, error) {
	c, err := s.Calibration(ctx)
	if err != nil {
		return nil, err
	}
	if fo.MatchFPIR != 0 {
		return c.Refit(fo)
	}
	return c, nil
}

// verdictLine says a judgement in one line.
func verdictLine(j VerdictJSON, c calibrationJSON) string {
	j.Person = termText(j.Person)
	if c.Status != verdict.StatusCalibrated {
		return fmt.Sprintf("verdict: uncalibrated (%s); best %s at %.4f", c.Reason, j.Person, j.Similarity)
	}
	if j.Person == "" {
		return "verdict: no_match (no result)"
	}
	s := fmt.Sprintf("verdict: %s — %s, similarity %.4f", j.Verdict, j.Person, j.Similarity)
	if j.Verdict == verdict.NoMatch {
		s = fmt.Sprintf("verdict: no_match (no confident match; closest %s at %.4f)", j.Person, j.Similarity)
	}
	if j.StrangersAtOrAbove == 0 {
		s += fmt.Sprintf("; none of %d strangers scored this high (fewer than 1 in %d, 95%%)", j.StrangerSearches, verdict.ZeroBound(j.StrangerSearches))
	} else {
		s += "; a stranger scores this high " + strings.Replace(j.StrangerText, "1 in", "1 time in", 1)
	}
	if j.Margin != nil {
		s += fmt.Sprintf("; margin %.4f to the next person", *j.Margin)
	}
	if c.Stale != "" {
		s += " (" + c.Stale + ")"
	}
	return s
}

// printVerdictsInfo says in the index and import-npz reports what the
// refreshed open-set calibration gives.
func printVerdictsInfo(w io.Writer, c *verdict.Calibration) {
	switch {
	case c == nil:
		fmt.Fprintln(w, "  verdicts: calibration failed (see the log); search judges with the last one stored")
	case !c.Calibrated():
		fmt.Fprintf(w, "  verdicts: uncalibrated (%s)\n", c.Reason)
	default:
		fmt.Fprintf(w, "  verdicts: match ≥ %.4f, possible ≥ %.4f (FPIR %g, %g; %d non-mated searches)\n",
			c.Match.Threshold, c.Possible.Threshold, c.Match.FPIR, c.Possible.FPIR, c.NonMatedSearches)
	}
}
