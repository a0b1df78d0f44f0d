package library

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/vecindex"
)

// writeTree creates files (relative path → content) under root.
func writeTree(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const nonUTF8Person = "\x93\xfa\x96{" // "日本" in Shift-JIS: not UTF-8

func baseTree() map[string]string {
	return map[string]string{
		"alice/1.jpg":                  fakeSpec(0, 1, 1),
		"alice/2.jpg":                  fakeSpec(0, 2, 2),
		"alice/2019/deep.jpg":          fakeSpec(0, 3, 1),
		"bob/1.jpg":                    fakeSpec(2, 4, 1),
		"bob/2.png":                    fakeSpec(2, 5, 1),
		"山田太郎/写真 1.jpg":                fakeSpec(4, 6, 1),
		"山田太郎/写真 2.jpg":                fakeSpec(4, 7, 3),
		nonUTF8Person + "/\x8eq.jpg":   fakeSpec(6, 8, 1),
		nonUTF8Person + "/\x8eq2.jpeg": fakeSpec(6, 9, 1),
		"bob/broken.jpg":               "trunc",
		"bob/notes.jpg":                "bad",
		"carol/empty-face.jpg":         fakeSpec(1, 10, 0),
		"loose.jpg":                    fakeSpec(1, 11, 1),
		"labels.csv":                   "name,file\n",
		"bob/.hidden.jpg":              fakeSpec(2, 12, 1),
		".trash/x/1.jpg":               fakeSpec(2, 13, 1),
		"bob/npKnown.npz":              "PK",
	}
}

type fixture struct {
	lib     *Library
	det     *fakeDetector
	backend *fakeBackend
	root    string
}

func newFixture(t testing.TB, root string) *fixture {
	t.Helper()
	be := &fakeBackend{}
	lib, err := Open(context.Background(), Options{Dir: filepath.Join(t.TempDir(), "lib"), Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lib.Close() })
	return &fixture{lib: lib, det: &fakeDetector{}, backend: be, root: root}
}

func (f *fixture) index(t testing.TB, ctx context.Context, mod func(*IndexOptions)) (*IndexReport, error) {
	t.Helper()
	opt := IndexOptions{Root: f.root, Detector: f.det, Decode: fakeDecode, Workers: 3, BatchSize: 2,
		Manifest: &model.Manifest{Name: "fake", EmbeddingDim: fakeDim, Threshold: 0.5}}
	if mod != nil {
		mod(&opt)
	}
	return f.lib.Index(ctx, opt)
}

// dump is a canonical text form of the catalog: paths, persons, statuses and
// faces (boxes, primary flags, embeddings rounded), without ids or mtimes.
func dump(t testing.TB, lib *Library) string {
	t.Helper()
	ims, err := lib.cat.Images(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, im := range ims {
		fmt.Fprintf(&b, "%q person=%q status=%s size=%d err=%t\n", im.Path, im.Person, im.Status, im.Size, im.Error != "")
		for _, f := range im.Faces {
			fmt.Fprintf(&b, "  box=%.0f primary=%t emb=%.3f\n", f.Box, f.Primary, f.Embedding)
		}
	}
	return b.String()
}

func TestIndexLayoutAndFailures(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, baseTree())
	f := newFixture(t, root)
	rep, err := f.index(t, ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != 12 || rep.Processed != 12 || rep.Unchanged != 0 {
		t.Errorf("files %d processed %d unchanged %d, want 12 12 0", rep.Files, rep.Processed, rep.Unchanged)
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0].Rel != "loose.jpg" {
		t.Errorf("skipped %+v, want loose.jpg only", rep.Skipped)
	}
	failed := map[string]string{}
	for _, fl := range rep.Failed {
		failed[fl.Path] = fl.Status
	}
	want := map[string]string{"bob/broken.jpg": catalog.StatusTruncated, "bob/notes.jpg": catalog.StatusNotImage, "carol/empty-face.jpg": catalog.StatusNoFace}
	if !reflect.DeepEqual(failed, want) {
		t.Errorf("failed %v, want %v", failed, want)
	}
	st, err := f.lib.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// faces: alice 1+2+1, bob 1+1, 山田 1+3, nonUTF8 1+1 = 12; primary: one per ok image = 9
	if st.Catalog.Persons != 5 || st.Catalog.Images != 12 || st.Catalog.Faces != 12 || st.Catalog.PrimaryFaces != 9 {
		t.Errorf("stats %+v", st.Catalog)
	}
	if len(st.Failures) != 3 || st.IndexState != IndexFresh || st.Index.Count != 12 {
		t.Errorf("failures %d index %s count %d", len(st.Failures), st.IndexState, st.Index.Count)
	}
	if st.Threshold != 0.5 || st.ThresholdSource != ThresholdManifest {
		t.Errorf("threshold %v from %s", st.Threshold, st.ThresholdSource)
	}
	d := dump(t, f.lib)
	for _, p := range []string{`"alice/2019/deep.jpg" person="alice"`, fmt.Sprintf("%q person=%q", nonUTF8Person+"/\x8eq.jpg", nonUTF8Person), `"山田太郎/写真 2.jpg" person="山田太郎"`} {
		if !strings.Contains(d, p) {
			t.Errorf("dump lacks %s:\n%s", p, d)
		}
	}
	if strings.Contains(d, "hidden") || strings.Contains(d, "trash") || strings.Contains(d, "npz") {
		t.Errorf("dump holds ignored files:\n%s", d)
	}
}

func TestIndexIncremental(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, baseTree())
	f := newFixture(t, root)
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	builds := f.backend.builds
	// Rerun without change: nothing decoded, index not rebuilt.
	f.det.calls.Store(0)
	rep, err := f.index(t, ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.det.calls.Load() != 0 || rep.Unchanged != 12 || rep.Rebuilt || f.backend.builds != builds {
		t.Errorf("unchanged rerun: %d detections, %d unchanged, rebuilt %v", f.det.calls.Load(), rep.Unchanged, rep.Rebuilt)
	}
	// Add, change, delete, touch (same content, new mtime), move.
	writeTree(t, root, map[string]string{"carol/new.jpg": fakeSpec(1, 20, 1), "alice/1.jpg": fakeSpec(0, 21, 1)})
	if err := os.Remove(filepath.Join(root, "bob/1.jpg")); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(root, "bob/2.png"), later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "山田太郎"), filepath.Join(root, "山田花子")); err != nil {
		t.Fatal(err)
	}
	f.det.calls.Store(0)
	rep, err = f.index(t, ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.det.calls.Load(); got != 2 {
		t.Errorf("incremental run ran the pipeline on %d images, want 2 (added + changed)", got)
	}
	if rep.Processed != 2 || rep.Touched != 1 || rep.Moved != 2 || rep.Deleted != 1 || !rep.Rebuilt {
		t.Errorf("report %+v", rep)
	}
	// Same catalog as a fresh index of the new tree.
	fresh := newFixture(t, root)
	if _, err := fresh.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	if a, b := dump(t, f.lib), dump(t, fresh.lib); a != b {
		t.Errorf("incremental catalog differs from a fresh one:\n%s\nfresh:\n%s", a, b)
	}
	if st, _ := f.lib.Stats(ctx); st.Catalog.Persons != 5 {
		t.Errorf("persons %d after the move, want 5 (山田太郎 pruned)", st.Catalog.Persons)
	}
}

func TestIndexInterruptedResumes(t *testing.T) {
	root := t.TempDir()
	tree := baseTree()
	for i := 0; i < 40; i++ {
		tree[fmt.Sprintf("p%d/%d.jpg", i%7, i)] = fakeSpec(i%7, 100+i, 1+i%2)
	}
	writeTree(t, root, tree)
	for _, after := range []int64{1, 5, 20} {
		t.Run(fmt.Sprint(after), func(t *testing.T) {
			f := newFixture(t, root)
			ctx, cancel := context.WithCancel(context.Background())
			f.det.cancel, f.det.cancelAfter = cancel, after
			_, err := f.index(t, ctx, nil)
			if !errors.Is(err, ErrInterrupted) {
				t.Fatalf("interrupted run: err %v, want ErrInterrupted", err)
			}
			f.det.cancel = nil
			if _, err := f.index(t, context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			fresh := newFixture(t, root)
			if _, err := fresh.index(t, context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			if a, b := dump(t, f.lib), dump(t, fresh.lib); a != b {
				t.Errorf("resumed catalog differs from a clean run:\n%s\nclean:\n%s", a, b)
			}
		})
	}
}

func TestSearchEqualsBruteForce(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, baseTree())
	f := newFixture(t, root)
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	ims, err := f.lib.cat.Images(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var all, prim []float32
	var allIDs, primIDs []int64
	for _, im := range ims {
		for _, fc := range im.Faces {
			all, allIDs = append(all, fc.Embedding...), append(allIDs, fc.ID)
			if fc.Primary {
				prim, primIDs = append(prim, fc.Embedding...), append(primIDs, fc.ID)
			}
		}
	}
	s, err := f.lib.Searcher(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		name string
		opt  SearchOptions
		vecs []float32
		ids  []int64
	}{
		{"primary k3", SearchOptions{K: 3, Min: -1}, prim, primIDs},
		{"primary k20", SearchOptions{K: 20, Min: -1}, prim, primIDs},
		{"all faces k5", SearchOptions{K: 5, Min: -1, AllFaces: true}, all, allIDs},
	} {
		for axis := 0; axis < fakeDim; axis++ {
			q := fakeVector(axis, 999, 0)
			hits, err := s.Search(ctx, q, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			want := vecindex.BruteForce(tc.vecs, tc.ids, fakeDim, q, tc.opt.K)
			if len(hits) != len(want) {
				t.Fatalf("%s axis %d: %d hits, want %d", tc.name, axis, len(hits), len(want))
			}
			for i := range want {
				if hits[i].FaceID != want[i].ID || math.Abs(float64(hits[i].Similarity-want[i].Score)) > 1e-6 {
					t.Errorf("%s axis %d rank %d: %d %.4f, want %d %.4f", tc.name, axis, i, hits[i].FaceID, hits[i].Similarity, want[i].ID, want[i].Score)
				}
			}
		}
	}
	hits, err := s.Search(ctx, fakeVector(0, 999, 0), SearchOptions{K: 10, Min: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		if h.Similarity < 0.5 {
			t.Errorf("hit %+v below --min", h)
		}
	}
	people := ByPerson(hits)
	if len(people) == 0 || people[0].Person != "alice" || people[0].Count != 3 {
		t.Errorf("by person %+v, want alice first with 3 faces", people)
	}
}

func TestIndexStaleness(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, baseTree())
	f := newFixture(t, root)
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	state := func() string {
		_, s, err := f.lib.IndexStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := state(); s != IndexFresh {
		t.Fatalf("after index: %s", s)
	}
	if err := f.lib.cat.Apply(ctx, &catalog.Batch{Delete: []string{"bob/1.jpg"}}); err != nil {
		t.Fatal(err)
	}
	if s := state(); s != IndexStale {
		t.Errorf("after a face change: %s, want stale", s)
	}
	s, err := f.lib.Searcher(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Info().Count != 11 {
		t.Errorf("rebuilt index holds %d faces, want 11", s.Info().Count)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(f.lib.Dir(), IndexFile)); err == nil {
		t.Errorf("an exact index left %s beside %s", IndexFile, FlatFile)
	}
	os.Remove(filepath.Join(f.lib.Dir(), FlatFile))
	if s := state(); s != IndexMissing {
		t.Errorf("after removing the file: %s, want missing", s)
	}
	// Approximate index: recall measured (the fake drops rank 3 → < 1).
	rep, err := f.index(t, ctx, func(o *IndexOptions) { o.Factory = "IVF,Flat" })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Index.Resolved != "IVF1,Flat" || rep.Index.RecallAt10 <= 0 || rep.Index.RecallAt10 >= 1 || rep.Index.NProbe != 1 {
		t.Errorf("IVF index info %+v", rep.Index)
	}
	// HNSW: efSearch grows from 64 until the recall reaches the target.
	rep, err = f.index(t, ctx, func(o *IndexOptions) { o.Factory = "HNSW32" })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Index.EfSearch != 128 || rep.Index.RecallAt10 != 1 {
		t.Errorf("HNSW index info %+v, want efSearch tuned to 128 and recall 1", rep.Index)
	}
	// A given efSearch is kept, whatever the recall.
	rep, err = f.index(t, ctx, func(o *IndexOptions) { o.Params.EfSearch = 100 })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Index.EfSearch != 100 || rep.Index.RecallAt10 >= 1 {
		t.Errorf("HNSW with --ef-search 100: %+v", rep.Index)
	}
	if _, err := f.index(t, ctx, func(o *IndexOptions) { o.Factory = "IVF4096,Flat" }); err == nil || !strings.Contains(err.Error(), "needs at least 4096") {
		t.Errorf("IVF4096 on 11 faces: err %v", err)
	}
	if info, s, err := f.lib.IndexStatus(ctx); err != nil || s != IndexFresh || info.Factory != "HNSW32" {
		t.Errorf("after a refused index type: %s %q %v, want the previous index kept", s, info.Factory, err)
	}
}

func TestRootMismatch(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, baseTree())
	f := newFixture(t, root)
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if _, err := f.index(t, ctx, func(o *IndexOptions) { o.Root = other }); err == nil || !strings.Contains(err.Error(), "--reroot") {
		t.Errorf("indexing another root: err %v", err)
	}
	// A moved dataset with --reroot re-embeds nothing.
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(root, moved); err != nil {
		t.Fatal(err)
	}
	f.det.calls.Store(0)
	rep, err := f.index(t, ctx, func(o *IndexOptions) { o.Root = moved; o.Reroot = true })
	if err != nil {
		t.Fatal(err)
	}
	if f.det.calls.Load() != 0 || rep.Unchanged != 12 {
		t.Errorf("reroot: %d detections, %d unchanged", f.det.calls.Load(), rep.Unchanged)
	}
}

func TestWalkLinksAndSniff(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"a/1.jpg":        "x",
		"a/noext":        "\xff\xd8\xff\xe0 jpeg data",
		"a/readme":       "plain text",
		"a/.DS_Store":    "x",
		"outside/2.jpg":  "x",
		"b/sub/deep.PNG": "x",
	})
	other := t.TempDir()
	writeTree(t, other, map[string]string{"linked/3.jpg": "x", "4.jpg": "x"})
	if err := os.Symlink(filepath.Join(other, "4.jpg"), filepath.Join(root, "a", "link.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(other, "linked"), filepath.Join(root, "c")); err != nil {
		t.Fatal(err)
	}
	files, skipped, err := Walk(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Person+":"+f.Rel)
	}
	want := []string{"a:a/1.jpg", "a:a/link.jpg", "a:a/noext", "b:b/sub/deep.PNG", "outside:outside/2.jpg"}
	if !reflect.DeepEqual(got, want) || len(skipped) != 0 {
		t.Errorf("Walk = %q (skipped %v), want %q", got, skipped, want)
	}
}
