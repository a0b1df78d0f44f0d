package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/npz"
)

// npzEnv runs facesearch with an empty FACESEARCH_HOME (no model files).
func npzRun(tb testing.TB, args ...string) (string, error) {
	tb.Helper()
	home := tb.TempDir()
	var out bytes.Buffer
	env := &cmdEnv{Stdout: &out, Stderr: io.Discard, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Getenv: func(k string) string {
			switch k {
			case "FACESEARCH_HOME":
				return home
			case "LANG", "LC_ALL", "LC_MESSAGES", "FACESEARCH_LIBRARY":
				return ""
			}
			return os.Getenv(k)
		}}
	err := runEnv(context.Background(), env, args)
	return out.String(), err
}

func randVec(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// writePerson writes root/person/npKnown.npz with the given rows.
func writePerson(tb testing.TB, root, person, key string, names []string, vecs [][]float32) {
	tb.Helper()
	p := &npz.Person{Names: names, Dim: len(vecs[0])}
	for _, v := range vecs {
		p.Vectors = append(p.Vectors, v...)
	}
	dir := filepath.Join(root, person)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := npz.WriteFile(filepath.Join(dir, library.NPZFile), key, p); err != nil {
		tb.Fatal(err)
	}
}

func writeNpy(tb testing.TB, path string, v []float32) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := npy.Write(f, v); err != nil {
		tb.Fatal(err)
	}
}

