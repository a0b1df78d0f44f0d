package faiss

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/facesearch/facesearch/internal/blasenv"
)

func TestFlatMatchesBruteForce(t *testing.T) {
	const dim, n, nq, k = 48, 3000, 25, 10
	rng := rand.New(rand.NewPCG(1, 2))
	db := randUnit(rng, n, dim)
	ids := seqIDs(n, 1000)
	queries := randUnit(rng, nq, dim)
	defer SetBLASThreshold(BLASThreshold())
	for _, m := range []Metric{InnerProduct, L2} {
		x := mustNew(t, dim, "Flat", m)
		if err := x.Add(db, ids); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name      string
			threshold int
			nq        int
		}{
			{"batch/blas", 1, nq},
			{"single/blas", 1, 1},
			{"single/scalar", 20, 1},
			{"batch/scalar", 1000, nq},
		} {
			t.Run(m.String()+"/"+tc.name, func(t *testing.T) {
				SetBLASThreshold(tc.threshold)
				scores, got, err := x.Search(queries[:tc.nq*dim], k, nil)
				if err != nil {
					t.Fatal(err)
				}
				for q := range tc.nq {
					want := bruteKNN(db, ids, dim, queries[q*dim:(q+1)*dim], k, m)
					for r, h := range want {
						i := q*k + r
						if got[i] != h.id {
							t.Fatalf("query %d rank %d: id %d, want %d (score %g, want %g)", q, r, got[i], h.id, scores[i], h.score)
						}
						if math.Abs(float64(scores[i])-h.score) > 1e-4 {
							t.Fatalf("query %d rank %d: score %g, want %g", q, r, scores[i], h.score)
						}
					}
				}
			})
		}
	}
}

