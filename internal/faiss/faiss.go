// Package faiss is a cgo binding to the faiss similarity-search library
// (Debian's libfaiss-dev 1.7.3, linked statically) through a small extern "C"
// shim over its C++ API, because Debian ships no compiled faiss C API.
//
// An Index is safe for concurrent use: searches run in parallel, while Train,
// Add, Remove and Close wait for them. Close is idempotent. After Close, and
// on a nil or zero-value *Index (one not made by New or Read), every method
// that returns an error returns ErrClosed; the accessors without an error
// report an empty index instead: Ntotal 0, IsTrained false (Dim keeps the
// dimension after Close, 0 for a nil or zero value).
package faiss

/*
#cgo CXXFLAGS: -std=c++17 -O2 -fopenmp
#cgo LDFLAGS: -l:libfaiss.a -lopenblas -lgomp -lstdc++ -lm
#include <stdlib.h>
#include "faiss_shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// Metric is the similarity measure of an index.
type Metric int

const (
	// InnerProduct ranks by larger dot product (cosine on unit vectors).
	InnerProduct Metric = 0
	// L2 ranks by smaller squared Euclidean distance.
	L2 Metric = 1
)

// String names the metric.
func (m Metric) String() string {
	switch m {
	case InnerProduct:
		return "inner_product"
	case L2:
		return "l2"
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

// ErrClosed is returned by every error-returning method of an Index after
// Close, and of a nil or zero-value Index.
var ErrClosed = errors.New("faiss: index is closed")

// ErrNotFound is returned by Reconstruct for an id the index does not hold.
var ErrNotFound = errors.New("faiss: id not in index")

// handle owns the C index. It is shared with the cleanup that frees an Index
// its user forgot to Close.
type handle struct {
	p *C.fs_index
}

// Index is a faiss index whose vectors carry caller-chosen int64 ids. Make
// one with New or Read; the zero value is a closed index.
type Index struct {
	mu  sync.RWMutex
	h   *handle
	dim int
}

// SearchParams override an index's search-time settings for one call without
// changing the shared index. Zero fields keep the index's own setting; a field
// that does not apply to the index type (NProbe on a Flat index) is ignored.
type SearchParams struct {
	// NProbe is the number of IVF lists scanned.
	NProbe int
	// EfSearch is the HNSW search queue length.
	EfSearch int
}

// RangeResult holds the results of a range search: the hits of query i are
// Scores[Lims[i]:Lims[i+1]] and IDs[Lims[i]:Lims[i+1]], in no particular order.
type RangeResult struct {
	Lims   []int
	Scores []float32
	IDs    []int64
}

// cError turns a shim return code and message into a Go error, freeing msg.
func cError(rc C.int, msg *C.char) error {
	if rc == C.FS_OK {
		return nil
	}
	if msg == nil {
		if rc == C.FS_ERR_NOT_FOUND {
			return ErrNotFound
		}
		return fmt.Errorf("faiss: error code %d", int(rc))
	}
	s := trimFaissMessage(C.GoString(msg))
	C.free(unsafe.Pointer(msg))
	if rc == C.FS_ERR_NOT_FOUND {
		return fmt.Errorf("%w: %s", ErrNotFound, s)
	}
	return errors.New("faiss: " + s)
}

// trimFaissMessage drops the C++ signature and source location that faiss
// puts before its messages ("Error in <function> at faiss/x.cpp:12: msg").
func trimFaissMessage(s string) string {
	if !strings.HasPrefix(s, "Error in ") {
		return s
	}
	at := strings.Index(s, ".cpp:")
	if at < 0 {
		return s
	}
	if end := strings.Index(s[at:], ": "); end >= 0 {
		return s[at+end+2:]
	}
	return s
}

// open reports whether x holds a live C index. The caller holds x.mu.
func (x *Index) open() bool { return x.h != nil && x.h.p != nil }

func wrap(p *C.fs_index) *Index {
	h := &handle{p: p}
	x := &Index{h: h, dim: int(C.fs_dim(p))}
	runtime.AddCleanup(x, func(h *handle) {
		if h.p != nil {
			C.fs_free(h.p)
			h.p = nil
		}
	}, h)
	return x
}

// New builds an index of dimension dim from a faiss index_factory string such
// as "Flat", "IVF100,Flat" or "HNSW32". Indexes that cannot store ids
// themselves are wrapped in an IndexIDMap2 so that vectors keep stable int64
// ids; IVF indexes store ids natively (with a hashtable direct map, so
// Remove and Reconstruct work by id).
func New(dim int, factory string, metric Metric) (*Index, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("faiss: new %q: dimension %d must be positive", factory, dim)
	}
	if metric != InnerProduct && metric != L2 {
		return nil, fmt.Errorf("faiss: new %q: unknown metric %v", factory, metric)
	}
	cs := C.CString(factory)
	defer C.free(unsafe.Pointer(cs))
	var p *C.fs_index
	var msg *C.char
	rc := C.fs_new(C.int(dim), cs, C.int(metric), &p, &msg)
	if err := cError(rc, msg); err != nil {
		return nil, fmt.Errorf("new index %q (dim %d, %v): %w", factory, dim, metric, err)
	}
	return wrap(p), nil
}

// Read loads an index written by Write (or by faiss's write_index).
func Read(path string) (*Index, error) {
	cs := C.CString(path)
	defer C.free(unsafe.Pointer(cs))
	var p *C.fs_index
	var msg *C.char
	rc := C.fs_read(cs, &p, &msg)
	if err := cError(rc, msg); err != nil {
		return nil, fmt.Errorf("read index %s: %w", path, err)
	}
	return wrap(p), nil
}

// Write saves the index to path atomically: it writes a temporary file in the
// same directory, syncs it and renames it over path.
func (x *Index) Write(path string) (err error) {
	if x == nil {
		return ErrClosed
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.open() {
		return ErrClosed
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write index %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			os.Remove(tmpName)
		}
	}()
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write index %s: %w", path, err)
	}
	cs := C.CString(tmpName)
	defer C.free(unsafe.Pointer(cs))
	var msg *C.char
	rc := C.fs_write(x.h.p, cs, &msg)
	runtime.KeepAlive(x)
	if err := cError(rc, msg); err != nil {
		return fmt.Errorf("write index %s: %w", path, err)
	}
	if err := syncFile(tmpName); err != nil {
		return fmt.Errorf("write index %s: %w", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("write index %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: make the rename durable
		d.Close()
	}
	return nil
}

func syncFile(name string) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Close frees the index. It is idempotent (and a no-op on a nil or zero-value
// Index); it waits for running searches.
func (x *Index) Close() error {
	if x == nil {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.open() {
		C.fs_free(x.h.p)
		x.h.p = nil
	}
	runtime.KeepAlive(x)
	return nil
}

// Dim returns the vector dimension (also after Close; 0 for a nil or
// zero-value Index).
func (x *Index) Dim() int {
	if x == nil {
		return 0
	}
	return x.dim
}

// Ntotal returns the number of vectors in the index. It returns 0, not an
// error, after Close and for a nil or zero-value Index.
func (x *Index) Ntotal() int64 {
	if x == nil {
		return 0
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.open() {
		return 0
	}
	n := int64(C.fs_ntotal(x.h.p))
	runtime.KeepAlive(x)
	return n
}

// IsTrained reports whether the index can take vectors (Flat and HNSW always
// can; IVF needs Train first). It returns false, not an error, after Close
// and for a nil or zero-value Index (whose Train and Add return ErrClosed).
func (x *Index) IsTrained() bool {
	if x == nil {
		return false
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.open() {
		return false
	}
	t := C.fs_is_trained(x.h.p) != 0
	runtime.KeepAlive(x)
	return t
}

// rows checks that vecs holds whole vectors and returns how many. A nil or
// zero-value Index (dimension 0) is closed.
func (x *Index) rows(what string, vecs []float32) (int, error) {
	if x == nil || x.dim <= 0 {
		return 0, ErrClosed
	}
	if len(vecs)%x.dim != 0 {
		return 0, fmt.Errorf("faiss: %s: %d floats is not a multiple of dimension %d", what, len(vecs), x.dim)
	}
	return len(vecs) / x.dim, nil
}

// Train trains the index (IVF clustering) on n vectors, len(vecs) = n*Dim().
func (x *Index) Train(vecs []float32) error {
	n, err := x.rows("train", vecs)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.open() {
		return ErrClosed
	}
	if n == 0 {
		return errors.New("faiss: train: no vectors")
	}
	var msg *C.char
	rc := C.fs_train(x.h.p, C.int64_t(n), (*C.float)(&vecs[0]), &msg)
	runtime.KeepAlive(x)
	if err := cError(rc, msg); err != nil {
		return fmt.Errorf("train on %d vectors: %w", n, err)
	}
	return nil
}

// Add adds n vectors with their ids, len(vecs) = n*Dim() and len(ids) = n.
// Ids should be unique in the index.
func (x *Index) Add(vecs []float32, ids []int64) error {
	n, err := x.rows("add", vecs)
	if err != nil {
		return err
	}
	if len(ids) != n {
		return fmt.Errorf("faiss: add: %d vectors but %d ids", n, len(ids))
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.open() {
		return ErrClosed
	}
	if n == 0 {
		return nil
	}
	var msg *C.char
	rc := C.fs_add(x.h.p, C.int64_t(n), (*C.float)(&vecs[0]), (*C.int64_t)(&ids[0]), &msg)
	runtime.KeepAlive(x)
	if err := cError(rc, msg); err != nil {
		return fmt.Errorf("add %d vectors: %w", n, err)
	}
	return nil
}

// Remove removes the vectors with the given ids and returns how many were
// removed (ids not in the index are ignored).
func (x *Index) Remove(ids []int64) (int, error) {
	if x == nil {
		return 0, ErrClosed
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.open() {
		return 0, ErrClosed
	}
	if len(ids) == 0 {
		return 0, nil
	}
	var removed C.int64_t
	var msg *C.char
	rc := C.fs_remove(x.h.p, C.int64_t(len(ids)), (*C.int64_t)(&ids[0]), &removed, &msg)
	runtime.KeepAlive(x)
	if err := cError(rc, msg); err != nil {
		return 0, fmt.Errorf("remove %d ids: %w", len(ids), err)
	}
	return int(removed), nil
}

func cParams(p *SearchParams) (nprobe, efSearch C.int) {
	if p == nil {
		return 0, 0
	}
	return C.int(max(p.NProbe, 0)), C.int(max(p.EfSearch, 0))
}

// Search finds the k nearest neighbours of each of the nq queries
// (len(queries) = nq*Dim()). Result row i holds query i's hits, best first:
// scores[i*k:(i+1)*k] and ids[i*k:(i+1)*k]; missing hits have id -1.
// Scores are inner products or squared L2 distances, by the index's metric.
func (x *Index) Search(queries []float32, k int, p *SearchParams) (scores []float32, ids []int64, err error) {
	nq, err := x.rows("search", queries)
	if err != nil {
		return nil, nil, err
	}
	if k <= 0 {
		return nil, nil, fmt.Errorf("faiss: search: k = %d must be positive", k)
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.open() {
		return nil, nil, ErrClosed
	}
	if nq == 0 {
		return []float32{}, []int64{}, nil
	}
	scores = make([]float32, nq*k)
	ids = make([]int64, nq*k)
	nprobe, ef := cParams(p)
	var msg *C.char
	rc := C.fs_search(x.h.p, C.int64_t(nq), (*C.float)(&queries[0]), C.int64_t(k), nprobe, ef,
		(*C.float)(&scores[0]), (*C.int64_t)(&ids[0]), &msg)
	runtime.KeepAlive(x)
	if err := cError(rc, msg); err != nil {
		return nil, nil, fmt.Errorf("search %d queries, k=%d: %w", nq, k, err)
	}
	return scores, ids, nil
}

// RangeSearch finds, for each query, every vector closer than radius: inner
// product scores > radius, or squared L2 distances < radius.
func (x *Index) RangeSearch(queries []float32, radius float32, p *SearchParams) (*RangeResult, error) {
	nq, err := x.rows("range search", queries)
	if err != nil {
		return nil, err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.open() {
		return nil, ErrClosed
	}
	if nq == 0 {
		return &RangeResult{Lims: []int{0}, Scores: []float32{}, IDs: []int64{}}, nil
	}
	nprobe, ef := cParams(p)
	var (
		cl  *C.int64_t
		cs  *C.float
		ci  *C.int64_t
		msg *C.char
	)
	rc := C.fs_range_search(x.h.p, C.int64_t(nq), (*C.float)(&queries[0]), C.float(radius), nprobe, ef,
		&cl, &cs, &ci, &msg)
	runtime.KeepAlive(x)
	if err := cError(rc, msg); err != nil {
		return nil, fmt.Errorf("range search %d queries, radius %g: %w", nq, radius, err)
	}
	return takeRange(nq, cl, cs, ci), nil
}

// takeRange copies a range search result of nq queries out of the shim's
// malloc'd arrays into Go memory and frees them.
func takeRange(nq int, cl *C.int64_t, cs *C.float, ci *C.int64_t) *RangeResult {
	defer C.free(unsafe.Pointer(cl))
	defer C.free(unsafe.Pointer(cs))
	defer C.free(unsafe.Pointer(ci))
	lims := unsafe.Slice((*int64)(unsafe.Pointer(cl)), nq+1)
	total := int(lims[nq])
	r := &RangeResult{
		Lims:   make([]int, nq+1),
		Scores: make([]float32, total),
		IDs:    make([]int64, total),
	}
	for i, l := range lims {
		r.Lims[i] = int(l)
	}
	if total > 0 {
		copy(r.Scores, unsafe.Slice((*float32)(unsafe.Pointer(cs)), total))
		copy(r.IDs, unsafe.Slice((*int64)(unsafe.Pointer(ci)), total))
	}
	return r
}

// Reconstruct returns the stored vector with the given id (approximate for
// lossy encodings). It returns an error wrapping ErrNotFound for a missing id.
func (x *Index) Reconstruct(id int64) ([]float32, error) {
	if x == nil {
		return nil, ErrClosed
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.open() {
		return nil, ErrClosed
	}
	out := make([]float32, x.dim)
	var msg *C.char
	rc := C.fs_reconstruct(x.h.p, C.int64_t(id), (*C.float)(&out[0]), &msg)
	runtime.KeepAlive(x)
	if err := cError(rc, msg); err != nil {
		return nil, fmt.Errorf("reconstruct id %d: %w", id, err)
	}
	return out, nil
}

// KNN finds, without an index, the k nearest neighbours of each of the nq
// queries (len(queries) = nq*dim) among the nb vectors of base (len(base) =
// nb*dim, row-major), by exact search: faiss's knn_inner_product or
// knn_L2sqr, through BLAS like a Flat index's search (small batches run on
// the calling thread). Result row i holds query i's hits, best first:
// scores[i*k:(i+1)*k] and rows[i*k:(i+1)*k], where rows are positions in
// base (0..nb-1); when k > nb the missing hits have row -1 (score
// -math.MaxFloat32 for InnerProduct, +math.MaxFloat32 for L2).
//
// base may live outside the Go heap (an mmapped file): it is only read
// during the call. The caller keeps it mapped until KNN returns.
func KNN(queries, base []float32, dim, k int, metric Metric) (scores []float32, rows []int64, err error) {
	if dim <= 0 {
		return nil, nil, fmt.Errorf("faiss: knn: dimension %d must be positive", dim)
	}
	if k <= 0 {
		return nil, nil, fmt.Errorf("faiss: knn: k = %d must be positive", k)
	}
	if metric != InnerProduct && metric != L2 {
		return nil, nil, fmt.Errorf("faiss: knn: unknown metric %v", metric)
	}
	if len(queries)%dim != 0 {
		return nil, nil, fmt.Errorf("faiss: knn: %d query floats is not a multiple of dimension %d", len(queries), dim)
	}
	if len(base)%dim != 0 {
		return nil, nil, fmt.Errorf("faiss: knn: %d base floats is not a multiple of dimension %d", len(base), dim)
	}
	nq, nb := len(queries)/dim, len(base)/dim
	if nq == 0 {
		return []float32{}, []int64{}, nil
	}
	scores = make([]float32, nq*k)
	rows = make([]int64, nq*k)
	var pb *C.float
	if nb > 0 {
		pb = (*C.float)(&base[0])
	}
	var msg *C.char
	rc := C.fs_knn(C.int64_t(nq), (*C.float)(&queries[0]), C.int64_t(nb), pb, C.int(dim), C.int64_t(k),
		C.int(metric), (*C.float)(&scores[0]), (*C.int64_t)(&rows[0]), &msg)
	runtime.KeepAlive(queries)
	runtime.KeepAlive(base)
	if err := cError(rc, msg); err != nil {
		return nil, nil, fmt.Errorf("knn %d queries among %d vectors, k=%d: %w", nq, nb, k, err)
	}
	return scores, rows, nil
}

// RangeSearchRaw finds, without an index, every vector of base (len(base) =
// nb*dim, row-major) closer to each of the nq queries (len(queries) = nq*dim)
// than radius, by exact search: faiss's range_search_inner_product (scores >
// radius) or range_search_L2sqr (squared distances < radius), through BLAS
// like a Flat index's range search (small batches run on the calling
// thread). IDs are row positions in base (0..nb-1); the hits of query i are
// Scores[Lims[i]:Lims[i+1]] and IDs[Lims[i]:Lims[i+1]], in no particular
// order.
//
// base may live outside the Go heap (an mmapped file or a sub-slice of a
// larger array): it is only read during the call.
func RangeSearchRaw(queries, base []float32, dim int, radius float32, metric Metric) (*RangeResult, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("faiss: range search: dimension %d must be positive", dim)
	}
	if metric != InnerProduct && metric != L2 {
		return nil, fmt.Errorf("faiss: range search: unknown metric %v", metric)
	}
	if len(queries)%dim != 0 {
		return nil, fmt.Errorf("faiss: range search: %d query floats is not a multiple of dimension %d", len(queries), dim)
	}
	if len(base)%dim != 0 {
		return nil, fmt.Errorf("faiss: range search: %d base floats is not a multiple of dimension %d", len(base), dim)
	}
	nq, nb := len(queries)/dim, len(base)/dim
	if nq == 0 {
		return &RangeResult{Lims: []int{0}, Scores: []float32{}, IDs: []int64{}}, nil
	}
	var pb *C.float
	if nb > 0 {
		pb = (*C.float)(&base[0])
	}
	var (
		cl  *C.int64_t
		cs  *C.float
		ci  *C.int64_t
		msg *C.char
	)
	rc := C.fs_range_raw(C.int64_t(nq), (*C.float)(&queries[0]), C.int64_t(nb), pb, C.int(dim),
		C.float(radius), C.int(metric), &cl, &cs, &ci, &msg)
	runtime.KeepAlive(queries)
	runtime.KeepAlive(base)
	if err := cError(rc, msg); err != nil {
		return nil, fmt.Errorf("range search %d queries among %d vectors, radius %g: %w", nq, nb, radius, err)
	}
	return takeRange(nq, cl, cs, ci), nil
}

// CompileOptions returns faiss's compile options (e.g. "OPTIMIZE GENERIC").
func CompileOptions() string {
	s := C.fs_compile_options()
	defer C.free(unsafe.Pointer(s))
	return C.GoString(s)
}

// SetThreads caps the threads faiss (OpenMP) and OpenBLAS use; n <= 0 keeps
// the libraries' defaults. It is process-wide: call it at start-up.
func SetThreads(n int) {
	C.fs_set_threads(C.int(n))
}

// BLASCoreName returns the kernel family OpenBLAS chose for this CPU, e.g.
// "SkylakeX", "Haswell" or, when it does not know the CPU, "Prescott".
func BLASCoreName() string {
	return C.GoString(C.fs_blas_corename())
}

// SetBLASThreshold sets faiss's distance_compute_blas_threshold: exhaustive
// searches of at least n queries use BLAS, smaller ones a scalar loop. This
// package sets it to 1 at load (BLAS for every search, 3x faster for a single
// query on the Debian build); faiss's own default is 20. It is process-wide;
// it exists for benchmarks and experiments.
func SetBLASThreshold(n int) {
	C.fs_set_blas_threshold(C.int(n))
}

// BLASThreshold returns faiss's current distance_compute_blas_threshold.
func BLASThreshold() int {
	return int(C.fs_blas_threshold())
}
