package cleanse

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/facesearch/facesearch/internal/vecindex"
)

// plainIndex hides an index's RangeSearchFrom, so that rangePairs searches
// every face against all faces.
type plainIndex struct{ vecindex.RangeIndex }

// countUpper counts the RangeSearchFrom calls of an UpperRanger.
type countUpper struct {
	vecindex.RangeIndex
	calls *int
}

func (c countUpper) RangeSearchFrom(q []float32, from int, r float32) ([]int, []float32, []int64, error) {
	*c.calls++
	return c.RangeIndex.(vecindex.UpperRanger).RangeSearchFrom(q, from, r)
}

// TestUpperRangerSameResults: Pairs and Audit return the same results
// whether the index searches only the faces after each block (UpperRanger)
// or all faces.
func TestUpperRangerSameResults(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		d    *Dataset
	}{
		{"planted1", plantedSet(1).s.prepare(t)},
		{"planted2", plantedSet(2).s.prepare(t)},
		{"tied", tiedSet(t)},
	} {
		for _, block := range []int{1, 7, 64, 5000} {
			t.Run(fmt.Sprintf("%s/block%d", tc.name, block), func(t *testing.T) {
				calls := 0
				upper, plain := testOptions(), testOptions()
				upper.BlockSize, plain.BlockSize = block, block
				upper.Index = func(dim int, v []float32, ids []int64) (vecindex.RangeIndex, error) {
					b, err := vecindex.NewBruteForce(dim, v, ids)
					return countUpper{RangeIndex: b, calls: &calls}, err
				}
				plain.Index = func(dim int, v []float32, ids []int64) (vecindex.RangeIndex, error) {
					b, err := vecindex.NewBruteForce(dim, v, ids)
					return plainIndex{b}, err
				}
				for _, po := range []PairsOptions{{}, {Min: 0.2, MinSet: true}, {Min: 0.99}, {Top: 5}} {
					want, err := tc.d.Pairs(ctx, plain, po)
					if err != nil {
						t.Fatal(err)
					}
					got, err := tc.d.Pairs(ctx, upper, po)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("pairs %+v: upper search %d pairs of %d, full search %d of %d", po, len(got.Pairs), got.Total, len(want.Pairs), want.Total)
					}
					if po.Min == 0.2 && len(want.Pairs) < 100 {
						t.Fatalf("only %d pairs >= 0.2: the test data is too sparse", len(want.Pairs))
					}
				}
				want, err := tc.d.Audit(ctx, plain)
				if err != nil {
					t.Fatal(err)
				}
				got, err := tc.d.Audit(ctx, upper)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("audit: upper search %d findings, %d cross pairs; full search %d, %d", len(got.Findings), got.CrossPairs, len(want.Findings), want.CrossPairs)
				}
				if calls == 0 {
					t.Fatal("RangeSearchFrom was never called")
				}
			})
		}
	}
}

func TestBruteForceRangeSearchFrom(t *testing.T) {
	d := plantedSet(4).s.prepare(t)
	idx, err := d.BuildIndex(vecindex.NewBruteForce)
	if err != nil {
		t.Fatal(err)
	}
	n := d.Len()
	q := d.vecs[:3*d.dim]
	lims, scores, ids, err := idx.RangeSearch(q, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range []int{0, 1, n / 2, n - 1, n} {
		fl, fs, fi, err := idx.(vecindex.UpperRanger).RangeSearchFrom(q, from, 0.1)
		if err != nil {
			t.Fatalf("from %d: %v", from, err)
		}
		for k := range 3 {
			type hit struct {
				id int64
				s  float32
			}
			var want, got []hit
			for h := lims[k]; h < lims[k+1]; h++ {
				if ids[h] >= int64(from) {
					want = append(want, hit{ids[h], scores[h]})
				}
			}
			for h := fl[k]; h < fl[k+1]; h++ {
				got = append(got, hit{fi[h], fs[h]})
			}
			if !slices.Equal(got, want) {
				t.Fatalf("from %d query %d: %v, want %v", from, k, got, want)
			}
		}
	}
	for _, from := range []int{-1, n + 1} {
		if _, _, _, err := idx.(vecindex.UpperRanger).RangeSearchFrom(q, from, 0.1); err == nil {
			t.Errorf("from %d of %d: no error", from, n)
		}
	}
}
