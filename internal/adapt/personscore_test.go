package adapt

import (
	"math"
	"sort"
	"testing"
)

func TestPersonScoreRank(t *testing.T) {
	// Folder 0: one very close face (a lookalike photo); folder 1: three
	// close faces (the person).
	hits := []Hit{{0, 0.80}, {1, 0.70}, {1, 0.68}, {1, 0.66}, {2, 0.40}, {3, 0.30}, {0, 0.20}}
	sizes := map[int]int{0: 5, 1: 3, 2: 1, 3: 4}
	size := func(f int) int { return sizes[f] }
	for _, tc := range []struct {
		name     string
		ps       PersonScore
		hits     []Hit
		bound    float64
		complete bool
		folder   int
		score    float64
		second   float64
		exact    bool
	}{
		{"max", PersonScore{}, hits, 0.2, false, 0, 0.80, 0.70, true},
		{"top3 prefers the folder with several close faces", PersonScore{Top: 3}, hits, 0.2, false, 1, 0.68, 0.40, true},
		{"top3, complete window: a one-face folder scores its face", PersonScore{Top: 3}, hits[:4], 0, true, 0, 0.80, 0.68, true},
		{"top3 cohort", PersonScore{Top: 3, Cohort: 2, CohortWeight: 0.5}, hits, 0.2, false, 1, 0.68 - 0.5*(0.80+0.40)/2, 0.40, true},
		{"window too short: upper bound, not exact", PersonScore{Top: 3}, hits[:2], 0.70, false, 0, 0.80*1/3 + 0.70*2/3, 0.70, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.ps.Rank(tc.hits, size, tc.bound, tc.complete)
			if r.Folder != tc.folder || math.Abs(r.Score-tc.score) > 1e-9 || math.Abs(r.Second-tc.second) > 1e-9 || r.Exact != tc.exact {
				t.Errorf("got %+v, want folder %d score %.4f second %.4f exact %v", r, tc.folder, tc.score, tc.second, tc.exact)
			}
		})
	}
	if r := (PersonScore{Top: 3}).Rank(nil, size, 0, true); r.Folder != -1 {
		t.Errorf("no hits: %+v", r)
	}
}

// rankAll must give the same scores as a full scan of the gallery.
func TestRankAllMatchesFullScan(t *testing.T) {
	s := synth(t, 30, 6, 32, 3, 1)
	q, g := s.Subset(rangeInts(0, 40)), s.Subset(rangeInts(40, s.Len()))
	for _, ps := range []PersonScore{{}, {Top: 3}, {Top: 3, Cohort: 3, CohortWeight: 0.5}} {
		got, err := rankAll(q, g, ps, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		eachScoreRow(q.Vecs, g.Vecs, q.Dim, func(i int, sc []float32) {
			var hits []Hit
			for j, v := range sc {
				hits = append(hits, Hit{g.Folders[j], float64(v)})
			}
			sort.Slice(hits, func(a, b int) bool { return hits[a].Score > hits[b].Score })
			want := ps.Rank(hits, nil, 0, true)
			if got[i].Folder != want.Folder || math.Abs(got[i].Score-want.Score) > 1e-6 {
				t.Errorf("%s query %d: %+v, full scan %+v", ps, i, got[i], want)
			}
		})
	}
}

func rangeInts(a, b int) []int {
	var out []int
	for i := a; i < b; i++ {
		out = append(out, i)
	}
	return out
}
