package cleanse

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/vecindex"
)

// cleanPeople adds n ordinary people, some with awkward names.
func cleanPeople(s *synth, n int) map[string][]float32 {
	centres := map[string][]float32{}
	names := []string{"山田太郎", "José O'Neil, Jr.", "Zoë \"Z\" Ångström"}
	for k := range n {
		name := fmt.Sprintf("p%02d", k)
		if k < len(names) {
			name = names[k]
		}
		centres[name] = s.person(name, 6+s.rng.IntN(9))
	}
	return centres
}

// planted is a synthetic dataset with known problems.
type planted struct {
	s                   *synth
	split               [2]string
	misfiled            map[int]string // face -> folder it belongs in
	dupWithin, dupCross [2]int
	outlier             int
	twins               [2]string
}

func plantedSet(seed uint64) *planted {
	s := newSynth(seed)
	p := &planted{s: s, misfiled: map[int]string{}}
	c := cleanPeople(s, 30)
	// One person split over two folders.
	anna := s.unit()
	for k := range 12 {
		folder := "Anna Müller"
		if k%2 == 1 {
			folder = "Anna_Muller_2"
		}
		s.add(folder, s.sampleFace(anna))
	}
	p.split = [2]string{"Anna Müller", "Anna_Muller_2"}
	// Misfiled faces.
	bob := s.person("Bob", 10)
	s.person("Carl", 10)
	p.misfiled[s.add("Carl", s.sampleFace(bob))] = "Bob"
	p.misfiled[s.add("p03", s.sampleFace(c["山田太郎"]))] = "山田太郎"
	// A byte-identical copy inside a folder.
	orig := slices.IndexFunc(s.faces, func(f Face) bool { return f.Person == "p05" })
	cp := s.add("p05", s.faces[orig].Vec)
	s.faces[cp].Hash = s.faces[orig].Hash
	p.dupWithin = [2]int{orig, cp}
	// A re-encoded copy of p07's photo filed under p08 (also misfiled).
	orig = slices.IndexFunc(s.faces, func(f Face) bool { return f.Person == "p07" })
	v := slices.Clone(s.faces[orig].Vec)
	for k := range v {
		v[k] += float32(0.002 * s.rng.NormFloat64())
	}
	cp = s.add("p08", v)
	p.dupCross = [2]int{orig, cp}
	p.misfiled[cp] = "p07"
	// Somebody else's face in p10.
	p.outlier = s.add("p10", s.sampleFace(s.unit()))
	// Two different people who look alike.
	t := s.unit()
	ca, cb := mix(t, s.unit(), 1, 0.9), mix(t, s.unit(), 1, 0.9)
	for range 8 {
		s.add("Twin A", s.sampleFace(ca))
		s.add("Twin B", s.sampleFace(cb))
	}
	p.twins = [2]string{"Twin A", "Twin B"}
	return p
}

