package eval

import (
	"container/heap"
	"context"
	"fmt"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/facesearch/facesearch/internal/vecindex"
)

// Searcher returns the indices of the k items most similar to item query,
// best first. The result may include query itself (Identify skips it) and may
// be shorter than k; nil means the query has no embedding (a miss).
type Searcher func(ctx context.Context, query, k int) ([]int, error)

// IdentifyOptions tunes Identify.
type IdentifyOptions struct {
	// MaxRank is the largest rank measured (default 5).
	MaxRank int
	// Workers bounds concurrent searches (default GOMAXPROCS).
	Workers int
}

// Identification is the outcome of a closed-set identification test.
type Identification struct {
	// Queries is the number of query images: every image whose label occurs
	// at least twice.
	Queries int
	// CMC[r-1] is the fraction of queries with an image of the same label
	// among their r nearest other images (cumulative match characteristic).
	CMC []float64
}

// Rank returns CMC[r-1], or 0 if r is out of range.
func (id Identification) Rank(r int) float64 {
	if r < 1 || r > len(id.CMC) {
		return 0
	}
	return id.CMC[r-1]
}

// Identify runs the closed-set identification test: each image whose label
// occurs at least twice is a query; the gallery is every other image (the
// query itself excluded). A query is a hit at rank r if one of its r best
// matches has its label. labels[i] is the label of item i; items with an
// empty label are neither queries nor counted as hits (e.g. images without
// a face, which the searcher should not return anyway).
func Identify(ctx context.Context, labels []string, search Searcher, opts IdentifyOptions) (Identification, error) {
	maxRank := opts.MaxRank
	if maxRank <= 0 {
		maxRank = 5
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	count := map[string]int{}
	for _, l := range labels {
		if l != "" {
			count[l]++
		}
	}
	var queries []int
	for i, l := range labels {
		if l != "" && count[l] >= 2 {
			queries = append(queries, i)
		}
	}
	// firstHit[q] = 1-based rank of the first correct match, 0 if none within maxRank.
	firstHit := make([]int, len(queries))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for qi, q := range queries {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			res, err := search(gctx, q, maxRank+1)
			if err != nil {
				return fmt.Errorf("identify: query %d: %w", q, err)
			}
			rank := 0
			for _, j := range res {
				if j == q {
					continue
				}
				if j < 0 || j >= len(labels) {
					return fmt.Errorf("identify: query %d: searcher returned index %d outside [0,%d)", q, j, len(labels))
				}
				rank++
				if rank > maxRank {
					break
				}
				if labels[j] == labels[q] {
					firstHit[qi] = rank
					break
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return Identification{}, err
	}
	id := Identification{Queries: len(queries), CMC: make([]float64, maxRank)}
	if len(queries) == 0 {
		return id, nil
	}
	hits := make([]int, maxRank+1)
	for _, r := range firstHit {
		if r > 0 {
			hits[r]++
		}
	}
	cum := 0
	for r := 1; r <= maxRank; r++ {
		cum += hits[r]
		id.CMC[r-1] = float64(cum) / float64(len(queries))
	}
	return id, nil
}

// MatrixSearcher searches a precomputed similarity matrix (sim[i][j] is the
// similarity of items i and j).
func MatrixSearcher(sim [][]float64) Searcher {
	return func(_ context.Context, q, k int) ([]int, error) {
		if q < 0 || q >= len(sim) {
			return nil, fmt.Errorf("query %d outside the %d-row similarity matrix", q, len(sim))
		}
		row := sim[q]
		return topK(len(row), k, func(j int) float32 { return float32(row[j]) }), nil
	}
}

// BruteForceSearcher searches vecs exhaustively by inner product (cosine
// similarity for unit vectors). A nil vector is never returned and, as a
// query, yields nil (a miss).
func BruteForceSearcher(vecs [][]float32) Searcher {
	return func(ctx context.Context, q, k int) ([]int, error) {
		if q < 0 || q >= len(vecs) {
			return nil, fmt.Errorf("query %d outside the %d vectors", q, len(vecs))
		}
		qv := vecs[q]
		if qv == nil {
			return nil, nil
		}
		return topKFiltered(len(vecs), k, func(j int) (float32, bool) {
			if vecs[j] == nil {
				return 0, false
			}
			return Dot(qv, vecs[j]), true
		}), nil
	}
}

// Dot returns the inner product of a and b (over the shorter length):
// vecindex.Dot.
func Dot(a, b []float32) float32 { return vecindex.Dot(a, b) }

func topK(n, k int, sim func(int) float32) []int {
	return topKFiltered(n, k, func(j int) (float32, bool) { return sim(j), true })
}

// topKFiltered returns the indices of the k highest scores, best first; ties
// go to the lower index.
func topKFiltered(n, k int, sim func(int) (float32, bool)) []int {
	h := &minHeap{}
	for j := 0; j < n; j++ {
		s, ok := sim(j)
		if !ok {
			continue
		}
		if h.Len() < k {
			heap.Push(h, scored{j, s})
		} else if k > 0 && better(scored{j, s}, (*h)[0]) {
			(*h)[0] = scored{j, s}
			heap.Fix(h, 0)
		}
	}
	out := make([]int, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(scored).idx
	}
	return out
}

type scored struct {
	idx int
	sim float32
}

func better(a, b scored) bool {
	return a.sim > b.sim || (a.sim == b.sim && a.idx < b.idx)
}

// minHeap keeps the worst of the current top k at the root.
type minHeap []scored

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(scored)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
