// Command vectorbench measures a library's vector index on the local exact
// store and on local Weaviate clusters, side by side: the time to fill the
// index from the catalog (faces/s) and the latency of single-query searches
// through the library (k=10, all faces; for Weaviate this includes the
// health check made before every search). It runs the clusters in a private
// network namespace. Used by scripts/bench-weaviate.sh (make bench).
//
//	vectorbench -lib DIR -queries Q.npy [-nodes 1,3] [-bin weaviate-server]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/facesearch/facesearch/internal/cli"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/weaviate/cluster"
)

func main() {
	lib := flag.String("lib", "", "library directory (modified: its vector index is switched and rebuilt)")
	queries := flag.String("queries", "", "queries .npy, float32 (n, dim)")
	nodes := flag.String("nodes", "1,3", "cluster sizes to measure (shards = replicas = nodes)")
	bin := flag.String("bin", filepath.Join(model.Home(os.Getenv), "bin", "weaviate-server"), "weaviate-server binary")
	flag.Parse()
	if err := run(*lib, *queries, *nodes, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "vectorbench:", err)
		os.Exit(1)
	}
}

func run(dir, qpath, nodes, bin string) error {
	if !cluster.InPrivateNetns() {
		cmd := cluster.Reexec(os.Args[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd.Run()
	}
	if err := cluster.LoopbackUp(); err != nil {
		return err
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	q, dim, err := readQueries(qpath)
	if err != nil {
		return err
	}
	l, err := cli.OpenLibrary(ctx, dir, false, log)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := l.SetVectors(ctx, "local"); err != nil {
		return err
	}
	fmt.Println("| store | faces | fill from the catalog | faces/s | query p50 | query p95 | queries |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	if err := measure(ctx, l, "local exact (flat file, faiss BLAS)", q, dim); err != nil {
		return err
	}
	var sizes []string
	for _, s := range strings.Split(nodes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-nodes %q", nodes)
		}
		cdir, err := os.MkdirTemp("", "vectorbench-cluster")
		if err != nil {
			return err
		}
		c, err := cluster.Start(ctx, cluster.Options{Binary: bin, Dir: cdir, Nodes: n})
		if err != nil {
			return err
		}
		url := fmt.Sprintf("weaviate://%s/Bench?shards=%d&replicas=%d", c.Host(0), n, n)
		err = l.SetVectors(ctx, url)
		if err == nil {
			err = measure(ctx, l, fmt.Sprintf("Weaviate flat, %d node(s), %d shard(s) × %d replica(s)", n, n, n), q, dim)
		}
		if err == nil {
			rss := int64(0)
			for i := 0; i < n; i++ {
				rss += vmRSS(c.PID(i))
			}
			disk := dirSize(cdir)
			sizes = append(sizes, fmt.Sprintf("| %d node(s), %d × %d | %.0f MiB | %.0f MiB | %.0f MiB |", n, n, n,
				float64(disk)/(1<<20), float64(rss)/(1<<20), float64(rss)/float64(n)/(1<<20)))
		}
		c.Stop()
		os.RemoveAll(cdir)
		if err != nil {
			return err
		}
	}
	fmt.Println()
	fmt.Println("| cluster | data on disk (all nodes) | resident memory (all nodes) | per node |")
	fmt.Println("|---|---:|---:|---:|")
	for _, r := range sizes {
		fmt.Println(r)
	}
	return l.SetVectors(ctx, "local")
}

// vmRSS returns a process's resident memory in bytes (0 if unknown).
func vmRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func measure(ctx context.Context, l *library.Library, name string, q []float32, dim int) error {
	_, info, err := l.Rebuild(ctx, library.SearchParams{})
	if err != nil {
		return fmt.Errorf("%s: fill: %w", name, err)
	}
	s, err := l.Searcher(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer s.Close()
	nq := len(q) / dim
	lat := make([]float64, 0, nq)
	for i := 0; i < nq; i++ {
		t := time.Now()
		if _, err := s.Search(ctx, q[i*dim:(i+1)*dim], library.SearchOptions{K: 10, Min: -1, AllFaces: true}); err != nil {
			return fmt.Errorf("%s: query %d: %w", name, i, err)
		}
		lat = append(lat, time.Since(t).Seconds()*1000)
	}
	sort.Float64s(lat)
	pct := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("| %s | %d | %.1f s | %.0f | %.1f ms | %.1f ms | %d |\n", name, info.Count, info.BuildTime, float64(info.Count)/info.BuildTime, pct(0.5), pct(0.95), nq)
	return nil
}

func readQueries(path string) ([]float32, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	r, err := npy.NewReader(f)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	shape := r.Header.Descr.Shape
	if len(shape) != 2 {
		return nil, 0, fmt.Errorf("%s: shape %v, want (n, dim)", path, shape)
	}
	var v []float32
	if err := r.Read(&v); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	for i := 0; i < len(v); i += shape[1] {
		if err := library.Normalize(v[i : i+shape[1]]); err != nil {
			return nil, 0, fmt.Errorf("%s: query %d: %w", path, i/shape[1], err)
		}
	}
	return v, shape[1], nil
}
