package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// Group is one folder of a library: a person's name and the embeddings (unit
// vectors) of that folder's faces, one per image.
type Group struct {
	Name    string
	Vectors [][]float32
}

// ImageRef names one vector of a []Group: Groups[Group].Vectors[Index].
type ImageRef struct {
	Group, Index int
}

// CalibrateOptions tunes Calibrate. The zero value gives the defaults.
type CalibrateOptions struct {
	// FAR is the target false-accept rate (default 1e-3).
	FAR float64
	// SamePairsPerGroup caps the same-person pairs drawn from one folder, so
	// that a few large folders do not dominate (default 100; a folder with
	// fewer pairs contributes all of them).
	SamePairsPerGroup int
	// DiffPairs is the number of different-person pairs sampled (default
	// 1,000,000; all of them when the library has fewer).
	DiffPairs int
	// OutlierMADs is how many robust standard deviations below its folder's
	// median similarity-to-medoid an image must lie to be set aside as
	// probably misfiled (default 3.5).
	OutlierMADs float64
	// NoTrim takes the labels as they are: no outlier images, no merged
	// folders.
	NoTrim bool
	// Seed makes the pair sampling reproducible.
	Seed uint64
}

func (o CalibrateOptions) withDefaults() CalibrateOptions {
	if o.FAR == 0 {
		o.FAR = 1e-3
	}
	if o.SamePairsPerGroup <= 0 {
		o.SamePairsPerGroup = 100
	}
	if o.DiffPairs <= 0 {
		o.DiffPairs = 1_000_000
	}
	if o.OutlierMADs <= 0 {
		o.OutlierMADs = 3.5
	}
	return o
}

// Calibration is the outcome of Calibrate.
type Calibration struct {
	// FAR is the requested false-accept rate; Threshold the lowest cosine
	// similarity whose false-accept rate on the sampled different-person
	// pairs does not exceed it; MeasuredFAR that rate; TAR the fraction of
	// the sampled same-person pairs at or above Threshold (the expected
	// true-accept rate).
	FAR, Threshold, MeasuredFAR, TAR float64
	// Same and Diff are the similarities of the pairs used.
	Same, Diff []float64
	// Outliers are the images set aside as probably misfiled: far below
	// their folder's typical similarity to its medoid. They are in no pair.
	Outliers []ImageRef
	// MergedGroupPairs counts pairs of folders whose centroids are as alike
	// as a typical same-person pair (probably one person filed twice), among
	// the folder pairs examined; their cross pairs were left out of Diff.
	MergedGroupPairs int
	// Curve is the ROC curve of Same against Diff, thinned to about 200
	// points spread evenly on a log FAR scale (see ThinROC).
	Curve []ROCPoint
	// Warnings explain why the figures may be unreliable (too few pairs).
	Warnings []string
}

