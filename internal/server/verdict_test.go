package server

import (
	"context"
	"testing"
)

// judgedLib is fakeLib with the library's judgement: fixed operating points.
type judgedLib struct {
	*fakeLib
	match, possible float32
}

func (l judgedLib) SearchJudged(ctx context.Context, v []float32, k int) ([]Match, *Verdict, error) {
	ms, err := l.Search(ctx, v, k)
	if err != nil || len(ms) == 0 {
		return ms, nil, err
	}
	vd := &Verdict{Calibration: "calibrated", MatchThreshold: l.match, PossibleThreshold: l.possible, Person: ms[0].Person, Similarity: ms[0].Similarity}
	vd.Verdict = vd.row(ms[0].Similarity)
	return ms, vd, nil
}

// TestSearchVerdict: with a JudgedSearcher the answer carries its verdict
// and every match and person the verdict of its own similarity; badges
// (same_person) follow the match point, not Threshold.
func TestSearchVerdict(t *testing.T) {
	tests := []struct {
		name            string
		match, possible float32
		verdict         string
		rows            []string
	}{
		// Matches of face 2 (e1): alice 1.0, bob 0.8, bob 0.
		{"match", 0.9, 0.7, "match", []string{"match", "possible", "no_match"}},
		{"stranger", 1.5, 1.2, "no_match", []string{"no_match", "no_match", "no_match"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.srv.opt.Searcher = judgedLib{h.lib, tc.match, tc.possible}
			res := decode[searchResponse](t, h.do(t, searchReq(t, "", nil, pngBytes(30, 20))))
			if res.Verdict == nil || res.Verdict.Verdict != tc.verdict || res.Verdict.Person != "alice" {
				t.Fatalf("verdict %+v, want %s for alice", res.Verdict, tc.verdict)
			}
			if len(res.Matches) != len(tc.rows) {
				t.Fatalf("%d matches", len(res.Matches))
			}
			for i, m := range res.Matches {
				if m.Verdict != tc.rows[i] || m.SamePerson != (tc.rows[i] == "match") {
					t.Errorf("match %d (%.2f): verdict %q same_person %v, want %q", i, m.Similarity, m.Verdict, m.SamePerson, tc.rows[i])
				}
			}
			if p := res.Persons[0]; p.Verdict != tc.rows[0] {
				t.Errorf("person %+v", p)
			}
		})
	}
}
