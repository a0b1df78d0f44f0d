// Command faissbench measures facesearch's faiss binding (internal/faiss) on a
// generated dataset for scripts/bench.sh:
//
//	go run ./bench/faissbench env
//	go run ./bench/faissbench modes -data DIR [-queries DIR/queries.npy] [-passes 5]
//	go run ./bench/faissbench modes -library LIB [-holdout 200] [-passes 5]
//	go run ./bench/faissbench index -index LIBRARY/index.faiss -queries Q.npy [-passes 5]
//	go run ./bench/faissbench flat -vectors LIBRARY/vectors.f32 -queries Q.npy [-passes 5]
//
// env prints the BLAS setup as KEY=VALUE lines. modes builds exact (Flat),
// IVF and HNSW indexes over every face of DIR/<person>/npKnown.npz and times
// single top-10 queries at several nprobe / efSearch settings, with recall@10
// against the exact index; it prints a markdown table. With -library it reads
// the faces of a facesearch library instead (real embeddings, e.g. LFW) and
// holds some primary faces out as queries. index times single
// queries on an existing index file (a library's) and prints KEY=VALUE lines;
// flat does the same for an exact library's memory-mapped vectors.f32 with
// faiss.KNN, the path 'facesearch search' takes.
// Nothing here is part of the facesearch binary.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/facesearch/facesearch/internal/blasenv"
	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/faiss"
	"github.com/facesearch/facesearch/internal/npz"
)

// nativeCoreVar carries OpenBLAS's own kernel choice across blasenv's re-exec.
const nativeCoreVar = "FACESEARCH_BENCH_NATIVE_CORE"

func main() {
	if os.Getenv(nativeCoreVar) == "" {
		os.Setenv(nativeCoreVar, faiss.BLASCoreName())
	}
	if err := blasenv.Ensure(faiss.BLASCoreName); err != nil {
		fmt.Fprintln(os.Stderr, "faissbench: warning:", err)
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: faissbench env | modes -data DIR | index -index FILE -queries Q.npy")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "env":
		err = cmdEnv(os.Stdout)
	case "modes":
		err = cmdModes(os.Stdout, os.Args[2:])
	case "index":
		err = cmdIndex(os.Stdout, os.Args[2:])
	case "flat":
		err = cmdFlat(os.Stdout, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "faissbench:", err)
		os.Exit(1)
	}
}

// cmdEnv prints the kernels OpenBLAS picked by itself, the OPENBLAS_CORETYPE
// facesearch sets (empty: none needed), and the kernels in use.
func cmdEnv(w io.Writer) error {
	native := os.Getenv(nativeCoreVar)
	set := ""
	if os.Getenv(blasenv.GuardVar) != "" {
		set = os.Getenv(blasenv.CoreTypeVar)
	}
	fmt.Fprintf(w, "native_core=%s\n", native)
	fmt.Fprintf(w, "coretype_set=%s\n", set)
	fmt.Fprintf(w, "coretype_env=%s\n", os.Getenv(blasenv.CoreTypeVar))
	fmt.Fprintf(w, "core=%s\n", faiss.BLASCoreName())
	fmt.Fprintf(w, "faiss_compile=%s\n", strings.TrimSpace(faiss.CompileOptions()))
	return nil
}

// loadDataset reads every DIR/<person>/npKnown.npz in sorted folder order,
// as the Python scripts do, and returns L2-normalised rows.
func loadDataset(dir string) ([]float32, int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("dataset: %w", err)
	}
	var vecs []float32
	dim := 0
	for _, e := range ents { // ReadDir sorts by name
		if !e.IsDir() {
			continue
		}
		p, err := npz.ReadFile(filepath.Join(dir, e.Name(), "npKnown.npz"), "")
		if err != nil {
			return nil, 0, err
		}
		if dim == 0 {
			dim = p.Dim
		} else if p.Dim != dim {
			return nil, 0, fmt.Errorf("dataset %s: folder %s has dimension %d, others %d", dir, e.Name(), p.Dim, dim)
		}
		vecs = append(vecs, p.Vectors...)
	}
	if dim == 0 {
		return nil, 0, fmt.Errorf("dataset %s: no <person>/npKnown.npz", dir)
	}
	normalize(vecs, dim)
	return vecs, dim, nil
}