func TestSearchMoreThanStored(t *testing.T) {
	const dim = 8
	rng := rand.New(rand.NewPCG(3, 4))
	x := mustNew(t, dim, "Flat", InnerProduct)
	if err := x.Add(randUnit(rng, 3, dim), []int64{7, 8, 9}); err != nil {
		t.Fatal(err)
	}
	_, ids, err := x.Search(randUnit(rng, 1, dim), 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ids[3] != -1 || ids[4] != -1 {
		t.Errorf("ids = %v, want the last two to be -1", ids)
	}
	got := slices.Clone(ids[:3])
	slices.Sort(got)
	if !slices.Equal(got, []int64{7, 8, 9}) {
		t.Errorf("ids = %v, want 7, 8, 9 first", ids)
	}
}

// ivfFixture is clustered data (like faces: a few photos per person) in an
// exact Flat index and in an approximate one built from factory.
func ivfFixture(t *testing.T, factory string) (db []float32, ids []int64, queries []float32, exact []int64, x *Index) {
	t.Helper()
	const dim, groups, per, nq, k = 32, 400, 8, 200, 10
	rng := rand.New(rand.NewPCG(5, 6))
	db = clustered(rng, groups, per, dim, 0.9)
	ids = seqIDs(groups*per, 0)
	queries = clustered(rng, nq, 1, dim, 0)
	// Queries near stored points, so that neighbours are meaningful.
	for q := range nq {
		src := db[rng.IntN(groups*per)*dim:]
		for j := range dim {
			queries[q*dim+j] = src[j] + 0.3*queries[q*dim+j]/float32(math.Sqrt(dim))
		}
	}
	normalize(queries, dim)
	flat := mustNew(t, dim, "Flat", InnerProduct)
	if err := flat.Add(db, ids); err != nil {
		t.Fatal(err)
	}
	_, exact, err := flat.Search(queries, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	x = mustNew(t, dim, factory, InnerProduct)
	if x.IsTrained() {
		t.Fatalf("%s reports trained before Train", factory)
	}
	if err := x.Add(db, ids); err == nil {
		t.Fatalf("%s: Add before Train succeeded", factory)
	}
	if err := x.Train(db); err != nil {
		t.Fatal(err)
	}
	if err := x.Add(db, ids); err != nil {
		t.Fatal(err)
	}
	return db, ids, queries, exact, x
}

func TestIVFRecallRisesWithNProbe(t *testing.T) {
	const k = 10
	_, _, queries, exact, x := ivfFixture(t, "IVF64,Flat")
	var prev float64
	recalls := map[int]float64{}
	for _, nprobe := range []int{1, 4, 16, 64} {
		_, got, err := x.Search(queries, k, &SearchParams{NProbe: nprobe})
		if err != nil {
			t.Fatal(err)
		}
		r := recall(exact, got, k)
		recalls[nprobe] = r
		t.Logf("nprobe %d: recall@%d %.3f", nprobe, k, r)
		if r < prev {
			t.Errorf("recall fell from %.3f to %.3f at nprobe %d", prev, r, nprobe)
		}
		prev = r
	}
	if recalls[1] >= 0.99 {
		t.Errorf("recall at nprobe 1 is %.3f: the data does not exercise nprobe", recalls[1])
	}
	if recalls[64] < 0.999 {
		t.Errorf("recall scanning all 64 lists is %.3f, want 1", recalls[64])
	}
	// Per-call parameters must not change the shared index (default nprobe 1).
	_, def, err := x.Search(queries, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := recall(exact, def, k); r != recalls[1] {
		t.Errorf("default search recall %.3f, want nprobe-1 recall %.3f", r, recalls[1])
	}
}

func TestPreTransformIVFTakesNProbe(t *testing.T) {
	const k = 10
	_, _, queries, exact, x := ivfFixture(t, "PCA16,IVF32,Flat")
	r1, r32 := 0.0, 0.0
	for _, np := range []struct {
		n int
		r *float64
	}{{1, &r1}, {32, &r32}} {
		_, got, err := x.Search(queries, k, &SearchParams{NProbe: np.n})
		if err != nil {
			t.Fatal(err)
		}
		*np.r = recall(exact, got, k)
	}
	t.Logf("PCA16,IVF32: recall nprobe 1 %.3f, 32 %.3f", r1, r32)
	if r32 <= r1 {
		t.Errorf("recall did not rise with nprobe through the PCA transform: %.3f -> %.3f", r1, r32)
	}
}

func TestHNSWEfSearch(t *testing.T) {
	const k = 10
	const dim, n = 32, 3000
	rng := rand.New(rand.NewPCG(7, 8))
	db := randUnit(rng, n, dim)
	ids := seqIDs(n, 5)
	queries := randUnit(rng, 100, dim)
	flat := mustNew(t, dim, "Flat", InnerProduct)
	x := mustNew(t, dim, "HNSW8", InnerProduct)
	for _, ix := range []*Index{flat, x} {
		if err := ix.Add(db, ids); err != nil {
			t.Fatal(err)
		}
	}
	_, exact, err := flat.Search(queries, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, lo, err := x.Search(queries, k, &SearchParams{EfSearch: 10})
	if err != nil {
		t.Fatal(err)
	}
	_, hi, err := x.Search(queries, k, &SearchParams{EfSearch: 400})
	if err != nil {
		t.Fatal(err)
	}
	_, def, err := x.Search(queries, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	rl, rh, rd := recall(exact, lo, k), recall(exact, hi, k), recall(exact, def, k)
	t.Logf("HNSW8 on random data: recall@10 efSearch 10 %.3f, 400 %.3f, default (16) %.3f", rl, rh, rd)
	if rh <= rd || rh < 0.95 {
		t.Errorf("recall efSearch 400 %.3f, default %.3f: want a rise to >= 0.95", rh, rd)
	}
	// The per-call efSearch must not stick to the shared index.
	_, def2, err := x.Search(queries, k, &SearchParams{EfSearch: 16})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(def, def2) {
		t.Error("search with the default efSearch after efSearch 400 differs from before")
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	for _, factory := range []string{"Flat", "IVF16,Flat", "HNSW8"} {
		t.Run(factory, func(t *testing.T) {
			const dim, n, k = 16, 800, 5
			rng := rand.New(rand.NewPCG(9, 10))
			db := randUnit(rng, n, dim)
			ids := seqIDs(n, 100)
			queries := randUnit(rng, 20, dim)
			x := mustNew(t, dim, factory, InnerProduct)
			if !x.IsTrained() {
				if err := x.Train(db); err != nil {
					t.Fatal(err)
				}
			}
			if err := x.Add(db, ids); err != nil {
				t.Fatal(err)
			}
			p := &SearchParams{NProbe: 4, EfSearch: 32}
			wantS, wantI, err := x.Search(queries, k, p)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "faces.index")
			if err := os.WriteFile(path, []byte("old contents"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := x.Write(path); err != nil {
				t.Fatal(err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("directory holds %d files after Write, want only the index", len(entries))
			}
			y, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			defer y.Close()
			if y.Dim() != dim || y.Ntotal() != n || !y.IsTrained() {
				t.Errorf("read index: dim %d ntotal %d trained %v, want %d %d true", y.Dim(), y.Ntotal(), y.IsTrained(), dim, n)
			}
			gotS, gotI, err := y.Search(queries, k, p)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(gotI, wantI) || !slices.Equal(gotS, wantS) {
				t.Errorf("results after read differ:\n got %v\nwant %v", gotI, wantI)
			}
			// Vectors added after reading keep working with ids.
			if err := y.Add(db[:dim], []int64{-5}); err != nil {
				t.Fatal(err)
			}
			if _, ids, err := y.Search(db[:dim], 2, p); err != nil || !slices.Contains(ids, -5) {
				t.Errorf("search after add to read index: ids %v err %v, want -5 among them", ids, err)
			}
		})
	}
}

func TestReadWriteErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.index")
	if _, err := Read(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Read(missing) error = %v, want one naming the path", err)
	}
	junk := filepath.Join(dir, "junk.index")
	if err := os.WriteFile(junk, []byte("this is not a faiss index at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(junk); err == nil || !strings.Contains(err.Error(), junk) {
		t.Errorf("Read(junk) error = %v, want one naming the path", err)
	}
	x := mustNew(t, 4, "Flat", L2)
	bad := filepath.Join(dir, "no", "such", "dir", "x.index")
	if err := x.Write(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("Write(%s) error = %v, want one naming the path", bad, err)
	}
}

func TestRemove(t *testing.T) {
	for _, factory := range []string{"Flat", "IVF8,Flat"} {
		t.Run(factory, func(t *testing.T) {
			const dim, n = 16, 400
			rng := rand.New(rand.NewPCG(11, 12))
			db := randUnit(rng, n, dim)
			ids := seqIDs(n, 10)
			x := mustNew(t, dim, factory, L2)
			if !x.IsTrained() {
				if err := x.Train(db); err != nil {
					t.Fatal(err)
				}
			}
			if err := x.Add(db, ids); err != nil {
				t.Fatal(err)
			}
			gone := map[int64]bool{}
			var del []int64
			for i := 0; i < n; i += 7 {
				gone[ids[i]] = true
				del = append(del, ids[i])
			}
			del = append(del, 999999, del[0]) // unknown and duplicate ids are ignored
			removed, err := x.Remove(del)
			if err != nil {
				t.Fatal(err)
			}
			if removed != len(gone) || x.Ntotal() != int64(n-len(gone)) {
				t.Fatalf("removed %d (ntotal %d), want %d (ntotal %d)", removed, x.Ntotal(), len(gone), n-len(gone))
			}
			// Every vector still finds itself under its own id; removed ones are gone.
			_, got, err := x.Search(db, 1, &SearchParams{NProbe: 8})
			if err != nil {
				t.Fatal(err)
			}
			for i, id := range ids {
				if gone[id] {
					if got[i] == id {
						t.Errorf("removed id %d still found", id)
					}
					if _, err := x.Reconstruct(id); !errors.Is(err, ErrNotFound) {
						t.Errorf("Reconstruct(removed %d) error = %v, want ErrNotFound", id, err)
					}
				} else if got[i] != id {
					t.Fatalf("vector of id %d found as id %d after removal", id, got[i])
				}
			}
			v, err := x.Reconstruct(ids[1])
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(v, db[dim:2*dim]) {
				t.Errorf("Reconstruct(%d) = %v, want %v", ids[1], v, db[dim:2*dim])
			}
		})
	}
}

func TestTrimFaissMessage(t *testing.T) {
	for in, want := range map[string]string{
		"Error in virtual size_t faiss::Index::remove_ids(const faiss::IDSelector&) at ./faiss/Index.cpp:49: remove_ids not implemented": "remove_ids not implemented",
		"Error: 'f' failed: could not open x for reading": "Error: 'f' failed: could not open x for reading",
		"out of memory": "out of memory",
	} {
		if got := trimFaissMessage(in); got != want {
			t.Errorf("trimFaissMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBadInput(t *testing.T) {
	_, err := New(16, "NoSuchIndexType", InnerProduct)
	if err == nil || !strings.Contains(err.Error(), "could not parse index string NoSuchIndexType") {
		t.Errorf("New(bad factory) error = %v, want one naming the factory string", err)
	} else {
		t.Logf("bad factory: %v", err)
	}
	if _, err := New(0, "Flat", L2); err == nil {
		t.Error("New(dim 0) succeeded")
	}
	if _, err := New(4, "Flat", Metric(7)); err == nil {
		t.Error("New(metric 7) succeeded")
	}
	x := mustNew(t, 4, "Flat", L2)
	if err := x.Add(make([]float32, 7), []int64{1, 2}); err == nil {
		t.Error("Add of 7 floats at dim 4 succeeded")
	}
	if err := x.Add(make([]float32, 8), []int64{1}); err == nil {
		t.Error("Add of 2 vectors with 1 id succeeded")
	}
	if _, _, err := x.Search(make([]float32, 4), 0, nil); err == nil {
		t.Error("Search with k 0 succeeded")
	}
	if _, _, err := x.Search(make([]float32, 5), 1, nil); err == nil {
		t.Error("Search of 5 floats at dim 4 succeeded")
	}
	if _, err := x.Reconstruct(42); !errors.Is(err, ErrNotFound) {
		t.Errorf("Reconstruct(42) on an empty index: %v, want ErrNotFound", err)
	}
	m := mustNew(t, 4, "IDMap2,IVF2,Flat", L2)
	v := []float32{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}
	if err := m.Train(v); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(v, []int64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Remove([]int64{1}); err == nil {
		t.Error("Remove through an IDMap over IVF succeeded (faiss 1.7.3 would mismatch ids)")
	}
	h := mustNew(t, 4, "HNSW8", L2)
	if _, err := h.Remove([]int64{1}); err == nil {
		t.Error("Remove on HNSW succeeded (faiss cannot remove from HNSW)")
	} else {
		t.Logf("HNSW remove: %v", err)
	}
}

func TestRangeSearchMatchesBruteForce(t *testing.T) {
	const dim, n, nq = 16, 1500, 20
	rng := rand.New(rand.NewPCG(13, 14))
	db := randUnit(rng, n, dim)
	ids := seqIDs(n, 50)
	queries := randUnit(rng, nq, dim)
	for _, tc := range []struct {
		factory string
		m       Metric
		radius  float32
		p       *SearchParams
	}{
		{"Flat", InnerProduct, 0.5, nil},
		{"Flat", L2, 0.8, nil},
		{"IVF8,Flat", InnerProduct, 0.5, &SearchParams{NProbe: 8}},
	} {
		t.Run(tc.factory+"/"+tc.m.String(), func(t *testing.T) {
			x := mustNew(t, dim, tc.factory, tc.m)
			if !x.IsTrained() {
				if err := x.Train(db); err != nil {
					t.Fatal(err)
				}
			}
			if err := x.Add(db, ids); err != nil {
				t.Fatal(err)
			}
			r, err := x.RangeSearch(queries, tc.radius, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Lims) != nq+1 || r.Lims[nq] != len(r.IDs) || len(r.IDs) != len(r.Scores) {
				t.Fatalf("malformed result: %d lims (last %d), %d ids, %d scores", len(r.Lims), r.Lims[len(r.Lims)-1], len(r.IDs), len(r.Scores))
			}
			total := 0
			for q := range nq {
				want, border := bruteRange(db, ids, dim, queries[q*dim:(q+1)*dim], float64(tc.radius), tc.m)
				var got []int64
				for _, id := range r.IDs[r.Lims[q]:r.Lims[q+1]] {
					if !slices.Contains(border, id) {
						got = append(got, id)
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("query %d: got %v, want %v", q, got, want)
				}
				total += len(want)
			}
			if total == 0 {
				t.Fatal("radius finds nothing: the test is vacuous")
			}
		})
	}
}

func TestConcurrentSearch(t *testing.T) {
	for _, factory := range []string{"IVF16,Flat", "HNSW8"} {
		t.Run(factory, func(t *testing.T) {
			const dim, n, k = 32, 2000, 5
			rng := rand.New(rand.NewPCG(15, 16))
			db := randUnit(rng, n, dim)
			queries := randUnit(rng, 16, dim)
			x := mustNew(t, dim, factory, InnerProduct)
			if !x.IsTrained() {
				if err := x.Train(db); err != nil {
					t.Fatal(err)
				}
			}
			if err := x.Add(db, seqIDs(n, 0)); err != nil {
				t.Fatal(err)
			}
			// Goroutines alternate between the default and a per-call setting.
			settings := []*SearchParams{nil, {NProbe: 16, EfSearch: 200}}
			want := make([][]int64, len(settings))
			for i, p := range settings {
				_, ids, err := x.Search(queries, k, p)
				if err != nil {
					t.Fatal(err)
				}
				want[i] = ids
			}
			if slices.Equal(want[0], want[1]) {
				t.Fatal("both settings give the same results: the test cannot see interference")
			}
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					s := g % len(settings)
					for range 30 {
						_, ids, err := x.Search(queries, k, settings[s])
						if err != nil {
							t.Error(err)
							return
						}
						if !slices.Equal(ids, want[s]) {
							t.Errorf("goroutine %d setting %d: results differ from a lone search", g, s)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestCloseWhileSearching(t *testing.T) {
	const dim, n = 32, 3000
	rng := rand.New(rand.NewPCG(17, 18))
	db := randUnit(rng, n, dim)
	x, err := New(dim, "Flat", InnerProduct)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Add(db, seqIDs(n, 0)); err != nil {
		t.Fatal(err)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			<-start
			for {
				_, _, err := x.Search(db[:8*dim], 3, nil)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := x.RangeSearch(db[:dim], 0.9, nil); err != nil && !errors.Is(err, ErrClosed) {
					t.Error(err)
					return
				}
			}
		})
	}
	close(start)
	for range 20 {
		if _, _, err := x.Search(db[:dim], 1, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

// TestClosedIndexes checks that a closed, a zero-value and a nil Index fail
// with ErrClosed (never a crash) and report an empty index.
func TestClosedIndexes(t *testing.T) {
	closed := func(t *testing.T) *Index {
		x, err := New(4, "Flat", InnerProduct)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.Add([]float32{1, 0, 0, 0}, []int64{1}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := x.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
		return x
	}
	tests := []struct {
		name    string
		index   func(t *testing.T) *Index
		wantDim int
	}{
		{"after Close", closed, 4},
		{"zero value", func(*testing.T) *Index { return &Index{} }, 0},
		{"nil", func(*testing.T) *Index { return nil }, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := tc.index(t)
			v := []float32{1, 0, 0, 0}
			checks := map[string]error{
				"Add":   x.Add(v, []int64{2}),
				"Train": x.Train(v),
				"Write": x.Write(filepath.Join(t.TempDir(), "x")),
			}
			_, _, checks["Search"] = x.Search(v, 1, nil)
			_, checks["Remove"] = x.Remove([]int64{1})
			_, checks["RangeSearch"] = x.RangeSearch(v, 0, nil)
			_, checks["Reconstruct"] = x.Reconstruct(1)
			for name, err := range checks {
				if !errors.Is(err, ErrClosed) {
					t.Errorf("%s: %v, want ErrClosed", name, err)
				}
			}
			if x.Ntotal() != 0 || x.IsTrained() || x.Dim() != tc.wantDim {
				t.Errorf("Ntotal %d IsTrained %v Dim %d, want 0 false %d", x.Ntotal(), x.IsTrained(), x.Dim(), tc.wantDim)
			}
			if err := x.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

func TestOpenBLASKernelFitsCPU(t *testing.T) {
	core := BLASCoreName()
	f := blasenv.HostFeatures()
	t.Logf("OpenBLAS core %q, %s=%q, host %+v, faiss %q", core, blasenv.CoreTypeVar, os.Getenv(blasenv.CoreTypeVar), f, CompileOptions())
	if core == "" {
		t.Skip("BLAS library does not report a core name")
	}
	if f.AVX2 && f.FMA && blasenv.IsFallbackCore(core) {
		t.Errorf("OpenBLAS uses %q kernels on a CPU with AVX2+FMA (%s=%q): blasenv.Ensure did not fix it",
			core, blasenv.CoreTypeVar, os.Getenv(blasenv.CoreTypeVar))
	}
}

func TestSettings(t *testing.T) {
	if CompileOptions() == "" {
		t.Error("CompileOptions is empty")
	}
	if got := BLASThreshold(); got != 1 {
		t.Errorf("BLAS threshold at load = %d, want 1", got)
	}
	SetThreads(2)
	x := mustNew(t, 4, "Flat", InnerProduct)
	if err := x.Add([]float32{1, 0, 0, 0, 0, 1, 0, 0}, []int64{1, 2}); err != nil {
		t.Fatal(err)
	}
	if _, ids, err := x.Search([]float32{0, 1, 0, 0}, 1, nil); err != nil || ids[0] != 2 {
		t.Errorf("search after SetThreads: %v %v", ids, err)
	}
}
