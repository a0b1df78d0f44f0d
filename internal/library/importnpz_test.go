package library

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/catalog"

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

// slowProgress slows the writer down so that a parent can kill it mid-run.
type slowProgress struct{ d time.Duration }

func (slowProgress) Start(int) {}
func (p slowProgress) Add(int) { time.Sleep(p.d) }
func (slowProgress) Finish()   {}
func importManifest() *model.Manifest {
	return &model.Manifest{Name: "bench", EmbeddingDim: 16, Threshold: 0.5}
}

const importChildEnv = "FACESEARCH_TEST_IMPORT_CHILD" // "ROOT\x1fLIBRARY"

// TestImportChild is the subprocess of TestImportNPZKilled.
func TestImportChild(t *testing.T) {
	v := os.Getenv(importChildEnv)
	if v == "" {
		t.Skip("subprocess of TestImportNPZKilled")
	}
	root, dir, _ := bytes.Cut([]byte(v), []byte("\x1f"))
	lib, err := Open(context.Background(), Options{Dir: string(dir), Backend: &fakeBackend{}})
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	_, err = lib.ImportNPZ(context.Background(), ImportOptions{Root: string(root), Manifest: importManifest(),
		Workers: 2, BatchSize: 8, Progress: slowProgress{5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestImportNPZKilled SIGKILLs an import between commits, resumes it and
// checks that the result equals a clean import: no face lost or
// duplicated, face ids unique, and the index holds every face.
func TestImportNPZKilled(t *testing.T) {
	root := t.TempDir()
	writeNPZTree(t, root, 300, 5, 16)
	killed := filepath.Join(t.TempDir(), "killed")
	cmd := exec.Command(os.Args[0], "-test.run=^TestImportChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), importChildEnv+"="+root+"\x1f"+killed)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	committed := 0
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && committed < 100; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("child ended before being killed (%v):\n%s", err, out.String())
		default:
		}
		c, err := catalog.Open(context.Background(), filepath.Join(killed, CatalogFile))
		if err != nil {
			continue
		}
		if st, err := c.Stats(context.Background()); err == nil {
			committed = st.Images
		}
		c.Close()
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	if committed < 100 || committed >= 1500 {
		t.Fatalf("killed the child after %d committed images, want some but not all 1500", committed)
	}
	t.Logf("killed the import after %d committed images", committed)

	lib, err := Open(context.Background(), Options{Dir: killed, Backend: &fakeBackend{}})
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	rep, err := lib.ImportNPZ(context.Background(), ImportOptions{Root: root, Manifest: importManifest()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unchanged == 0 || rep.Unchanged+rep.Imported != 300 {
		t.Errorf("resumed import: %d unchanged, %d imported, want the committed files skipped and the rest read", rep.Unchanged, rep.Imported)
	}
	clean, err := Open(context.Background(), Options{Dir: filepath.Join(t.TempDir(), "clean"), Backend: &fakeBackend{}})
	if err != nil {
		t.Fatal(err)
	}
	defer clean.Close()
	if _, err := clean.ImportNPZ(context.Background(), ImportOptions{Root: root, Manifest: importManifest()}); err != nil {
		t.Fatal(err)
	}
	if a, b := dump(t, lib), dump(t, clean); a != b {
		t.Errorf("resumed catalog differs from a clean import:\n%s\nclean:\n%s", a, b)
	}
	ims, err := lib.cat.Images(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int64]bool{}
	for _, im := range ims {
		for _, f := range im.Faces {
			if ids[f.ID] {
				t.Errorf("face id %d used twice", f.ID)
			}
			ids[f.ID] = true
		}
	}
	if info, state, err := lib.IndexStatus(context.Background()); err != nil || state != IndexFresh || info.Count != int64(len(ids)) || len(ids) != 1500 {
		t.Errorf("index %+v %s %v; %d faces, want 1500 all indexed", info, state, err, len(ids))
	}
}
