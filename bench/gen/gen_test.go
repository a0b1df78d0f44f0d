package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/facesearch/facesearch/internal/npz"
)

func smallOptions(tb testing.TB) Options {
	tb.Helper()
	o := DefaultOptions()
	o.Out = filepath.Join(tb.TempDir(), "root")
	o.People, o.Faces, o.Queries, o.Japanese = 60, 700, 5, 7
	return o
}

func generate(tb testing.TB, o Options) *Truth {
	tb.Helper()
	t, err := Generate(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), o)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// tree maps every file under root to its content.
func tree(tb testing.TB, root string) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(root, path)
		out[rel] = b
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestFaceCountsExact(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		counts := faceCounts(rand.New(rand.NewPCG(seed, 0)), 5000, 57637, 40)
		sum, hist := 0, map[int]int{}
		for _, c := range counts {
			if c < 1 || c > 40 {
				t.Fatalf("seed %d: a person has %d faces, want 1..40", seed, c)
			}
			sum += c
			hist[c]++
		}
		if sum != 57637 {
			t.Fatalf("seed %d: %d faces, want 57637", seed, sum)
		}
		// Skewed: more people with few faces than with many.
		if hist[2]+hist[3] <= hist[30]+hist[31] {
			t.Errorf("seed %d: counts are not right-skewed: %v", seed, hist)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, b, c := smallOptions(t), smallOptions(t), smallOptions(t)
	a.Split, b.Split, c.Split = 3, 3, 3
	c.Seed = 2
	generate(t, a)
	generate(t, b)
	generate(t, c)
	ta, tb, tc := tree(t, a.Out), tree(t, b.Out), tree(t, c.Out)
	if len(ta) != len(tb) {
		t.Fatalf("same seed: %d vs %d files", len(ta), len(tb))
	}
	for name, content := range ta {
		if !bytes.Equal(content, tb[name]) {
			t.Errorf("same seed: %s differs", name)
		}
	}
	if bytes.Equal(ta["queries.npy"], tc["queries.npy"]) {
		t.Error("different seeds gave the same queries")
	}
}

func TestGenerateLayout(t *testing.T) {
	o := smallOptions(t)
	o.Split = 4
	truth := generate(t, o)
	if truth.Folders != o.People+o.Split {
		t.Errorf("truth says %d folders, want %d", truth.Folders, o.People+o.Split)
	}

	// Every folder reads back with the package that imports real data.
	total, folders, japanese := 0, 0, 0
	faces := map[string]int{}
	dirs, err := os.ReadDir(o.Out)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		p, err := npz.ReadFile(filepath.Join(o.Out, d.Name(), "npKnown.npz"), npz.DefaultKey)
		if err != nil {
			t.Fatal(err)
		}
		if p.Dim != o.Dim || p.Len() == 0 {
			t.Errorf("%s: dim %d, %d faces", d.Name(), p.Dim, p.Len())
		}
		for i := range p.Len() {
			var n float64
			for _, x := range p.Row(i) {
				n += float64(x) * float64(x)
			}
			if math.Abs(n-1) > 1e-4 {
				t.Fatalf("%s/%s: squared norm %v, want 1", d.Name(), p.Names[i], n)
			}
		}
		if p.Names[0] != "img0001.jpg" && !bytes.HasSuffix([]byte(d.Name()), []byte("_dup")) {
			t.Errorf("%s: first file %q", d.Name(), p.Names[0])
		}
		if !isASCII(d.Name()) {
			japanese++
		}
		faces[d.Name()] = p.Len()
		total += p.Len()
		folders++
	}
	if total != o.Faces || folders != o.People+o.Split {
		t.Errorf("read back %d faces in %d folders, want %d in %d", total, folders, o.Faces, o.People+o.Split)
	}
	if japanese != o.People/o.Japanese {
		t.Errorf("%d Japanese folder names, want %d", japanese, o.People/o.Japanese)
	}

	// planted.csv lists exactly the split people, with the right face counts.
	f, err := os.Open(filepath.Join(o.Out, "planted.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != o.Split+1 {
		t.Fatalf("planted.csv has %d rows, want header + %d", len(rows), o.Split)
	}
	dups := 0
	for name := range faces {
		if bytes.HasSuffix([]byte(name), []byte("_dup")) {
			dups++
		}
	}
	if dups != o.Split {
		t.Errorf("%d _dup folders, want %d", dups, o.Split)
	}
	for _, r := range rows[1:] {
		n1, _ := strconv.Atoi(r[2])
		n2, _ := strconv.Atoi(r[3])
		if r[1] != r[0]+"_dup" || faces[r[0]] != n1 || faces[r[1]] != n2 || n1 < 1 || n2 < 1 {
			t.Errorf("planted row %q does not match folders (%d, %d faces)", r, faces[r[0]], faces[r[1]])
		}
	}
}

func TestGenerateSimilarityLevels(t *testing.T) {
	o := smallOptions(t)
	o.People, o.Faces, o.Japanese = 300, 3500, 0
	truth := generate(t, o)
	// Targets 0.68 ± 0.12 and 0.0 ± 0.1; 20,000 sampled pairs.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"same mean", truth.SameMean, 0.68}, {"same std", truth.SameStd, 0.12},
		{"diff mean", truth.DiffMean, 0}, {"diff std", truth.DiffStd, 0.1},
	} {
		if math.Abs(c.got-c.want) > 0.025 {
			t.Errorf("%s = %.3f, want %.2f ± 0.025", c.name, c.got, c.want)
		}
	}
}

func TestGenerateRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Options)
	}{
		{"too many faces", func(o *Options) { o.Faces = o.People*o.MaxFaces + 1 }},
		{"too few faces", func(o *Options) { o.Faces = o.People - 1 }},
		{"split beyond people", func(o *Options) { o.Split = o.People + 1 }},
		{"no out", func(o *Options) { o.Out = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := smallOptions(t)
			tc.mod(&o)
			if _, err := Generate(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), o); err == nil {
				t.Error("accepted")
			}
		})
	}
	t.Run("existing dataset", func(t *testing.T) {
		o := smallOptions(t)
		generate(t, o)
		if _, err := Generate(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), o); err == nil {
			t.Error("overwrote a dataset")
		}
	})
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
