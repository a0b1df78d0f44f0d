package server

import (
	"context"
	"image"
	"testing"

	"github.com/facesearch/facesearch/internal/verdict"
)

// judgedLib is fakeLib judged by a real open-set calibration: the verdict
// comes from verdict.Calibration.Judge on the best person's score and the
// best other person's, as the library's SearchJudged gives it.
type judgedLib struct {
	*fakeLib
	cal *verdict.Calibration
}

func (l judgedLib) SearchJudged(ctx context.Context, v []float32, k int) ([]Match, *Verdict, error) {
	ms, err := l.Search(ctx, v, k)
	if err != nil || len(ms) == 0 {
		return ms, nil, err
	}
	var second float32
	has := false
	for _, m := range ms {
		if m.Person != ms[0].Person {
			second, has = m.Similarity, true
			break
		}
	}
	j := l.cal.Judge(ms[0].Similarity, second, has)
	vd := &Verdict{Verdict: j.Verdict, Person: ms[0].Person, Similarity: ms[0].Similarity, StrangersAtOrAbove: j.StrangersAtOrAbove,
		StrangerSearches: j.StrangerSearches, StrangerText: j.StrangerText(), Margin: j.Margin,
		Calibration: l.cal.Status, MatchThreshold: l.cal.Match.Threshold, MatchFPIR: l.cal.Match.FPIR,
		PossibleThreshold: l.cal.Possible.Threshold, PossibleFPIR: l.cal.Possible.FPIR}
	return ms, vd, nil
}

// fixedCalibration fits a calibration on 1,000 stranger scores spread evenly
// over (0, top] from 100 folders, and 100 mated scores near 1.
func fixedCalibration(t testing.TB, top float64) *verdict.Calibration {
	t.Helper()
	var s verdict.Samples
	for i := 1; i <= 1000; i++ {
		s.NonMated = append(s.NonMated, top*float64(i)/1000)
	}
	for i := 0; i < 100; i++ {
		s.Mated = append(s.Mated, 0.9+float64(i)/1000)
	}
	s.NonMatedFolders, s.MatedFolders = 100, 50
	c, err := verdict.Fit(s, verdict.FitOptions{})
	if err != nil || !c.Calibrated() {
		t.Fatalf("fit: %v %+v", err, c)
	}
	return c
}

// TestSearchVerdict: with a JudgedSearcher the answer carries the verdict
// on the best person and each match and person the label of its own
// similarity; badges (same_person) follow the match point, not Threshold,
// and only the best person can be a match (a lookalike above the match
// level is "possible", above_match).
func TestSearchVerdict(t *testing.T) {
	type row struct {
		verdict string
		above   bool
	}
	tests := []struct {
		name     string
		top      float64 // the highest stranger score of the calibration
		verdict  string
		strAbove int // strangers scoring at least alice's 1.0
		rows     []row
	}{
		// Matches of face 2 (e1): alice 1.0, bob 0.8, bob 0. Strangers up
		// to 0.75: match ≥ ~0.746 (4 of 1000 above), possible ≥ ~0.687.
		{"match", 0.75, "match", 0, []row{{"match", false}, {"possible", true}, {"no_match", false}}},
		// Strangers up to 1.2: alice's 1.0 is below both points; 167 of
		// 1000 strangers scored 1.0 or more.
		{"stranger", 1.2, "no_match", 167, []row{{"no_match", false}, {"no_match", false}, {"no_match", false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.srv.opt.Searcher = judgedLib{h.lib, fixedCalibration(t, tc.top)}
			res := decode[searchResponse](t, h.do(t, searchReq(t, "", nil, pngBytes(30, 20))))
			if v := res.Verdict; v == nil || v.Verdict != tc.verdict || v.Person != "alice" || v.StrangersAtOrAbove != tc.strAbove || v.StrangerSearches != 1000 ||
				v.Margin == nil || *v.Margin != 0.2 {
				t.Fatalf("verdict %+v, want %s for alice, %d of 1000 strangers at or above, margin 0.2", res.Verdict, tc.verdict, tc.strAbove)
			}
			if len(res.Matches) != len(tc.rows) {
				t.Fatalf("%d matches", len(res.Matches))
			}
			for i, m := range res.Matches {
				if m.Verdict != tc.rows[i].verdict || m.AboveMatch != tc.rows[i].above || m.SamePerson != (tc.rows[i].verdict == "match") {
					t.Errorf("match %d (%s %.2f): verdict %q above_match %v same_person %v, want %+v", i, m.Person, m.Similarity, m.Verdict, m.AboveMatch, m.SamePerson, tc.rows[i])
				}
			}
			if p := res.Persons[0]; p.Verdict != tc.rows[0].verdict || p.Person != "alice" {
				t.Errorf("person %+v", p)
			}
			if p := res.Persons[1]; p.Verdict != tc.rows[1].verdict || p.AboveMatch != tc.rows[1].above || p.SamePerson {
				t.Errorf("lookalike %+v", p)
			}
		})
	}
}

// photoLib is judgedLib with the library's photo search use case: it
// chooses and numbers the faces itself (here: two faces, the second
// primary), and the handler must answer with its choice, not its own.
type photoLib struct {
	judgedLib
	gotFace int
}

func (l *photoLib) SearchPhoto(ctx context.Context, img *image.RGBA, face, k int) (*PhotoAnswer, error) {
	l.gotFace = face
	if face > 2 {
		return nil, errorf(KindBadRequest, "no face %d, the photo has 2", face)
	}
	n := face
	if n == 0 {
		n = 2
	}
	ms, v, err := l.SearchJudged(ctx, l.vecs[2], k)
	if err != nil {
		return nil, err
	}
	return &PhotoAnswer{Faces: []QueryFace{{Box: [4]float32{0, 0, 5, 5}, Score: 0.9}, {Box: [4]float32{10, 0, 20, 10}, Score: 0.8}},
		Primary: 2, Face: n, Matches: ms, Verdict: v}, nil
}

// TestSearchPhotoUseCase: when the Searcher runs the photo search use case
// (PhotoSearcher, the CLI's library.Searcher.SearchPhoto), a photo upload
// goes through it: its face numbering, primary face and verdict.
func TestSearchPhotoUseCase(t *testing.T) {
	h := newHarness(t, nil)
	pl := &photoLib{judgedLib: judgedLib{h.lib, fixedCalibration(t, 0.75)}}
	h.srv.opt.Searcher = pl
	res := decode[searchResponse](t, h.do(t, searchReq(t, "", nil, pngBytes(30, 20))))
	if pl.gotFace != 0 || res.Face != 2 || len(res.Faces) != 2 || !res.Faces[1].Primary || res.Faces[0].Primary || res.Faces[1].Index != 2 {
		t.Fatalf("face %d (asked %d), faces %+v: want the use case's primary face 2", res.Face, pl.gotFace, res.Faces)
	}
	if res.Verdict == nil || res.Verdict.Verdict != "match" || res.Verdict.Person != "bob" {
		t.Errorf("verdict %+v", res.Verdict)
	}
	res = decode[searchResponse](t, h.do(t, searchReq(t, "?face=1", nil, pngBytes(30, 20))))
	if pl.gotFace != 1 || res.Face != 1 {
		t.Errorf("face=1: searched %d, answered %d", pl.gotFace, res.Face)
	}
	if w := h.do(t, searchReq(t, "?face=3", nil, pngBytes(30, 20))); w.Code != 400 {
		t.Errorf("face=3: status %d, want 400", w.Code)
	}
}
