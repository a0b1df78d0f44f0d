package cleanse

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"slices"

	"github.com/facesearch/facesearch/internal/vecindex"
)

// Pair is two faces (indexes into the Dataset) and their cosine similarity;
// A < B.
type Pair struct {
	A, B       int
	Similarity float32
}

// edge is a pair in compact form, for the large neighbour lists.
type edge struct {
	a, b int32
	s    float32
}

func pairKey(a, b int32) int64 { return int64(a)<<32 | int64(uint32(b)) }

// searchSlack widens the radius handed to the index: faiss keeps scores
// strictly above the radius and float rounding differs between BLAS and Go.
const searchSlack = 1e-5

// rangePairs range-searches every face against all faces with idx and returns
// each unordered pair {i, j} with similarity >= radius for which keep(i, j)
// holds, once, with a < b. If exact is false the index may miss hits in one
// direction only, so hits from both directions are merged. If exact and idx
// is a vecindex.UpperRanger (built by buildIndex, so position = face), each block of
// faces is searched only against itself and the faces after it: every pair is
// still found from its lower face, for half the work.
func (d *Dataset) rangePairs(ctx context.Context, opt Options, stage string, idx vecindex.RangeIndex, radius float32, exact bool, keep func(i, j int32, s float32) bool) ([]edge, error) {
	n := d.Len()
	upper, _ := idx.(vecindex.UpperRanger)
	if !exact {
		upper = nil
	}
	var out []edge
	for start := 0; start < n; start += opt.BlockSize {
		if err := checkCtx(ctx); err != nil {
			return nil, err
		}
		end := min(start+opt.BlockSize, n)
		q := d.vecs[start*d.dim : end*d.dim]
		var (
			lims   []int
			scores []float32
			ids    []int64
			err    error
		)
		if upper != nil {
			lims, scores, ids, err = upper.RangeSearchFrom(q, start, radius-searchSlack)
		} else {
			lims, scores, ids, err = idx.RangeSearch(q, radius-searchSlack)
		}
		if err != nil {
			return nil, fmt.Errorf("cleanse: range search of faces %d-%d: %w", start, end-1, err)
		}
		if len(lims) != end-start+1 {
			return nil, fmt.Errorf("cleanse: range search of faces %d-%d: index returned %d limits", start, end-1, len(lims))
		}
		for q := 0; q < end-start; q++ {
			i := int32(start + q)
			for h := lims[q]; h < lims[q+1]; h++ {
				j64, s := ids[h], scores[h]
				if j64 < 0 || j64 >= int64(n) || s < radius {
					continue
				}
				j := int32(j64)
				if j == i || (exact && j < i) {
					continue
				}
				a, b := min(i, j), max(i, j)
				if keep(a, b, s) {
					out = append(out, edge{a, b, s})
				}
			}
		}
		opt.progress(stage, end, n)
	}
	if !exact {
		slices.SortFunc(out, func(x, y edge) int {
			return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b))
		})
		out = slices.CompactFunc(out, func(x, y edge) bool { return x.a == y.a && x.b == y.b })
	}
	return out, nil
}

// BuildIndex indexes every face of d under its position with b, for reuse
// across calls as PairsOptions.Index. The caller closes it.
func (d *Dataset) BuildIndex(b vecindex.Builder) (vecindex.RangeIndex, error) { return d.buildIndex(b) }

// buildIndex indexes every face under its position.
func (d *Dataset) buildIndex(b vecindex.Builder) (vecindex.RangeIndex, error) {
	ids := make([]int64, d.Len())
	for i := range ids {
		ids[i] = int64(i)
	}
	idx, err := b(d.dim, d.vecs, ids)
	if err != nil {
		return nil, fmt.Errorf("cleanse: build index of %d faces: %w", d.Len(), err)
	}
	return idx, nil
}

// PairsOptions select the pairs Pairs returns.
type PairsOptions struct {
	// Min is the lowest similarity kept. A zero Min means Options.Threshold
	// unless MinSet is true.
	Min float32
	// MinSet makes Min apply as given, 0 included.
	MinSet bool
	// Top keeps only the best Top pairs (0 keeps all). With an exact search
	// only Top pairs are held in memory while searching.
	Top int
	// Index, when set, is a prebuilt exact index of this Dataset's faces
	// (Dataset.BuildIndex) used instead of building one with Options.Index;
	// Pairs does not close it. It must be safe for concurrent searches if
	// Pairs is called concurrently.
	Index vecindex.RangeIndex
	// Approx, when set, runs the search with this approximate index instead
	// of Options.Index; recall is then measured on RecallQueries faces
	// against the exact index and reported.
	Approx vecindex.Builder
	// RecallQueries is the number of faces whose exact results measure the
	// recall of an approximate search (default 500).
	RecallQueries int
}

// PairsResult is the outcome of Pairs.
type PairsResult struct {
	// Pairs are sorted by similarity, best first (ties by face index).
	Pairs []Pair
	// Total is the number of pairs found before Top was applied.
	Total int
	// Min is the similarity bound used.
	Min float32
	// Exact is true when the exact index was used (Recall is then 1).
	Exact bool
	// Recall is the fraction of the true pairs of the sampled faces that the
	// search found, measured over RecallQueries faces.
	Recall float64
	// RecallQueries is the number of faces the recall was measured on.
	RecallQueries int
}

