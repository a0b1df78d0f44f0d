package e2e_test

// The end-to-end test of facesearch on a Weaviate cluster (see
// TestWeaviateCluster). Like every e2e test it runs without the race
// detector (the commands it drives are raced by internal/cli's own tests;
// here a 3-node cluster and real embedding run).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/cli"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/testenv"
	"github.com/facesearch/facesearch/internal/weaviate"
	"github.com/facesearch/facesearch/internal/weaviate/weaviatetest"
)

// TestWeaviateCluster indexes real photos into a 3-shard, replication-3
// collection of a 3-node Weaviate cluster (in a private network namespace)
// and checks that 'search --json' answers exactly as the local exact index
// for every face of the library and for one photo per person; that after
// one node is SIGKILLed searches still answer the same, or fail with an
// error, never with partial results; that an incremental run while the
// node is down sends only the new faces; and that the restarted node
// catches up.
func TestWeaviateCluster(t *testing.T) {
	if !weaviatetest.InNetns(t) {
		return
	}
	faces := testenv.FacesSet(t, "deepface")
	cliEnv(t) // skips without the models, before the cluster starts
	cl := weaviatetest.Start(t, 3)
	ctx := context.Background()

	// The dataset without its last person, added later while a node is down.
	people, _ := filepath.Glob(filepath.Join(faces, "person_*"))
	sort.Strings(people)
	if len(people) < 3 {
		t.Fatalf("%s: %d people", faces, len(people))
	}
	late := people[len(people)-1]
	ds := t.TempDir()
	for _, p := range people[:len(people)-1] {
		testenv.CopyTree(t, p, filepath.Join(ds, filepath.Base(p)))
	}
	local, remote := filepath.Join(t.TempDir(), "local"), filepath.Join(t.TempDir(), "remote")
	libRun(t, "index", "--library", local, ds)
	// The remote library starts from a copy of the catalog: indexing it
	// again embeds nothing and only fills the collection.
	os.MkdirAll(remote, 0o755)
	for _, name := range []string{"catalog.db", "catalog.db-wal", "catalog.db-shm"} {
		if _, err := os.Stat(filepath.Join(local, name)); err == nil {
			testenv.CopyFile(t, filepath.Join(local, name), filepath.Join(remote, name))
		}
	}
	url := "weaviate://" + cl.Host(0) + "/Faces?shards=3&replicas=3"
	out := libRun(t, "index", "--library", remote, "--vectors", url, ds)
	t.Logf("index --vectors:\n%s", out)
	info := indexInfo(t, remote)
	if info.Storage != library.StorageRemote || !info.Exact() || info.Sent != int(info.Count) || info.Count == 0 {
		t.Fatalf("remote index %+v: want every face sent to an exact remote store", info)
	}
	if out := libRun(t, "index", "--library", remote, ds); !strings.Contains(out, "up to date") {
		t.Errorf("unchanged second run:\n%s", out)
	}

	photos := onePhotoPerPerson(t, ds)
	same := func(when string) {
		t.Helper()
		searchesEqual(t, when, local, remote, photos, func(err error) bool { return false })
	}
	same("3 nodes")

	// SIGKILL node1: every shard keeps 2 of its 3 replicas, enough for the
	// QUORUM reads. Searches must answer exactly or fail clearly.
	pid := cl.PID(1)
	if err := cl.Kill(1); err != nil {
		t.Fatal(err)
	}
	t.Logf("SIGKILLed node1 (pid %d)", pid)
	clear := func(err error) bool {
		return err != nil && (strings.Contains(err.Error(), weaviate.ErrIncomplete.Error()) || strings.Contains(err.Error(), "vector store"))
	}
	// (Photos are embedded for every search: they are compared with all
	// nodes up and after the repair; the embeddings of every face in between.)
	eventually(t, "searches with node1 down", func() error {
		return searchesEqualErr(t, local, remote, nil, clear, false)
	})

	// An incremental run while node1 is down sends only the new person.
	testenv.CopyTree(t, late, filepath.Join(ds, filepath.Base(late)))
	libRun(t, "index", "--library", local, ds)
	out = libRun(t, "index", "--library", remote, ds)
	t.Logf("incremental index with node1 down:\n%s", out)
	before := info.Count
	info = indexInfo(t, remote)
	if added := info.Count - before; added <= 0 || info.Sent != int(added) || info.Removed != 0 {
		t.Fatalf("incremental run: %d faces now (%d before), sent %d, removed %d: want only the new faces sent", info.Count, before, info.Sent, info.Removed)
	}
	photos = onePhotoPerPerson(t, ds)
	eventually(t, "searches with node1 down after the incremental run", func() error {
		return searchesEqualErr(t, local, remote, nil, clear, false)
	})

	// Restart node1; it must catch up with the faces written meanwhile.
	if err := cl.Restart(ctx, 1); err != nil {
		t.Fatal(err)
	}
	cfg, err := weaviate.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := weaviate.New(weaviate.Options{Config: cfg})
	l := libOpen(t, remote)
	stored, err := l.Faces(ctx, library.FacesOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, f := range stored {
		ids = append(ids, f.ID)
	}
	eventually(t, "node1 holds every face", func() error {
		nodes, err := c.Nodes(ctx)
		t.Logf("nodes: %+v %v", nodes, err)
		missing := 0
		for _, id := range ids {
			if ok, _ := c.Has(ctx, cl.Name(1), id); !ok {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("node1 misses %d of %d faces", missing, len(ids))
		}
		return nil
	})
	// Point the library at the restarted node: the sync finds every digest
	// equal and sends nothing, and its searches answer exactly.
	url1 := "weaviate://" + cl.Host(1) + "/Faces?shards=3&replicas=3"
	// The sync runs the self-check too, so it may already fail here (a
	// restarted node may have lost vectors of its flat index, see
	// library.remoteIndex.probe); any other error fails the test.
	eout, err := runCLI(t, ctx, "index", "--library", remote, "--vectors", url1, ds)
	t.Logf("index --vectors %s: %v", url1, err)
	if err != nil && !strings.Contains(err.Error(), "failed its self-check") {
		t.Fatalf("re-pointing at node1: %v\n%s", err, eout)
	}
	if info := indexInfo(t, remote); info.Sent != 0 || info.Removed != 0 {
		t.Errorf("re-pointing at node1: sent %d, removed %d; want 0, 0", info.Sent, info.Removed)
	}
	// Searches through it must answer exactly or fail clearly, and
	// --rebuild-vectors repairs the collection.
	if err == nil {
		err = searchesEqualErr(t, local, remote, nil, clear, false)
		t.Logf("searches through the restarted node1: %v", err)
	}
	if err != nil {
		out := libRun(t, "index", "--library", remote, "--rebuild-vectors", ds)
		t.Logf("index --rebuild-vectors:\n%s", out)
	}
	same("restarted node1 (after --rebuild-vectors if the self-check failed)")
}

// eventually retries f for up to two minutes.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%s: %v (retrying)", what, err)
		time.Sleep(time.Second)
	}
}

