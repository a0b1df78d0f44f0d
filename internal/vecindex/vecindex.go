// Package vecindex is facesearch's one vector-index abstraction: the Index
// interface every vector store implements (a faiss index, the library's
// mapped flat file, a remote cluster), the range-search capabilities the
// cleansing algorithms need, the exact k-NN function type, pure-Go brute
// force (the exact reference and the fallback without faiss), the faiss
// factory-string rule with its IVF list count, the recall measurement of an
// approximate index against brute force, and the one Normalize and Dot.
//
// Every index holds int64 ids and scores by inner product: on unit vectors
// (Normalize) that is the cosine similarity. The package is pure Go; the
// faiss implementation is in the subpackage faissidx, the only importer of
// the cgo package internal/faiss.
package vecindex

import "context"

// Params tunes approximate indexes (0 keeps the index's default).
type Params struct {
	NProbe   int // IVF: lists visited
	EfSearch int // HNSW: candidate list size
}

// Searcher is the search every index answers: for each of the
// len(queries)/Dim() queries the k best stored vectors, best first, as
// nq*k scores and ids (missing results have id -1).
type Searcher interface {
	Search(queries []float32, k int, p Params) (scores []float32, ids []int64, err error)
}

// Index is a vector index with int64 ids and inner-product scores (faiss,
// wrapped in IndexIDMap2; the library's flat file; a remote store).
type Index interface {
	Dim() int
	Ntotal() int64
	IsTrained() bool
	Train(vecs []float32) error
	Add(vecs []float32, ids []int64) error
	Searcher
	// Write saves the index atomically.
	Write(path string) error
	Close() error
}

// ContextSearcher is an optional method of an Index whose searches end
// with the caller's context (a remote store; local indexes answer in
// memory). Use SearchContext to call it when present.
type ContextSearcher interface {
	SearchCtx(ctx context.Context, queries []float32, k int, p Params) ([]float32, []int64, error)
}

// SearchContext searches s with ctx if it is a ContextSearcher, else with
// its plain Search.
func SearchContext(ctx context.Context, s Searcher, queries []float32, k int, p Params) ([]float32, []int64, error) {
	if cs, ok := s.(ContextSearcher); ok {
		return cs.SearchCtx(ctx, queries, k, p)
	}
	return s.Search(queries, k, p)
}

// Backend creates and reads indexes of one implementation.
type Backend interface {
	// New makes an empty index for dim-dimensional vectors from a faiss
	// factory string (see ResolveFactory).
	New(dim int, factory string) (Index, error)
	// Read opens an index written by Index.Write.
	Read(path string) (Index, error)
}

// KNN is an exact inner-product k-NN search over caller-owned vectors: for
// each of the len(queries)/dim queries, k scores and row positions in base,
// best first; rows past the base's end are -1. base may be memory-mapped.
// faissidx.KNN (faiss's brute force through BLAS) is the fast one; KNNGo
// the pure-Go one.
type KNN func(queries, base []float32, dim, k int) (scores []float32, rows []int64, err error)

// ExactSearcher is an optional method of a Backend that runs KNN (the
// library searches its mapped flat file with it; without it, KNNGo).
type ExactSearcher interface {
	KNN(queries, base []float32, dim, k int) (scores []float32, rows []int64, err error)
}

// RangeIndex is what the cleansing algorithms need from an index built over
// a fixed set of vectors: k-NN and range search.
type RangeIndex interface {
	Searcher
	// RangeSearch returns, for each query (rows of dim values), the stored
	// vectors scoring at least radius: the hits of query i are
	// scores[lims[i]:lims[i+1]] and ids[lims[i]:lims[i+1]], in any order.
	RangeSearch(queries []float32, radius float32) (lims []int, scores []float32, ids []int64, err error)
	// Close releases the index.
	Close() error
}

// UpperRanger is an optional method of an exact RangeIndex that halves
// all-pairs searches: every pair is then found once, from its lower vector.
type UpperRanger interface {
	// RangeSearchFrom is RangeSearch restricted to the stored vectors at
	// position from and after (positions in the order they were given to the
	// Builder); ids are the stored ids, as from RangeSearch.
	RangeSearchFrom(queries []float32, from int, radius float32) (lims []int, scores []float32, ids []int64, err error)
}

// Builder builds a RangeIndex over vecs (rows of dim values) with the given
// ids. The builder does not copy vecs: the caller leaves them unmodified
// until the index is closed.
type Builder func(dim int, vecs []float32, ids []int64) (RangeIndex, error)
