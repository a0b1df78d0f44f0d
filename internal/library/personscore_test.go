package library

import (
	"context"
	"math"
	"sort"
	"testing"

	"github.com/facesearch/facesearch/internal/adapt"
)

// An adapted similarity with a person score judges the best person by that
// statistic of its faces — the one the calibration samples were computed
// with — computed exactly from the library's vectors, and says so.
func TestSearchJudgedPersonScore(t *testing.T) {
	ctx := context.Background()
	f := indexedAdaptFixture(t, ctx)
	ps := adapt.PersonScore{Top: 3, Cohort: 3, CohortWeight: 0.5}
	p := wccn8()
	p.Score = ps
	a := f.forceAdapt(t, ctx, p)
	// At most 20 folders: leave one folder out, every face searched once.
	if len(a.NonMatedFolder) != len(a.NonMated) || a.CalibQueries == 0 || len(a.NonMated) != a.CalibQueries {
		t.Errorf("cross-fitted samples: %d non-mated, %d folders recorded, %d distinct queries (want one search per face)", len(a.NonMated), len(a.NonMatedFolder), a.CalibQueries)
	}
	s, err := f.lib.Searcher(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fs, err := f.lib.FolderSet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q := fs.Set.Row(4)
	j, err := s.SearchJudged(ctx, q, SearchOptions{K: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Expected: the statistic over every primary face in the adapted space.
	aq, err := a.Transform.Apply(q)
	if err != nil {
		t.Fatal(err)
	}
	av, err := a.Transform.ApplyAll(fs.Set.Vecs)
	if err != nil {
		t.Fatal(err)
	}
	var hits []adapt.Hit
	for i := range fs.Set.Len() {
		var d float64
		for k, x := range aq {
			d += float64(x) * float64(av[i*len(aq)+k])
		}
		hits = append(hits, adapt.Hit{Folder: fs.Set.Folders[i], Score: d})
	}
	sort.Slice(hits, func(x, y int) bool { return hits[x].Score > hits[y].Score })
	want := ps.Rank(hits, nil, 0, true)
	if j.Best.Person != fs.Names[want.Folder] || math.Abs(float64(j.Score)-want.Score) > 1e-4 || j.ScoreName != ps.String() {
		t.Errorf("judged %s score %.4f (%s), want %s %.4f (%s)", j.Best.Person, j.Score, j.ScoreName, fs.Names[want.Folder], want.Score, ps)
	}
	if j.Judgement.Margin == nil || math.Abs(*j.Judgement.Margin-(want.Value-want.Second)) > 1e-3 {
		t.Errorf("margin %v, want %.4f", j.Judgement.Margin, want.Value-want.Second)
	}
}
