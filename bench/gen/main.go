// Command gen writes a synthetic face-embedding dataset in the layout of the
// original FACE01 scripts (ROOT/<person>/npKnown.npz) for the benchmarks:
//
//	go run ./bench/gen -out DIR [-people 5000] [-faces 57637] [-seed 1] [-split N]
//
// See bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
)

func main() {
	o := DefaultOptions()
	flag.StringVar(&o.Out, "out", "", "output directory (required; must not hold a dataset)")
	flag.IntVar(&o.People, "people", o.People, "number of people")
	flag.IntVar(&o.Faces, "faces", o.Faces, "total number of faces (exact)")
	flag.IntVar(&o.MaxFaces, "max-faces", o.MaxFaces, "most faces of one person")
	flag.IntVar(&o.Dim, "dim", o.Dim, "embedding dimension")
	flag.Uint64Var(&o.Seed, "seed", o.Seed, "random seed (same seed, same bytes)")
	flag.IntVar(&o.Split, "split", o.Split, "plant N people split across <name> and <name>_dup (listed in planted.csv)")
	flag.IntVar(&o.Queries, "queries", o.Queries, "fresh faces written to queries.npy")
	flag.Float64Var(&o.SameCos, "same", o.SameCos, "mean cosine of two faces of one person")
	flag.Float64Var(&o.SameStd, "same-std", o.SameStd, "standard deviation of the same-person cosine")
	flag.Float64Var(&o.DiffStd, "diff-std", o.DiffStd, "standard deviation of the different-person cosine")
	flag.IntVar(&o.Japanese, "japanese", o.Japanese, "every N-th person gets a Japanese folder name (0: none)")
	flag.IntVar(&o.Workers, "workers", o.Workers, "files written concurrently")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	t, err := Generate(ctx, log, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Printf("%d faces in %d folders; same-person cosine %.3f ± %.3f, different %.3f ± %.3f\n",
		t.Faces, t.Folders, t.SameMean, t.SameStd, t.DiffMean, t.DiffStd)
}
