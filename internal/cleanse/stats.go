package cleanse

import "slices"

// median returns the median of xs (reordering xs); NaN-free input, 0 for
// none.
func median(xs []float32) float32 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}

// trimmedMean returns the mean of xs after dropping the lowest and highest
// frac of the values (reordering xs); 0 for none.
func trimmedMean(xs []float32, frac float64) float32 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	k := int(frac * float64(len(xs)))
	if 2*k >= len(xs) {
		k = (len(xs) - 1) / 2
	}
	var s float64
	for _, x := range xs[k : len(xs)-k] {
		s += float64(x)
	}
	return float32(s / float64(len(xs)-2*k))
}

func clamp01(x float64) float64 { return max(0, min(1, x)) }

// sample returns up to m of the values 0..n-1, evenly spread; all of them
// when n <= m.
func sample(n, m int) []int {
	if n <= m {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, m)
	for k := range out {
		out[k] = k * n / m
	}
	return out
}

// quantile returns the q-quantile (0..1, nearest rank) of xs, reordering xs;
// 0 for none.
func quantile(xs []float32, q float64) float32 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	k := int(q * float64(len(xs)-1))
	return xs[max(0, min(len(xs)-1, k))]
}

// MatchLevel returns the q-quantile of the library's same-folder face
// medians (each face's median similarity to the other faces of its folder),
// measured on an even sample of at most maxFaces faces of folders with two
// or more faces against at most 50 faces each, and the number of faces it
// rests on (0, and -1 as level, when no folder has two faces). A pair of
// faces from two folders above it is as close as most faces are to their
// own folder.
func (d *Dataset) MatchLevel(q float64, maxFaces int) (float32, int) {
	var cand []int32
	for _, m := range d.members {
		if len(m) >= 2 {
			cand = append(cand, m...)
		}
	}
	var meds []float32
	sims := make([]float32, 0, 50)
	for _, k := range sample(len(cand), maxFaces) {
		i := cand[k]
		m := d.members[d.person[i]]
		sims = sims[:0]
		for _, x := range sample(len(m), 50) {
			if j := m[x]; j != i && !d.sameFile(int(i), int(j)) {
				sims = append(sims, d.Similarity(int(i), int(j)))
			}
		}
		if len(sims) > 0 {
			meds = append(meds, median(sims))
		}
	}
	if len(meds) == 0 {
		return -1, 0
	}
	return quantile(meds, q), len(meds)
}
