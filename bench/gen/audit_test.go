package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/cli"
	"github.com/facesearch/facesearch/internal/testenv"
)

// TestAuditFindsPlantedSplits imports a generated FACE01-style dataset (500
// people, 20 of them split across <name> and <name>_dup, no duplicate
// photos) with import-npz and checks that audit ranks the 20 splits in its
// top 25 and calls nothing byte-identical: npz rows carry no image bytes.
func TestAuditFindsPlantedSplits(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and audits 5,764 faces")
	}
	o := DefaultOptions()
	o.Out = filepath.Join(t.TempDir(), "root")
	o.People, o.Faces, o.Split, o.Queries, o.Workers = 500, 5764, 20, 0, 1
	generate(t, o)
	lib := filepath.Join(t.TempDir(), "lib")
	home := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		// The manifest is built in; no model file needed.
		for k, v := range testenv.CLIEnv(home) {
			t.Setenv(k, v)
		}
		if err := cli.Run(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("facesearch %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String()
	}
	run("import-npz", "--library", lib, o.Out)
	var a struct {
		Schema   string `json:"schema"`
		Findings []struct {
			Kind     string   `json:"kind"`
			Severity string   `json:"severity"`
			Persons  []string `json:"persons"`
			Reason   string   `json:"reason"`
		} `json:"findings"`
	}
	out := run("audit", "--library", lib, "--json", "--top", "0")
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("audit json: %v", err)
	}
	f, err := os.Open(filepath.Join(o.Out, "planted.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != 21 {
		t.Fatalf("planted.csv: %d records, %v", len(recs), err)
	}
	planted := map[string]bool{}
	for _, r := range recs[1:] {
		ps := []string{r[0], r[1]}
		slices.Sort(ps)
		planted[strings.Join(ps, "\x00")] = true
	}
	const top = 25
	found := 0
	for k, f := range a.Findings {
		if strings.Contains(f.Reason, "byte-identical") {
			t.Errorf("finding %d claims byte-identical files: %s", k+1, f.Reason)
		}
		ps := slices.Clone(f.Persons)
		slices.Sort(ps)
		if k < top && f.Kind == "same-person" && planted[strings.Join(ps, "\x00")] {
			found++
		}
		if k < 30 {
			t.Logf("%2d %-6s %-11s %s", k+1, f.Severity, f.Kind, f.Reason)
		}
	}
	t.Logf("planted splits in the top %d: %d/%d; findings: %d", top, found, len(planted), len(a.Findings))
	if found != len(planted) {
		t.Errorf("planted splits in the top %d: %d, want %d", top, found, len(planted))
	}
}
