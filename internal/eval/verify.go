package eval

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Score is one scored pair: the similarity of its two faces, whether they are
// truly the same person, and the fold the pair belongs to (LFW protocol).
// Throughout this package a pair is called "same" when Sim >= threshold.
type Score struct {
	Sim  float64
	Same bool
	Fold int
}

// ErrOneClass is returned by statistics that need both same-person and
// different-person pairs when one kind is missing.
var ErrOneClass = errors.New("need both same-person and different-person pairs")

func countClasses(s []Score) (pos, neg int) {
	for _, x := range s {
		if x.Same {
			pos++
		} else {
			neg++
		}
	}
	return pos, neg
}

// Accuracy returns the fraction of pairs classified correctly when pairs with
// Sim >= t are called same-person. It is 0 for no pairs.
func Accuracy(s []Score, t float64) float64 {
	if len(s) == 0 {
		return 0
	}
	ok := 0
	for _, x := range s {
		if (x.Sim >= t) == x.Same {
			ok++
		}
	}
	return float64(ok) / float64(len(s))
}

// BestThreshold returns the threshold that maximises Accuracy on s, and that
// accuracy. Candidate thresholds lie midway between consecutive distinct
// similarities (plus one below all and one above all); when several
// candidates reach the maximum, the middle one of them is returned, so that
// on separable data the threshold sits in the middle of the gap's candidates.
func BestThreshold(s []Score) (threshold, accuracy float64, err error) {
	if len(s) == 0 {
		return 0, 0, errors.New("best threshold: no pairs")
	}
	sorted := sortedCopy(s)
	n := len(sorted)
	pos, _ := countClasses(sorted)
	// Boundary at index i: items [0,i) rejected, [i,n) accepted.
	// correct(i) = negatives below i + positives at or above i.
	negBelow, posBelow := 0, 0
	best := -1
	var bestIdx []int
	for i := 0; i <= n; i++ {
		if i == 0 || i == n || sorted[i].Sim != sorted[i-1].Sim {
			c := negBelow + (pos - posBelow)
			if c > best {
				best, bestIdx = c, bestIdx[:0]
			}
			if c == best {
				bestIdx = append(bestIdx, i)
			}
		}
		if i < n {
			if sorted[i].Same {
				posBelow++
			} else {
				negBelow++
			}
		}
	}
	i := bestIdx[(len(bestIdx)-1)/2]
	switch {
	case i == 0:
		threshold = sorted[0].Sim
	case i == n:
		threshold = math.Nextafter(sorted[n-1].Sim, math.Inf(1))
	default:
		threshold = sorted[i-1].Sim + (sorted[i].Sim-sorted[i-1].Sim)/2
	}
	return threshold, float64(best) / float64(n), nil
}

func sortedCopy(s []Score) []Score {
	c := slices.Clone(s)
	slices.SortFunc(c, func(a, b Score) int { return cmp.Compare(a.Sim, b.Sim) })
	return c
}

// KFoldResult is the outcome of k-fold verification.
type KFoldResult struct {
	// Accuracies[k] is the accuracy on fold k at Thresholds[k], the threshold
	// that maximised accuracy on all the other folds.
	Accuracies []float64
	Thresholds []float64
	// Mean and Std of Accuracies. Std is the population standard deviation
	// (divide by k), as in insightface's LFW script and most published tables.
	Mean, Std float64
}

// KFold runs the standard LFW verification protocol: for each fold, choose the
// threshold that maximises accuracy on the other folds (BestThreshold) and
// measure accuracy on that fold. Folds are numbered by Score.Fold; there must
// be at least two, each non-empty.
func KFold(s []Score) (KFoldResult, error) {
	byFold := map[int][]Score{}
	for _, x := range s {
		byFold[x.Fold] = append(byFold[x.Fold], x)
	}
	if len(byFold) < 2 {
		return KFoldResult{}, fmt.Errorf("k-fold: need at least 2 folds, have %d", len(byFold))
	}
	folds := make([]int, 0, len(byFold))
	for f := range byFold {
		folds = append(folds, f)
	}
	sort.Ints(folds)
	var r KFoldResult
	for _, f := range folds {
		train := make([]Score, 0, len(s))
		for _, x := range s {
			if x.Fold != f {
				train = append(train, x)
			}
		}
		t, _, err := BestThreshold(train)
		if err != nil {
			return KFoldResult{}, fmt.Errorf("k-fold: fold %d: %w", f, err)
		}
		r.Thresholds = append(r.Thresholds, t)
		r.Accuracies = append(r.Accuracies, Accuracy(byFold[f], t))
	}
	r.Mean, r.Std = MeanStd(r.Accuracies)
	return r, nil
}

