package faiss

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestKNNMatchesBruteForce(t *testing.T) {
	const dim, nq = 40, 9
	rng := rand.New(rand.NewPCG(7, 8))
	queries := randUnit(rng, nq, dim)
	for _, tc := range []struct {
		name string
		n, k int
		nq   int
	}{
		{"single", 2500, 10, 1},
		{"batch", 2500, 10, nq},
		{"k>n/single", 7, 12, 1},
		{"k>n/batch", 7, 12, nq},
		{"empty base", 0, 3, 2},
	} {
		db := randUnit(rng, tc.n, dim)
		rowIDs := seqIDs(tc.n, 0)
		for i := range rowIDs {
			rowIDs[i] = int64(i)
		}
		for _, m := range []Metric{InnerProduct, L2} {
			t.Run(tc.name+"/"+m.String(), func(t *testing.T) {
				scores, rows, err := KNN(queries[:tc.nq*dim], db, dim, tc.k, m)
				if err != nil {
					t.Fatal(err)
				}
				if len(scores) != tc.nq*tc.k || len(rows) != tc.nq*tc.k {
					t.Fatalf("%d scores, %d rows, want %d", len(scores), len(rows), tc.nq*tc.k)
				}
				none := float32(-math.MaxFloat32)
				if m == L2 {
					none = math.MaxFloat32
				}
				for q := range tc.nq {
					want := bruteKNN(db, rowIDs, dim, queries[q*dim:(q+1)*dim], tc.k, m)
					for r := range tc.k {
						i := q*tc.k + r
						if r >= len(want) {
							if rows[i] != -1 || scores[i] != none {
								t.Fatalf("query %d rank %d beyond the %d vectors: row %d score %g, want -1 %g", q, r, tc.n, rows[i], scores[i], none)
							}
							continue
						}
						if rows[i] != want[r].id {
							t.Fatalf("query %d rank %d: row %d, want %d (score %g, want %g)", q, r, rows[i], want[r].id, scores[i], want[r].score)
						}
						if math.Abs(float64(scores[i])-want[r].score) > 1e-4 {
							t.Fatalf("query %d rank %d: score %g, want %g", q, r, scores[i], want[r].score)
						}
					}
				}
			})
		}
	}
}

// TestKNNEqualsFlatIndex checks that KNN over the vectors ranks like a Flat
// index holding them (the library swaps one for the other).
func TestKNNEqualsFlatIndex(t *testing.T) {
	const dim, n, nq, k = 64, 3000, 5, 10
	rng := rand.New(rand.NewPCG(3, 4))
	db := clustered(rng, 300, 10, dim, 0.8)
	queries := randUnit(rng, nq, dim)
	x := mustNew(t, dim, "Flat", InnerProduct)
	ids := seqIDs(n, 0)
	if err := x.Add(db, ids); err != nil {
		t.Fatal(err)
	}
	wantScores, wantIDs, err := x.Search(queries, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	scores, rows, err := KNN(queries, db, dim, k, InnerProduct)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if ids[rows[i]] != wantIDs[i] || scores[i] != wantScores[i] {
			t.Fatalf("result %d: id %d score %g, Flat index %d %g", i, ids[rows[i]], scores[i], wantIDs[i], wantScores[i])
		}
	}
}

func TestKNNBadInput(t *testing.T) {
	v := make([]float32, 8)
	for _, tc := range []struct {
		name        string
		q, base     []float32
		dim, k      int
		m           Metric
		wantErrPart string
	}{
		{"zero dim", v, v, 0, 1, InnerProduct, "dimension 0"},
		{"zero k", v, v, 4, 0, InnerProduct, "k = 0"},
		{"ragged queries", v[:5], v, 4, 1, InnerProduct, "5 query floats"},
		{"ragged base", v, v[:6], 4, 1, InnerProduct, "6 base floats"},
		{"metric", v, v, 4, 1, Metric(9), "unknown metric"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := KNN(tc.q, tc.base, tc.dim, tc.k, tc.m)
			if err == nil || !strings.Contains(err.Error(), tc.wantErrPart) {
				t.Fatalf("err %v, want one containing %q", err, tc.wantErrPart)
			}
		})
	}
	s, r, err := KNN(nil, v, 4, 3, L2)
	if err != nil || len(s) != 0 || len(r) != 0 {
		t.Fatalf("no query: %v %v %v", s, r, err)
	}
}
