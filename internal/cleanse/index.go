package cleanse

import (
	"fmt"
	"runtime"
	"sync"
)

// Index is what cleanse needs from a vector index over unit vectors with
// inner-product scores.
type Index interface {
	// RangeSearch returns, for each query (rows of dim values), the stored
	// vectors scoring at least radius: the hits of query i are
	// scores[lims[i]:lims[i+1]] and ids[lims[i]:lims[i+1]], in any order.
	RangeSearch(queries []float32, radius float32) (lims []int, scores []float32, ids []int64, err error)
	// Search returns the k best stored vectors of each query, best first;
	// missing results have id -1.
	Search(queries []float32, k int) (scores []float32, ids []int64, err error)
	// Close releases the index.
	Close() error
}

// UpperRanger is an optional method of an exact Index that halves all-pairs
// searches: every pair is then found once, from its lower face.
type UpperRanger interface {
	// RangeSearchFrom is RangeSearch restricted to the stored vectors at
	// position from and after (positions in the order they were given to the
	// IndexBuilder); ids are the stored ids, as from RangeSearch.
	RangeSearchFrom(queries []float32, from int, radius float32) (lims []int, scores []float32, ids []int64, err error)
}

// IndexBuilder builds an index over vecs (rows of dim values) with the given
// ids. Builders used as Options.Index must be exact.
type IndexBuilder func(dim int, vecs []float32, ids []int64) (Index, error)

// BruteForce is an exact IndexBuilder in pure Go: it scans every vector for
// every query, in parallel across queries. It is meant for tests and small
// datasets; faiss's Flat index with BLAS is several times faster.
func BruteForce(dim int, vecs []float32, ids []int64) (Index, error) {
	if dim <= 0 || len(vecs)%dim != 0 || len(vecs)/dim != len(ids) {
		return nil, fmt.Errorf("cleanse: brute force index: %d values, %d ids, dimension %d do not match", len(vecs), len(ids), dim)
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

// parallel runs fn(q) for every query q in [0, nq) on GOMAXPROCS goroutines.
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

func (b *bruteForce) queries(queries []float32) (int, error) {
	if len(queries)%b.dim != 0 {
		return 0, fmt.Errorf("cleanse: brute force search: %d values is not a multiple of dimension %d", len(queries), b.dim)
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
		return nil, nil, nil, fmt.Errorf("cleanse: brute force search from vector %d of %d", from, b.n())
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
			if s := dot(qv, b.vecs[j*b.dim:(j+1)*b.dim]); s >= radius {
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

func (b *bruteForce) Search(queries []float32, k int) ([]float32, []int64, error) {
	nq, err := b.queries(queries)
	if err != nil {
		return nil, nil, err
	}
	if k <= 0 {
		return nil, nil, fmt.Errorf("cleanse: brute force search: k=%d must be positive", k)
	}
	scores := make([]float32, nq*k)
	ids := make([]int64, nq*k)
	parallel(nq, func(q int) {
		qv := queries[q*b.dim : (q+1)*b.dim]
		s := scores[q*k : (q+1)*k]
		id := ids[q*k : (q+1)*k]
		for i := range id {
			id[i] = -1
			s[i] = -2
		}
		for j := 0; j < b.n(); j++ {
			v := dot(qv, b.vecs[j*b.dim:(j+1)*b.dim])
			if v <= s[k-1] {
				continue
			}
			p := k - 1
			for p > 0 && s[p-1] < v {
				s[p], id[p] = s[p-1], id[p-1]
				p--
			}
			s[p], id[p] = v, b.ids[j]
		}
	})
	return scores, ids, nil
}

// dot returns the inner product of a and b (len(b) >= len(a)).
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
