package verdict

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/facesearch/facesearch/internal/eval"
	"github.com/facesearch/facesearch/internal/vecindex"
)

// KNN is an exact inner-product k-NN search over caller-owned vectors
// (vecindex.KNN): faissidx.KNN, faiss's brute force through BLAS, is the
// real one; vecindex.KNNGo the pure-Go one.
type KNN = vecindex.KNN

// SampleOptions tunes Sample; the zero value gives the defaults.
type SampleOptions struct {
	// MaxQueries caps the non-mated and the mated searches (default 5,000,
	// drawn uniformly over the usable faces).
	MaxQueries int
	// PerFolder caps the searches drawn from one folder: a stranger is a
	// new person, so every person should weigh alike, not every photo (one
	// folder of 500 photos would otherwise set the rates). Default: 5, or
	// more in a library of fewer than 200 folders, enough for about 1,000
	// searches (a small library needs every photo it has).
	PerFolder int
	// DuplicateSim is the similarity from which two faces count as one
	// photo (default 0.95, as in cleanse): never a mate, never a stranger.
	DuplicateSim float64
	// Batch is the number of queries per k-NN call (default 1024).
	Batch int
	Seed  uint64
	// Queries, when set, limits the searches to faces of the folders it
	// accepts (the others stay candidates): calibration on some people,
	// evaluation on the others.
	Queries func(group int) bool
	// NoTrim takes the folder labels as they are (no outliers, no aliases).
	NoTrim bool
	// KNN runs the searches (nil: a Go loop, for tests only).
	KNN KNN
}

func (o SampleOptions) withDefaults() SampleOptions {
	if o.MaxQueries <= 0 {
		o.MaxQueries = 5_000
	}
	if o.DuplicateSim <= 0 {
		o.DuplicateSim = 0.95
	}
	if o.Batch <= 0 {
		o.Batch = 1024
	}
	if o.KNN == nil {
		o.KNN = vecindex.KNNGo
	}
	return o
}

// SampleReport says what Sample left out.
type SampleReport struct {
	AliasFolderPairs int // folder pairs taken for one person
	Outliers         int // faces set aside as probably misfiled
	Elapsed          time.Duration
}