// Calibrate estimates the same-person and different-person similarity
// distributions of a library from its own folder labels and picks the
// threshold for a target false-accept rate.
//
// Labels in real libraries are imperfect, so the estimate is trimmed:
//
//   - Misfiled images. In each folder of 3 or more images the medoid (the
//     image with the highest total similarity to the others) stands for the
//     person. An image whose similarity to the medoid lies more than
//     OutlierMADs robust standard deviations below the folder's median is set
//     aside. The spread is the larger of the folder's own scaled MAD and the
//     library-wide one, so that tight small folders do not over-trim.
//     Folders of 1-2 images cannot be judged and are kept whole.
//   - One person in two folders. Each folder's centroid is the normalised
//     mean of its kept images. Different-person pairs are drawn only between
//     folders whose centroids are less similar than the median same-person
//     pair and than the 10th percentile of the folders' split halves
//     (aliasAt): a centroid averages noise away, so two folders of one
//     person lie well above the first, and they are as alike as the halves
//     of one folder; lookalike strangers of a population whose different
//     people look alike can pass the first, not the second.
//
// Same-person pairs are all pairs within each folder (at most
// SamePairsPerGroup, sampled); different-person pairs are DiffPairs random
// image pairs across folders (uniform over images), or all of them.
func Calibrate(ctx context.Context, groups []Group, opts CalibrateOptions) (*Calibration, error) {
	o := opts.withDefaults()
	if !(o.FAR > 0 && o.FAR < 1) {
		return nil, fmt.Errorf("calibrate: false-accept rate %g outside (0,1)", o.FAR)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	c := &Calibration{FAR: o.FAR}
	keep, outliers, err := trimOutliers(ctx, groups, o)
	if err != nil {
		return nil, err
	}
	c.Outliers = outliers
	c.Same = samePairs(groups, keep, o, rng)
	if len(c.Same) == 0 {
		return nil, errors.New("calibrate: no folder has two usable images, so there are no same-person pairs")
	}
	c.Diff, c.MergedGroupPairs, err = diffPairs(ctx, groups, keep, aliasAt(groups, keep, c.Same), o, rng)
	if err != nil {
		return nil, err
	}
	if err := c.fit(o); err != nil {
		return nil, err
	}
	return c, nil
}

// diffPairs draws the different-person pairs (step 3 of Calibrate): every
// pair of kept images across folders when there are at most DiffPairs, else
// DiffPairs sampled with replacement, never across two folders whose
// centroids are at least mergeAt alike (one person filed twice; unless
// NoTrim). It returns their similarities and the number of folder pairs
// found merged.
func diffPairs(ctx context.Context, groups []Group, keep [][]int, mergeAt float64, o CalibrateOptions, rng *rand.Rand) ([]float64, int, error) {
	centroids := make([][]float32, len(groups))
	var flat []ImageRef // kept images in folders that have any
	for g, k := range keep {
		if len(k) == 0 {
			continue
		}
		centroids[g] = centroid(groups[g].Vectors, k)
		for _, i := range k {
			flat = append(flat, ImageRef{g, i})
		}
	}
	merged := map[[2]int]bool{} // group pair -> centroids alike
	isMerged := func(a, b int) bool {
		if a > b {
			a, b = b, a
		}
		v, ok := merged[[2]int{a, b}]
		if !ok {
			v = !o.NoTrim && float64(Dot(centroids[a], centroids[b])) >= mergeAt
			merged[[2]int{a, b}] = v
		}
		return v
	}
	vec := func(r ImageRef) []float32 { return groups[r.Group].Vectors[r.Index] }
	totalDiff := 0
	for _, k := range keep {
		totalDiff += len(k) * (len(flat) - len(k))
	}
	totalDiff /= 2
	if totalDiff == 0 {
		return nil, 0, errors.New("calibrate: need at least two folders with usable images for different-person pairs")
	}
	var diff []float64
	if totalDiff <= o.DiffPairs {
		for i := range flat {
			for j := i + 1; j < len(flat); j++ {
				a, b := flat[i], flat[j]
				if a.Group == b.Group || isMerged(a.Group, b.Group) {
					continue
				}
				diff = append(diff, float64(Dot(vec(a), vec(b))))
			}
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, 0, err
				}
			}
		}
	} else {
		// Sample with replacement; give up on pairs from merged folders.
		for tries := 0; len(diff) < o.DiffPairs && tries < 4*o.DiffPairs; tries++ {
			a, b := flat[rng.IntN(len(flat))], flat[rng.IntN(len(flat))]
			if a.Group == b.Group || isMerged(a.Group, b.Group) {
				continue
			}
			diff = append(diff, float64(Dot(vec(a), vec(b))))
			if tries%65536 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, 0, err
				}
			}
		}
	}
	nMerged := 0
	for _, v := range merged {
		if v {
			nMerged++
		}
	}
	if len(diff) == 0 {
		return nil, 0, errors.New("calibrate: every pair of folders looks like one person; no different-person pairs")
	}
	return diff, nMerged, nil
}

// fit sets the threshold at the requested FAR, the rates, the curve and the
// warnings from c.Same and c.Diff (step 4 of Calibrate).
func (c *Calibration) fit(o CalibrateOptions) error {
	c.Threshold = thresholdAtFAR(slices.Clone(c.Diff), o.FAR)
	c.MeasuredFAR = fracAtLeast(c.Diff, c.Threshold)
	c.TAR = fracAtLeast(c.Same, c.Threshold)
	scores := make([]Score, 0, len(c.Same)+len(c.Diff))
	for _, s := range c.Same {
		scores = append(scores, Score{Sim: s, Same: true})
	}
	for _, s := range c.Diff {
		scores = append(scores, Score{Sim: s})
	}
	curve, err := ROC(scores)
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	c.Curve = ThinROC(curve, 200)
	if n := float64(len(c.Diff)); o.FAR*n < 10 {
		c.Warnings = append(c.Warnings, fmt.Sprintf(
			"only %d different-person pairs: a false-accept rate of %g means fewer than 10 accepted pairs, so the threshold is rough", len(c.Diff), o.FAR))
	}
	if len(c.Same) < 100 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("only %d same-person pairs: the true-accept rate is rough", len(c.Same)))
	}
	return nil
}

// ThinROC keeps about n points of a ROC curve, spread evenly on a log scale
// of FAR between the smallest non-zero FAR and 1, plus both end points; for
// each grid value it keeps the point with the highest TAR at or below it.
func ThinROC(curve []ROCPoint, n int) []ROCPoint {
	if len(curve) <= n || n < 2 {
		return curve
	}
	minFAR := 1.0
	for _, p := range curve {
		if p.FAR > 0 && p.FAR < minFAR {
			minFAR = p.FAR
		}
	}
	out := []ROCPoint{curve[0]}
	lo := math.Log10(minFAR)
	j := 0
	for i := 0; i < n; i++ {
		target := math.Pow(10, lo+(0-lo)*float64(i)/float64(n-1))
		// curve is ordered by increasing FAR and TAR: advance to the last
		// point with FAR <= target.
		for j+1 < len(curve) && curve[j+1].FAR <= target*(1+1e-12) {
			j++
		}
		if curve[j] != out[len(out)-1] {
			out = append(out, curve[j])
		}
	}
	if last := curve[len(curve)-1]; out[len(out)-1] != last {
		out = append(out, last)
	}
	return out
}

