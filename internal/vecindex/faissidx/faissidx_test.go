package faissidx_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/facesearch/facesearch/internal/blasenv"
	"github.com/facesearch/facesearch/internal/vecindex"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
)

// TestMain re-executes the test binary with OPENBLAS_CORETYPE set when
// OpenBLAS fell back to slow kernels on this CPU (see package blasenv).
func TestMain(m *testing.M) {
	if err := blasenv.Ensure(faissidx.BLASCoreName); err != nil {
		fmt.Fprintln(os.Stderr, "faissidx test:", err)
	}
	os.Exit(m.Run())
}

// unitVecs returns n random unit vectors of dimension dim.
func unitVecs(tb testing.TB, rng *rand.Rand, n, dim int) []float32 {
	tb.Helper()
	v := make([]float32, n*dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	for i := range n {
		if err := vecindex.Normalize(v[i*dim : (i+1)*dim]); err != nil {
			tb.Fatal(err)
		}
	}
	return v
}

// TestBackendMatchesBruteForce: a faiss Flat index made by the Backend,
// the same index written and read back, faiss's KNN over the raw vectors,
// the Builder's Flat index and the pure-Go searches all return the same
// neighbours with the same scores (within float32 rounding).
func TestBackendMatchesBruteForce(t *testing.T) {
	const n, dim, nq, k = 500, 64, 20, 10
	rng := rand.New(rand.NewPCG(4, 2))
	vecs := unitVecs(t, rng, n, dim)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(100 + 3*i)
	}
	q := unitVecs(t, rng, nq, dim)

	var b faissidx.Backend
	x, err := b.New(dim, "Flat")
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.Add(vecs, ids); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "index.faiss")
	if err := x.Write(path); err != nil {
		t.Fatal(err)
	}
	r, err := b.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Ntotal() != n || r.Dim() != dim {
		t.Fatalf("read back %d×%d-d, want %d×%d", r.Ntotal(), r.Dim(), n, dim)
	}
	built, err := faissidx.Builder("Flat", 0)(dim, vecs, ids)
	if err != nil {
		t.Fatal(err)
	}
	defer built.Close()
	bf, err := vecindex.NewBruteForce(dim, vecs, ids)
	if err != nil {
		t.Fatal(err)
	}

	type result struct {
		scores []float32
		ids    []int64
	}
	rowsToIDs := func(s []float32, rows []int64, err error) (result, error) {
		out := make([]int64, len(rows))
		for i, r := range rows {
			out[i] = -1
			if r >= 0 {
				out[i] = ids[r]
			}
		}
		return result{s, out}, err
	}
	searches := map[string]func() (result, error){
		"backend":     func() (result, error) { s, i, err := x.Search(q, k, vecindex.Params{}); return result{s, i}, err },
		"read":        func() (result, error) { s, i, err := r.Search(q, k, vecindex.Params{}); return result{s, i}, err },
		"builder":     func() (result, error) { s, i, err := built.Search(q, k, vecindex.Params{}); return result{s, i}, err },
		"knn":         func() (result, error) { return rowsToIDs(faissidx.KNN(q, vecs, dim, k)) },
		"backend knn": func() (result, error) { return rowsToIDs(b.KNN(q, vecs, dim, k)) },
		"go knn":      func() (result, error) { return rowsToIDs(vecindex.KNNGo(q, vecs, dim, k)) },
		"go index":    func() (result, error) { s, i, err := bf.Search(q, k, vecindex.Params{}); return result{s, i}, err },
	}
	for name, search := range searches {
		got, err := search()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got.ids) != nq*k {
			t.Fatalf("%s: %d results, want %d", name, len(got.ids), nq*k)
		}
		for i := range nq {
			want := vecindex.BruteForce(vecs, ids, dim, q[i*dim:(i+1)*dim], k)
			for j, w := range want {
				g, s := got.ids[i*k+j], got.scores[i*k+j]
				// Random vectors have no ties within 1e-5: ids must agree.
				if g != w.ID || math.Abs(float64(s-w.Score)) > 1e-5 {
					t.Fatalf("%s: query %d rank %d: id %d score %.6f, brute force id %d score %.6f", name, i, j, g, s, w.ID, w.Score)
				}
			}
		}
	}
}

// TestIVFRecall: an IVF index from the Backend, with the list count of
// vecindex.ResolveFactory, reaches full recall when every list is probed
// and is measured below it with one list (vecindex.Recall against brute
// force on real faiss).
func TestIVFRecall(t *testing.T) {
	const n, dim = 2000, 32
	rng := rand.New(rand.NewPCG(5, 1))
	vecs := unitVecs(t, rng, n, dim)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	f, err := vecindex.ResolveFactory("IVF,Flat", n, dim)
	if err != nil {
		t.Fatal(err)
	}
	lists := vecindex.ListCount(f)
	if lists != vecindex.IVFLists(n) || lists < 2 {
		t.Fatalf("%s: %d lists, IVFLists(%d) = %d", f, lists, n, vecindex.IVFLists(n))
	}
	x, err := faissidx.Backend{}.New(dim, f)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.Train(vecs); err != nil {
		t.Fatal(err)
	}
	if err := x.Add(vecs, ids); err != nil {
		t.Fatal(err)
	}
	all, nq, err := vecindex.Recall(x, vecs, ids, dim, vecindex.Params{NProbe: lists})
	if err != nil {
		t.Fatal(err)
	}
	one, _, err := vecindex.Recall(x, vecs, ids, dim, vecindex.Params{NProbe: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s over %d vectors: recall@10 %.3f probing all lists, %.3f probing one (%d queries)", f, n, all, one, nq)
	if nq != 200 || all < 0.999 || one >= all {
		t.Errorf("recall: %d queries, all lists %.3f, one list %.3f", nq, all, one)
	}
}
