package faissidx_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/facesearch/facesearch/internal/cleanse"
	"github.com/facesearch/facesearch/internal/vecindex"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
)

// clustered returns faces of people with random unit centres plus noise
// (same-person cosine about 0.65 in 128 dimensions).
func clustered(people, per int, seed uint64) []cleanse.Face {
	rng := rand.New(rand.NewPCG(seed, 3))
	const dim = 128
	sigma := math.Sqrt(0.54 / dim)
	var faces []cleanse.Face
	for p := range people {
		c := make([]float64, dim)
		var ss float64
		for k := range c {
			c[k] = rng.NormFloat64()
			ss += c[k] * c[k]
		}
		for n := range per {
			v := make([]float32, dim)
			for k := range v {
				v[k] = float32(c[k]/math.Sqrt(ss) + sigma*rng.NormFloat64())
			}
			name := fmt.Sprintf("person %02d", p)
			if p%7 == 3 && n%2 == 1 {
				name += " (2)" // one person in two folders
			}
			faces = append(faces, cleanse.Face{ID: int64(len(faces)), Person: name, File: fmt.Sprintf("%s/%d.jpg", name, n), Vec: v})
		}
	}
	return faces
}

// TestFaissMatchesBruteForce runs pairs and audit with the real faiss Flat
// index and with cleanse's pure-Go brute force: same results.
func TestFaissMatchesBruteForce(t *testing.T) {
	d, err := cleanse.Prepare(clustered(120, 8, 1))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	exact := cleanse.Options{Threshold: 0.29, BlockSize: 100, Index: vecindex.NewBruteForce}
	viaFaiss := exact
	viaFaiss.Index = faissidx.Builder("Flat", 0)
	for _, min := range []float32{0.29, 0.6} {
		want, err := d.Pairs(ctx, exact, cleanse.PairsOptions{Min: min})
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Pairs(ctx, viaFaiss, cleanse.PairsOptions{Min: min})
		if err != nil {
			t.Fatal(err)
		}
		key := func(p cleanse.Pair) [2]int { return [2]int{p.A, p.B} }
		gm := map[[2]int]float32{}
		for _, p := range got.Pairs {
			gm[key(p)] = p.Similarity
		}
		missing := 0
		for _, p := range want.Pairs {
			s, ok := gm[key(p)]
			if !ok && p.Similarity > min+1e-4 {
				missing++
			}
			if ok && math.Abs(float64(s-p.Similarity)) > 1e-4 {
				t.Errorf("pair %v: faiss %v, Go %v", key(p), s, p.Similarity)
			}
		}
		t.Logf("min %.2f: %d pairs via faiss, %d by brute force", min, len(got.Pairs), len(want.Pairs))
		if missing > 0 || len(want.Pairs) == 0 || absInt(len(got.Pairs)-len(want.Pairs)) > 2 {
			t.Errorf("min %.2f: faiss found %d pairs, brute force %d, %d missing", min, len(got.Pairs), len(want.Pairs), missing)
		}
	}
	wa, err := d.Audit(ctx, exact)
	if err != nil {
		t.Fatal(err)
	}
	ga, err := d.Audit(ctx, viaFaiss)
	if err != nil {
		t.Fatal(err)
	}
	if len(wa.Findings) != len(ga.Findings) || wa.Count(cleanse.High) != ga.Count(cleanse.High) || wa.Count(cleanse.High) == 0 {
		t.Errorf("audit: faiss %d findings (%d high), brute force %d (%d high)", len(ga.Findings), ga.Count(cleanse.High), len(wa.Findings), wa.Count(cleanse.High))
	}
	// The Flat adapter's symmetric search (RangeSearchFrom) gives the same
	// pairs and audit as searching every face against all faces.
	if _, ok := mustBuild(t, viaFaiss.Index, d).(vecindex.UpperRanger); !ok {
		t.Fatal("the faiss Flat adapter is not a vecindex.UpperRanger")
	}
	full := viaFaiss
	full.Index = func(dim int, v []float32, ids []int64) (vecindex.RangeIndex, error) {
		x, err := faissidx.Builder("Flat", 0)(dim, v, ids)
		return plainIndex{x}, err
	}
	for _, po := range []cleanse.PairsOptions{{Min: 0.29}, {Min: 0.6}, {Min: 0.29, Top: 10}} {
		want, err := d.Pairs(ctx, full, po)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Pairs(ctx, viaFaiss, po)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("pairs %+v: symmetric search %d pairs of %d, full search %d of %d", po, len(got.Pairs), got.Total, len(want.Pairs), want.Total)
		}
	}
	fa, err := d.Audit(ctx, full)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ga, fa) {
		t.Errorf("audit: symmetric search %d findings, full search %d", len(ga.Findings), len(fa.Findings))
	}
	// Approximate search reports a measured recall.
	ap, err := d.Pairs(ctx, viaFaiss, cleanse.PairsOptions{Approx: faissidx.Builder("IVF", 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("IVF nprobe 1: %d pairs, measured recall %.3f over %d faces", ap.Total, ap.Recall, ap.RecallQueries)
	if ap.Exact || ap.Recall <= 0 || ap.Recall > 1 {
		t.Errorf("approximate pairs: exact=%v recall=%v", ap.Exact, ap.Recall)
	}
}

// plainIndex hides an index's vecindex.UpperRanger method.
type plainIndex struct{ vecindex.RangeIndex }

func mustBuild(tb testing.TB, b vecindex.Builder, d *cleanse.Dataset) vecindex.RangeIndex {
	tb.Helper()
	x, err := d.BuildIndex(b)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { x.Close() })
	return x
}

// TestFaissRangeSearchFrom: the Flat adapter's RangeSearchFrom returns the
// hits of RangeSearch among the vectors from the given position on, with
// the builder's ids.
func TestFaissRangeSearchFrom(t *testing.T) {
	faces := clustered(40, 6, 2)
	const dim = 128
	var vecs []float32
	ids := make([]int64, len(faces))
	for i, f := range faces {
		vecs = append(vecs, f.Vec...)
		ids[i] = int64(1000 + 3*i)
	}
	x, err := faissidx.Builder("Flat", 0)(dim, vecs, ids)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	up := x.(vecindex.UpperRanger)
	q := vecs[:5*dim]
	lims, scores, hits, err := x.RangeSearch(q, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	n := len(ids)
	for _, from := range []int{0, 1, 7, n / 2, n - 1, n} {
		fl, fs, fi, err := up.RangeSearchFrom(q, from, 0.2)
		if err != nil {
			t.Fatalf("from %d: %v", from, err)
		}
		for k := range 5 {
			want := map[int64]float32{}
			for h := lims[k]; h < lims[k+1]; h++ {
				if from < n && hits[h] >= ids[from] { // ids increase with position
					want[hits[h]] = scores[h]
				}
			}
			got := map[int64]float32{}
			for h := fl[k]; h < fl[k+1]; h++ {
				got[fi[h]] = fs[h]
			}
			if len(got) != len(want) {
				t.Fatalf("from %d query %d: %d hits, want %d", from, k, len(got), len(want))
			}
			for id, s := range want {
				if g, ok := got[id]; !ok || math.Abs(float64(g-s)) > 1e-5 {
					t.Fatalf("from %d query %d: id %d score %v (found %v), want %v", from, k, id, g, ok, s)
				}
			}
		}
	}
	for _, from := range []int{-1, n + 1} {
		if _, _, _, err := up.RangeSearchFrom(q, from, 0.2); err == nil {
			t.Errorf("from %d of %d: no error", from, n)
		}
	}
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// clustered512 mimics the 57,637-face benchmark set: people with about 11.5
// faces each, 512-d, same-person cosine about 0.68.
func clustered512(n int, seed uint64) []cleanse.Face {
	rng := rand.New(rand.NewPCG(seed, 5))
	const dim = 512
	sigma := math.Sqrt(0.47 / dim)
	var faces []cleanse.Face
	for p := 0; len(faces) < n; p++ {
		c := make([]float64, dim)
		var ss float64
		for k := range c {
			c[k] = rng.NormFloat64()
			ss += c[k] * c[k]
		}
		for range min(1+rng.IntN(22), n-len(faces)) {
			v := make([]float32, dim)
			for k := range v {
				v[k] = float32(c[k]/math.Sqrt(ss) + sigma*rng.NormFloat64())
			}
			name := fmt.Sprintf("person%05d", p)
			faces = append(faces, cleanse.Face{ID: int64(len(faces)), Person: name, File: fmt.Sprintf("%s/%d.jpg", name, len(faces)), Vec: v})
		}
	}
	return faces
}

// BenchmarkCleanse57k measures pairs, audit and lookalikes over 57,637
// synthetic faces with the faiss Flat index (run with -benchtime=1x; set
// OPENBLAS_CORETYPE on CPUs OpenBLAS 0.3.21 misdetects).
func BenchmarkCleanse57k(b *testing.B) {
	d, err := cleanse.Prepare(clustered512(57637, 1))
	if err != nil {
		b.Fatal(err)
	}
	opt := cleanse.Options{Threshold: 0.29, Index: faissidx.Builder("Flat", 0)}
	ctx := context.Background()
	b.Run("pairs", func(b *testing.B) {
		for b.Loop() {
			r, err := d.Pairs(ctx, opt, cleanse.PairsOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(r.Total), "pairs")
		}
	})
	var a *cleanse.AuditResult
	b.Run("audit", func(b *testing.B) {
		for b.Loop() {
			if a, err = d.Audit(ctx, opt); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(a.Findings)), "findings")
		}
	})
	b.Run("lookalikes", func(b *testing.B) {
		for b.Loop() {
			if _, err := d.Lookalikes(ctx, opt, cleanse.LookalikeOptions{Audit: a}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
