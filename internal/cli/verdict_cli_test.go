package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/npz"
	"github.com/facesearch/facesearch/internal/testenv"
	"github.com/facesearch/facesearch/internal/verdict"
)

// plantedPerson returns n unit vectors around a random centre: same-person
// cosines about 0.6, different people about 0.
func plantedPerson(r *rand.Rand, dim, n int) (centre []float32, vecs [][]float32) {
	centre = unitVec(randVec(r, dim))
	for i := 0; i < n; i++ {
		vecs = append(vecs, plantedFace(r, centre))
	}
	return centre, vecs
}

func plantedFace(r *rand.Rand, centre []float32) []float32 {
	v := make([]float32, len(centre))
	noise := 0.8 / math.Sqrt(float64(len(centre)))
	for i := range v {
		v[i] = centre[i] + float32(noise*r.NormFloat64())
	}
	return unitVec(v)
}

func unitVec(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(s))
	}
	return v
}

// plantedLibrary imports people folders of per vectors each (npz, no model).
func plantedLibrary(t *testing.T, r *rand.Rand, people, per int) (lib, root string, centres [][]float32) {
	t.Helper()
	root = t.TempDir()
	for p := 0; p < people; p++ {
		c, vecs := plantedPerson(r, 512, per)
		var names []string
		for i := range vecs {
			names = append(names, fmt.Sprintf("p%02d_%d.jpg", p, i))
		}
		writePerson(t, root, fmt.Sprintf("person%02d", p), npz.DefaultKey, names, vecs)
		centres = append(centres, c)
	}
	lib = filepath.Join(t.TempDir(), "lib")
	if out, err := npzRun(t, "import-npz", "--library", lib, root); err != nil {
		t.Fatalf("import-npz: %v\n%s", err, out)
	}
	return lib, root, centres
}

type searchDoc struct {
	Calibration calibrationJSON `json:"calibration"`
	Queries     []struct {
		Verdict      string   `json:"verdict"`
		Person       string   `json:"person"`
		Similarity   float64  `json:"similarity"`
		StrangerRate *float64 `json:"stranger_rate"`
		StrangerText string   `json:"stranger_text"`
		Margin       *float64 `json:"margin"`
		Results      []struct {
			Verdict    string `json:"verdict"`
			SamePerson bool   `json:"same_person"`
		} `json:"results"`
	} `json:"queries"`
}

func searchVectors(t *testing.T, lib string, vecs ...[]float32) searchDoc {
	t.Helper()
	f := filepath.Join(t.TempDir(), "q.npy")
	var flat []float32
	for _, v := range vecs {
		flat = append(flat, v...)
	}
	testenv.WriteNpy2(t, f, flat, len(vecs), len(vecs[0]))
	out, err := npzRun(t, "search", "--json", "--library", lib, "--vector", f, "-k", "3")
	if err != nil {
		t.Fatalf("search: %v\n%s", err, out)
	}
	var d searchDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(d.Queries) != len(vecs) {
		t.Fatalf("%d queries, want %d", len(d.Queries), len(vecs))
	}
	return d
}

// TestVerdictPlanted: a calibrated library (refreshed by import-npz itself)
// calls a new photo of a known person a match and a stranger no_match, with
// the stranger rate and margin; the per-row verdicts follow the same points.
func TestVerdictPlanted(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	lib, root, centres := plantedLibrary(t, r, 40, 10)
	if _, err := os.Stat(filepath.Join(lib, library.VerdictFile)); err != nil {
		t.Fatalf("import-npz did not store the calibration: %v", err)
	}
	known := plantedFace(r, centres[5])
	stranger := unitVec(randVec(r, 512))
	d := searchVectors(t, lib, known, stranger)
	if d.Calibration.Status != verdict.StatusCalibrated || d.Calibration.NonMatedSearches != 400 {
		t.Fatalf("calibration %+v", d.Calibration)
	}
	k, s := d.Queries[0], d.Queries[1]
	if k.Verdict != verdict.Match || k.Person != "person05" || k.Margin == nil || *k.Margin < 0.3 || k.StrangerRate == nil || *k.StrangerRate != 0 || k.StrangerText != "none of 400 strangers (fewer than 1 in 134, 95%)" {
		t.Errorf("known person: %+v", k)
	}
	if k.Results[0].Verdict != verdict.Match || !k.Results[0].SamePerson {
		t.Errorf("known person's first row: %+v", k.Results[0])
	}
	if s.Verdict != verdict.NoMatch || s.StrangerRate == nil || *s.StrangerRate < 0.1 {
		t.Errorf("stranger: %+v", s)
	}
	for _, row := range s.Results {
		if row.SamePerson || row.Verdict == verdict.Match {
			t.Errorf("stranger's row %+v", row)
		}
	}
	// The calibration is stored for the catalog's generation; a change to
	// the dataset and a new import refresh it, with no other command.
	l := libOpen(t, lib)
	c, fresh, err := l.Calibration(t.Context())
	if err != nil || !fresh || c.NonMatedSearches != 400 {
		t.Fatalf("stored calibration: fresh %v, %v, %+v", fresh, err, c)
	}
	gen := c.Generation
	for p := 0; p < 3; p++ {
		_, vecs := plantedPerson(r, 512, 4)
		writePerson(t, root, fmt.Sprintf("new%02d", p), npz.DefaultKey, []string{"a.jpg", "b.jpg", "c.jpg", "d.jpg"}, vecs)
	}
	if _, fresh, _ := l.Calibration(t.Context()); !fresh {
		t.Error("calibration stale before the catalog changed")
	}
	if out, err := npzRun(t, "import-npz", "--library", lib, root); err != nil || !strings.Contains(out, "verdicts: match ≥") {
		t.Fatalf("re-import (%v):\n%s", err, out)
	}
	c2, fresh, err := l.Calibration(t.Context())
	if err != nil || !fresh || c2.Generation == gen || c2.NonMatedSearches <= 400 {
		t.Errorf("after re-import: fresh %v (%v), generation %d (was %d), %d non-mated searches, want more than 400 (3 new folders)", fresh, err, c2.Generation, gen, c2.NonMatedSearches)
	}
	// The text output says it too.
	f := filepath.Join(t.TempDir(), "s.npy")
	testenv.WriteNpy2(t, f, stranger, 1, 512)
	out, err := npzRun(t, "search", "--library", lib, "--vector", f)
	if err != nil || !strings.Contains(out, "no confident match") || !strings.Contains(out, "a stranger scores this high 1 time in") {
		t.Errorf("search text (%v):\n%s", err, out)
	}
}

