package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/ort/orttest"
	"github.com/facesearch/facesearch/internal/testenv"
)

// TestAdaptEastAsianSplit is issue 13's protocol on real photos: after
// nothing but 'index', the library emulated from the first 20 East-Asian
// people (60% of each one's photos) searched with their other photos and
// with the 8 other people as strangers. The adapted similarity, calibrated
// by cross-fitting, must be kept, match more mated photos than the raw
// cosine, and let through at most 2% of the strangers.
func TestAdaptEastAsianSplit(t *testing.T) {
	orttest.Manifest(t)
	if testing.Short() {
		t.Skip("embeds about 1,040 real photos")
	}
	ea := testenv.FacesSet(t, "east_asian")
	lib := filepath.Join(t.TempDir(), "lib")
	runCLI(t, "index", "--library", lib, ea)
	var rep evalLibraryReport
	out := runCLI(t, "eval", "library", "--library", lib, "--split-people", "20", "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("eval library --json: %v\n%s", err, out)
	}
	s := rep.Split
	if s == nil || s.Adapted == nil {
		t.Fatalf("no split or adapted outcome: %s", out)
	}
	t.Logf("raw %.1f%% mated, %.1f%% strangers; %s %.1f%% mated, %.1f%% strangers (%d mated, %d strangers)",
		100*s.Raw.MatedRate, 100*s.Raw.StrangerRate, s.Adapted.Similarity, 100*s.Adapted.MatedRate, 100*s.Adapted.StrangerRate, s.MatedQueries, s.Strangers)
	if s.LibraryFolders != 20 || s.StrangerFolders != 8 || s.MatedQueries < 300 || s.Strangers < 180 {
		t.Errorf("split %d folders / %d strangers folders, %d mated, %d strangers", s.LibraryFolders, s.StrangerFolders, s.MatedQueries, s.Strangers)
	}
	if !strings.HasPrefix(s.Chosen, "adapted:") {
		t.Errorf("chosen %q: the adaptation was not kept (%s)", s.Chosen, s.Selection.Reason)
	}
	if s.Adapted.StrangerRate > 0.02 {
		t.Errorf("adapted: %.1f%% of strangers match, want at most 2%%", 100*s.Adapted.StrangerRate)
	}
	if s.Adapted.MatedRate < s.Raw.MatedRate+0.03 {
		t.Errorf("adapted %.1f%% mated matches, raw %.1f%%: want 3 points more", 100*s.Adapted.MatedRate, 100*s.Raw.MatedRate)
	}
	// The leave-one-folder-out calibration on the fitted folders leaks:
	// it lets through more strangers than the cross-fitted one.
	if s.Leaky.StrangerRate <= s.Adapted.StrangerRate {
		t.Errorf("leaky calibration %.1f%% strangers, cross-fitted %.1f%%: the leak did not show", 100*s.Leaky.StrangerRate, 100*s.Adapted.StrangerRate)
	}
	// The index run itself fitted the adaptation on the whole library
	// (28 people) and the search says which similarity it used.
	var aj adaptJSON
	if err := json.Unmarshal([]byte(runCLI(t, "adapt", "--library", lib, "--json")), &aj); err != nil {
		t.Fatal(err)
	}
	if aj.Selection == nil || aj.Faces < 1000 || aj.Folders != 28 {
		t.Errorf("adapt after index: %+v", aj)
	}
	if aj.Kept != strings.HasPrefix(aj.Similarity, "adapted:") {
		t.Errorf("kept %v but searches use %q", aj.Kept, aj.Similarity)
	}
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
		{[]string{"eval", "library", "--library", filepath.Join(dir, "none")}, 1, "no library"},
	} {
		_, _, err := runEvalCmd(t, tc.args...)
		if err == nil || ExitCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v (exit %d), want exit %d and %q", tc.args, err, ExitCode(err), tc.code, tc.want)
		}
	}
}
