package review

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/npz"
	"github.com/facesearch/facesearch/internal/server"
)

// exactOnly is the vector index backend of these tests: their libraries are
// exact (Flat), which the library searches in its own flat vector file, so
// it never builds or reads an index file.
type exactOnly struct{}

func (exactOnly) New(dim int, factory string) (library.VectorIndex, error) {
	return nil, fmt.Errorf("review tests: index %s: only exact libraries", factory)
}

func (exactOnly) Read(path string) (library.VectorIndex, error) {
	return nil, errors.New("review tests: only exact libraries")
}

func openLib(tb testing.TB, dir string, readOnly bool) *library.Library {
	tb.Helper()
	l, err := library.Open(context.Background(), library.Options{Dir: dir, Backend: exactOnly{}, ReadOnly: readOnly})
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// importNPZ imports ROOT/<person>/npKnown.npz into the library dir, as
// 'facesearch import-npz' does with its default model.
func importNPZ(tb testing.TB, dir, root string) {
	tb.Helper()
	m, err := model.Builtin("japanese-face-v1")
	if err != nil {
		tb.Fatal(err)
	}
	l := openLib(tb, dir, false)
	defer l.Close()
	if _, err := l.ImportNPZ(context.Background(), library.ImportOptions{Root: root, Manifest: m}); err != nil {
		tb.Fatalf("import-npz: %v", err)
	}
}

func randVec(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// writePerson writes root/person/npKnown.npz with the given rows.
func writePerson(tb testing.TB, root, person string, names []string, vecs [][]float32) {
	tb.Helper()
	p := &npz.Person{Names: names, Dim: len(vecs[0])}
	for _, v := range vecs {
		p.Vectors = append(p.Vectors, v...)
	}
	dir := filepath.Join(root, person)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := npz.WriteFile(filepath.Join(dir, library.NPZFile), npz.DefaultKey, p); err != nil {
		tb.Fatal(err)
	}
}

func unitVec(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(s))
	}
	return v
}

// plantedLibrary imports people folders of per faces each, scattered
// around one random centre per person.
func plantedLibrary(tb testing.TB, r *rand.Rand, people, per int) string {
	tb.Helper()
	root := tb.TempDir()
	for p := range people {
		centre := unitVec(randVec(r, 512))
		var names []string
		var vecs [][]float32
		for i := range per {
			v := make([]float32, len(centre))
			noise := 0.8 / math.Sqrt(float64(len(centre)))
			for k := range v {
				v[k] = centre[k] + float32(noise*r.NormFloat64())
			}
			vecs = append(vecs, unitVec(v))
			names = append(names, fmt.Sprintf("p%02d_%d.jpg", p, i))
		}
		writePerson(tb, root, fmt.Sprintf("person%02d", p), names, vecs)
	}
	lib := filepath.Join(tb.TempDir(), "lib")
	importNPZ(tb, lib, root)
	return lib
}

// serve serves the library dir read-only as 'facesearch serve' does (a
// Reloader over a Backend, the server's handler), without a photo model,
// polling the catalog generation every 50 ms; the server stops at the end
// of the test.
func serve(t *testing.T, dir string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := openLib(t, dir, true)
	opt := Options{Log: slog.New(slog.DiscardHandler)}
	b, err := New(ctx, l, opt)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	limits := server.NewLimits(1)
	build := func(b *Backend) (http.Handler, error) {
		return server.New(server.Options{Detector: b, Searcher: b, Catalog: b, Cleanser: b, Threshold: b.Threshold(),
			Addr: ts.Listener.Addr().String(), Limits: limits, Log: opt.Log})
	}
	rl, err := NewReloader(ctx, l, b, ReloadOptions{Backend: opt, Build: build, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = rl
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		cancel()
		if err := rl.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		l.Close()
	})
	return ts.URL
}