// MeanStd returns the mean and the population standard deviation of v.
func MeanStd(v []float64) (mean, std float64) {
	if len(v) == 0 {
		return 0, 0
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)))
}

// AUC returns the exact area under the ROC curve: the probability that a
// random same-person pair scores above a random different-person pair, ties
// counting one half (the Mann-Whitney U statistic with average ranks).
func AUC(s []Score) (float64, error) {
	pos, neg := countClasses(s)
	if pos == 0 || neg == 0 {
		return 0, fmt.Errorf("auc: %w", ErrOneClass)
	}
	sorted := sortedCopy(s)
	var rankSum float64 // sum of 1-based average ranks of positives
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j].Sim == sorted[i].Sim {
			j++
		}
		avg := float64(i+1+j) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			if sorted[k].Same {
				rankSum += avg
			}
		}
		i = j
	}
	p, n := float64(pos), float64(neg)
	return (rankSum - p*(p+1)/2) / (p * n), nil
}

// ROCPoint is one point of a ROC curve: calling pairs with Sim >= Threshold
// the same person accepts FAR of the different-person pairs and TAR of the
// same-person pairs.
type ROCPoint struct {
	Threshold float64
	FAR, TAR  float64
}

// ROC returns the full ROC curve, one point per distinct similarity, from the
// strictest threshold (+Inf: FAR = TAR = 0) to the most lenient (FAR = TAR = 1).
func ROC(s []Score) ([]ROCPoint, error) {
	pos, neg := countClasses(s)
	if pos == 0 || neg == 0 {
		return nil, fmt.Errorf("roc: %w", ErrOneClass)
	}
	sorted := sortedCopy(s)
	pts := []ROCPoint{{Threshold: math.Inf(1)}}
	tp, fp := 0, 0
	for i := len(sorted) - 1; i >= 0; {
		j := i
		for j >= 0 && sorted[j].Sim == sorted[i].Sim {
			if sorted[j].Same {
				tp++
			} else {
				fp++
			}
			j--
		}
		pts = append(pts, ROCPoint{Threshold: sorted[i].Sim, FAR: float64(fp) / float64(neg), TAR: float64(tp) / float64(pos)})
		i = j
	}
	return pts, nil
}

// ROCAt picks, for each target false-accept rate, the ROC point with the
// highest TAR whose FAR does not exceed the target (curve as returned by ROC).
func ROCAt(curve []ROCPoint, fars []float64) []ROCPoint {
	out := make([]ROCPoint, len(fars))
	for i, far := range fars {
		best := ROCPoint{Threshold: math.Inf(1)}
		for _, p := range curve {
			if p.FAR <= far && (p.TAR > best.TAR || (p.TAR == best.TAR && p.FAR < best.FAR)) {
				best = p
			}
		}
		out[i] = best
	}
	return out
}

// TARAtFAR returns the true-accept rate at the lowest threshold whose
// false-accept rate on s does not exceed far, and that threshold. With N
// different-person pairs at most floor(far*N) of them are accepted; the
// threshold is the smallest float64 above the next-highest different-person
// similarity, so ties never push the FAR above the target.
func TARAtFAR(s []Score, far float64) (tar, threshold float64, err error) {
	if !(far >= 0 && far <= 1) {
		return 0, 0, fmt.Errorf("tar@far: false-accept rate %g outside [0,1]", far)
	}
	var posS, negS []float64
	for _, x := range s {
		if x.Same {
			posS = append(posS, x.Sim)
		} else {
			negS = append(negS, x.Sim)
		}
	}
	if len(posS) == 0 || len(negS) == 0 {
		return 0, 0, fmt.Errorf("tar@far: %w", ErrOneClass)
	}
	threshold = thresholdAtFAR(negS, far)
	n := 0
	for _, v := range posS {
		if v >= threshold {
			n++
		}
	}
	return float64(n) / float64(len(posS)), threshold, nil
}

// thresholdAtFAR returns the lowest threshold accepting at most
// floor(far*len(neg)) of neg (neg is reordered).
func thresholdAtFAR(neg []float64, far float64) float64 {
	slices.Sort(neg)
	k := int(math.Floor(far*float64(len(neg)) + 1e-9))
	if k >= len(neg) {
		return math.Inf(-1)
	}
	return math.Nextafter(neg[len(neg)-1-k], math.Inf(1))
}