// Sample draws the non-mated and mated score samples of a library from its
// folder labels. groups are the library's folders with one vector (the
// primary face) per image, as the library searches them.
//
//   - Labels are read as eval.Calibrate reads them (eval.ReadLabels): faces
//     far from their folder are set aside as probably misfiled (no query, no
//     candidate), and folder pairs whose centroids are as alike as a typical
//     same-person pair are taken for one person.
//   - A non-mated search is a face searched against every other face except
//     its own folder, the folders that look like its person, and faces
//     near-identical to it (one photo filed twice): the best remaining score.
//   - A mated search is a face searched against its own folder without
//     itself and its near-duplicates: the best remaining score (faces whose
//     folder has nothing else are not mated searches).
func Sample(ctx context.Context, groups []eval.Group, opts SampleOptions) (Samples, SampleReport, error) {
	start := time.Now()
	o := opts.withDefaults()
	var rep SampleReport
	labels, err := eval.ReadLabels(ctx, groups, eval.CalibrateOptions{Seed: o.Seed, NoTrim: o.NoTrim})
	if err != nil {
		if ctx.Err() != nil {
			return Samples{}, rep, err
		}
		// No folder has two photos: nothing to trim by, no alias known.
		labels = &eval.Labels{Keep: make([][]int, len(groups))}
		for g := range groups {
			for i := range groups[g].Vectors {
				labels.Keep[g] = append(labels.Keep[g], i)
			}
		}
	}
	rep.Outliers = len(labels.Outliers)
	// Flatten the kept faces.
	var dim int
	var base []float32
	var folder []int
	rowsOf := make([][]int, len(groups))
	for g, k := range labels.Keep {
		for _, i := range k {
			v := groups[g].Vectors[i]
			if dim == 0 {
				dim = len(v)
			} else if len(v) != dim {
				return Samples{}, rep, fmt.Errorf("sample: folder %q has a %d-d vector, others %d-d", groups[g].Name, len(v), dim)
			}
			rowsOf[g] = append(rowsOf[g], len(folder))
			base = append(base, v...)
			folder = append(folder, g)
		}
	}
	n := len(folder)
	if n == 0 {
		return Samples{}, rep, nil
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x0b5e7))
	queries := rng.Perm(n)
	if o.PerFolder <= 0 {
		searched := 0
		for g, rs := range rowsOf {
			if len(rs) > 0 && (o.Queries == nil || o.Queries(g)) {
				searched++
			}
		}
		o.PerFolder = max(5, (1000+searched-1)/max(1, searched))
	}
	perFolder := make([]int, len(groups))
	kept := queries[:0]
	for _, q := range queries {
		if (o.Queries == nil || o.Queries(folder[q])) && perFolder[folder[q]] < o.PerFolder {
			perFolder[folder[q]]++
			kept = append(kept, q)
		}
	}
	queries = kept
	if len(queries) > o.MaxQueries {
		queries = queries[:o.MaxQueries]
	}
	// Batches of queries from folders of similar size: each batch asks for
	// just more neighbours than its biggest folder has faces, so that one
	// big folder does not make every search fetch hundreds.
	sort.Slice(queries, func(a, b int) bool {
		sa, sb := len(rowsOf[folder[queries[a]]]), len(rowsOf[folder[queries[b]]])
		return sa < sb || (sa == sb && queries[a] < queries[b])
	})
	row := func(i int) []float32 { return base[i*dim : (i+1)*dim] }
	alias := map[[2]int]bool{}
	isAlias := func(a, b int) bool {
		if a > b {
			a, b = b, a
		}
		v, ok := alias[[2]int{a, b}]
		if !ok {
			v = labels.Alias(a, b)
			alias[[2]int{a, b}] = v
		}
		return v
	}
	excluded := func(q, r int) bool {
		return folder[r] == folder[q] || isAlias(folder[q], folder[r])
	}
	var s Samples
	nmFolders, mFolders := map[int]bool{}, map[int]bool{}
	for b := 0; b < len(queries); b += o.Batch {
		if err := ctx.Err(); err != nil {
			return Samples{}, rep, err
		}
		batch := queries[b:min(b+o.Batch, len(queries))]
		k := min(n, len(rowsOf[folder[batch[len(batch)-1]]])+32, 2048)
		qv := make([]float32, 0, len(batch)*dim)
		for _, q := range batch {
			qv = append(qv, row(q)...)
		}
		scores, rows, err := o.KNN(qv, base, dim, k)
		if err != nil {
			return Samples{}, rep, fmt.Errorf("sample: k-NN: %w", err)
		}
		for bi, q := range batch {
			found := false
			for j := bi * k; j < (bi+1)*k; j++ {
				r := int(rows[j])
				if r < 0 {
					break
				}
				if excluded(q, r) || float64(scores[j]) >= o.DuplicateSim {
					continue
				}
				s.NonMated = append(s.NonMated, float64(scores[j]))
				found = true
				break
			}
			if !found && k < n { // every candidate fetched was excluded: scan
				best, ok := float32(-2), false
				for r := 0; r < n; r++ {
					if excluded(q, r) {
						continue
					}
					if d := eval.Dot(row(q), row(r)); float64(d) < o.DuplicateSim && d > best {
						best, ok = d, true
					}
				}
				if ok {
					s.NonMated = append(s.NonMated, float64(best))
					found = true
				}
			}
			if found {
				nmFolders[folder[q]] = true
			}
			// Mated: the best of the own folder but itself and duplicates.
			best, ok := float32(-2), false
			for _, r := range rowsOf[folder[q]] {
				if r == q {
					continue
				}
				if d := eval.Dot(row(q), row(r)); float64(d) < o.DuplicateSim && d > best {
					best, ok = d, true
				}
			}
			if ok {
				s.Mated = append(s.Mated, float64(best))
				mFolders[folder[q]] = true
			}
		}
	}
	s.NonMatedFolders, s.MatedFolders = len(nmFolders), len(mFolders)
	for key, v := range alias {
		if v && key[0] != key[1] {
			rep.AliasFolderPairs++
		}
	}
	rep.Elapsed = time.Since(start)
	return s, rep, nil
}

// Calibrate samples groups and fits the operating points: the whole
// open-set calibration of a library in raw similarity.
func Calibrate(ctx context.Context, groups []eval.Group, so SampleOptions, fo FitOptions) (*Calibration, error) {
	s, rep, err := Sample(ctx, groups, so)
	if err != nil {
		return nil, err
	}
	c, err := Fit(s, fo)
	if err != nil {
		return nil, err
	}
	c.AliasFolderPairs, c.Outliers, c.SampleSeconds = rep.AliasFolderPairs, rep.Outliers, rep.Elapsed.Seconds()
	c.Folders = len(groups)
	for _, g := range groups {
		c.Faces += len(g.Vectors)
	}
	c.warnAliases()
	return c, nil
}

// MaxAliasShare is the share of folders above which the alias folder
// pairs get a warning: each pair is left out of the stranger sample, and
// the alias rule can take different people who look alike (a population
// whose different-person similarities run high) for one person, which
// makes the FPIR optimistic.
const MaxAliasShare = 0.02

func (c *Calibration) warnAliases() {
	if c.Folders > 0 && float64(c.AliasFolderPairs) > MaxAliasShare*float64(c.Folders) {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%d folder pairs were taken for one person filed twice (more than %.0f%% of %d folders) and left out of the stranger sample: if they are different people, the FPIR is underestimated ('facesearch audit' lists them)",
			c.AliasFolderPairs, 100*MaxAliasShare, c.Folders))
	}
}