// loadLibrary reads every face embedding of a facesearch library from a copy
// of its catalog (the library is left untouched) and holds out about holdout
// evenly spaced primary faces as queries.
func loadLibrary(dir string, holdout int) (db, q []float32, dim int, err error) {
	tmp, err := os.MkdirTemp("", "faissbench")
	if err != nil {
		return nil, nil, 0, err
	}
	defer os.RemoveAll(tmp)
	for _, name := range []string{"catalog.db", "catalog.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) && name != "catalog.db" {
			continue
		}
		if err != nil {
			return nil, nil, 0, fmt.Errorf("library %s: %w", dir, err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o600); err != nil {
			return nil, nil, 0, err
		}
	}
	ctx := context.Background()
	c, err := catalog.Open(ctx, filepath.Join(tmp, "catalog.db"))
	if err != nil {
		return nil, nil, 0, err
	}
	defer c.Close()
	type face struct {
		primary bool
		v       []float32
	}
	var faces []face
	primaries := 0
	err = c.EachEmbedding(ctx, func(_ int64, primary bool, v []float32) error {
		if dim == 0 {
			dim = len(v)
		} else if len(v) != dim {
			return fmt.Errorf("library %s: embeddings of dimension %d and %d", dir, dim, len(v))
		}
		faces = append(faces, face{primary, v})
		if primary {
			primaries++
		}
		return nil
	})
	if err != nil {
		return nil, nil, 0, err
	}
	if primaries < 2 {
		return nil, nil, 0, fmt.Errorf("library %s: %d primary faces, too few", dir, primaries)
	}
	step := max(1, primaries/max(1, holdout))
	p := 0
	for _, f := range faces {
		if f.primary {
			p++
			if p%step == 0 && len(q)/dim < holdout {
				q = append(q, f.v...)
				continue
			}
		}
		db = append(db, f.v...)
	}
	normalize(db, dim)
	normalize(q, dim)
	return db, q, dim, nil
}

// loadQueries reads a float32 or float64 .npy of shape (Q, dim) or (dim).
func loadQueries(path string, dim int) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("queries: %w", err)
	}
	defer f.Close()
	r, err := npy.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("queries %s: %w", path, err)
	}
	var q []float32
	if r.Header.Descr.Type == "<f8" {
		var d []float64
		if err := r.Read(&d); err != nil {
			return nil, fmt.Errorf("queries %s: %w", path, err)
		}
		for _, v := range d {
			q = append(q, float32(v))
		}
	} else if err := r.Read(&q); err != nil {
		return nil, fmt.Errorf("queries %s: %w", path, err)
	}
	if len(q) == 0 || len(q)%dim != 0 {
		return nil, fmt.Errorf("queries %s: %d values are not rows of %d", path, len(q), dim)
	}
	normalize(q, dim)
	return q, nil
}

func normalize(v []float32, dim int) {
	for i := 0; i+dim <= len(v); i += dim {
		var s float64
		for _, x := range v[i : i+dim] {
			s += float64(x) * float64(x)
		}
		if s == 0 {
			continue
		}
		inv := float32(1 / math.Sqrt(s))
		for j := i; j < i+dim; j++ {
			v[j] *= inv
		}
	}
}

// timing holds per-query latencies and the ids found.
type timing struct {
	lat []time.Duration
	ids [][]int64 // per query, from the first pass
}

