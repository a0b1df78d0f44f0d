package cli

import (
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/npz"
)

// statsLibrary imports a small npz dataset: 3 persons (one with a
// non-UTF-8 name) with 2 faces each, and one malformed file.
func statsLibrary(tb testing.TB, index string) (root, lib string) {
	tb.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	root, lib = tb.TempDir(), filepath.Join(tb.TempDir(), "lib")
	for _, person := range []string{"alice", "佐藤", "\x93\xfa\x96{"} {
		writePerson(tb, root, person, npz.DefaultKey, []string{"a.jpg", "b.jpg"}, [][]float32{randVec(r, 512), randVec(r, 512)})
	}
	os.MkdirAll(filepath.Join(root, "broken"), 0o755)
	os.WriteFile(filepath.Join(root, "broken", library.NPZFile), []byte("not a zip"), 0o644)
	args := []string{"import-npz", "--library", lib}
	if index != "" {
		args = append(args, "--index", index)
	}
	if out, err := npzRun(tb, append(args, root)...); err != nil {
		tb.Fatalf("import-npz: %v\n%s", err, out)
	}
	return root, lib
}

func TestStatsJSON(t *testing.T) {
	root, lib := statsLibrary(t, "")
	_, approx := statsLibrary(t, "HNSW32")
	tests := []struct {
		name    string
		lib     string
		prepare func(t *testing.T, lib string)
		check   func(t *testing.T, d statsJSON)
	}{
		{"fresh Flat", lib, nil, func(t *testing.T, d statsJSON) {
			if d.Index.State != library.IndexFresh || d.Index.Built == nil || d.Index.Built.Type != "Flat" || !d.Index.Built.Exact ||
				d.Index.Built.Faces != 6 || d.Index.Built.RecallAt10 != nil || d.Index.StaleReason != "" {
				t.Errorf("index %+v built %+v", d.Index, d.Index.Built)
			}
		}},
		{"approximate: recall reported", approx, nil, func(t *testing.T, d statsJSON) {
			b := d.Index.Built
			if d.Index.Requested != "HNSW32" || b == nil || b.Exact || b.RecallAt10 == nil || b.RecallQueries == 0 || b.EfSearch == 0 {
				t.Errorf("index %+v built %+v", d.Index, b)
			}
		}},
		{"stale", lib, func(t *testing.T, lib string) {
			p := filepath.Join(lib, library.IndexMetaFile)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			m["generation"] = -1
			b, _ = json.Marshal(m)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, d statsJSON) {
			if d.Index.State != library.IndexStale || !strings.Contains(d.Index.StaleReason, "built from catalog generation -1") || d.Index.Built == nil {
				t.Errorf("index %+v", d.Index)
			}
		}},
		{"missing", lib, func(t *testing.T, lib string) {
			if err := os.Remove(filepath.Join(lib, library.IndexMetaFile)); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, d statsJSON) {
			if d.Index.State != library.IndexMissing || d.Index.Built != nil || d.Index.Requested != "Flat" {
				t.Errorf("index %+v", d.Index)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.prepare != nil {
				tt.prepare(t, tt.lib)
			}
			out, err := npzRun(t, "stats", "--library", tt.lib, "--json")
			if err != nil {
				t.Fatalf("stats --json: %v\n%s", err, out)
			}
			var d statsJSON
			dec := json.NewDecoder(strings.NewReader(out))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&d); err != nil {
				t.Fatalf("stats --json output: %v\n%s", err, out)
			}
			// Common to every library of statsLibrary.
			if d.Schema != StatsSchema || d.Library != tt.lib || d.Source != "npz" || d.Persons != 4 || d.Generation < 1 {
				t.Errorf("header: %+v", d)
			}
			if tt.lib == lib && d.Dataset != root {
				t.Errorf("dataset %q, want %q", d.Dataset, root)
			}
			if d.Model == nil || d.Model.ID != "japanese-face-v1" || d.Model.EmbeddingDim != 512 || d.Model.Threshold == nil || d.Model.ThresholdSource == "" {
				t.Errorf("model %+v", d.Model)
			}
			if d.Images.Total != 7 || d.Images.OK != 6 || d.Images.Failed != 1 || d.Images.ByStatus["ok"] != 6 || d.Images.ByStatus["corrupt"] != 1 {
				t.Errorf("images %+v", d.Images)
			}
			if d.Faces != (statsFacesJSON{Total: 6, Primary: 6}) {
				t.Errorf("faces %+v", d.Faces)
			}
			if len(d.Failures) != 1 || d.Failures[0].File != "broken/npKnown.npz" || d.Failures[0].Status != "corrupt" || d.Failures[0].Error == "" || d.Failures[0].FileB64 != "" {
				t.Errorf("failures %+v", d.Failures)
			}
			tt.check(t, d)
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestStatsJSONNames checks that names that are not UTF-8 come with their
// raw bytes in base64, and that an empty library prints a valid document.
func TestStatsJSONNames(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	root, lib := t.TempDir(), filepath.Join(t.TempDir(), "lib")
	bad := "\x93\xfa\x96{"
	os.MkdirAll(filepath.Join(root, bad), 0o755)
	os.WriteFile(filepath.Join(root, bad, library.NPZFile), []byte("PK junk"), 0o644)
	writePerson(t, root, "alice", npz.DefaultKey, []string{"a.jpg"}, [][]float32{randVec(r, 512)})
	if out, err := npzRun(t, "import-npz", "--library", lib, root); err != nil {
		t.Fatalf("import-npz: %v\n%s", err, out)
	}
	out, err := npzRun(t, "stats", "--library", lib, "--json")
	if err != nil {
		t.Fatalf("stats --json: %v\n%s", err, out)
	}
	var d statsJSON
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("stats --json output: %v\n%s", err, out)
	}
	if len(d.Failures) != 1 || d.Failures[0].FileB64 != base64.StdEncoding.EncodeToString([]byte(bad+"/npKnown.npz")) ||
		!strings.HasSuffix(d.Failures[0].File, "/npKnown.npz") {
		t.Errorf("failures %+v", d.Failures)
	}

	// An empty library: arrays and maps are empty, not null.
	emptyRoot, empty := t.TempDir(), filepath.Join(t.TempDir(), "empty")
	if out, err := npzRun(t, "import-npz", "--library", empty, emptyRoot); err != nil {
		t.Fatalf("import-npz of an empty dataset: %v\n%s", err, out)
	}
	out, err = npzRun(t, "stats", "--library", empty, "--json")
	if err != nil {
		t.Fatalf("stats --json: %v\n%s", err, out)
	}
	for _, want := range []string{`"failures": []`, `"by_status": {}`, `"persons": 0`} {
		if !strings.Contains(out, want) {
			t.Errorf("empty library: output lacks %s:\n%s", want, out)
		}
	}
}
