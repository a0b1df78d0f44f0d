package cli

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/npz"
)

// TestDamagedFaissIndexIsRebuilt changes the face count field of a real
// faiss index.faiss (an IndexIDMap2 header: fourcc, d, ntotal): a search
// must notice it (checksum in index.json; without one, the count against
// index.json) and rebuild from the catalog, still returning all 3 results
// (issue 15 item 4).
func TestDamagedFaissIndexIsRebuilt(t *testing.T) {
	for _, withSum := range []bool{true, false} {
		root, lib := t.TempDir(), filepath.Join(t.TempDir(), "lib")
		r := rand.New(rand.NewPCG(7, 8))
		var q []float32
		for _, p := range []string{"a", "b", "c"} {
			v := randVec(r, 512)
			if q == nil {
				q = v
			}
			writePerson(t, root, p, npz.DefaultKey, []string{p + ".jpg"}, [][]float32{v})
		}
		if out, err := npzRun(t, "import-npz", "--library", lib, "--index", "HNSW32", root); err != nil {
			t.Fatalf("import-npz: %v\n%s", err, out)
		}
		qf := filepath.Join(t.TempDir(), "q.npy")
		writeNpy(t, qf, q)
		search := func() int {
			out, err := npzRun(t, "search", "--library", lib, "--vector", qf, "-k", "3", "--json")
			if err != nil {
				t.Fatalf("search: %v\n%s", err, out)
			}
			return strings.Count(out, `"rank":`)
		}
		if n := search(); n != 3 {
			t.Fatalf("%d results before the damage, want 3", n)
		}
		path := filepath.Join(lib, library.IndexFile)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("IxM2")) || binary.LittleEndian.Uint64(b[8:]) != 3 {
			t.Fatalf("index.faiss does not start with an IndexIDMap2 header of 3 faces: % x", b[:16])
		}
		binary.LittleEndian.PutUint64(b[8:], 1)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if !withSum { // an index.json of an older version: no checksum
			meta := filepath.Join(lib, library.IndexMetaFile)
			mb, _ := os.ReadFile(meta)
			var m map[string]any
			if err := json.Unmarshal(mb, &m); err != nil || m["checksum"] == nil {
				t.Fatalf("index.json %s: %v, want a checksum", mb, err)
			}
			delete(m, "checksum")
			mb, _ = json.Marshal(m)
			os.WriteFile(meta, mb, 0o644)
		}
		if n := search(); n != 3 {
			t.Errorf("checksum %t: %d results after the count was changed, want 3 (index rebuilt)", withSum, n)
		}
	}
}

// TestStatsReportsDamagedIndex: 'stats' must not call a damaged vectors.f32
// "up to date", and 'stats --check' fails on it (issue 15 items 4 and 5).
func TestStatsReportsDamagedIndex(t *testing.T) {
	root, lib := t.TempDir(), filepath.Join(t.TempDir(), "lib")
	r := rand.New(rand.NewPCG(9, 10))
	for _, p := range []string{"a", "b", "c"} {
		writePerson(t, root, p, npz.DefaultKey, []string{p + ".jpg"}, [][]float32{randVec(r, 512)})
	}
	if out, err := npzRun(t, "import-npz", "--library", lib, root); err != nil {
		t.Fatalf("import-npz: %v\n%s", err, out)
	}
	if out, err := npzRun(t, "stats", "--check", "--library", lib); err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("stats --check of a sound library: %v\n%s", err, out)
	}
	path := filepath.Join(lib, library.FlatFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	clear(b[64 : 64+512*4]) // the first vector, header intact
	os.WriteFile(path, b, 0o644)
	out, err := npzRun(t, "stats", "--library", lib)
	if err != nil || strings.Contains(out, "up to date") || !strings.Contains(out, "DAMAGED") {
		t.Errorf("stats of a damaged index: %v\n%s", err, out)
	}
	if _, err := npzRun(t, "stats", "--check", "--library", lib); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("stats --check of a damaged index: %v, want an error naming the checksum", err)
	}
}
