package cli

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/verdict"
)

// TestVerdictReadOnly: search never computes or writes verdict.json. A
// stored calibration of an older generation still judges, and the answer
// says it is stale; with none stored, the answer is uncalibrated and no
// file appears.
func TestVerdictReadOnly(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	lib, _, centres := plantedLibrary(t, r, 40, 10)
	vf := filepath.Join(lib, library.VerdictFile)
	b, err := os.ReadFile(vf)
	if err != nil {
		t.Fatal(err)
	}
	// Make the stored calibration one generation old (as if index had been
	// interrupted before its refresh).
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	gen := int64(m["generation"].(float64)) - 1
	m["generation"] = gen
	old, _ := json.Marshal(m)
	if err := os.WriteFile(vf, old, 0o644); err != nil {
		t.Fatal(err)
	}
	known := plantedFace(r, centres[3])
	d := searchVectors(t, lib, known)
	if d.Calibration.Status != verdict.StatusCalibrated || !strings.Contains(d.Calibration.Stale, "calibrated at generation") || !strings.Contains(d.Calibration.Stale, "run index to refresh") {
		t.Errorf("stale calibration: %+v", d.Calibration)
	}
	if q := d.Queries[0]; q.Verdict != verdict.Match || q.Person != "person03" {
		t.Errorf("judged with the stale calibration: %+v", q)
	}
	if now, _ := os.ReadFile(vf); !bytes.Equal(now, old) {
		t.Error("search rewrote verdict.json")
	}
	// None stored: uncalibrated, and search does not make one.
	if err := os.Remove(vf); err != nil {
		t.Fatal(err)
	}
	d = searchVectors(t, lib, known)
	if d.Calibration.Status != verdict.StatusUncalibrated || !strings.Contains(d.Calibration.Reason, "no calibration stored") || d.Queries[0].Verdict != verdict.Uncalibrated {
		t.Errorf("no calibration: %+v %+v", d.Calibration, d.Queries[0])
	}
	if _, err := os.Stat(vf); !os.IsNotExist(err) {
		t.Errorf("search wrote verdict.json: %v", err)
	}
}