func TestImportNPZ(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	root, lib := t.TempDir(), filepath.Join(t.TempDir(), "lib")
	vec := map[string][]float32{}
	for _, person := range []string{"alice", "bob", "佐藤"} {
		var names []string
		var vecs [][]float32
		for i := range 3 {
			name := person + "_" + string(rune('a'+i)) + ".jpg"
			v := randVec(r, 512)
			vec[person+"/"+name] = v
			names, vecs = append(names, name), append(vecs, v)
		}
		writePerson(t, root, person, npz.DefaultKey, names, vecs)
	}
	// Malformed files: not a zip, a missing key, the wrong dimension.
	os.MkdirAll(filepath.Join(root, "broken"), 0o755)
	os.WriteFile(filepath.Join(root, "broken", library.NPZFile), []byte("not a zip"), 0o644)
	writePerson(t, root, "dlibonly", "dlib", []string{"x.jpg"}, [][]float32{randVec(r, 128)})
	writePerson(t, root, "short", npz.DefaultKey, []string{"x.jpg"}, [][]float32{randVec(r, 128)})
	os.MkdirAll(filepath.Join(root, "photos_only"), 0o755)

	out, err := npzRun(t, "import-npz", "--library", lib, root)
	if err != nil {
		t.Fatalf("import-npz: %v\n%s", err, out)
	}
	for _, w := range []string{"6 found; 0 unchanged, 6 read", "faces written: 9", "failed: 3",
		"corrupt     broken/npKnown.npz: not an npz (zip) archive", `dlibonly/npKnown.npz: missing array "efficientnetv2_arcface" (arrays present: dlib, name)`,
		"short/npKnown.npz: array \"efficientnetv2_arcface\" holds 128-d embeddings, model japanese-face-v1 makes 512-d ones",
		"folders without npKnown.npz: 1", "photos_only", "index: Flat, 9 faces", "facesearch models add japanese-face-v1 FILE.onnx"} {
		if !strings.Contains(out, w) {
			t.Errorf("first import output lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}

	// search --vector finds the face; a noisy copy ranks it first.
	q := append([]float32(nil), vec["佐藤/佐藤_b.jpg"]...)
	for i := range q {
		q[i] = 2*q[i] + 0.3*float32(r.NormFloat64())
	}
	qf := filepath.Join(t.TempDir(), "q.npy")
	writeNpy(t, qf, q)
	out, err = npzRun(t, "search", "--library", lib, "--vector", qf, "-k", "2", "--json")
	if err != nil {
		t.Fatalf("search: %v\n%s", err, out)
	}
	if !strings.Contains(out, `"rank": 1,`) || !strings.Contains(out, `"path": "佐藤/佐藤_b.jpg"`) || strings.Index(out, `"佐藤/佐藤_b.jpg"`) > strings.Index(out, `"rank": 2`) {
		t.Errorf("search --vector did not rank 佐藤/佐藤_b.jpg first:\n%s", out)
	}
	// A photo search needs the model file, and says how to add it.
	if out, err := npzRun(t, "search", "--library", lib, filepath.Join(root, "x.jpg")); err == nil || !strings.Contains(err.Error(), "models add japanese-face-v1") {
		t.Errorf("photo search without the model: %v, want the add hint\n%s", err, out)
	}
	out, _ = npzRun(t, "stats", "--library", lib)
	if !strings.Contains(out, "failures  3") || !strings.Contains(out, "broken/npKnown.npz") {
		t.Errorf("stats does not list the malformed files:\n%s", out)
	}

	// Unchanged: nothing read but the two wrong-key files (an error, retried:
	// a later run with the right --key must read them), index kept.
	out, err = npzRun(t, "import-npz", "--library", lib, root)
	if err != nil || !strings.Contains(out, "4 unchanged, 2 read, 0 touched, 0 deleted") || !strings.Contains(out, "up to date") {
		t.Errorf("re-import of unchanged files: %v\n%s", err, out)
	}
	// Touched (same bytes, new mtime): no rewrite.
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(root, "alice", library.NPZFile), later, later)
	out, err = npzRun(t, "import-npz", "--library", lib, root)
	if err != nil || !strings.Contains(out, "3 unchanged, 2 read, 1 touched") || !strings.Contains(out, "up to date") {
		t.Errorf("re-import of a touched file: %v\n%s", err, out)
	}
	// Changed: bob now has one face; deleted: 佐藤 goes; fixed: broken.
	writePerson(t, root, "bob", npz.DefaultKey, []string{"new.jpg"}, [][]float32{randVec(r, 512)})
	os.RemoveAll(filepath.Join(root, "佐藤"))
	writePerson(t, root, "broken", npz.DefaultKey, []string{"ok.jpg", "ok.jpg"}, [][]float32{randVec(r, 512), randVec(r, 512)})
	out, err = npzRun(t, "import-npz", "--library", lib, root)
	if err != nil || !strings.Contains(out, "5 found; 1 unchanged, 4 read, 0 touched, 1 deleted") || !strings.Contains(out, "faces written: 3") ||
		!strings.Contains(out, "index: Flat, 6 faces, rebuilt") {
		t.Errorf("re-import after changes: %v\n%s", err, out)
	}
	l := libOpen(t, lib)
	rows, err := l.Faces(context.Background(), library.FacesOptions{All: true, Placeholders: true})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i, r := range rows {
		if i == 0 || r.ImageID != rows[i-1].ImageID {
			paths = append(paths, r.File)
		}
	}
	if got := strings.Join(paths, " "); got != "alice/alice_a.jpg alice/alice_b.jpg alice/alice_c.jpg bob/new.jpg broken/ok.jpg dlibonly/npKnown.npz short/npKnown.npz" {
		t.Errorf("catalog paths after changes: %s", got)
	}
	// Every imported image has its own identity (name and embedding), not
	// the npz file's hash: library.TestFacesImportedHaveNoHash.

	// One model per library.
	if out, err := npzRun(t, "import-npz", "--library", lib, "--model", "arcface-112", root); !errors.Is(err, library.ErrMixedModels) || !strings.Contains(err.Error(), "holds embeddings of model japanese-face-v1, not arcface-112") {
		t.Errorf("import of another model: %v\n%s", err, out)
	}
	if err := l.CheckIndex(context.Background(), "faceplugin-v1"); !errors.Is(err, library.ErrMixedModels) || !strings.Contains(err.Error(), "imported from npKnown.npz files") {
		t.Errorf("CheckIndex on an imported library: %v", err)
	}
	// 'index' refuses the imported library before it opens any model.
	if out, err := npzRun(t, "index", "--library", lib, root); !errors.Is(err, library.ErrMixedModels) {
		t.Errorf("index into an imported library: %v\n%s", err, out)
	}
}

func TestImportNPZUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"import-npz"}, "give exactly one dataset ROOT"},
		{[]string{"import-npz", "--key", "name", "x"}, "name the embedding array"},
		{[]string{"import-npz", "--model", "nope", "x"}, `model "nope": no such built-in manifest`},
		{[]string{"import-npz", "--library", "LIB", "/nonexistent/root"}, "dataset root"},
	}
	for _, tc := range tests {
		for i, a := range tc.args {
			if a == "LIB" {
				tc.args[i] = filepath.Join(t.TempDir(), "lib")
			}
		}
		if _, err := npzRun(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