func indexInfo(tb testing.TB, lib string) library.IndexInfo {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(lib, library.IndexMetaFile))
	if err != nil {
		tb.Fatal(err)
	}
	var info library.IndexInfo
	if err := json.Unmarshal(b, &info); err != nil {
		tb.Fatal(err)
	}
	return info
}

func onePhotoPerPerson(tb testing.TB, ds string) []string {
	tb.Helper()
	dirs, _ := filepath.Glob(filepath.Join(ds, "*"))
	var out []string
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(d, "*.jpg"))
		sort.Strings(files)
		if len(files) > 0 {
			out = append(out, files[0])
		}
	}
	return out
}

func searchesEqual(t *testing.T, when, local, remote string, photos []string, okErr func(error) bool) {
	t.Helper()
	if err := searchesEqualErr(t, local, remote, photos, okErr, false); err != nil {
		t.Fatalf("%s: %v", when, err)
	}
}

// searchesEqualErr runs 'search --json --all-faces' on both libraries with
// every catalog face's embedding as a query (--vector), and with the photos,
// and compares the answers. A remote error accepted by clearErr is returned
// (a clear failure); any difference in the results fails the test at once.
func searchesEqualErr(t *testing.T, local, remote string, photos []string, clearErr func(error) bool, soft bool) error {
	t.Helper()
	l := libOpen(t, local)
	var vecs []float32
	dim := 0
	faces, err := l.Faces(context.Background(), library.FacesOptions{All: true})
	if err != nil {
		return err
	}
	sort.Slice(faces, func(i, j int) bool { return faces[i].ID < faces[j].ID }) // id order, as before
	for _, f := range faces {
		vecs, dim = append(vecs, f.Vec...), len(f.Vec)
	}
	npy := filepath.Join(t.TempDir(), "queries.npy")
	testenv.WriteNpy2(t, npy, vecs, len(vecs)/dim, dim)
	runs := [][]string{{"--vector", npy}}
	if len(photos) > 0 {
		runs = append(runs, photos)
	}
	for _, args := range runs {
		run := func(lib string) (searchJSON, error) {
			a := append([]string{"search", "--library", lib, "--json", "--all-faces", "--k", "10"}, args...)
			out, err := runCLI(t, context.Background(), a...)
			var doc searchJSON
			if err == nil {
				err = json.Unmarshal([]byte(out), &doc)
			}
			return doc, err
		}
		want, err := run(local)
		if err != nil {
			t.Fatalf("local search: %v", err)
		}
		got, err := run(remote)
		if err != nil {
			if clearErr(err) {
				return err
			}
			t.Fatalf("remote search failed unclearly: %v", err)
		}
		if len(got.Queries) != len(want.Queries) || len(want.Queries) == 0 {
			t.Fatalf("remote: %d queries, local %d", len(got.Queries), len(want.Queries))
		}
		for qi := range want.Queries {
			w, g := want.Queries[qi], got.Queries[qi]
			if g.Error != "" || w.Error != "" {
				t.Fatalf("query %s: remote error %q, local error %q", w.Source, g.Error, w.Error)
			}
			if err := sameResults(w.Results, g.Results); err != nil && soft {
				return err
			} else if err != nil {
				t.Fatalf("query %d (%s): remote differs from the local exact search (never silently partial): %v", qi, w.Source, err)
			}
		}
	}
	return nil
}