func TestPrepareRejectsBadInput(t *testing.T) {
	good := []float32{1, 0, 0}
	tests := []struct {
		name  string
		faces []Face
		want  string
	}{
		{"empty", nil, "no faces"},
		{"dimension", []Face{{Person: "a", File: "a/1.jpg", Vec: good}, {Person: "b", File: "b/2.jpg", Vec: []float32{1, 0}}}, "b/2.jpg"},
		{"zero", []Face{{Person: "a", File: "a/1.jpg", Vec: good}, {Person: "b", File: "b/zero.jpg", Vec: []float32{0, 0, 0}}}, "b/zero.jpg"},
		{"nan", []Face{{Person: "a", File: "a/nan.jpg", Vec: []float32{float32(nan()), 0, 0}}}, "a/nan.jpg"},
		{"person", []Face{{File: "loose.jpg", Vec: good}}, "loose.jpg"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Prepare(tc.faces)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Prepare: error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func nan() float64 { return math.NaN() }

// bruteCross lists every cross-folder pair >= min by a double loop.
func bruteCross(d *Dataset, min float32) map[[2]int]float32 {
	out := map[[2]int]float32{}
	for i := range d.Len() {
		for j := i + 1; j < d.Len(); j++ {
			if d.Face(i).Person == d.Face(j).Person {
				continue
			}
			if s := d.Similarity(i, j); s >= min {
				out[[2]int{i, j}] = s
			}
		}
	}
	return out
}

func TestPairsEqualsBruteForce(t *testing.T) {
	d := plantedSet(1).s.prepare(t)
	for _, min := range []float32{testThreshold, 0.5, 0.95} {
		t.Run(fmt.Sprint(min), func(t *testing.T) {
			var last int
			opt := testOptions()
			opt.Progress = func(stage string, done, total int) { last = done }
			res, err := d.Pairs(context.Background(), opt, PairsOptions{Min: min})
			if err != nil {
				t.Fatal(err)
			}
			if last != d.Len() {
				t.Errorf("progress ended at %d, want %d", last, d.Len())
			}
			want := bruteCross(d, min)
			if len(res.Pairs) != len(want) || res.Total != len(want) {
				t.Fatalf("got %d pairs (total %d), brute force %d", len(res.Pairs), res.Total, len(want))
			}
			seen := map[[2]int]bool{}
			for k, p := range res.Pairs {
				key := [2]int{p.A, p.B}
				if p.A >= p.B || seen[key] {
					t.Fatalf("pair %v listed twice or unordered", key)
				}
				seen[key] = true
				if d.Face(p.A).Person == d.Face(p.B).Person {
					t.Fatalf("pair %v is inside folder %q", key, d.Face(p.A).Person)
				}
				if s, ok := want[key]; !ok || s != p.Similarity {
					t.Fatalf("pair %v similarity %v, brute force %v (present %v)", key, p.Similarity, s, ok)
				}
				if k > 0 && res.Pairs[k-1].Similarity < p.Similarity {
					t.Fatalf("pairs not sorted at %d", k)
				}
			}
			if !res.Exact || res.Recall != 1 {
				t.Errorf("exact search reported exact=%v recall=%v", res.Exact, res.Recall)
			}
		})
	}
	res, err := d.Pairs(context.Background(), testOptions(), PairsOptions{Top: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pairs) != 5 || res.Total <= 5 {
		t.Errorf("Top 5: got %d pairs of %d", len(res.Pairs), res.Total)
	}
}

// lossy is an approximate index: it forgets a fraction of its vectors for
// half of the queries.
type lossy struct {
	vecindex.RangeIndex
	dim  int
	seed uint64
}

func (l *lossy) RangeSearch(q []float32, r float32) ([]int, []float32, []int64, error) {
	lims, s, ids, err := l.RangeIndex.RangeSearch(q, r)
	if err != nil {
		return nil, nil, nil, err
	}
	rng := rand.New(rand.NewPCG(l.seed, 1))
	nl := []int{0}
	var ns []float32
	var nid []int64
	for qi := 0; qi+1 < len(lims); qi++ {
		for h := lims[qi]; h < lims[qi+1]; h++ {
			if rng.IntN(3) > 0 {
				ns, nid = append(ns, s[h]), append(nid, ids[h])
			}
		}
		nl = append(nl, len(ns))
	}
	return nl, ns, nid, nil
}

func TestPairsApproximateMeasuresRecall(t *testing.T) {
	d := plantedSet(2).s.prepare(t)
	approx := func(dim int, v []float32, ids []int64) (vecindex.RangeIndex, error) {
		b, err := vecindex.NewBruteForce(dim, v, ids)
		return &lossy{RangeIndex: b, dim: dim, seed: 7}, err
	}
	res, err := d.Pairs(context.Background(), testOptions(), PairsOptions{Approx: approx, RecallQueries: 1000})
	if err != nil {
		t.Fatal(err)
	}
	want := len(bruteCross(d, testThreshold))
	actual := float64(res.Total) / float64(want)
	t.Logf("approximate: %d of %d pairs, measured recall %.3f over %d faces", res.Total, want, res.Recall, res.RecallQueries)
	if res.Exact || res.Recall >= 1 || res.Recall < actual-0.1 || res.Recall > actual+0.1 {
		t.Errorf("recall %.3f (exact=%v), true share found %.3f", res.Recall, res.Exact, actual)
	}
}

func TestPairsCSVRoundTrip(t *testing.T) {
	faces := []Face{
		{Person: "山田太郎", File: "/d/山田太郎/写真 1.jpg", Vec: []float32{1, 0.1}},
		{Person: "José O'Neil, Jr.", File: "/d/José/a,\"b\".jpg", Vec: []float32{1, 0.12}},
		{Person: "Zoë", File: "/d/Zoë/line\nbreak.jpg", Vec: []float32{1, 0.13}},
	}
	d, err := Prepare(faces)
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Pairs(context.Background(), testOptions(), PairsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pairs) != 3 {
		t.Fatalf("got %d pairs, want 3", len(res.Pairs))
	}
	var buf bytes.Buffer
	if err := WritePairsCSV(&buf, d, res.Pairs); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], PairsCSVHeader()) || len(recs) != 4 {
		t.Fatalf("records %q", recs)
	}
	for k, p := range res.Pairs {
		a, b := d.Face(p.A), d.Face(p.B)
		want := []string{a.File, a.Person, b.File, b.Person}
		if !slices.Equal(recs[k+1][:4], want) {
			t.Errorf("row %d = %q, want %q", k+1, recs[k+1][:4], want)
		}
		if s, err := strconv.ParseFloat(recs[k+1][4], 32); err != nil || float32(s)-p.Similarity > 1e-4 || p.Similarity-float32(s) > 1e-4 {
			t.Errorf("row %d similarity %q, want %v", k+1, recs[k+1][4], p.Similarity)
		}
	}
}

// findingsTop reports whether a finding matching pred is among the first n
// findings with severity >= sev.
func findingIn(r *AuditResult, n int, sev Severity, pred func(Finding) bool) (int, bool) {
	for k, f := range r.Findings[:min(n, len(r.Findings))] {
		if f.Severity >= sev && pred(f) {
			return k, true
		}
	}
	return -1, false
}

func TestAuditFindsPlantedProblems(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			p := plantedSet(seed)
			d := p.s.prepare(t)
			r, err := d.Audit(context.Background(), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			for k, f := range r.Findings {
				t.Logf("%2d %-6s %-11s %.2f %s", k, f.Severity, f.Kind, f.Score, f.Reason)
			}
			const top = 10
			type want struct {
				name string
				sev  Severity
				pred func(Finding) bool
			}
			wants := []want{
				{"split person", High, func(f Finding) bool {
					return f.Kind == SamePerson && slices.Equal(f.Persons, p.split[:])
				}},
				{"within-folder duplicate", Medium, func(f Finding) bool {
					return f.Kind == Duplicate && slices.Equal(f.Faces, p.dupWithin[:])
				}},
				{"cross-folder duplicate", High, func(f Finding) bool {
					return f.Kind == Duplicate && slices.Equal(f.Faces, p.dupCross[:])
				}},
				{"outlier", Medium, func(f Finding) bool {
					return f.Kind == Outlier && slices.Equal(f.Faces, []int{p.outlier})
				}},
			}
			for i, folder := range p.misfiled {
				wants = append(wants, want{"misfiled " + d.Face(i).File, High, func(f Finding) bool {
					return f.Kind == Misfiled && slices.Equal(f.Faces, []int{i}) && f.Persons[1] == folder
				}})
			}
			for _, w := range wants {
				if k, ok := findingIn(r, top, w.sev, w.pred); !ok {
					t.Errorf("%s: not among the top %d findings at severity >= %s", w.name, top, w.sev)
				} else if len(r.Findings[k].Evidence) == 0 || r.Findings[k].Reason == "" {
					t.Errorf("%s: finding without evidence or reason: %+v", w.name, r.Findings[k])
				}
			}
			if got := r.Count(Medium); got > len(wants)+1 {
				t.Errorf("%d findings at medium or above, planted %d", got, len(wants))
			}
		})
	}
}

