package vecindex

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
)

// Scored is an id with its inner-product score.
type Scored struct {
	ID    int64
	Score float32
}

// BruteForce returns the k vectors of vecs (rows of dim values, with ids)
// with the highest inner product with q, best first, ties by id: the exact
// reference for every index type.
func BruteForce(vecs []float32, ids []int64, dim int, q []float32, k int) []Scored {
	all := make([]Scored, len(ids))
	for i, id := range ids {
		all[i] = Scored{id, Dot(q, vecs[i*dim:(i+1)*dim])}
	}
	sort.Slice(all, func(a, b int) bool {
		if all[a].Score != all[b].Score {
			return all[a].Score > all[b].Score
		}
		return all[a].ID < all[b].ID
	})
	return all[:max(0, min(k, len(all)))]
}

// KNNGo is KNN in pure Go, parallel across queries: rows best first, ties
// by row; past the base's end the row is -1 and the score -MaxFloat32.
func KNNGo(queries, base []float32, dim, k int) ([]float32, []int64, error) {
	if dim <= 0 || len(queries)%dim != 0 || len(base)%dim != 0 {
		return nil, nil, fmt.Errorf("vecindex: k-NN: %d query and %d base values for dimension %d", len(queries), len(base), dim)
	}
	if k <= 0 {
		return nil, nil, fmt.Errorf("vecindex: k-NN: k=%d must be positive", k)
	}
	nq := len(queries) / dim
	scores := make([]float32, nq*k)
	rows := make([]int64, nq*k)
	parallel(nq, func(q int) {
		topK(queries[q*dim:(q+1)*dim], base, dim, scores[q*k:(q+1)*k], rows[q*k:(q+1)*k])
	})
	return scores, rows, nil
}

// sortAbove is the k above which topK sorts every score instead of
// inserting into the k best (same order either way).
const sortAbove = 32

// topK fills s and r (k = len(s) entries) with the best rows of base:
// scores descending, ties by row; unfilled entries row -1,
// score -MaxFloat32. Rows are positions in base.
func topK(q, base []float32, dim int, s []float32, r []int64) {
	k, nb := len(s), len(base)/dim
	for i := range s {
		s[i], r[i] = -math.MaxFloat32, -1
	}
	if k > sortAbove {
		all := make([]Scored, 0, nb)
		for j := range nb {
			all = append(all, Scored{int64(j), Dot(q, base[j*dim:(j+1)*dim])})
		}
		sort.Slice(all, func(a, b int) bool {
			if all[a].Score != all[b].Score {
				return all[a].Score > all[b].Score
			}
			return all[a].ID < all[b].ID
		})
		for i := range min(k, len(all)) {
			s[i], r[i] = all[i].Score, all[i].ID
		}
		return
	}
	n := 0 // entries filled
	for j := range nb {
		v := Dot(q, base[j*dim:(j+1)*dim])
		if n == k && v <= s[k-1] {
			continue
		}
		p := min(n, k-1)
		if n < k {
			n++
		}
		for p > 0 && s[p-1] < v {
			s[p], r[p] = s[p-1], r[p-1]
			p--
		}
		s[p], r[p] = v, int64(j)
	}
}

// parallel runs fn(q) for every q in [0, nq) on up to GOMAXPROCS goroutines.
func parallel(nq int, fn func(q int)) {
	w := min(runtime.GOMAXPROCS(0), nq)
	var wg sync.WaitGroup
	for g := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q := g; q < nq; q += w {
				fn(q)
			}
		}()
	}
	wg.Wait()
}

// NewBruteForce is an exact Builder in pure Go: its RangeIndex scans every
// vector for every query, in parallel across queries, and is an
// UpperRanger. It is meant for tests and small datasets; faiss's Flat
// index with BLAS (faissidx.Builder) is several times faster.
func NewBruteForce(dim int, vecs []float32, ids []int64) (RangeIndex, error) {
	if dim <= 0 || len(vecs)%dim != 0 || len(vecs)/dim != len(ids) {
		return nil, fmt.Errorf("vecindex: brute force index: %d values, %d ids, dimension %d do not match", len(vecs), len(ids), dim)
	}
	return &bruteForce{dim: dim, vecs: vecs, ids: ids}, nil
}

type bruteForce struct {
	dim  int
	vecs []float32
	ids  []int64
}

func (b *bruteForce) Close() error { return nil }

func (b *bruteForce) n() int { return len(b.ids) }

func (b *bruteForce) queries(queries []float32) (int, error) {
	if len(queries)%b.dim != 0 {
		return 0, fmt.Errorf("vecindex: brute force search: %d values is not a multiple of dimension %d", len(queries), b.dim)
	}
	return len(queries) / b.dim, nil
}

func (b *bruteForce) RangeSearch(queries []float32, radius float32) ([]int, []float32, []int64, error) {
	return b.RangeSearchFrom(queries, 0, radius)
}

// RangeSearchFrom implements UpperRanger.
func (b *bruteForce) RangeSearchFrom(queries []float32, from int, radius float32) ([]int, []float32, []int64, error) {
	nq, err := b.queries(queries)
	if err != nil {
		return nil, nil, nil, err
	}
	if from < 0 || from > b.n() {
		return nil, nil, nil, fmt.Errorf("vecindex: brute force search from vector %d of %d", from, b.n())
	}
	type hits struct {
		s  []float32
		id []int64
	}
	per := make([]hits, nq)
	parallel(nq, func(q int) {
		qv := queries[q*b.dim : (q+1)*b.dim]
		var h hits
		for j := from; j < b.n(); j++ {
			if s := Dot(qv, b.vecs[j*b.dim:(j+1)*b.dim]); s >= radius {
				h.s = append(h.s, s)
				h.id = append(h.id, b.ids[j])
			}
		}
		per[q] = h
	})
	lims := make([]int, nq+1)
	for q, h := range per {
		lims[q+1] = lims[q] + len(h.s)
	}
	scores := make([]float32, 0, lims[nq])
	ids := make([]int64, 0, lims[nq])
	for _, h := range per {
		scores = append(scores, h.s...)
		ids = append(ids, h.id...)
	}
	return lims, scores, ids, nil
}

// Search returns the k best stored vectors of each query, best first (ties
// by position); missing results have id -1. Params do not apply.
func (b *bruteForce) Search(queries []float32, k int, _ Params) ([]float32, []int64, error) {
	nq, err := b.queries(queries)
	if err != nil {
		return nil, nil, err
	}
	if k <= 0 {
		return nil, nil, fmt.Errorf("vecindex: brute force search: k=%d must be positive", k)
	}
	scores := make([]float32, nq*k)
	ids := make([]int64, nq*k)
	parallel(nq, func(q int) {
		r := ids[q*k : (q+1)*k]
		topK(queries[q*b.dim:(q+1)*b.dim], b.vecs, b.dim, scores[q*k:(q+1)*k], r)
		for i, row := range r {
			if row >= 0 {
				r[i] = b.ids[row]
			}
		}
	})
	return scores, ids, nil
}
