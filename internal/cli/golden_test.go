package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/npz"
	"github.com/facesearch/facesearch/internal/testenv"
)

// normalizeJSON makes a JSON document comparable across runs: the given
// directories become placeholders, durations and timestamps zero.
func normalizeJSON(tb testing.TB, doc string, dirs map[string]string) string {
	tb.Helper()
	for dir, name := range dirs {
		doc = strings.ReplaceAll(doc, dir, name)
	}
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		tb.Fatalf("not JSON: %v\n%s", err, doc)
	}
	var walk func(any)
	walk = func(x any) {
		switch t := x.(type) {
		case map[string]any:
			for k, e := range t {
				if strings.HasSuffix(k, "_seconds") {
					t[k] = 0
				} else if k == "built_at" {
					t[k] = "TIME"
				} else {
					walk(e)
				}
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(v)
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b) + "\n"
}

// checkGolden compares got with testdata/NAME (refresh: -update).
func checkGolden(tb testing.TB, name, got string) {
	tb.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		tb.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, []byte(got)) {
		tb.Errorf("%s differs (run with -update if intended):\n%s", golden, got)
	}
}

// schemaFirst checks that a command's JSON starts with its schema.
func schemaFirst(tb testing.TB, doc, schema string) {
	tb.Helper()
	if !strings.HasPrefix(strings.TrimSpace(doc), `{`+"\n"+`  "schema": "`+schema+`"`) {
		tb.Errorf("document does not start with schema %s:\n%.200s", schema, doc)
	}
}

// goldenLibrary imports 6 people with 4 faces each (clustered random
// vectors, fixed seed) and one malformed file.
func goldenLibrary(tb testing.TB) (root, lib string) {
	tb.Helper()
	r := rand.New(rand.NewPCG(7, 8))
	root, lib = tb.TempDir(), filepath.Join(tb.TempDir(), "lib")
	for _, person := range []string{"alice", "bob", "carol", "佐藤", "dave", "erin"} {
		centre := randVec(r, 512)
		var vecs [][]float32
		for range 4 {
			v := randVec(r, 512)
			for k := range v {
				v[k] = centre[k] + 0.6*v[k]
			}
			vecs = append(vecs, v)
		}
		writePerson(tb, root, person, npz.DefaultKey, []string{"a.jpg", "b.jpg", "c.jpg", "d.jpg"}, vecs)
	}
	os.MkdirAll(filepath.Join(root, "broken"), 0o755)
	os.WriteFile(filepath.Join(root, "broken", "npKnown.npz"), []byte("not a zip"), 0o644)
	if out, err := npzRun(tb, "import-npz", "--library", lib, root); err != nil {
		tb.Fatalf("import-npz: %v\n%s", err, out)
	}
	return root, lib
}

func TestGoldenJSON(t *testing.T) {
	root, lib := goldenLibrary(t)
	dirs := map[string]string{root: "$DATASET", lib: "$LIBRARY"}
	tests := []struct {
		name, schema string
		args         []string
	}{
		{"stats.golden.json", StatsSchema, []string{"stats", "--json", "--library", lib}},
		{"calibrate.golden.json", CalibrateSchema, []string{"calibrate", "--json", "--dry-run", "--library", lib}},
		{"models.golden.json", ModelsSchema, []string{"models", "list", "--json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := npzRun(t, tc.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			schemaFirst(t, out, tc.schema)
			var home map[string]any
			json.Unmarshal([]byte(out), &home)
			d := dirs
			if h, ok := home["home"].(string); ok {
				d = map[string]string{h: "$FACESEARCH_HOME"}
			}
			checkGolden(t, tc.name, normalizeJSON(t, out, d))
		})
	}
}

// TestGoldenIndexJSON indexes three face_recognition people with the real
// models and compares `index --json` (then a second, incremental run).
func TestGoldenIndexJSON(t *testing.T) {
	env, out := libEnv(t)
	src := testenv.FacesSet(t, "face_recognition")
	root := t.TempDir()
	for _, p := range []string{"alex_lacamoire", "biden", "kit_harington"} {
		files, _ := os.ReadDir(filepath.Join(src, p))
		for _, f := range files {
			testenv.CopyFile(t, filepath.Join(src, p, f.Name()), filepath.Join(root, p, f.Name()))
		}
	}
	os.WriteFile(filepath.Join(root, "biden", "notes.jpg"), []byte("not an image"), 0o644)
	lib := filepath.Join(t.TempDir(), "lib")
	dirs := map[string]string{root: "$DATASET", lib: "$LIBRARY"}
	for _, name := range []string{"index.golden.json", "index-again.golden.json"} {
		out.Reset()
		if err := runEnv(context.Background(), env, []string{"index", "--json", "--library", lib, root}); err != nil {
			t.Fatalf("index: %v\n%s", err, out.String())
		}
		schemaFirst(t, out.String(), IndexSchema)
		checkGolden(t, name, normalizeJSON(t, out.String(), dirs))
	}
}
