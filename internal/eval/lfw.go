package eval

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
)

// Similarities given to a pair with an image that has no embedding (no face
// found): such a pair always counts as a wrong decision, whatever the
// threshold in [-1, 1] (a same-person pair is rejected, a different-person
// pair accepted). This is the pessimistic choice: a face search that cannot
// see a face has failed.
const (
	MissingSame = -2.0
	MissingDiff = 2.0
)

// ScorePairs scores each pair with the cosine similarity (dot product of
// unit vectors) of its images' embeddings; emb returns nil for an image
// without one. Such pairs get MissingSame / MissingDiff; missing lists those
// images once each.
func ScorePairs(pairs []Pair, emb func(Image) []float32) (scores []Score, missing []Image) {
	seen := map[Image]bool{}
	scores = make([]Score, len(pairs))
	for i, p := range pairs {
		a, b := emb(p.A), emb(p.B)
		for _, m := range [2]struct {
			im Image
			v  []float32
		}{{p.A, a}, {p.B, b}} {
			if m.v == nil && !seen[m.im] {
				seen[m.im] = true
				missing = append(missing, m.im)
			}
		}
		s := Score{Same: p.Same, Fold: p.Fold}
		switch {
		case a == nil || b == nil:
			s.Sim = MissingDiff
			if p.Same {
				s.Sim = MissingSame
			}
		default:
			s.Sim = float64(Dot(a, b))
		}
		scores[i] = s
	}
	return scores, missing
}

// Verification is the outcome of a pairs protocol (LFW).
type Verification struct {
	Pairs        int
	MissingPairs int     // pairs with an image without embedding (wrong by construction)
	Missing      []Image // those images
	KFold        KFoldResult
	AUC          float64
	// TAR at the false-accept rate FAR, and the threshold giving it, over
	// all pairs.
	FAR, TAR, TARThreshold float64
	// BestThreshold maximises accuracy over all pairs; BestAccuracy is that
	// accuracy (optimistic: chosen on the test data).
	BestThreshold, BestAccuracy float64
	ROC                         []ROCPoint
	Scores                      []Score
}

// Verify runs the pairs protocol on embeddings: 10-fold accuracy, AUC, TAR at
// far, best overall threshold and the ROC curve.
func Verify(pairs []Pair, emb func(Image) []float32, far float64) (*Verification, error) {
	if len(pairs) == 0 {
		return nil, fmt.Errorf("verify: no pairs")
	}
	v := &Verification{Pairs: len(pairs), FAR: far}
	v.Scores, v.Missing = ScorePairs(pairs, emb)
	for _, s := range v.Scores {
		if s.Sim == MissingSame || s.Sim == MissingDiff {
			v.MissingPairs++
		}
	}
	var err error
	if v.KFold, err = KFold(v.Scores); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if v.AUC, err = AUC(v.Scores); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if v.TAR, v.TARThreshold, err = TARAtFAR(v.Scores, far); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if v.BestThreshold, v.BestAccuracy, err = BestThreshold(v.Scores); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if v.ROC, err = ROC(v.Scores); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return v, nil
}

// HeldOut is the outcome of CheckCalibration.
type HeldOut struct {
	Calibration *Calibration // on the calibration half
	// FAR and TAR measured at Calibration.Threshold on the held-out half,
	// over DiffPairs and SamePairs pairs.
	FAR, TAR             float64
	DiffPairs, SamePairs int
}

// Within reports whether the held-out FAR is within a factor f of the
// target.
func (h HeldOut) Within(f float64) bool {
	t := h.Calibration.FAR
	return h.FAR >= t/f && h.FAR <= t*f
}