// TestVerdictUncalibrated: a library too small says so instead of giving
// verdicts.
func TestVerdictUncalibrated(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	lib, _, centres := plantedLibrary(t, r, 4, 3)
	d := searchVectors(t, lib, plantedFace(r, centres[1]))
	q := d.Queries[0]
	if d.Calibration.Status != verdict.StatusUncalibrated || !strings.Contains(d.Calibration.Reason, "non-mated searches") {
		t.Errorf("calibration %+v", d.Calibration)
	}
	if q.Verdict != verdict.Uncalibrated || q.StrangerRate != nil || q.Person != "person01" {
		t.Errorf("query %+v", q)
	}
}

// TestCalibrateDegenerate: folders whose photos are exact copies of each
// other plus one photo filed in two folders push the pairwise threshold to
// ~1; calibrate refuses to store it without --force, and --reset goes back
// to the manifest's.
func TestCalibrateDegenerate(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	root := t.TempDir()
	shared := unitVec(randVec(r, 512))
	for p := 0; p < 4; p++ {
		v := unitVec(randVec(r, 512))
		if p < 2 {
			v = plantedFace(rand.New(rand.NewPCG(uint64(p), 1)), shared)
			for i := range v { // nearly the same photo in folders 0 and 1
				v[i] = shared[i] + 0.01*v[i]
			}
			v = unitVec(v)
		}
		writePerson(t, root, fmt.Sprintf("dup%d", p), npz.DefaultKey, []string{"a.jpg", "b.jpg"}, [][]float32{v, v})
	}
	lib := filepath.Join(t.TempDir(), "lib")
	if out, err := npzRun(t, "import-npz", "--library", lib, root); err != nil {
		t.Fatalf("import-npz: %v\n%s", err, out)
	}
	out, err := npzRun(t, "calibrate", "--library", lib)
	if err == nil || !strings.Contains(out, "not stored") || !strings.Contains(err.Error(), "degenerate") {
		t.Fatalf("calibrate accepted a degenerate threshold (%v):\n%s", err, out)
	}
	l := libOpen(t, lib)
	if _, src, err := l.Threshold(t.Context(), nil); err != nil || src != library.ThresholdManifest {
		t.Errorf("after refusal the threshold comes from %q (%v)", src, err)
	}
	if out, err := npzRun(t, "calibrate", "--library", lib, "--force"); err != nil || !strings.Contains(out, "stored threshold") {
		t.Fatalf("calibrate --force (%v):\n%s", err, out)
	}
	if th, src, _ := l.Threshold(t.Context(), nil); src != library.ThresholdCalibrated || th < 0.99 {
		t.Errorf("--force stored %v from %s", th, src)
	}
	if out, err := npzRun(t, "calibrate", "--library", lib, "--reset"); err != nil || !strings.Contains(out, "threshold reset to") {
		t.Fatalf("calibrate --reset (%v):\n%s", err, out)
	}
	if _, src, _ := l.Threshold(t.Context(), nil); src != library.ThresholdManifest {
		t.Errorf("after --reset the threshold comes from %s", src)
	}
}
