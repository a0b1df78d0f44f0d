package vecindex

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, tc := range []struct {
		name string
		in   []float32
		want []float32 // nil: an error
		err  error
	}{
		{"unit", []float32{3, 4}, []float32{0.6, 0.8}, nil},
		{"already unit", []float32{0, 1, 0}, []float32{0, 1, 0}, nil},
		{"negative", []float32{-2, 0}, []float32{-1, 0}, nil},
		{"tiny", []float32{1e-30, 0}, []float32{1, 0}, nil},            // squares underflow float32, not float64
		{"subnormal", []float32{0, 1e-40, 0}, []float32{0, 1, 0}, nil}, // 1/norm overflows float32
		{"zero", []float32{0, 0, 0}, nil, ErrZero},
		{"empty", nil, nil, ErrZero},
		{"NaN", []float32{1, nan}, nil, ErrNotFinite},
		{"NaN and zeros", []float32{0, nan, 0}, nil, ErrNotFinite},
		{"Inf", []float32{inf, 1}, nil, ErrNotFinite},
		{"-Inf", []float32{float32(math.Inf(-1))}, nil, ErrNotFinite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := append([]float32(nil), tc.in...)
			err := Normalize(v)
			if tc.want == nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Normalize(%v) = %v, want %v", tc.in, err, tc.err)
				}
				for i := range v { // unchanged on failure
					if math.Float32bits(v[i]) != math.Float32bits(tc.in[i]) {
						t.Fatalf("Normalize(%v) failed but changed it to %v", tc.in, v)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range v {
				if math.Abs(float64(v[i]-tc.want[i])) > 1e-7 {
					t.Fatalf("Normalize(%v) = %v, want %v", tc.in, v, tc.want)
				}
			}
		})
	}
}