func fracAtLeast(v []float64, t float64) float64 {
	n := 0
	for _, x := range v {
		if x >= t {
			n++
		}
	}
	return float64(n) / float64(len(v))
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// medoid returns the index of the vector with the highest total similarity
// to the others.
func medoid(vs [][]float32) int {
	sum := make([]float64, len(vs))
	for i := range vs {
		for j := i + 1; j < len(vs); j++ {
			d := float64(Dot(vs[i], vs[j]))
			sum[i] += d
			sum[j] += d
		}
	}
	best := 0
	for i := range sum {
		if sum[i] > sum[best] {
			best = i
		}
	}
	return best
}

// centroid returns the normalised mean of vs[idx...].
func centroid(vs [][]float32, idx []int) []float32 {
	c := make([]float32, len(vs[idx[0]]))
	for _, i := range idx {
		for d, x := range vs[i] {
			if d < len(c) {
				c[d] += x
			}
		}
	}
	var n float64
	for _, x := range c {
		n += float64(x) * float64(x)
	}
	if n > 0 {
		inv := float32(1 / math.Sqrt(n))
		for d := range c {
			c[d] *= inv
		}
	}
	return c
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// trimOutliers returns, per group, the indices of the vectors kept and the
// images set aside as probably misfiled (step 1 of Calibrate).
func trimOutliers(ctx context.Context, groups []Group, o CalibrateOptions) ([][]int, []ImageRef, error) {
	var outliers []ImageRef
	// 1. Outliers per folder.
	keep := make([][]int, len(groups)) // kept vector indices per group
	type dev struct {
		g      int
		idx    int
		s, med float64
	}
	var devs []dev
	var allAbs []float64
	groupMAD := make([]float64, len(groups))
	for g, gr := range groups {
		n := len(gr.Vectors)
		for i, v := range gr.Vectors {
			if v == nil {
				return nil, nil, fmt.Errorf("calibrate: folder %q image %d has no vector", gr.Name, i)
			}
		}
		if n < 3 || o.NoTrim {
			keep[g] = seq(n)
			continue
		}
		m := medoid(gr.Vectors)
		var s []float64
		var idx []int
		for i, v := range gr.Vectors {
			if i != m {
				s = append(s, float64(Dot(v, gr.Vectors[m])))
				idx = append(idx, i)
			}
		}
		med := median(s)
		abs := make([]float64, len(s))
		for i := range s {
			abs[i] = math.Abs(s[i] - med)
		}
		groupMAD[g] = 1.4826 * median(abs)
		allAbs = append(allAbs, abs...)
		for i := range s {
			devs = append(devs, dev{g, idx[i], s[i], med})
		}
		keep[g] = []int{m}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	globalMAD := 1.4826 * median(allAbs)
	for _, d := range devs {
		spread := max(globalMAD, groupMAD[d.g])
		if d.s < d.med-o.OutlierMADs*spread {
			outliers = append(outliers, ImageRef{d.g, d.idx})
			continue
		}
		keep[d.g] = append(keep[d.g], d.idx)
	}
	for g := range keep {
		sort.Ints(keep[g])
	}
	sort.Slice(outliers, func(i, j int) bool {
		a, b := outliers[i], outliers[j]
		return a.Group < b.Group || (a.Group == b.Group && a.Index < b.Index)
	})

	return keep, outliers, nil
}

// samePairs returns the similarities of the same-person pairs drawn from
// the kept vectors (step 2 of Calibrate).
func samePairs(groups []Group, keep [][]int, o CalibrateOptions, rng *rand.Rand) []float64 {
	var same []float64
	// 2. Same-person pairs.
	for g, k := range keep {
		n := len(k)
		total := n * (n - 1) / 2
		vs := groups[g].Vectors
		if total <= o.SamePairsPerGroup {
			for i := 0; i < n; i++ {
				for j := i + 1; j < n; j++ {
					same = append(same, float64(Dot(vs[k[i]], vs[k[j]])))
				}
			}
			continue
		}
		seen := map[[2]int]bool{}
		for len(seen) < o.SamePairsPerGroup {
			i, j := rng.IntN(n), rng.IntN(n)
			if i == j {
				continue
			}
			if i > j {
				i, j = j, i
			}
			if seen[[2]int{i, j}] {
				continue
			}
			seen[[2]int{i, j}] = true
			same = append(same, float64(Dot(vs[k[i]], vs[k[j]])))
		}
	}
	return same
}
