package eval

import (
	"context"
	"errors"
	"math/rand/v2"
)

// Labels is how Calibrate reads a library's folder labels: the images it
// sets aside as probably misfiled and the folder pairs it takes for one
// person filed twice. Open-set calibration (package verdict) reuses it, so
// both leave the same folders out of their different-person samples.
type Labels struct {
	// Keep holds, per group, the indices of the vectors kept.
	Keep [][]int
	// Outliers are the images set aside as probably misfiled.
	Outliers []ImageRef
	// AliasAt is the centroid similarity from which two folders are taken
	// for one person (the median same-person pair).
	AliasAt   float64
	centroids [][]float32
	noTrim    bool
}

// ReadLabels trims groups as Calibrate does with the same options (seed
// included): outliers per folder, then the same-person pairs whose median
// is the alias threshold.
func ReadLabels(ctx context.Context, groups []Group, opts CalibrateOptions) (*Labels, error) {
	o := opts.withDefaults()
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	keep, outliers, err := trimOutliers(ctx, groups, o)
	if err != nil {
		return nil, err
	}
	same := samePairs(groups, keep, o, rng)
	if len(same) == 0 {
		return nil, errors.New("no folder has two usable images, so there are no same-person pairs")
	}
	l := &Labels{Keep: keep, Outliers: outliers, AliasAt: median(same), centroids: make([][]float32, len(groups)), noTrim: o.NoTrim}
	for g, k := range keep {
		if len(k) > 0 {
			l.centroids[g] = centroid(groups[g].Vectors, k)
		}
	}
	return l, nil
}

// Alias reports whether folders a and b look like one person (their
// centroids are as alike as a typical same-person pair).
func (l *Labels) Alias(a, b int) bool {
	if a == b {
		return true
	}
	if l.noTrim || a >= len(l.centroids) || b >= len(l.centroids) || l.centroids[a] == nil || l.centroids[b] == nil {
		return false
	}
	return float64(Dot(l.centroids[a], l.centroids[b])) >= l.AliasAt
}