func TestDot(t *testing.T) {
	for _, tc := range []struct {
		a, b []float32
		want float32
	}{
		{nil, nil, 0},
		{[]float32{2}, []float32{3}, 6},
		{[]float32{1, 2, 3, 4, 5}, []float32{1, 1, 1, 1, 1}, 15}, // unrolled part and tail
		{[]float32{1, 2, 3}, []float32{1, 1, 1, 100, 100}, 6},    // over the shorter length
		{[]float32{1, 1, 1, 100, 100}, []float32{1, 2, 3}, 6},
		{[]float32{1, -1, 1, -1, 1, -1, 1, -1}, []float32{1, 1, 1, 1, 1, 1, 1, 1}, 0},
	} {
		if got := Dot(tc.a, tc.b); got != tc.want {
			t.Errorf("Dot(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	// Against a float64 sum on random vectors.
	rng := rand.New(rand.NewPCG(1, 1))
	for n := range 40 {
		a, b := make([]float32, n), make([]float32, n)
		var want float64
		for i := range a {
			a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			want += float64(a[i]) * float64(b[i])
		}
		if got := Dot(a, b); math.Abs(float64(got)-want) > 1e-5*float64(n+1) {
			t.Errorf("n=%d: Dot %v, float64 sum %v", n, got, want)
		}
	}
}

// tied has rows with equal scores against the query (1, 0): rows 1, 2 and
// 4 score 0.5, rows 0 and 5 score 1, row 3 scores -1.
var tied = []float32{
	1, 0,
	0.5, 0.5,
	0.5, -0.5,
	-1, 0,
	0.5, 0.25,
	1, 0,
}

func TestBruteForceOrderAndTies(t *testing.T) {
	q := []float32{1, 0}
	ids := []int64{50, 40, 30, 20, 10, 60}
	for _, tc := range []struct {
		k    int
		want []Scored
	}{
		{1, []Scored{{50, 1}}},
		{2, []Scored{{50, 1}, {60, 1}}},
		// Ties by id, not by position: 10 (row 4) before 30 and 40.
		{4, []Scored{{50, 1}, {60, 1}, {10, 0.5}, {30, 0.5}}},
		{6, []Scored{{50, 1}, {60, 1}, {10, 0.5}, {30, 0.5}, {40, 0.5}, {20, -1}}},
		{9, []Scored{{50, 1}, {60, 1}, {10, 0.5}, {30, 0.5}, {40, 0.5}, {20, -1}}},
		{0, []Scored{}},
	} {
		if got := BruteForce(tied, ids, 2, q, tc.k); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("k=%d: %v, want %v", tc.k, got, tc.want)
		}
	}
}

// TestKNNGoOrderAndTies: rows best first, ties by row, -1 and -MaxFloat32
// past the end; the insertion and the sorting paths agree.
func TestKNNGoOrderAndTies(t *testing.T) {
	const m = -math.MaxFloat32
	q := []float32{1, 0, 0, 1} // two queries
	for _, tc := range []struct {
		k          int
		rows       []int64
		scores     []float32
		rows2      []int64 // second query (0, 1)
		scoresHead []float32
	}{
		{1, []int64{0}, []float32{1}, []int64{1}, []float32{0.5}},
		{3, []int64{0, 5, 1}, []float32{1, 1, 0.5}, []int64{1, 4, 0}, []float32{0.5, 0.25, 0}},
		{6, []int64{0, 5, 1, 2, 4, 3}, []float32{1, 1, 0.5, 0.5, 0.5, -1}, []int64{1, 4, 0, 3, 5, 2}, []float32{0.5, 0.25, 0, 0, 0, -0.5}},
		{8, []int64{0, 5, 1, 2, 4, 3, -1, -1}, []float32{1, 1, 0.5, 0.5, 0.5, -1, m, m}, []int64{1, 4, 0, 3, 5, 2, -1, -1}, []float32{0.5, 0.25, 0, 0, 0, -0.5, m, m}},
	} {
		s, r, err := KNNGo(q, tied, 2, tc.k)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r[:tc.k], tc.rows) || !reflect.DeepEqual(s[:tc.k], tc.scores) ||
			!reflect.DeepEqual(r[tc.k:], tc.rows2) || !reflect.DeepEqual(s[tc.k:], tc.scoresHead) {
			t.Errorf("k=%d: rows %v scores %v, want %v %v then %v %v", tc.k, r, s, tc.rows, tc.scores, tc.rows2, tc.scoresHead)
		}
	}
	// The sorting path (k > sortAbove) gives the insertion path's order.
	rng := rand.New(rand.NewPCG(2, 2))
	const dim, n = 4, 300
	base := make([]float32, n*dim)
	for i := range base {
		base[i] = float32(rng.IntN(3) - 1) // many ties
	}
	query := []float32{1, 1, 0, -1}
	small, sr, _ := KNNGo(query, base, dim, sortAbove)
	big, br, _ := KNNGo(query, base, dim, n+5)
	if !reflect.DeepEqual(sr, br[:sortAbove]) || !reflect.DeepEqual(small, big[:sortAbove]) {
		t.Errorf("k=%d and k=%d disagree on the first %d", sortAbove, n+5, sortAbove)
	}
	for i := 1; i < n; i++ {
		if big[i] > big[i-1] || (big[i] == big[i-1] && br[i] < br[i-1]) {
			t.Fatalf("rank %d: row %d score %v after row %d score %v", i, br[i], big[i], br[i-1], big[i-1])
		}
	}
	if br[n] != -1 || big[n] != m {
		t.Errorf("past the end: row %d score %v", br[n], big[n])
	}
	for _, bad := range []struct {
		q    []float32
		dim  int
		k    int
		base []float32
	}{{q, 0, 1, tied}, {q[:3], 2, 1, tied}, {q, 2, 0, tied}, {q, 2, 1, tied[:3]}} {
		if _, _, err := KNNGo(bad.q, bad.base, bad.dim, bad.k); err == nil {
			t.Errorf("KNNGo(%d query values, %d base, dim %d, k %d): no error", len(bad.q), len(bad.base), bad.dim, bad.k)
		}
	}
}

// TestBruteForceIndex: the RangeIndex of NewBruteForce searches by
// position ties, maps rows to ids, and range-searches from a position.
func TestBruteForceIndex(t *testing.T) {
	ids := []int64{50, 40, 30, 20, 10, 60}
	x, err := NewBruteForce(2, tied, ids)
	if err != nil {
		t.Fatal(err)
	}
	s, got, err := x.Search([]float32{1, 0}, 4, Params{NProbe: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{50, 60, 40, 30}; !reflect.DeepEqual(got, want) || s[3] != 0.5 {
		t.Errorf("search: ids %v scores %v, want %v", got, s, want)
	}
	lims, _, hits, err := x.RangeSearch([]float32{1, 0, 0, 1}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(lims, []int{0, 5, 6}) || !reflect.DeepEqual(hits, []int64{50, 40, 30, 10, 60, 40}) {
		t.Errorf("range search: lims %v ids %v", lims, hits)
	}
	lims, _, hits, err = x.(UpperRanger).RangeSearchFrom([]float32{1, 0}, 3, 0.5)
	if err != nil || !reflect.DeepEqual(lims, []int{0, 2}) || !reflect.DeepEqual(hits, []int64{10, 60}) {
		t.Errorf("range search from 3: lims %v ids %v err %v", lims, hits, err)
	}
	for _, from := range []int{-1, 7} {
		if _, _, _, err := x.(UpperRanger).RangeSearchFrom([]float32{1, 0}, from, 0.5); err == nil {
			t.Errorf("from %d: no error", from)
		}
	}
	if _, err := NewBruteForce(2, tied, ids[:5]); err == nil {
		t.Error("6 vectors with 5 ids: no error")
	}
	if _, _, err := x.Search([]float32{1, 0}, 0, Params{}); err == nil {
		t.Error("k=0: no error")
	}
}

func TestIVFLists(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{0, 1}, {1, 1}, {38, 1}, {77, 1}, // fewer than 2×39 points: one list
		{78, 2},        // capped by n/39 = 2 (4·√78 = 35.3)
		{1000, 25},     // n/39 = 25.6 → 25 (4·√1000 = 126.5)
		{10000, 256},   // n/39 = 256 (4·√10000 = 400)
		{13000, 333},   // n/39 = 333 (4·√13000 = 456.1)
		{24336, 624},   // n/39 = 624 = 4·√24336 (both 624)
		{24649, 628},   // 4·√24649 = 628 < n/39 = 632: the √ rule from here on
		{100000, 1265}, // 4·√100000 = 1264.9 rounds up (truncation would give 1264)
		{57637, 960},   // 4·√57637 = 960.3
		{1 << 30, 131072},
	} {
		if got := IVFLists(tc.n); got != tc.want {
			t.Errorf("IVFLists(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestResolveFactory(t *testing.T) {
	for _, tc := range []struct {
		in      string
		n, dim  int
		want    string
		wantErr string
	}{
		{"Flat", 10, 512, "Flat", ""},
		{" Flat ", 10, 512, "Flat", ""},
		{"IVF,Flat", 13000, 512, "IVF333,Flat", ""},
		{"IVF,Flat", 100000, 512, "IVF1265,Flat", ""},
		{"IVF,Flat", 10, 512, "IVF1,Flat", ""},
		{"IVF,Flat", 0, 512, "IVF1,Flat", ""},
		{"IVF100,Flat", 13000, 512, "IVF100,Flat", ""},
		{"IVF100,Flat", 100, 512, "IVF100,Flat", ""}, // exactly n lists
		{"IVF100,Flat", 99, 512, "", "needs at least 100"},
		{"IVF100,Flat", 50, 512, "", "needs at least 100"},
		{"IVF0,Flat", 50, 512, "", "nlist must be ≥ 1"},
		{"IVF,PQ32", 13000, 512, "IVF333,PQ32", ""},
		{"IVF,PQ30", 13000, 512, "", "do not divide"},
		{"PQ16", 100, 512, "", "needs at least 256"},
		{"PQ16", 256, 512, "PQ16", ""},
		{"PQ16x4", 16, 512, "PQ16x4", ""},
		{"PQ16x4", 15, 512, "", "needs at least 16"},
		{"PQ30", 1000, 0, "PQ30", ""}, // dimension unknown
		{"HNSW32", 5, 512, "HNSW32", ""},
		{"IVF 100", 5, 512, "", "no spaces"},
		{"", 5, 512, "", "empty"},
	} {
		got, err := ResolveFactory(tc.in, tc.n, tc.dim)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q n=%d: err %v, want %q", tc.in, tc.n, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q n=%d = %q, %v; want %q", tc.in, tc.n, got, err, tc.want)
		}
	}
}

func TestListCountAndExact(t *testing.T) {
	for _, tc := range []struct {
		f     string
		lists int
		exact bool
	}{
		{"Flat", 0, true}, {"IDMap2,Flat", 0, true}, {"IVF460,Flat", 460, false},
		{"IVF,Flat", 0, false}, {"HNSW32", 0, false}, {"IVF1,PQ16", 1, false},
	} {
		if got := ListCount(tc.f); got != tc.lists {
			t.Errorf("ListCount(%q) = %d, want %d", tc.f, got, tc.lists)
		}
		if got := Exact(tc.f); got != tc.exact {
			t.Errorf("Exact(%q) = %v, want %v", tc.f, got, tc.exact)
		}
	}
}

// dropOdd is a Searcher that loses every odd id of an exact search.
type dropOdd struct{ RangeIndex }

func (d dropOdd) Search(q []float32, k int, p Params) ([]float32, []int64, error) {
	s, ids, err := d.RangeIndex.Search(q, k, p)
	for i, id := range ids {
		if id%2 == 1 {
			ids[i] = -1
		}
	}
	return s, ids, err
}

func TestRecall(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const n, dim = 500, 8
	vecs := make([]float32, n*dim)
	for i := range vecs {
		vecs[i] = float32(rng.NormFloat64())
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	x, err := NewBruteForce(dim, vecs, ids)
	if err != nil {
		t.Fatal(err)
	}
	r, nq, err := Recall(x, vecs, ids, dim, Params{})
	if err != nil || r != 1 || nq != 200 {
		t.Errorf("exact: recall %v over %d queries, %v; want 1 over 200", r, nq, err)
	}
	r, _, err = Recall(dropOdd{x}, vecs, ids, dim, Params{})
	if err != nil || r < 0.4 || r > 0.6 {
		t.Errorf("losing odd ids: recall %v, %v; want about 0.5", r, err)
	}
	x3, err := NewBruteForce(dim, vecs[:3*dim], ids[:3])
	if err != nil {
		t.Fatal(err)
	}
	r, nq, err = Recall(x3, vecs[:3*dim], ids[:3], dim, Params{})
	if err != nil || r != 1 || nq != 3 {
		t.Errorf("3 vectors: recall %v over %d queries, %v", r, nq, err)
	}
}
