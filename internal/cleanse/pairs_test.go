package cleanse

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/facesearch/facesearch/internal/vecindex"
)

// countClose counts the Close calls of an index.
type countClose struct {
	vecindex.RangeIndex
	closed int
}

func (c *countClose) Close() error { c.closed++; return c.RangeIndex.Close() }

// tiedSet is the planted set plus copies of one face filed under several
// folders, so that many cross-folder pairs share a similarity.
func tiedSet(t testing.TB) *Dataset {
	s := plantedSet(3).s
	v := s.faces[0].Vec
	for k := range 6 {
		s.add(fmt.Sprintf("copy%d", k), slices.Clone(v))
	}
	return s.prepare(t)
}

// TestPairsTopEqualsSortThenCut: the bounded heap used with Top returns
// exactly the first Top pairs of the unbounded search, ties included, and
// the same Total.
func TestPairsTopEqualsSortThenCut(t *testing.T) {
	d := tiedSet(t)
	ctx := context.Background()
	for _, lo := range []float32{testThreshold, 0.99} {
		all, err := d.Pairs(ctx, testOptions(), PairsOptions{Min: lo})
		if err != nil {
			t.Fatal(err)
		}
		ties := 0
		for k := 1; k < len(all.Pairs); k++ {
			if all.Pairs[k].Similarity == all.Pairs[k-1].Similarity {
				ties++
			}
		}
		if lo == 0.99 && ties < 10 {
			t.Fatalf("min %v: only %d ties among %d pairs; the test needs ties", lo, ties, len(all.Pairs))
		}
		for _, top := range []int{1, 2, 5, 17, len(all.Pairs) - 1, len(all.Pairs), len(all.Pairs) + 10} {
			t.Run(fmt.Sprintf("min %v top %d", lo, top), func(t *testing.T) {
				got, err := d.Pairs(ctx, testOptions(), PairsOptions{Min: lo, Top: top})
				if err != nil {
					t.Fatal(err)
				}
				want := all.Pairs[:min(top, len(all.Pairs))]
				if !slices.Equal(got.Pairs, want) {
					t.Errorf("Top %d: got %v\nwant %v", top, got.Pairs, want)
				}
				if got.Total != all.Total {
					t.Errorf("Top %d: total %d, unbounded %d", top, got.Total, all.Total)
				}
			})
		}
	}
}

func TestPairsMinZeroIsHonoured(t *testing.T) {
	d := plantedSet(4).s.prepare(t)
	ctx := context.Background()
	def, err := d.Pairs(ctx, testOptions(), PairsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	zero, err := d.Pairs(ctx, testOptions(), PairsOptions{Min: 0, MinSet: true})
	if err != nil {
		t.Fatal(err)
	}
	if def.Min != testThreshold || zero.Min != 0 {
		t.Errorf("Min reported %v and %v, want %v and 0", def.Min, zero.Min, testThreshold)
	}
	if want := len(bruteCross(d, 0)); zero.Total != want || zero.Total <= def.Total {
		t.Errorf("min 0: %d pairs, brute force %d, at the threshold %d", zero.Total, want, def.Total)
	}
}

func TestPairsReusesAGivenIndex(t *testing.T) {
	d := plantedSet(5).s.prepare(t)
	ctx := context.Background()
	b, err := d.BuildIndex(vecindex.NewBruteForce)
	if err != nil {
		t.Fatal(err)
	}
	idx := &countClose{RangeIndex: b}
	want, err := d.Pairs(ctx, testOptions(), PairsOptions{Top: 20})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got, err := d.Pairs(ctx, testOptions(), PairsOptions{Top: 20, Index: idx})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Pairs, want.Pairs) || got.Total != want.Total {
			t.Fatalf("with a prebuilt index: %d pairs of %d, want %d of %d", len(got.Pairs), got.Total, len(want.Pairs), want.Total)
		}
	}
	if idx.closed != 0 {
		t.Errorf("Pairs closed the caller's index %d times", idx.closed)
	}
}