func TestAuditCleanSetIsQuiet(t *testing.T) {
	for _, seed := range []uint64{4, 5, 6} {
		s := newSynth(seed)
		cleanPeople(s, 60)
		d := s.prepare(t)
		r, err := d.Audit(context.Background(), testOptions())
		if err != nil {
			t.Fatal(err)
		}
		if n := r.Count(Medium); n > 0 {
			t.Errorf("seed %d: %d findings at medium or above in a clean set; first: %s", seed, n, r.Findings[0].Reason)
		}
	}
}

func TestLookalikes(t *testing.T) {
	p := plantedSet(1)
	d := p.s.prepare(t)
	res, err := d.Lookalikes(context.Background(), testOptions(), LookalikeOptions{Top: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range res.Lookalikes {
		t.Logf("%q ~ %q: trimmed mean %.3f median %.3f max %.3f over %d pairs", l.Persons[0], l.Persons[1], l.Similarity, l.Median, l.Max, l.Pairs)
		if l.Persons == p.split {
			t.Errorf("the split person %v is listed as look-alikes", p.split)
		}
		if len(l.Evidence) == 0 {
			t.Errorf("%v: no evidence", l.Persons)
		}
	}
	if len(res.Lookalikes) == 0 || res.Lookalikes[0].Persons != p.twins {
		t.Fatalf("top look-alikes %v, want %v first", res.Lookalikes, p.twins)
	}
	if res.SamePerson == 0 {
		t.Errorf("no candidate pair was left out as the same person")
	}
	// Every candidate examined agrees with a direct computation.
	l := res.Lookalikes[0]
	var sims []float32
	for _, i := range d.Members(l.Persons[0]) {
		for _, j := range d.Members(l.Persons[1]) {
			sims = append(sims, d.Similarity(i, j))
		}
	}
	if want := trimmedMean(sims, 0.2); want != l.Similarity {
		t.Errorf("twins score %v, direct trimmed mean %v", l.Similarity, want)
	}
}

func TestStats(t *testing.T) {
	tests := []struct {
		xs           []float32
		med, trimmed float32
	}{
		{[]float32{3}, 3, 3},
		{[]float32{1, 3}, 2, 2},
		{[]float32{5, 1, 3}, 3, 3},
		{[]float32{0, 1, 1, 1, 1, 1, 1, 1, 1, 100}, 1, 1},
	}
	for _, tc := range tests {
		if got := median(slices.Clone(tc.xs)); got != tc.med {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.med)
		}
		if got := trimmedMean(slices.Clone(tc.xs), 0.2); got != tc.trimmed {
			t.Errorf("trimmedMean(%v) = %v, want %v", tc.xs, got, tc.trimmed)
		}
	}
}
