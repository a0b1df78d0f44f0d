// Package faissidx implements vecindex over faiss: a vecindex.Backend for
// the library's indexes, a vecindex.Builder for the cleansing algorithms,
// and the exact KNN through BLAS. It is the only package that imports the
// cgo binding internal/faiss (besides that package's tests and the bench
// tools); everything else sees vecindex's interfaces. Every index it makes
// scores by inner product.
package faissidx

import (
	"fmt"

	"github.com/facesearch/facesearch/internal/faiss"
	"github.com/facesearch/facesearch/internal/vecindex"
)

// Backend creates and reads faiss indexes (vecindex.Backend) and runs the
// exact search over vectors it does not own (vecindex.ExactSearcher).
type Backend struct{}

var (
	_ vecindex.Backend       = Backend{}
	_ vecindex.ExactSearcher = Backend{}
	_ vecindex.KNN           = KNN
	_ vecindex.Builder       = Builder("Flat", 0)
)

// New makes an empty inner-product index from a faiss factory string.
func (Backend) New(dim int, factory string) (vecindex.Index, error) {
	x, err := faiss.New(dim, factory, faiss.InnerProduct)
	if err != nil {
		return nil, err
	}
	return &index{x: x}, nil
}

// Read opens a faiss index file.
func (Backend) Read(path string) (vecindex.Index, error) {
	x, err := faiss.Read(path)
	if err != nil {
		return nil, err
	}
	return &index{x: x}, nil
}

// KNN implements vecindex.ExactSearcher with the package function KNN.
func (Backend) KNN(queries, base []float32, dim, k int) ([]float32, []int64, error) {
	return KNN(queries, base, dim, k)
}

// KNN is vecindex.KNN through faiss's brute-force inner-product search
// (BLAS); base may be memory-mapped.
func KNN(queries, base []float32, dim, k int) ([]float32, []int64, error) {
	return faiss.KNN(queries, base, dim, k, faiss.InnerProduct)
}

// SetThreads caps the threads faiss (OpenMP) and OpenBLAS use; n <= 0
// keeps the libraries' defaults. It is process-wide.
func SetThreads(n int) { faiss.SetThreads(n) }

// BLASCoreName returns the kernel family OpenBLAS chose for this CPU (for
// blasenv.Ensure).
func BLASCoreName() string { return faiss.BLASCoreName() }

// index adapts *faiss.Index to vecindex.Index and vecindex.RangeIndex;
// def fills the search parameters a call leaves at 0.
type index struct {
	x   *faiss.Index
	def vecindex.Params
}

func (i *index) Dim() int                              { return i.x.Dim() }
func (i *index) Ntotal() int64                         { return i.x.Ntotal() }
func (i *index) IsTrained() bool                       { return i.x.IsTrained() }
func (i *index) Train(vecs []float32) error            { return i.x.Train(vecs) }
func (i *index) Add(vecs []float32, ids []int64) error { return i.x.Add(vecs, ids) }
func (i *index) Write(path string) error               { return i.x.Write(path) }
func (i *index) Close() error                          { return i.x.Close() }

func (i *index) params(p vecindex.Params) *faiss.SearchParams {
	if p.NProbe <= 0 {
		p.NProbe = i.def.NProbe
	}
	if p.EfSearch <= 0 {
		p.EfSearch = i.def.EfSearch
	}
	return &faiss.SearchParams{NProbe: p.NProbe, EfSearch: p.EfSearch}
}

// Search implements vecindex.Searcher.
func (i *index) Search(q []float32, k int, p vecindex.Params) ([]float32, []int64, error) {
	return i.x.Search(q, k, i.params(p))
}

// RangeSearch implements vecindex.RangeIndex with the default parameters.
func (i *index) RangeSearch(q []float32, radius float32) ([]int, []float32, []int64, error) {
	r, err := i.x.RangeSearch(q, radius, i.params(vecindex.Params{}))
	if err != nil {
		return nil, nil, nil, err
	}
	return r.Lims, r.Scores, r.IDs, nil
}

// Builder returns a vecindex.Builder over faiss. Factory "Flat" is exact
// (range searches go through BLAS) and its index is a vecindex.UpperRanger;
// "IVF" builds an IVF index with vecindex.IVFLists(n) lists, searched with
// nprobe lists (0: faiss's default); any other factory string is resolved
// by vecindex.ResolveFactory.
func Builder(factory string, nprobe int) vecindex.Builder {
	return func(dim int, vecs []float32, ids []int64) (vecindex.RangeIndex, error) {
		n := len(ids)
		f := factory
		if f == "IVF" {
			f = "IVF,Flat"
		}
		f, err := vecindex.ResolveFactory(f, n, dim)
		if err != nil {
			return nil, err
		}
		x, err := faiss.New(dim, f, faiss.InnerProduct)
		if err != nil {
			return nil, err
		}
		if !x.IsTrained() {
			if err := x.Train(vecs); err != nil {
				x.Close()
				return nil, fmt.Errorf("train %s on %d vectors: %w", f, n, err)
			}
		}
		if err := x.Add(vecs, ids); err != nil {
			x.Close()
			return nil, fmt.Errorf("add %d vectors to %s: %w", n, f, err)
		}
		c := &index{x: x, def: vecindex.Params{NProbe: nprobe}}
		if vecindex.Exact(f) {
			return &flat{index: c, dim: dim, vecs: vecs, ids: ids}, nil
		}
		return c, nil
	}
}

// flat is an exact Flat index that also searches the vectors it was built
// from directly, from a given position on (vecindex.UpperRanger):
// all-pairs then scans each pair once.
type flat struct {
	*index
	dim  int
	vecs []float32 // the builder's vectors; the caller does not modify them
	ids  []int64
}

// RangeSearchFrom implements vecindex.UpperRanger.
func (c *flat) RangeSearchFrom(q []float32, from int, radius float32) ([]int, []float32, []int64, error) {
	if from < 0 || from > len(c.ids) {
		return nil, nil, nil, fmt.Errorf("range search from vector %d of %d", from, len(c.ids))
	}
	r, err := faiss.RangeSearchRaw(q, c.vecs[from*c.dim:], c.dim, radius, faiss.InnerProduct)
	if err != nil {
		return nil, nil, nil, err
	}
	for h, row := range r.IDs {
		r.IDs[h] = c.ids[from+int(row)]
	}
	return r.Lims, r.Scores, r.IDs, nil
}