// sameResults compares two ranked result lists: equal length, equal
// similarities (to 1e-5) rank by rank, and the same faces (image and box:
// the two catalogs number faces added later independently) except where
// faces tie (their order is free).
func sameResults(want, got []resultJSON) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d results, want %d", len(got), len(want))
	}
	key := func(r resultJSON) string { return fmt.Sprintf("%s %.0f", r.Path, r.Box) }
	const eps = 1e-5
	for i := range want {
		if math.Abs(got[i].Similarity-want[i].Similarity) > eps {
			return fmt.Errorf("rank %d: similarity %.6f (%s), want %.6f (%s)", i+1, got[i].Similarity, key(got[i]), want[i].Similarity, key(want[i]))
		}
		if key(got[i]) == key(want[i]) {
			continue
		}
		tied := false
		for j := range want {
			if key(want[j]) == key(got[i]) && math.Abs(want[j].Similarity-got[i].Similarity) <= eps {
				tied = true
			}
		}
		if !tied {
			return fmt.Errorf("rank %d: %s, want %s", i+1, key(got[i]), key(want[i]))
		}
	}
	return nil
}

// searchJSON is the part of 'search --json' (facesearch.search/v2) compared.
type searchJSON struct {
	Queries []struct {
		Source  string       `json:"source"`
		Error   string       `json:"error"`
		Results []resultJSON `json:"results"`
	} `json:"queries"`
}

type resultJSON struct {
	FaceID     int64      `json:"face_id"`
	Similarity float64    `json:"similarity"`
	Path       string     `json:"path"`
	Box        [4]float64 `json:"box"`
}

// libOpen opens a library read-only.
func libOpen(tb testing.TB, dir string) *library.Library {
	tb.Helper()
	l, err := cli.OpenLibrary(context.Background(), dir, true, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}
