package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/testenv"
	"github.com/facesearch/facesearch/internal/verdict"
)

// lfwByPerson lists the LFW people (sorted) with their photos (sorted).
func lfwByPerson(tb testing.TB) (string, []string, map[string][]string) {
	tb.Helper()
	lfw := filepath.Join(testenv.Faces(tb), "lfw")
	ents, err := os.ReadDir(lfw)
	if err != nil {
		testenv.Missing(tb, "LFW: %v", err)
	}
	photos := map[string][]string{}
	var names []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		fs, err := os.ReadDir(filepath.Join(lfw, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range fs {
			if strings.HasSuffix(f.Name(), ".jpg") {
				photos[e.Name()] = append(photos[e.Name()], f.Name())
			}
		}
		if len(photos[e.Name()]) > 0 {
			sort.Strings(photos[e.Name()])
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return lfw, names, photos
}

// spread picks n names evenly spaced over names.
func spread(names []string, n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, names[i*len(names)/n])
	}
	return out
}

func symlink(tb testing.TB, src, dst string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.Symlink(src, dst); err != nil {
		tb.Fatal(err)
	}
}

// TestCheckLFW60 is the acceptance test of open-set verdicts: a library of
// 60 LFW people (all but their last photo), then 'check --json' — with
// nothing run in between — of their 60 last photos and of 60 people with a
// single LFW photo, who are not in the library. At least 90% of the former
// must be a match with the right person, at most 5% of the latter a match.
func TestCheckLFW60(t *testing.T) {
	if testing.Short() {
		t.Skip("indexes ~450 LFW photos with the real models")
	}
	lfw, names, photos := lfwByPerson(t)
	var many, single []string
	for _, n := range names {
		switch k := len(photos[n]); {
		case k >= 6 && k <= 20:
			many = append(many, n)
		case k == 1:
			single = append(single, n)
		}
	}
	if len(many) < 60 || len(single) < 60 {
		testenv.Missing(t, "LFW is incomplete: %d people with 6-20 photos, %d with one", len(many), len(single))
	}
	dir := t.TempDir()
	root, queries := filepath.Join(dir, "root"), filepath.Join(dir, "queries")
	want := map[string]string{} // query file -> person ("" for a stranger)
	for _, n := range spread(many, 60) {
		ps := photos[n]
		for _, f := range ps[:len(ps)-1] {
			symlink(t, filepath.Join(lfw, n, f), filepath.Join(root, n, f))
		}
		last := ps[len(ps)-1]
		symlink(t, filepath.Join(lfw, n, last), filepath.Join(queries, "known", last))
		want["known/"+last] = n
	}
	for _, n := range spread(single, 60) {
		f := photos[n][0]
		symlink(t, filepath.Join(lfw, n, f), filepath.Join(queries, "strangers", f))
		want["strangers/"+f] = ""
	}
	lib := filepath.Join(dir, "lib")
	libRun(t, "index", "--library", lib, "--workers", "2", root)
	out := libRun(t, "check", "--json", "--library", lib, queries)
	var doc struct {
		Schema      string          `json:"schema"`
		Calibration calibrationJSON `json:"calibration"`
		Photos      []struct {
			File         string   `json:"file"`
			Verdict      string   `json:"verdict"`
			Person       string   `json:"person"`
			Similarity   float64  `json:"similarity"`
			StrangerRate *float64 `json:"stranger_rate"`
			Faces        []json.RawMessage
		} `json:"photos"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("check --json: %v\n%s", err, out)
	}
	if doc.Schema != CheckSchema || doc.Calibration.Status != verdict.StatusCalibrated {
		t.Fatalf("schema %q, calibration %+v", doc.Schema, doc.Calibration)
	}
	if len(doc.Photos) != 120 {
		t.Fatalf("%d photos checked, want 120", len(doc.Photos))
	}
	knownOK, strangerMatch := 0, 0
	for _, p := range doc.Photos {
		rel, err := filepath.Rel(queries, p.File)
		if err != nil {
			t.Fatal(err)
		}
		person, ok := want[filepath.ToSlash(rel)]
		if !ok {
			t.Fatalf("unexpected photo %s", p.File)
		}
		if p.Verdict != verdict.NoMatch && p.Verdict != verdict.Match && p.Verdict != verdict.Possible {
			t.Logf("%s: verdict %s", rel, p.Verdict)
		}
		switch {
		case person != "" && p.Verdict == verdict.Match && p.Person == person:
			knownOK++
		case person != "":
			t.Logf("known %s: %s %s %.3f", rel, p.Verdict, p.Person, p.Similarity)
		case p.Verdict == verdict.Match:
			strangerMatch++
			t.Logf("stranger %s: match %s %.3f", rel, p.Person, p.Similarity)
		}
	}
	t.Logf("known: %d/60 match the right person; strangers: %d/60 match; match ≥ %.4f, possible ≥ %.4f (%d non-mated, %d mated searches)",
		knownOK, strangerMatch, doc.Calibration.MatchThreshold, doc.Calibration.PossibleThreshold, doc.Calibration.NonMatedSearches, doc.Calibration.MatedSearches)
	if knownOK < 54 {
		t.Errorf("%d of 60 known people matched the right person, want ≥ 54 (90%%)", knownOK)
	}
	if strangerMatch > 3 {
		t.Errorf("%d of 60 strangers matched, want ≤ 3 (5%%)", strangerMatch)
	}
	checkOutputs(t, lib, queries, want, photos, lfw)

	// pairs cuts off at the library's match operating point by default.
	var pj struct {
		Min float32 `json:"min"`
	}
	if err := json.Unmarshal([]byte(libRun(t, "pairs", "--json", "--library", lib)), &pj); err != nil {
		t.Fatal(err)
	}
	if m := float32(doc.Calibration.MatchThreshold); pj.Min < m-1e-4 || pj.Min > max(m, 0.29)+1e-4 {
		t.Errorf("pairs cut off at %.4f, want the match operating point %.4f", pj.Min, m)
	}
}

// checkOutputs runs check --csv --html --fail-on-match on one known and one
// stranger photo, and compare on two photos of one known person and on the
// stranger.
func checkOutputs(t *testing.T, lib, queries string, want map[string]string, photos map[string][]string, lfw string) {
	var knownFile, person, strangerFile string
	for f, p := range want {
		switch {
		case p != "" && (knownFile == "" || f < knownFile):
			knownFile, person = f, p
		case p == "" && (strangerFile == "" || f < strangerFile):
			strangerFile = f
		}
	}
	dir := t.TempDir()
	html := filepath.Join(dir, "check.html")
	env, out := libEnv(t)
	err := runEnv(t.Context(), env, []string{"check", "--csv", "--html", html, "--fail-on-match", "--library", lib,
		filepath.Join(queries, strangerFile), filepath.Join(queries, knownFile)})
	if ExitCode(err) != 3 {
		t.Errorf("check --fail-on-match with a match: exit %d (%v), want 3", ExitCode(err), err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "file,photo_verdict,face,") || !strings.Contains(lines[1], ",match,") || !strings.Contains(lines[1], person) {
		t.Errorf("check --csv (riskiest first):\n%s", out.String())
	}
	b, err := os.ReadFile(html)
	if err != nil || !strings.Contains(string(b), "Photos, riskiest first") || strings.Count(string(b), "data:image/") < 4 ||
		strings.Index(string(b), filepath.Base(knownFile)) > strings.Index(string(b), filepath.Base(strangerFile)) {
		t.Errorf("check --html (%v): %d bytes, %d crops", err, len(b), strings.Count(string(b), "data:image/"))
	}
	// compare: two photos of the known person, then one against the stranger.
	first := filepath.Join(lfw, person, photos[person][0])
	for _, tc := range []struct {
		b    string
		same bool
	}{{filepath.Join(queries, knownFile), true}, {filepath.Join(queries, strangerFile), false}} {
		out := libRun(t, "compare", "--json", "--library", lib, first, tc.b)
		var c compareJSON
		if err := json.Unmarshal([]byte(out), &c); err != nil {
			t.Fatalf("compare: %v\n%s", err, out)
		}
		if c.SamePerson != tc.same || c.FAR == nil || c.DiffPairs == 0 || (tc.same && *c.FAR > 0.01) || (!tc.same && *c.FAR < 0.01) {
			t.Errorf("compare %s %s: %+v", filepath.Base(first), filepath.Base(tc.b), c)
		}
	}
}
