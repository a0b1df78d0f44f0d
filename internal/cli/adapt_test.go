package cli

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/ort/orttest"
	"github.com/facesearch/facesearch/internal/testenv"
)

// TestAdaptEastAsianSplit is issue 13's done-when on real photos, through
// the commands a user runs: the library is the first 20 East-Asian people
// (sorted by name) with the first 60% of each one's photos (sorted by
// name); after nothing but 'index', 'check' the other 40% (mated: a match
// must name the right person) and the 8 other people's photos (strangers).
func TestAdaptEastAsianSplit(t *testing.T) {
	orttest.Manifest(t)
	if testing.Short() {
		t.Skip("embeds about 1,020 real photos")
	}
	r := eastAsianRun(t, 0)
	if r.mN < 300 || r.sN < 180 {
		t.Errorf("%d mated, %d stranger photos with a face", r.mN, r.sN)
	}
	// The target is 87%, not reached (docs/ADAPTATION.md: at the
	// strangers' own 1% point no best-face similarity measured reaches it
	// here; the top3 scores do but let 9.3% of rotation 14's strangers
	// through). The folds put a WCCN ahead, the certification on the whole
	// library rejects it (78.6% vs 79.2% raw), and the raw cosine with the
	// split-half alias guard gives 77.4% (250/323) at 0.5% (1/193); kept
	// (before the certification) the WCCN gave 62.5-66.6%. The floor fails
	// if the choice or the verdicts regress (an uncalibrated library gives
	// no match at all).
	if float64(r.mRight) < 0.70*float64(r.mN) {
		t.Errorf("mated: %d of %d photos match the right person, want at least 70%%", r.mRight, r.mN)
	}
	if float64(r.sMatch) > 0.02*float64(r.sN) {
		t.Errorf("strangers: %d of %d photos match, want at most 2%%", r.sMatch, r.sN)
	}
}

// TestAdaptEastAsianRotations measures the split with the 28 folders
// rotated (FACESEARCH_EA_ROTATIONS="0 7 14 21": the library is the 20
// people from that position, wrapping). Measurement only: it asserts the
// calibration is the searches' similarity, and logs the rates.
func TestAdaptEastAsianRotations(t *testing.T) {
	rots := os.Getenv("FACESEARCH_EA_ROTATIONS")
	if rots == "" || testing.Short() {
		t.Skip("set FACESEARCH_EA_ROTATIONS (e.g. \"0 14\") to measure rotated East-Asian splits")
	}
	orttest.Manifest(t)
	for _, f := range strings.Fields(rots) {
		r, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("FACESEARCH_EA_ROTATIONS: %v", err)
		}
		t.Run("r"+f, func(t *testing.T) { eastAsianRun(t, r) })
	}
}

type eastAsianResult struct {
	mRight, mN, sMatch, sN int
	sim                    string
}