// CheckCalibration splits folders into two halves by person (alternately,
// in name order), calibrates on calib (normally the first half, possibly
// made dirtier by the caller through prepare) and measures the calibrated
// threshold's FAR and TAR on the clean other half: different-person pairs
// are up to opts.DiffPairs sampled image pairs (all if fewer), same-person
// pairs all pairs within folders.
func CheckCalibration(ctx context.Context, groups []Group, opts CalibrateOptions, prepare func([]Group) []Group) (*HeldOut, error) {
	sorted := append([]Group(nil), groups...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var a, b []Group
	for i, g := range sorted {
		if i%2 == 0 {
			a = append(a, g)
		} else {
			b = append(b, g)
		}
	}
	if prepare != nil {
		a = prepare(a)
	}
	c, err := Calibrate(ctx, a, opts)
	if err != nil {
		return nil, fmt.Errorf("check calibration: %w", err)
	}
	o := opts.withDefaults()
	h := &HeldOut{Calibration: c}
	type ref struct {
		g int
		v []float32
	}
	var flat []ref
	same, sameAcc := 0, 0
	for gi, g := range b {
		for i, v := range g.Vectors {
			flat = append(flat, ref{gi, v})
			for _, w := range g.Vectors[i+1:] {
				same++
				if float64(Dot(v, w)) >= c.Threshold {
					sameAcc++
				}
			}
		}
	}
	total := 0
	for _, g := range b {
		total += len(g.Vectors) * (len(flat) - len(g.Vectors))
	}
	total /= 2
	acc, n := 0, 0
	if total <= o.DiffPairs {
		for i := range flat {
			for j := i + 1; j < len(flat); j++ {
				if flat[i].g != flat[j].g {
					n++
					if float64(Dot(flat[i].v, flat[j].v)) >= c.Threshold {
						acc++
					}
				}
			}
		}
	} else {
		rng := rand.New(rand.NewPCG(o.Seed+1, 0xc0ffee))
		for n < o.DiffPairs {
			x, y := flat[rng.IntN(len(flat))], flat[rng.IntN(len(flat))]
			if x.g == y.g {
				continue
			}
			n++
			if float64(Dot(x.v, y.v)) >= c.Threshold {
				acc++
			}
		}
	}
	if n == 0 || same == 0 {
		return nil, fmt.Errorf("check calibration: the held-out half has %d different-person and %d same-person pairs", n, same)
	}
	h.FAR, h.DiffPairs = float64(acc)/float64(n), n
	h.TAR, h.SamePairs = float64(sameAcc)/float64(same), same
	return h, nil
}

// Misfile returns a copy of groups in which about frac of the images of
// folders with more than 3 images have been moved into another random folder
// (deterministic for a seed): label noise for robustness checks.
func Misfile(groups []Group, frac float64, seed uint64) (out []Group, moved int) {
	rng := rand.New(rand.NewPCG(seed, 0xbad))
	out = make([]Group, len(groups))
	for i, g := range groups {
		out[i].Name = g.Name
	}
	for gi, g := range groups {
		for _, v := range g.Vectors {
			to := gi
			if len(g.Vectors) > 3 && len(groups) > 1 && rng.Float64() < frac {
				for to == gi {
					to = rng.IntN(len(groups))
				}
				moved++
			}
			out[to].Vectors = append(out[to].Vectors, v)
		}
	}
	return out, moved
}

// Hardest returns the fraction frac of the folders with at least 2 images
// whose photos vary most: lowest median within-folder similarity. Together
// with the single-image folders left out, they make a harder-than-usual
// calibration problem (more pose, age and lighting variety per person).
func Hardest(groups []Group, frac float64) []Group {
	type gm struct {
		g   Group
		med float64
	}
	var gs []gm
	for _, g := range groups {
		if len(g.Vectors) < 2 {
			continue
		}
		var s []float64
		for i, v := range g.Vectors {
			for _, w := range g.Vectors[i+1:] {
				s = append(s, float64(Dot(v, w)))
			}
		}
		gs = append(gs, gm{g, median(s)})
	}
	sort.SliceStable(gs, func(i, j int) bool { return gs[i].med < gs[j].med })
	n := int(float64(len(gs))*frac + 0.5)
	out := make([]Group, 0, n)
	for _, x := range gs[:min(n, len(gs))] {
		out = append(out, x.g)
	}
	return out
}
