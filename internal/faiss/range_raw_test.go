package faiss

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestRangeSearchRawMatchesBruteForce(t *testing.T) {
	const dim = 32
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct {
		name  string
		n, nq int
	}{
		{"single", 1500, 1},
		{"batch", 1500, 40},
		{"empty base", 0, 3},
	} {
		db := clustered(rng, max(tc.n/10, 1), 10, dim, 0.9)[:tc.n*dim]
		queries := db[:0]
		if tc.n >= tc.nq {
			queries = db[:tc.nq*dim] // queries that are also in base
		}
		if tc.n == 0 {
			queries = randUnit(rng, tc.nq, dim)
		}
		rows := make([]int64, tc.n)
		for i := range rows {
			rows[i] = int64(i)
		}
		for _, m := range []Metric{InnerProduct, L2} {
			radius := float32(0.6)
			if m == L2 {
				radius = 0.8
			}
			t.Run(tc.name+"/"+m.String(), func(t *testing.T) {
				r, err := RangeSearchRaw(queries, db, dim, radius, m)
				if err != nil {
					t.Fatal(err)
				}
				if len(r.Lims) != tc.nq+1 || len(r.Scores) != r.Lims[tc.nq] || len(r.IDs) != r.Lims[tc.nq] {
					t.Fatalf("%d lims, %d scores, %d ids for %d queries", len(r.Lims), len(r.Scores), len(r.IDs), tc.nq)
				}
				total := 0
				for q := range tc.nq {
					qv := queries[q*dim : (q+1)*dim]
					want, borderline := bruteRange(db, rows, dim, qv, float64(radius), m)
					var got []int64
					for h := r.Lims[q]; h < r.Lims[q+1]; h++ {
						id := r.IDs[h]
						if id < 0 || id >= int64(tc.n) {
							t.Fatalf("query %d: row %d outside base of %d", q, id, tc.n)
						}
						if s := score(qv, db[id*dim:(id+1)*dim], m); math.Abs(float64(r.Scores[h])-s) > 1e-4 {
							t.Fatalf("query %d row %d: score %g, want %g", q, id, r.Scores[h], s)
						}
						if !slices.Contains(borderline, id) {
							got = append(got, id)
						}
					}
					slices.Sort(got)
					if !slices.Equal(got, want) {
						t.Fatalf("query %d: rows %v, want %v", q, got, want)
					}
					total += len(want)
				}
				if tc.n > 0 && total <= tc.nq {
					t.Fatalf("only %d hits for %d queries: the test data has no neighbours", total, tc.nq)
				}
			})
		}
	}
}

// TestRangeSearchRawEqualsFlatIndex checks that a raw range search over the
// vectors returns what a Flat index holding them returns.
func TestRangeSearchRawEqualsFlatIndex(t *testing.T) {
	const dim, n = 64, 3000
	rng := rand.New(rand.NewPCG(5, 6))
	db := clustered(rng, 300, 10, dim, 0.8)
	queries := db[:50*dim]
	x := mustNew(t, dim, "Flat", InnerProduct)
	if err := x.Add(db, seqIDs(n, 0)); err != nil {
		t.Fatal(err)
	}
	want, err := x.RangeSearch(queries, 0.5, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := RangeSearchRaw(queries, db, dim, 0.5, InnerProduct)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Lims, want.Lims) {
		t.Fatalf("lims %v, Flat index %v", got.Lims, want.Lims)
	}
	type res struct {
		id int64
		s  float32
	}
	for q := range 50 {
		var g, w []res
		for h := got.Lims[q]; h < got.Lims[q+1]; h++ {
			g = append(g, res{got.IDs[h] * 3, got.Scores[h]}) // seqIDs: id = 3*row
			w = append(w, res{want.IDs[h], want.Scores[h]})
		}
		cmpRes := func(a, b res) int { return int(a.id - b.id) }
		slices.SortFunc(g, cmpRes)
		slices.SortFunc(w, cmpRes)
		if !slices.Equal(g, w) {
			t.Fatalf("query %d: %v, Flat index %v", q, g, w)
		}
	}
}

func TestRangeSearchRawBadInput(t *testing.T) {
	v := make([]float32, 8)
	for _, tc := range []struct {
		name        string
		q, base     []float32
		dim         int
		m           Metric
		wantErrPart string
	}{
		{"zero dim", v, v, 0, InnerProduct, "dimension 0"},
		{"ragged queries", v[:5], v, 4, InnerProduct, "5 query floats"},
		{"ragged base", v, v[:6], 4, L2, "6 base floats"},
		{"metric", v, v, 4, Metric(9), "unknown metric"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RangeSearchRaw(tc.q, tc.base, tc.dim, 0.5, tc.m)
			if err == nil || !strings.Contains(err.Error(), tc.wantErrPart) {
				t.Fatalf("err %v, want one containing %q", err, tc.wantErrPart)
			}
		})
	}
	r, err := RangeSearchRaw(nil, v, 4, 0.5, L2)
	if err != nil || !slices.Equal(r.Lims, []int{0}) || len(r.IDs) != 0 {
		t.Fatalf("no query: %+v %v", r, err)
	}
}
