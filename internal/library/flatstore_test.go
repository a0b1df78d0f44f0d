package library

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/vecindex"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
)

// faissKNNBackend is the fake backend with faiss's exact search, as package
// cli wires it.
type faissKNNBackend struct{ fakeBackend }

func (*faissKNNBackend) KNN(q, base []float32, dim, k int) ([]float32, []int64, error) {
	return faissidx.KNN(q, base, dim, k)
}

func randVecs(rng *rand.Rand, n, dim int) []float32 {
	v := make([]float32, n*dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	for i := 0; i < n; i++ {
		if err := Normalize(v[i*dim : (i+1)*dim]); err != nil {
			panic(err)
		}
	}
	return v
}

func TestFlatStoreRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n, dim int
		knn    vecindex.KNN
	}{
		{"odd size/go", 37, 5, nil}, // 37×5 floats: ids need padding
		{"faiss", 300, 16, (&faissKNNBackend{}).KNN},
		{"one", 1, 3, (&faissKNNBackend{}).KNN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.n), 9))
			vecs := randVecs(rng, tc.n, tc.dim)
			ids := make([]int64, tc.n)
			for i := range ids {
				ids[i] = int64(1000 + 7*i)
			}
			path := filepath.Join(t.TempDir(), FlatFile)
			if _, err := writeFlat(path, tc.dim, 42, vecs, ids); err != nil {
				t.Fatal(err)
			}
			info := IndexInfo{Dim: tc.dim, Count: int64(tc.n), Generation: 42}
			x, err := openFlat(path, info, tc.knn)
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			if !reflect.DeepEqual(x.vecs, vecs) || !reflect.DeepEqual(x.ids, ids) || x.Ntotal() != int64(tc.n) || x.Dim() != tc.dim {
				t.Fatalf("read back differs (ntotal %d dim %d)", x.Ntotal(), x.Dim())
			}
			nq, k := 4, min(10, tc.n+2) // k > n for the small ones
			q := randVecs(rng, nq, tc.dim)
			scores, got, err := x.Search(q, k, SearchParams{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range nq {
				want := vecindex.BruteForce(vecs, ids, tc.dim, q[i*tc.dim:(i+1)*tc.dim], k)
				for r := range k {
					j := i*k + r
					if r >= len(want) {
						if got[j] != -1 {
							t.Errorf("query %d rank %d past the %d vectors: id %d, want -1", i, r, tc.n, got[j])
						}
						continue
					}
					if got[j] != want[r].ID || abs32(scores[j]-want[r].Score) > 1e-5 {
						t.Errorf("query %d rank %d: %d %g, want %d %g", i, r, got[j], scores[j], want[r].ID, want[r].Score)
					}
				}
			}
		})
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func TestFlatStoreRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	vecs := randVecs(rand.New(rand.NewPCG(1, 1)), 10, 4)
	ids := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	good := filepath.Join(dir, "good")
	if _, err := writeFlat(good, 4, 3, vecs, ids); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	info := IndexInfo{Dim: 4, Count: 10, Generation: 3}
	version := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(version[8:], 99)
	for _, tc := range []struct {
		name, want string
		data       []byte
		info       IndexInfo
	}{
		{"stale generation", "generation 3", data, IndexInfo{Dim: 4, Count: 10, Generation: 4}},
		{"other count", "10×4-d", data, IndexInfo{Dim: 4, Count: 11, Generation: 3}},
		{"other dim", "10×4-d", data, IndexInfo{Dim: 8, Count: 10, Generation: 3}},
		{"truncated", "truncated or corrupt", data[:len(data)-8], info},
		{"short", "shorter than the 64-byte header", data[:20], info},
		{"magic", "bad magic", append([]byte("NOTFLAT!"), data[8:]...), info},
		{"version", "version 99", version, info},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			x, err := openFlat(p, tc.info, nil)
			if err == nil {
				x.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("err %q, want it to name the file and say %q", err, tc.want)
			}
		})
	}
	if _, err := openFlat(filepath.Join(dir, "absent"), info, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v", err)
	}
}

func TestFlatStoreClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), FlatFile)
	vecs := randVecs(rand.New(rand.NewPCG(2, 2)), 5, 4)
	if _, err := writeFlat(path, 4, 1, vecs, []int64{1, 2, 3, 4, 5}); err != nil {
		t.Fatal(err)
	}
	x, err := openFlat(path, IndexInfo{Dim: 4, Count: 5, Generation: 1}, (&faissKNNBackend{}).KNN)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := x.Search(vecs[:4], 2, SearchParams{}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := x.Close(); err != nil {
			t.Fatalf("close %d: %v", i, err)
		}
	}
	if _, _, err := x.Search(vecs[:4], 2, SearchParams{}); !errors.Is(err, errFlatClosed) {
		t.Errorf("search after close: %v", err)
	}
	if x.Ntotal() != 0 {
		t.Errorf("ntotal after close %d", x.Ntotal())
	}
	if _, _, err := x.Search(vecs[:3], 2, SearchParams{}); err == nil {
		t.Error("ragged query accepted")
	}
}

// bigTree makes n images of 60 people, 0–3 faces each (face 0 primary).
func bigTree(n int) map[string]string {
	files := map[string]string{}
	for i := range n {
		files["p"+strconv.Itoa(i%60)+"/"+strconv.Itoa(i)+".jpg"] = fakeSpec(i%fakeDim, 100+i, i%4)
	}
	return files
}

