package verdict

import (
	"fmt"
	"math"
)

// Judgement is the verdict on one search: its best person's score against
// the library's operating points.
type Judgement struct {
	Verdict string `json:"verdict"`
	// StrangerRate is the share of the library's non-mated searches that
	// scored at least this high; StrangersAtOrAbove of StrangerSearches. With
	// none at or above, the rate is only known to be below
	// 1/StrangerSearches.
	StrangerRate       float64 `json:"stranger_rate"`
	StrangersAtOrAbove int     `json:"strangers_at_or_above"`
	StrangerSearches   int     `json:"stranger_searches"`
	// Margin is the best person's score minus the best other person's
	// (nil when no other person was returned).
	Margin *float64 `json:"margin"`
}

// Judge gives the verdict on a search whose best person scored best and
// whose best other person scored second (hasSecond false: none returned).
// On an uncalibrated library the verdict is Uncalibrated and the stranger
// rate is unknown (0 of 0).
func (c *Calibration) Judge(best float32, second float32, hasSecond bool) Judgement {
	j := Judgement{Verdict: Uncalibrated}
	if hasSecond {
		m := math.Round(float64(best-second)*1e4) / 1e4
		j.Margin = &m
	}
	if !c.Calibrated() {
		return j
	}
	switch {
	case best >= c.Match.Threshold:
		j.Verdict = Match
	case best >= c.Possible.Threshold:
		j.Verdict = Possible
	default:
		j.Verdict = NoMatch
	}
	j.StrangerSearches = len(c.NonMated)
	j.StrangersAtOrAbove = c.atOrAbove(best)
	j.StrangerRate = float64(j.StrangersAtOrAbove) / float64(j.StrangerSearches)
	return j
}

// StrangerText says the stranger rate in words: "1 in 300", or "below 1 in
// 8000" (less than) when no non-mated search scored as high (never finer than the
// samples allow); "" when unknown.
func (j Judgement) StrangerText() string {
	switch {
	case j.StrangerSearches == 0:
		return ""
	case j.StrangersAtOrAbove == 0:
		return fmt.Sprintf("less than 1 in %d", j.StrangerSearches)
	}
	n := float64(j.StrangerSearches) / float64(j.StrangersAtOrAbove)
	if n < 10 {
		return fmt.Sprintf("1 in %.1f", n)
	}
	return fmt.Sprintf("1 in %.0f", n)
}

// Risk orders judgements for a screening table: higher is riskier (the
// verdict first, then the stranger rate, lower is riskier).
func (j Judgement) Risk() float64 {
	base := map[string]float64{Match: 3, Possible: 2, NoMatch: 1, Uncalibrated: 0}[j.Verdict]
	rate := j.StrangerRate
	if j.StrangerSearches > 0 && j.StrangersAtOrAbove == 0 {
		rate = 0
	}
	return base + (1 - rate)
}