// Pairs returns every pair of faces filed under different persons with
// similarity >= Min, each unordered pair once, best first.
func (d *Dataset) Pairs(ctx context.Context, opt Options, po PairsOptions) (*PairsResult, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if po.Min == 0 && !po.MinSet {
		po.Min = opt.Threshold
	}
	if po.RecallQueries <= 0 {
		po.RecallQueries = 500
	}
	res := &PairsResult{Min: po.Min, Exact: po.Approx == nil, Recall: 1}
	var idx vecindex.RangeIndex
	switch {
	case po.Approx != nil:
		if idx, err = d.buildIndex(po.Approx); err != nil {
			return nil, err
		}
		defer idx.Close()
	case po.Index != nil:
		idx = po.Index
	default:
		if idx, err = d.buildIndex(opt.Index); err != nil {
			return nil, err
		}
		defer idx.Close()
	}
	cross := func(i, j int32, _ float32) bool { return d.person[i] != d.person[j] }
	var best *topEdges
	if res.Exact && po.Top > 0 {
		// Exact hits come once each: keep the best Top in a bounded heap
		// instead of collecting every pair.
		best = &topEdges{n: po.Top}
		cross = func(i, j int32, s float32) bool {
			if d.person[i] != d.person[j] {
				best.offer(edge{i, j, s})
			}
			return false
		}
	}
	edges, err := d.rangePairs(ctx, opt, "pairs", idx, po.Min, res.Exact, cross)
	if err != nil {
		return nil, err
	}
	res.Total = len(edges)
	if best != nil {
		edges, res.Total = best.h, best.seen
	}
	sortEdges(edges)
	if !res.Exact {
		found := make(map[int64]bool, len(edges))
		for _, e := range edges {
			found[pairKey(e.a, e.b)] = true
		}
		if res.Recall, res.RecallQueries, err = d.measureRecall(ctx, opt, po, found); err != nil {
			return nil, err
		}
	}
	if po.Top > 0 && len(edges) > po.Top {
		edges = edges[:po.Top]
	}
	res.Pairs = make([]Pair, len(edges))
	for k, e := range edges {
		res.Pairs[k] = Pair{A: int(e.a), B: int(e.b), Similarity: e.s}
	}
	return res, nil
}

// measureRecall range-searches a sample of faces with the exact index and
// returns the fraction of their cross-folder pairs >= Min present in found.
func (d *Dataset) measureRecall(ctx context.Context, opt Options, po PairsOptions, found map[int64]bool) (float64, int, error) {
	idx := po.Index
	if idx == nil {
		var err error
		if idx, err = d.buildIndex(opt.Index); err != nil {
			return 0, 0, err
		}
		defer idx.Close()
	}
	n := d.Len()
	m := min(po.RecallQueries, n)
	q := make([]float32, 0, m*d.dim)
	sample := make([]int32, m)
	for k := range m {
		i := int32(k * n / m)
		sample[k] = i
		q = append(q, d.row(int(i))...)
	}
	if err := checkCtx(ctx); err != nil {
		return 0, 0, err
	}
	lims, scores, ids, err := idx.RangeSearch(q, po.Min-searchSlack)
	if err != nil {
		return 0, 0, fmt.Errorf("cleanse: exact range search for recall: %w", err)
	}
	var want, got int
	for k, i := range sample {
		for h := lims[k]; h < lims[k+1]; h++ {
			j := int32(ids[h])
			if j < 0 || int(j) >= n || j == i || scores[h] < po.Min || d.person[i] == d.person[j] {
				continue
			}
			want++
			if found[pairKey(min(i, j), max(i, j))] {
				got++
			}
		}
	}
	if want == 0 {
		return 1, m, nil
	}
	return float64(got) / float64(want), m, nil
}

// sortEdges orders edges by similarity, best first, ties by face indexes.
func sortEdges(es []edge) {
	slices.SortFunc(es, func(x, y edge) int {
		return cmp.Or(cmp.Compare(y.s, x.s), cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b))
	})
}

// edgeBefore orders edges as sortEdges does: similarity descending, then
// face indexes ascending.
func edgeBefore(x, y edge) bool {
	return cmp.Or(cmp.Compare(y.s, x.s), cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) < 0
}

// topEdges keeps the best n edges offered (in sortEdges order) and counts
// them all.
type topEdges struct {
	n    int
	seen int
	h    edgeHeap
}

func (t *topEdges) offer(e edge) {
	t.seen++
	if len(t.h) < t.n {
		heap.Push(&t.h, e)
		return
	}
	if edgeBefore(e, t.h[0]) {
		t.h[0] = e
		heap.Fix(&t.h, 0)
	}
}

// edgeHeap is a heap whose root is the worst edge.
type edgeHeap []edge

func (h edgeHeap) Len() int           { return len(h) }
func (h edgeHeap) Less(i, j int) bool { return edgeBefore(h[j], h[i]) }
func (h edgeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *edgeHeap) Push(x any)        { *h = append(*h, x.(edge)) }
func (h *edgeHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
