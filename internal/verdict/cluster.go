package verdict

import (
	"math"
	"math/rand/v2"
	"sort"
)

// clusterBootstraps is the number of resamples of the folders behind a
// clustered FPIR bound.
const clusterBootstraps = 2000

// clusterUpper returns the one-sided 95% upper bound of the share of
// non-mated scores ≥ t when the scores come in clusters (the searches of
// one folder, possibly repeated over several deals of cross-fitting
// folds): the 95th percentile of the share over bootstrap resamples of the
// clusters (folders drawn with replacement, each bringing all its
// searches), never below the Wilson bound of the searches (UpperFPIR),
// which holds when they are independent. Searches of one person are
// correlated, so the people, not the searches, are the independent units;
// the resampling measures how much the rate depends on which people the
// library happens to hold.
func clusterUpper(above, total []int, k, n int, seed uint64) float64 {
	w := UpperFPIR(k, n)
	if k == 0 || len(total) == 0 {
		return w
	}
	r := rand.New(rand.NewPCG(seed, 0xc1a5))
	rates := make([]float64, clusterBootstraps)
	m := len(total)
	for b := range rates {
		a, t := 0, 0
		for range m {
			i := r.IntN(m)
			a += above[i]
			t += total[i]
		}
		if t > 0 {
			rates[b] = float64(a) / float64(t)
		}
	}
	sort.Float64s(rates)
	q := rates[int(math.Ceil(0.95*float64(len(rates))))-1]
	return math.Max(w, q)
}

// clusteredPoint finds the lowest threshold among the non-mated scores
// (ascending, with their cluster ids) whose clustered upper bound
// (clusterUpper) is at most p: it returns the number of scores allowed at
// or above it.
func clusteredAllowed(scores []float32, clusters []int, p float64) int {
	n := len(scores)
	ids := map[int]int{}
	for _, c := range clusters {
		if _, ok := ids[c]; !ok {
			ids[c] = len(ids)
		}
	}
	total := make([]int, len(ids))
	for _, c := range clusters {
		total[ids[c]]++
	}
	bound := func(k int) float64 {
		// the k highest scores are at or above the threshold
		above := make([]int, len(ids))
		for i := n - k; i < n; i++ {
			above[ids[clusters[i]]]++
		}
		return clusterUpper(above, total, k, n, uint64(k))
	}
	// The bound grows with k (more scores above): the largest k within p,
	// found by bisection from the Wilson count (an upper limit).
	lo, hi := 0, allowedAbove(p, n)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if bound(mid) <= p {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	// Ties: a threshold between equal scores is not possible.
	for lo > 0 && lo < n && scores[n-lo] == scores[n-lo-1] {
		lo--
	}
	return lo
}
