package library

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/npz"
)

// nullBackend builds indexes that keep only a count: benchmarks of the
// catalog path use it so that faiss does not dominate.
type nullBackend struct{}

func (nullBackend) New(dim int, factory string) (VectorIndex, error) { return &nullIndex{d: dim}, nil }
func (nullBackend) Read(path string) (VectorIndex, error) {
	return nil, fmt.Errorf("%s: null index is not readable", path)
}

type nullIndex struct {
	d int
	n int64
}

func (x *nullIndex) Dim() int                   { return x.d }
func (x *nullIndex) Ntotal() int64              { return x.n }
func (x *nullIndex) IsTrained() bool            { return true }
func (x *nullIndex) Train(vecs []float32) error { return nil }
func (x *nullIndex) Close() error               { return nil }
func (x *nullIndex) Add(vecs []float32, ids []int64) error {
	x.n += int64(len(ids))
	return nil
}
func (x *nullIndex) Search(q []float32, k int, p SearchParams) ([]float32, []int64, error) {
	return nil, nil, fmt.Errorf("null index cannot search")
}
func (x *nullIndex) Write(path string) error { return os.WriteFile(path, nil, 0o644) }

// writeNPZTree writes persons folders of faces npKnown.npz rows each.
func writeNPZTree(tb testing.TB, root string, persons, faces, dim int) {
	tb.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range persons {
		p := &npz.Person{Dim: dim}
		for j := range faces {
			p.Names = append(p.Names, fmt.Sprintf("img%03d.jpg", j))
			for range dim {
				p.Vectors = append(p.Vectors, float32(r.NormFloat64()))
			}
		}
		dir := filepath.Join(root, fmt.Sprintf("person_%05d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := npz.WriteFile(filepath.Join(dir, NPZFile), npz.DefaultKey, p); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkImportNPZ measures a first import into an empty library (vector
// index discarded). FACESEARCH_BENCH_NPZ names a dataset to use instead of
// a generated 400 x 12 one (e.g. one made by 'go run ./bench/gen').
func BenchmarkImportNPZ(b *testing.B) {
	root := os.Getenv("FACESEARCH_BENCH_NPZ")
	if root == "" {
		root = b.TempDir()
		writeNPZTree(b, root, 400, 12, 512)
	}
	m := &model.Manifest{Name: "bench", EmbeddingDim: 512, Threshold: 0.5}
	faces := 0
	for b.Loop() {
		b.StopTimer()
		lib, err := Open(context.Background(), Options{Dir: filepath.Join(b.TempDir(), "lib"), Backend: nullBackend{}})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := lib.ImportNPZ(context.Background(), ImportOptions{Root: root, Manifest: m})
		if err != nil {
			b.Fatal(err)
		}
		faces = rep.Faces
		b.StopTimer()
		lib.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(faces), "faces")
}
