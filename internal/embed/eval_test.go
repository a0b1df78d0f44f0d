package embed

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sync/errgroup"
)

// pair is one verification pair: two image paths relative to a root.
type pair struct {
	a, b string
	same bool
}

// lfwFold reads fold k (0-based) of LFW's pairs.txt.
func lfwFold(tb testing.TB, lfw string, k int) []pair {
	tb.Helper()
	f, err := os.Open(filepath.Join(lfw, "pairs.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	hdr := strings.Fields(sc.Text())
	if len(hdr) != 2 {
		tb.Fatalf("pairs.txt: bad header %q", sc.Text())
	}
	n, _ := strconv.Atoi(hdr[1])
	img := func(name, num string) string {
		i, _ := strconv.Atoi(num)
		return fmt.Sprintf("%s/%s_%04d.jpg", name, name, i)
	}
	var out []pair
	for line := 0; sc.Scan(); line++ {
		if line/(2*n) != k {
			continue
		}
		f := strings.Fields(sc.Text())
		switch len(f) {
		case 3:
			out = append(out, pair{img(f[0], f[1]), img(f[0], f[2]), true})
		case 4:
			out = append(out, pair{img(f[0], f[1]), img(f[2], f[3]), false})
		default:
			tb.Fatalf("pairs.txt line %d: %q", line+2, sc.Text())
		}
	}
	if len(out) != 2*n {
		tb.Fatalf("fold %d: %d pairs, want %d", k, len(out), 2*n)
	}
	return out
}

// deepfacePairs reads deepface/pairs.csv.
func deepfacePairs(tb testing.TB, dir string) []pair {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "pairs.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []pair
	for i, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i == 0 {
			continue
		}
		f := strings.Split(strings.TrimSpace(l), ",")
		if len(f) != 3 {
			tb.Fatalf("pairs.csv line %d: %q", i+1, l)
		}
		out = append(out, pair{f[0], f[1], f[2] == "1"})
	}
	return out
}

// images lists the distinct images of pairs.
func images(pairs []pair) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range pairs {
		for _, s := range []string{p.a, p.b} {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
}

// forEach runs fn on every image with the given number of workers.
func forEach(tb testing.TB, list []string, workers int, fn func(rel string) error) {
	tb.Helper()
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(workers)
	for _, rel := range list {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error { return fn(rel) })
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
}

// primaryEmbeddings embeds the primary face of every image (nil when no face).
func primaryEmbeddings(tb testing.TB, p *Pipeline, root string, list []string, workers int) map[string][]float32 {
	var mu sync.Mutex
	out := map[string][]float32{}
	forEach(tb, list, workers, func(rel string) error {
		img, err := decode(root, rel)
		if err != nil {
			return err
		}
		faces, err := p.Faces(context.Background(), img)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		var e []float32
		if i := Primary(faces, img.Bounds()); i >= 0 {
			e = faces[i].Embedding
		}
		mu.Lock()
		out[rel] = e
		mu.Unlock()
		return nil
	})
	return out
}

// scores returns the cosine of each pair (-1 when a face is missing).
func scores(pairs []pair, emb map[string][]float32) []float32 {
	out := make([]float32, len(pairs))
	for i, p := range pairs {
		a, b := emb[p.a], emb[p.b]
		if a == nil || b == nil {
			out[i] = -1
			continue
		}
		out[i] = Cosine(a, b)
	}
	return out
}

// accuracy at threshold th.
func accuracy(pairs []pair, s []float32, th float32) float64 {
	ok := 0
	for i, p := range pairs {
		if (s[i] >= th) == p.same {
			ok++
		}
	}
	return float64(ok) / float64(len(pairs))
}

// bestThreshold returns the threshold maximising accuracy and that accuracy.
func bestThreshold(pairs []pair, s []float32) (float32, float64) {
	var bt float32
	var ba float64
	for th := float32(0); th < 0.8; th += 0.005 {
		if a := accuracy(pairs, s, th); a > ba {
			ba, bt = a, th
		}
	}
	return bt, ba
}

// auc is the ROC area: the probability a same pair outscores a different
// pair (ties count half).
func auc(pairs []pair, s []float32) float64 {
	var pos, neg []float32
	for i, p := range pairs {
		if p.same {
			pos = append(pos, s[i])
		} else {
			neg = append(neg, s[i])
		}
	}
	var sum float64
	for _, a := range pos {
		for _, b := range neg {
			switch {
			case a > b:
				sum++
			case a == b:
				sum += 0.5
			}
		}
	}
	return sum / float64(len(pos)*len(neg))
}
