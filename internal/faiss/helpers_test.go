package faiss

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// randUnit returns n random unit vectors of dimension dim.
func randUnit(rng *rand.Rand, n, dim int) []float32 {
	v := make([]float32, n*dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	normalize(v, dim)
	return v
}

// clustered returns groups*per unit vectors around groups random centres,
// mimicking faces: several photos per person.
func clustered(rng *rand.Rand, groups, per, dim int, noise float64) []float32 {
	centres := randUnit(rng, groups, dim)
	v := make([]float32, 0, groups*per*dim)
	for g := range groups {
		for range per {
			for j := range dim {
				v = append(v, centres[g*dim+j]+float32(noise*rng.NormFloat64()/math.Sqrt(float64(dim))))
			}
		}
	}
	normalize(v, dim)
	return v
}

func normalize(v []float32, dim int) {
	for i := 0; i < len(v); i += dim {
		var s float64
		for _, x := range v[i : i+dim] {
			s += float64(x) * float64(x)
		}
		inv := float32(1 / math.Sqrt(s))
		for j := i; j < i+dim; j++ {
			v[j] *= inv
		}
	}
}

func seqIDs(n int, base int64) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = base + int64(i)*3
	}
	return ids
}

// score is the brute-force similarity (IP) or squared distance (L2).
func score(a, b []float32, m Metric) float64 {
	var s float64
	for i := range a {
		if m == L2 {
			d := float64(a[i]) - float64(b[i])
			s += d * d
		} else {
			s += float64(a[i]) * float64(b[i])
		}
	}
	return s
}

type hit struct {
	id    int64
	score float64
}

// bruteKNN returns the k best hits of q among db, best first.
func bruteKNN(db []float32, ids []int64, dim int, q []float32, k int, m Metric) []hit {
	hits := make([]hit, len(ids))
	for i, id := range ids {
		hits[i] = hit{id, score(q, db[i*dim:(i+1)*dim], m)}
	}
	sort.Slice(hits, func(a, b int) bool {
		if m == L2 {
			return hits[a].score < hits[b].score
		}
		return hits[a].score > hits[b].score
	})
	return hits[:min(k, len(hits))]
}

// bruteRange returns the ids within radius of q, sorted.
func bruteRange(db []float32, ids []int64, dim int, q []float32, radius float64, m Metric) (in, borderline []int64) {
	const eps = 1e-4
	for i, id := range ids {
		s := score(q, db[i*dim:(i+1)*dim], m)
		if math.Abs(s-radius) < eps {
			borderline = append(borderline, id)
			continue
		}
		if (m == L2 && s < radius) || (m == InnerProduct && s > radius) {
			in = append(in, id)
		}
	}
	slices.Sort(in)
	return in, borderline
}

func mustNew(tb testing.TB, dim int, factory string, m Metric) *Index {
	tb.Helper()
	x, err := New(dim, factory, m)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { x.Close() })
	return x
}

// recall is the fraction of want's ids found in got's rows (k per query).
func recall(want, got []int64, k int) float64 {
	found := 0
	for q := 0; q < len(want)/k; q++ {
		row := got[q*k : (q+1)*k]
		for _, id := range want[q*k : (q+1)*k] {
			if slices.Contains(row, id) {
				found++
			}
		}
	}
	return float64(found) / float64(len(want))
}