// TestSearchFlatEqualsBruteForce searches a library through its flat store
// (with faiss and with the Go fallback) and compares with brute force over
// the catalog's embeddings: primary faces only, all faces, and a minimum.
func TestSearchFlatEqualsBruteForce(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, bigTree(400))
	for _, tc := range []struct {
		name    string
		backend IndexBackend
	}{
		{"faiss", &faissKNNBackend{}},
		{"go", &fakeBackend{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, root)
			f.lib.backend = tc.backend
			if _, err := f.index(t, ctx, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(f.lib.Dir(), FlatFile)); err != nil {
				t.Fatalf("no flat store: %v", err)
			}
			s, err := f.lib.Searcher(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Info().Storage != StorageFlat {
				t.Errorf("storage %q", s.Info().Storage)
			}
			all, allIDs, dim, err := f.lib.vectors(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			prim, primIDs, _, err := f.lib.vectors(ctx, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(prim) == len(all) {
				t.Fatal("fixture has no non-primary face")
			}
			rng := rand.New(rand.NewPCG(5, 6))
			for qi := range 5 {
				q := randVecs(rng, 1, dim)
				for _, opt := range []SearchOptions{
					{K: 10, Min: -1},
					{K: 10, Min: -1, AllFaces: true},
					{K: 50, Min: 0.3},
				} {
					hits, err := s.Search(ctx, q, opt)
					if err != nil {
						t.Fatal(err)
					}
					vecs, ids := prim, primIDs
					if opt.AllFaces {
						vecs, ids = all, allIDs
					}
					var want []vecindex.Scored
					for _, h := range vecindex.BruteForce(vecs, ids, dim, q, opt.K) {
						if h.Score >= opt.Min {
							want = append(want, h)
						}
					}
					if len(hits) != len(want) {
						t.Fatalf("query %d %+v: %d hits, want %d", qi, opt, len(hits), len(want))
					}
					for r, h := range hits {
						if h.FaceID != want[r].ID || abs32(h.Similarity-want[r].Score) > 1e-5 || (!opt.AllFaces && !h.Primary) {
							t.Fatalf("query %d %+v rank %d: face %d %g primary %t, want %d %g", qi, opt, r, h.FaceID, h.Similarity, h.Primary, want[r].ID, want[r].Score)
						}
					}
				}
			}
		})
	}
}

// TestFlatStoreStaleOrOld: a flat store whose header disagrees with
// index.json, and an exact index in the old faiss format, are rebuilt as a
// flat store on the next search.
func TestFlatStoreStaleOrOld(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, baseTree())
	f := newFixture(t, root)
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	flat := filepath.Join(f.lib.Dir(), FlatFile)
	info, state, err := f.lib.IndexStatus(ctx)
	if err != nil || state != IndexFresh || info.Storage != StorageFlat {
		t.Fatalf("after index: %s %q %v", state, info.Storage, err)
	}
	search := func() []Hit {
		t.Helper()
		s, err := f.lib.Searcher(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		hits, err := s.Search(ctx, fakeVector(0, 1, 0), SearchOptions{K: 5, Min: -1})
		if err != nil {
			t.Fatal(err)
		}
		return hits
	}
	want := search()

	// A flat store of another catalog generation (a crash between writing it
	// and index.json, or a copy from elsewhere): rebuilt.
	data, err := os.ReadFile(flat)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(data[24:], uint64(info.Generation+5))
	if err := os.WriteFile(flat, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := search(); !reflect.DeepEqual(got, want) {
		t.Errorf("after a stale flat store: %+v, want %+v", got, want)
	}
	x, err := openFlat(flat, info, nil)
	if err != nil {
		t.Fatalf("flat store not rebuilt: %v", err)
	}
	x.Close()

	// An exact index written by an older version: index.faiss, no storage
	// field. Reported stale, rebuilt into a flat store, index.faiss removed.
	old := info
	old.Storage = StorageFaiss
	if err := writeJSONAtomic(filepath.Join(f.lib.Dir(), IndexMetaFile), old); err != nil {
		t.Fatal(err)
	}
	os.Remove(flat)
	if err := os.WriteFile(filepath.Join(f.lib.Dir(), IndexFile), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, state, _ := f.lib.IndexStatus(ctx); state != IndexStale {
		t.Errorf("old-format exact index: %s, want stale", state)
	}
	if got := search(); !reflect.DeepEqual(got, want) {
		t.Errorf("after converting an old index: %+v, want %+v", got, want)
	}
	if _, err := os.Stat(filepath.Join(f.lib.Dir(), IndexFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left after conversion: %v", IndexFile, err)
	}
	if info, state, err := f.lib.IndexStatus(ctx); err != nil || state != IndexFresh || info.Storage != StorageFlat {
		t.Errorf("after conversion: %s %q %v", state, info.Storage, err)
	}

	// Switching to an approximate type removes the flat store, and back.
	if _, err := f.index(t, ctx, func(o *IndexOptions) { o.Factory = "HNSW32" }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(flat); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("flat store left beside an HNSW index: %v", err)
	}
	if _, err := f.index(t, ctx, func(o *IndexOptions) { o.Factory = "Flat" }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.lib.Dir(), IndexFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left beside a flat store: %v", IndexFile, err)
	}
	if got := search(); !reflect.DeepEqual(got, want) {
		t.Errorf("after HNSW and back: %+v, want %+v", got, want)
	}
}

// TestRebuildRemovesStaleTemps: a run killed while writing the index leaves
// a temporary file; the next rebuild removes it once it is old, and leaves a
// young one (maybe another process's rebuild in progress) alone.
func TestRebuildRemovesStaleTemps(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, baseTree())
	f := newFixture(t, root)
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	dir := f.lib.Dir()
	old := filepath.Join(dir, "."+FlatFile+".tmp123")
	oldFaiss := filepath.Join(dir, "."+IndexFile+".tmp456")
	young := filepath.Join(dir, "."+FlatFile+".tmp789")
	for _, p := range []string{old, oldFaiss, young} {
		if err := os.WriteFile(p, []byte("partial index"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	hourAgo := time.Now().Add(-time.Hour)
	for _, p := range []string{old, oldFaiss} {
		if err := os.Chtimes(p, hourAgo, hourAgo); err != nil {
			t.Fatal(err)
		}
	}
	idx, _, err := f.lib.Rebuild(ctx, SearchParams{})
	if err != nil {
		t.Fatal(err)
	}
	idx.Close()
	for _, p := range []string{old, oldFaiss} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: stale temporary file kept (%v)", filepath.Base(p), err)
		}
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("young temporary file removed: %v", err)
	}
}