// eastAsianRun builds the split at rotation rot, runs index then check on
// mated/ and strangers/, and returns the counts; it fails the test if
// check's calibration is not of the similarity searches use.
func eastAsianRun(t *testing.T, rot int) eastAsianResult {
	t.Helper()
	ea := testenv.FacesSet(t, "east_asian")
	root := t.TempDir()
	libDir, matedDir, strDir := eastAsianSplit(t, ea, root, 20, 0.6, rot)
	lib := filepath.Join(root, "L")
	runCLI(t, "index", "--library", lib, libDir)
	var aj adaptJSON
	if err := json.Unmarshal([]byte(runCLI(t, "adapt", "--library", lib, "--json")), &aj); err != nil {
		t.Fatal(err)
	}
	if aj.Folders != 20 {
		t.Fatalf("adapt after index: %d folders", aj.Folders)
	}
	check := func(dir string) (match, right, photos int, sim, status string) {
		var out struct {
			Calibration struct {
				Similarity string `json:"similarity"`
				Status     string `json:"status"`
			} `json:"calibration"`
			Photos []struct {
				File    string `json:"file"`
				Verdict string `json:"verdict"`
				Person  string `json:"person"`
			} `json:"photos"`
		}
		js := runCLI(t, "check", "--json", "--library", lib, dir)
		if err := json.Unmarshal([]byte(js), &out); err != nil {
			t.Fatalf("check --json: %v", err)
		}
		for _, p := range out.Photos {
			if p.Verdict == "no_face" || p.Verdict == "error" {
				continue
			}
			photos++
			if p.Verdict == "match" {
				match++
				if p.Person == filepath.Base(filepath.Dir(p.File)) {
					right++
				}
			}
		}
		return match, right, photos, out.Calibration.Similarity, out.Calibration.Status
	}
	var r eastAsianResult
	var status string
	_, r.mRight, r.mN, r.sim, status = check(matedDir)
	r.sMatch, _, r.sN, _, _ = check(strDir)
	t.Logf("rotation %d: %s (kept %v, %s; selection best %s %.1f%% vs raw %.1f%%): mated %d/%d match the right person (%.1f%%), strangers %d/%d match (%.1f%%)",
		rot, r.sim, aj.Kept, status, aj.Selection.Best.Params, 100*aj.Selection.Best.MatedRate, 100*aj.Selection.Raw.MatedRate,
		r.mRight, r.mN, 100*float64(r.mRight)/float64(r.mN), r.sMatch, r.sN, 100*float64(r.sMatch)/float64(r.sN))
	if r.sim != aj.Similarity {
		t.Errorf("check calibrated in %q, searches use %q", r.sim, aj.Similarity)
	}
	return r
}

// eastAsianSplit builds the split of set under root as symlinks:
// lib/ and mated/ hold the people folders from position rot of the sorted
// list (wrapping; the split is rot 0), the first share of each
// one's photos (sorted) in lib/; strangers/ the other folders.
func eastAsianSplit(tb testing.TB, set, root string, people int, share float64, rot int) (lib, mated, strangers string) {
	tb.Helper()
	lib, mated, strangers = filepath.Join(root, "lib"), filepath.Join(root, "mated"), filepath.Join(root, "strangers")
	folders, err := os.ReadDir(set)
	if err != nil {
		tb.Fatal(err)
	}
	var dirs []os.DirEntry
	for _, f := range folders { // ReadDir sorts by name
		if f.IsDir() {
			dirs = append(dirs, f)
		}
	}
	for k, f := range dirs {
		files, err := os.ReadDir(filepath.Join(set, f.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		var photos []string
		for _, p := range files {
			if !p.IsDir() && imageExt(p.Name()) {
				photos = append(photos, p.Name())
			}
		}
		n := int(math.Ceil(share * float64(len(photos))))
		for i, p := range photos {
			dst := strangers
			if (k-rot+len(dirs))%len(dirs) < people {
				dst = mated
				if i < n {
					dst = lib
				}
			}
			dir := filepath.Join(dst, f.Name())
			if err := os.MkdirAll(dir, 0o755); err != nil {
				tb.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(set, f.Name(), p), filepath.Join(dir, p)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return lib, mated, strangers
}

func imageExt(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif":
		return true
	}
	return false
}

func TestAdaptAndEvalLibraryUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"adapt", "--similarity", "cosine"}, 2, "want raw, adapted or auto"},
		{[]string{"adapt", "--fpir", "0"}, 2, "--fpir"},
		{[]string{"adapt", "x"}, 2, "no arguments"},
		{[]string{"eval", "library", "--fpir", "1.5"}, 2, "--fpir"},
		{[]string{"eval", "library", "--folds", "1"}, 2, "--folds"},
		{[]string{"eval", "library", "--split-share", "1"}, 2, "--split-share"},
		{[]string{"eval", "library", "x"}, 2, "no arguments"},
		{[]string{"eval", "library", "--person-scores", "top3"}, 2, "want max or all"},
		{[]string{"adapt", "--person-scores", "mean"}, 2, "want max or all"},
		{[]string{"eval", "library", "--library", filepath.Join(dir, "none")}, 1, "no library"},
	} {
		_, _, err := runEvalCmd(t, tc.args...)
		if err == nil || ExitCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v (exit %d), want exit %d and %q", tc.args, err, ExitCode(err), tc.code, tc.want)
		}
	}
}
