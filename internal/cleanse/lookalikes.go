package cleanse

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/facesearch/facesearch/internal/vecindex"
)

// LookalikeOptions select the pairs of people Lookalikes returns.
type LookalikeOptions struct {
	// Top is the number of pairs returned (default 50; < 0 returns every
	// candidate pair).
	Top int
	// MinFaces is the least number of usable faces a person needs (default
	// 2): a single photo says little about how a person looks.
	MinFaces int
	// Candidates is the number of nearest people (by mean cross-folder
	// similarity) examined exactly for each person (default 10).
	Candidates int
	// TrimFrac is the fraction of the lowest and of the highest face-pair
	// similarities left out of the score (default 0.2).
	TrimFrac float64
	// Audit is the audit of the same dataset and options; when nil,
	// Lookalikes runs it.
	Audit *AuditResult
}

// Lookalike is a pair of different people and how alike they look.
type Lookalike struct {
	Persons [2]string
	// Similarity is the trimmed mean of the similarities of every pair of
	// usable faces, one from each person: the ranking score.
	Similarity float32
	// Median and Max summarise the same face-pair similarities.
	Median, Max float32
	// Pairs is the number of face pairs aggregated; Faces the usable faces
	// of each person.
	Pairs int
	Faces [2]int
	// Evidence: the most similar face pair, then the pair closest to
	// Similarity (a typical pair).
	Evidence []Pair
}

// LookalikesResult is the outcome of Lookalikes.
type LookalikesResult struct {
	// Lookalikes, most alike first.
	Lookalikes []Lookalike
	// Persons is the number of people with at least MinFaces usable faces.
	Persons int
	// Candidates is the number of person pairs examined exactly.
	Candidates int
	// SamePerson is the number of candidate pairs left out because the
	// audit found them to be one person with high severity (a medium or
	// low same-person finding may be look-alikes and stays in); LeftOut
	// names them.
	SamePerson int
	LeftOut    [][2]string
	// Audit is the audit used.
	Audit *AuditResult
}