// run searches every query alone, passes times over, after one warm-up pass.
func run(x *faiss.Index, q []float32, dim, k, passes int, p *faiss.SearchParams) (timing, error) {
	nq := len(q) / dim
	t := timing{ids: make([][]int64, nq)}
	for pass := -1; pass < passes; pass++ {
		for i := range nq {
			start := time.Now()
			_, ids, err := x.Search(q[i*dim:(i+1)*dim], k, p)
			d := time.Since(start)
			if err != nil {
				return t, err
			}
			if pass == -1 {
				t.ids[i] = ids
			} else {
				t.lat = append(t.lat, d)
			}
		}
	}
	return t, nil
}

func pct(lat []time.Duration, q float64) float64 {
	s := slices.Clone(lat)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return float64(s[max(i, 0)].Microseconds()) / 1000
}

// recall is the mean fraction of the exact top-k found.
func recall(exact, got [][]int64) float64 {
	var sum float64
	for i := range exact {
		want := map[int64]bool{}
		for _, id := range exact[i] {
			if id >= 0 {
				want[id] = true
			}
		}
		n := 0
		for _, id := range got[i] {
			if want[id] {
				n++
			}
		}
		sum += float64(n) / float64(len(want))
	}
	return sum / float64(len(exact))
}

func cmdModes(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("modes", flag.ContinueOnError)
	data := fs.String("data", "", "dataset root holding <person>/npKnown.npz")
	lib := fs.String("library", "", "instead of -data: a facesearch library (its catalog is copied, then read)")
	holdout := fs.Int("holdout", 200, "with -library: primary faces held out of the index as queries")
	queries := fs.String("queries", "", "query .npy (default DATA/queries.npy)")
	passes := fs.Int("passes", 5, "timed passes over the queries")
	hnswM := fs.Int("hnsw-m", 32, "HNSW neighbours per node")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var (
		db, q []float32
		dim   int
		err   error
	)
	switch {
	case *lib != "":
		db, q, dim, err = loadLibrary(*lib, *holdout)
	case *data != "":
		if *queries == "" {
			*queries = filepath.Join(*data, "queries.npy")
		}
		if db, dim, err = loadDataset(*data); err == nil {
			q, err = loadQueries(*queries, dim)
		}
	default:
		err = errors.New("modes: -data or -library is required")
	}
	if err != nil {
		return err
	}
	n := len(db) / dim
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	const k = 10
	nlistLib := max(1, min(int(math.Round(4*math.Sqrt(float64(n)))), n/39))
	fmt.Fprintf(w, "%d faces, %d queries, each searched alone (one warm-up pass, then %d timed), k = %d.\n\n", n, len(q)/dim, *passes, k)
	fmt.Fprintln(w, "| index | setting | build s | p50 ms | p99 ms | recall@10 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")

	type mode struct {
		factory string
		label   string
		train   bool
		params  []faiss.SearchParams
	}
	modes := []mode{
		{"Flat", "Flat (exact, facesearch default)", false, []faiss.SearchParams{{}}},
		{"IVF100,Flat", "IVF100,Flat (the original's index)", true, []faiss.SearchParams{{NProbe: 1}, {NProbe: 8}, {NProbe: 32}}},
		{fmt.Sprintf("IVF%d,Flat", nlistLib), fmt.Sprintf("IVF%d,Flat (`--index IVF,Flat`)", nlistLib), true, []faiss.SearchParams{{NProbe: 1}, {NProbe: 8}, {NProbe: 32}}},
		{fmt.Sprintf("HNSW%d", *hnswM), fmt.Sprintf("HNSW%d", *hnswM), false, []faiss.SearchParams{{EfSearch: 16}, {EfSearch: 64}, {EfSearch: 256}}},
	}
	var exact [][]int64
	for _, m := range modes {
		start := time.Now()
		x, err := faiss.New(dim, m.factory, faiss.InnerProduct)
		if err != nil {
			return fmt.Errorf("%s: %w", m.factory, err)
		}
		if m.train {
			if err := x.Train(db); err != nil {
				x.Close()
				return fmt.Errorf("%s: train: %w", m.factory, err)
			}
		}
		if err := x.Add(db, ids); err != nil {
			x.Close()
			return fmt.Errorf("%s: add: %w", m.factory, err)
		}
		build := time.Since(start).Seconds()
		for _, p := range m.params {
			t, err := run(x, q, dim, k, *passes, &p)
			if err != nil {
				x.Close()
				return fmt.Errorf("%s: search: %w", m.factory, err)
			}
			setting := "—"
			switch {
			case p.NProbe > 0:
				setting = fmt.Sprintf("nprobe %d", p.NProbe)
			case p.EfSearch > 0:
				setting = fmt.Sprintf("efSearch %d", p.EfSearch)
			}
			if exact == nil {
				exact = t.ids
			}
			fmt.Fprintf(w, "| %s | %s | %.2f | %.2f | %.2f | %.3f |\n", m.label, setting, build, pct(t.lat, 0.5), pct(t.lat, 0.99), recall(exact, t.ids))
		}
		x.Close()
	}
	return nil
}