// Lookalikes ranks pairs of different people by how alike they look: a
// trimmed mean over all their cross-folder face similarities, leaving out
// faces the audit found misfiled or outlying and pairs of folders it found to
// be one person. Candidates come from each person's nearest people by the
// exact mean cross-folder similarity (the inner product of the folders' mean
// unit vectors).
func (d *Dataset) Lookalikes(ctx context.Context, opt Options, lo LookalikeOptions) (*LookalikesResult, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if lo.Top == 0 {
		lo.Top = 50
	}
	if lo.MinFaces <= 0 {
		lo.MinFaces = 2
	}
	if lo.Candidates <= 0 {
		lo.Candidates = 10
	}
	if lo.TrimFrac <= 0 || lo.TrimFrac >= 0.5 {
		lo.TrimFrac = 0.2
	}
	if lo.Audit == nil {
		if lo.Audit, err = d.Audit(ctx, opt); err != nil {
			return nil, err
		}
	}
	res := &LookalikesResult{Audit: lo.Audit}
	flagged := map[int]bool{}
	same := map[[2]string]bool{}
	for _, f := range lo.Audit.Findings {
		switch f.Kind {
		case Misfiled, Outlier:
			for _, i := range f.Faces {
				flagged[i] = true
			}
		case SamePerson:
			if f.Severity < High {
				break // not sure enough to hide a pair that may be look-alikes
			}
			same[[2]string{f.Persons[0], f.Persons[1]}] = true
			same[[2]string{f.Persons[1], f.Persons[0]}] = true
		}
	}
	// Usable faces and mean vectors of eligible people.
	var people []int32
	var clean [][]int32
	var means []float32
	for p, m := range d.members {
		var c []int32
		for _, i := range m {
			if !flagged[int(i)] {
				c = append(c, i)
			}
		}
		if len(c) < lo.MinFaces {
			continue
		}
		mean := make([]float32, d.dim)
		for _, i := range c {
			for k, x := range d.row(int(i)) {
				mean[k] += x
			}
		}
		for k := range mean {
			mean[k] /= float32(len(c))
		}
		people = append(people, int32(p))
		clean = append(clean, c)
		means = append(means, mean...)
	}
	res.Persons = len(people)
	if len(people) < 2 {
		return res, nil
	}
	ids := make([]int64, len(people))
	for k := range ids {
		ids[k] = int64(k)
	}
	idx, err := opt.Index(d.dim, means, ids)
	if err != nil {
		return nil, fmt.Errorf("cleanse: index of %d person means: %w", len(people), err)
	}
	defer idx.Close()
	k := min(lo.Candidates+1, len(people))
	type cand struct{ x, y int32 } // indexes into people, x < y
	seen := map[cand]bool{}
	var cands []cand
	for start := 0; start < len(people); start += opt.BlockSize {
		if err := checkCtx(ctx); err != nil {
			return nil, err
		}
		end := min(start+opt.BlockSize, len(people))
		_, nn, err := idx.Search(means[start*d.dim:end*d.dim], k, vecindex.Params{})
		if err != nil {
			return nil, fmt.Errorf("cleanse: nearest people of people %d-%d: %w", start, end-1, err)
		}
		for q := 0; q < end-start; q++ {
			for _, id := range nn[q*k : (q+1)*k] {
				x, y := int32(start+q), int32(id)
				if id < 0 || int(id) >= len(people) || x == y {
					continue
				}
				c := cand{min(x, y), max(x, y)}
				if seen[c] {
					continue
				}
				seen[c] = true
				if same[[2]string{d.persons[people[c.x]], d.persons[people[c.y]]}] {
					res.SamePerson++
					res.LeftOut = append(res.LeftOut, [2]string{d.persons[people[c.x]], d.persons[people[c.y]]})
					continue
				}
				cands = append(cands, c)
			}
		}
	}
	res.Candidates = len(cands)
	out := make([]Lookalike, len(cands))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opt.Workers)
	var mu sync.Mutex
	done := 0
	for n, c := range cands {
		g.Go(func() error {
			if err := checkCtx(gctx); err != nil {
				return err
			}
			out[n] = d.lookalike(people[c.x], people[c.y], clean[c.x], clean[c.y], lo.TrimFrac)
			mu.Lock()
			done++
			opt.progress("lookalikes", done, len(cands))
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Lookalike) int {
		return cmp.Or(cmp.Compare(b.Similarity, a.Similarity), cmp.Compare(a.Persons[0], b.Persons[0]), cmp.Compare(a.Persons[1], b.Persons[1]))
	})
	if lo.Top > 0 && len(out) > lo.Top {
		out = out[:lo.Top]
	}
	res.Lookalikes = out
	return res, nil
}

func (d *Dataset) lookalike(pa, pb int32, ca, cb []int32, trim float64) Lookalike {
	var sims []float32
	var pairs []Pair
	for _, ka := range sample(len(ca), maxCrossSide) {
		for _, kb := range sample(len(cb), maxCrossSide) {
			i, j := int(ca[ka]), int(cb[kb])
			s := d.Similarity(i, j)
			sims = append(sims, s)
			pairs = append(pairs, Pair{A: i, B: j, Similarity: s})
		}
	}
	l := Lookalike{
		Persons: [2]string{d.persons[pa], d.persons[pb]},
		Faces:   [2]int{len(ca), len(cb)},
		Pairs:   len(sims),
	}
	l.Similarity = trimmedMean(sims, trim) // sorts sims
	l.Max = sims[len(sims)-1]
	l.Median = median(sims)
	best, typical := pairs[0], pairs[0]
	for _, p := range pairs {
		if p.Similarity > best.Similarity {
			best = p
		}
		if abs32(p.Similarity-l.Similarity) < abs32(typical.Similarity-l.Similarity) {
			typical = p
		}
	}
	l.Evidence = []Pair{best}
	if typical != best {
		l.Evidence = append(l.Evidence, typical)
	}
	return l
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