func cmdIndex(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("index", flag.ContinueOnError)
	path := fs.String("index", "", "faiss index file (a library's index.faiss)")
	queries := fs.String("queries", "", "query .npy")
	passes := fs.Int("passes", 5, "timed passes over the queries")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" || *queries == "" {
		return errors.New("index: -index and -queries are required")
	}
	start := time.Now()
	x, err := faiss.Read(*path)
	if err != nil {
		return err
	}
	defer x.Close()
	read := time.Since(start).Seconds()
	q, err := loadQueries(*queries, x.Dim())
	if err != nil {
		return err
	}
	t, err := run(x, q, x.Dim(), 10, *passes, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "faces=%d\nqueries=%d\nread_s=%.3f\np50_ms=%.2f\np99_ms=%.2f\n", x.Ntotal(), len(t.lat), read, pct(t.lat, 0.5), pct(t.lat, 0.99))
	return nil
}

// cmdFlat times single exact queries with faiss.KNN over the vectors of a
// library's vectors.f32 (layout in internal/library/flatstore.go: 64-byte
// header with magic, version, dim, count; then count×dim float32), mapped
// read-only as 'facesearch search' maps it.
func cmdFlat(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("flat", flag.ContinueOnError)
	path := fs.String("vectors", "", "a library's vectors.f32")
	queries := fs.String("queries", "", "query .npy")
	passes := fs.Int("passes", 5, "timed passes over the queries")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" || *queries == "" {
		return errors.New("flat: -vectors and -queries are required")
	}
	start := time.Now()
	f, err := os.Open(*path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("flat: map %s: %w", *path, err)
	}
	defer syscall.Munmap(data)
	if len(data) < 64 || string(data[:8]) != "FSFLAT\x00\x01" {
		return fmt.Errorf("flat: %s is not a facesearch vectors.f32", *path)
	}
	dim := int(binary.LittleEndian.Uint32(data[12:]))
	c64 := binary.LittleEndian.Uint64(data[16:])
	if dim <= 0 || c64 == 0 || c64 > uint64((len(data)-64)/(4*dim)) {
		return fmt.Errorf("flat: %s: bad header (dim %d, count %d, %d bytes)", *path, dim, c64, len(data))
	}
	count := int(c64)
	base := unsafe.Slice((*float32)(unsafe.Pointer(&data[64])), count*dim)
	read := time.Since(start).Seconds()
	q, err := loadQueries(*queries, dim)
	if err != nil {
		return err
	}
	nq := len(q) / dim
	var lat []time.Duration
	for pass := -1; pass < *passes; pass++ {
		for i := range nq {
			t := time.Now()
			if _, _, err := faiss.KNN(q[i*dim:(i+1)*dim], base, dim, 10, faiss.InnerProduct); err != nil {
				return err
			}
			if pass >= 0 {
				lat = append(lat, time.Since(t))
			}
		}
	}
	fmt.Fprintf(w, "faces=%d\nqueries=%d\nread_s=%.3f\np50_ms=%.2f\np99_ms=%.2f\n", count, len(lat), read, pct(lat, 0.5), pct(lat, 0.99))
	return nil
}
