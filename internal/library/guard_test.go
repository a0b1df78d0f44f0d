package library

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/npz"
)

// TestIndexRefusesToPruneMostOfLibrary: an emptied, unmounted or mostly
// vanished ROOT must not wipe the catalog unless --prune confirms it
// (issue 15 item 1).
func TestIndexRefusesToPruneMostOfLibrary(t *testing.T) {
	tree := map[string]string{
		"alice/1.jpg": fakeSpec(0, 1, 1), "alice/2.jpg": fakeSpec(0, 2, 1),
		"bob/1.jpg": fakeSpec(2, 3, 1), "bob/2.jpg": fakeSpec(2, 4, 1),
		"carol/1.jpg": fakeSpec(4, 5, 1), "dave/1.jpg": fakeSpec(6, 6, 1),
	}
	ctx := context.Background()
	cases := []struct {
		name    string
		damage  func(t *testing.T, root string)
		prune   bool
		wantErr error // nil: the run succeeds
		deleted int
	}{
		{"empty root", func(t *testing.T, root string) { rmChildren(t, root) }, false, ErrWouldPrune, 0},
		{"empty root with --prune", func(t *testing.T, root string) { rmChildren(t, root) }, true, nil, 6},
		{"four of six gone", func(t *testing.T, root string) { rm(t, root, "alice", "bob") }, false, ErrWouldPrune, 0},
		{"three of six gone", func(t *testing.T, root string) { rm(t, root, "alice", "carol") }, false, nil, 3},
		{"root missing", func(t *testing.T, root string) { rm(t, root, "") }, false, os.ErrNotExist, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "data")
			writeTree(t, root, tree)
			f := newFixture(t, root)
			if _, err := f.index(t, ctx, nil); err != nil {
				t.Fatal(err)
			}
			before := dump(t, f.lib)
			c.damage(t, root)
			rep, err := f.index(t, ctx, func(o *IndexOptions) { o.Prune = c.prune })
			if c.wantErr == nil {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
			} else if !errors.Is(err, c.wantErr) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
			if errors.Is(err, ErrWouldPrune) && !strings.Contains(err.Error(), "--prune") {
				t.Errorf("error %q does not name --prune", err)
			}
			st, serr := f.lib.cat.Stats(ctx)
			if serr != nil {
				t.Fatal(serr)
			}
			if got := 6 - st.Images; got != c.deleted {
				t.Errorf("%d images deleted, want %d", got, c.deleted)
			}
			if c.deleted == 0 && dump(t, f.lib) != before {
				t.Errorf("catalog changed:\n%s\nwas:\n%s", dump(t, f.lib), before)
			}
			if rep != nil && rep.Deleted != c.deleted {
				t.Errorf("report says %d deleted, want %d", rep.Deleted, c.deleted)
			}
		})
	}
}

// TestIndexKeepsUnreadableFolder: a person folder that cannot be read is an
// error naming it, and its rows stay; a later readable run finds them
// unchanged (issue 15 item 2). Run as uid 65534 when the tests run as root.
func TestIndexKeepsUnreadableFolder(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "data")
	writeTree(t, root, map[string]string{
		"alice/1.jpg": fakeSpec(0, 1, 1), "alice/2.jpg": fakeSpec(0, 2, 1), "alice/2019/3.jpg": fakeSpec(0, 3, 1),
		"bob/1.jpg": fakeSpec(2, 3, 1), "carol/1.jpg": fakeSpec(4, 5, 1), "carol/2.jpg": fakeSpec(4, 6, 1),
	})
	f := newFixture(t, root)
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	before := dump(t, f.lib)
	alice := filepath.Join(root, "alice")
	if err := os.Chmod(alice, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(alice, 0o755) })
	if _, err := os.ReadDir(alice); err == nil {
		t.Fatal("a chmod 000 folder is readable: cannot test")
	}
	rep, err := f.index(t, ctx, nil)
	if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "alice") {
		t.Fatalf("error %v, want ErrUnreadable naming alice", err)
	}
	if rep.Deleted != 0 || rep.Kept != 3 {
		t.Errorf("deleted %d kept %d, want 0 and 3", rep.Deleted, rep.Kept)
	}
	if got := dump(t, f.lib); got != before {
		t.Errorf("catalog changed:\n%s\nwas:\n%s", got, before)
	}
	os.Chmod(alice, 0o755)
	rep, err = f.index(t, ctx, nil)
	if err != nil || rep.Unchanged != 6 || rep.Processed != 0 {
		t.Errorf("readable again: %+v %v, want 6 unchanged", rep, err)
	}
}

// TestIndexKeepsUnreadableChangedFile (review finding 3): an image whose
// mtime changed but which cannot be read keeps its faces, is reported
// unreadable and makes the run fail; before, its rows were replaced by an
// error row without faces.
func TestIndexKeepsUnreadableChangedFile(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "data")
	writeTree(t, root, map[string]string{
		"alice/1.jpg": fakeSpec(0, 1, 1), "alice/2.jpg": fakeSpec(0, 2, 1),
		"bob/1.jpg": fakeSpec(2, 3, 1), "carol/1.jpg": fakeSpec(4, 5, 1),
	})
	f := newFixture(t, root)
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	before := dump(t, f.lib)
	bob := filepath.Join(root, "bob", "1.jpg")
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(bob, later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bob, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(bob, 0o644) })
	if _, err := os.ReadFile(bob); err == nil {
		t.Fatal("a chmod 000 file is readable: cannot test")
	}
	rep, err := f.index(t, ctx, nil)
	if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "bob/1.jpg") {
		t.Fatalf("error %v, want ErrUnreadable naming bob/1.jpg", err)
	}
	if rep.Kept != 1 || rep.Processed != 0 || len(rep.Failed) != 0 {
		t.Errorf("kept %d processed %d failed %v, want 1, 0, none", rep.Kept, rep.Processed, rep.Failed)
	}
	if got := dump(t, f.lib); got != before {
		t.Errorf("catalog changed:\n%s\nwas:\n%s", got, before)
	}
	os.Chmod(bob, 0o644)
	rep, err = f.index(t, ctx, nil)
	if err != nil || rep.Touched != 1 || rep.Processed != 0 {
		t.Errorf("readable again: %+v %v, want 1 touched", rep, err)
	}
	if got := dump(t, f.lib); got != before {
		t.Errorf("catalog after the readable run:\n%s\nwas:\n%s", got, before)
	}
}

// TestImportNPZKeepsUnreadablePerson is item 2 for import-npz: a person
// folder that cannot be read keeps its faces.
func TestImportNPZKeepsUnreadablePerson(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	ctx := context.Background()
	root := t.TempDir()
	writeNPZTree(t, root, 3, 4, 16)
	lib := openTestLib(t)
	if _, err := lib.ImportNPZ(ctx, ImportOptions{Root: root, Manifest: importManifest()}); err != nil {
		t.Fatal(err)
	}
	before := dump(t, lib)
	p := filepath.Join(root, "person_00001")
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(p, 0o755) })
	rep, err := lib.ImportNPZ(ctx, ImportOptions{Root: root, Manifest: importManifest()})
	if !errors.Is(err, ErrUnreadable) {
		t.Fatalf("error %v, want ErrUnreadable", err)
	}
	if rep.Deleted != 0 || rep.Kept != 4 {
		t.Errorf("deleted %d kept %d, want 0 and 4", rep.Deleted, rep.Kept)
	}
	if got := dump(t, lib); got != before {
		t.Errorf("catalog changed:\n%s\nwas:\n%s", got, before)
	}
}

// TestImportNPZPruneGuard: an emptied npz ROOT keeps the catalog.
func TestImportNPZPruneGuard(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeNPZTree(t, root, 3, 4, 16)
	lib := openTestLib(t)
	if _, err := lib.ImportNPZ(ctx, ImportOptions{Root: root, Manifest: importManifest()}); err != nil {
		t.Fatal(err)
	}
	rmChildren(t, root)
	if _, err := lib.ImportNPZ(ctx, ImportOptions{Root: root, Manifest: importManifest()}); !errors.Is(err, ErrWouldPrune) {
		t.Fatalf("error %v, want ErrWouldPrune", err)
	}
	if st, _ := lib.cat.Stats(ctx); st.Images != 12 {
		t.Errorf("%d images left, want 12", st.Images)
	}
	if rep, err := lib.ImportNPZ(ctx, ImportOptions{Root: root, Manifest: importManifest(), Prune: true}); err != nil || rep.Deleted != 3 {
		t.Errorf("with Prune: %+v %v, want 3 persons deleted", rep, err)
	}
}

// TestImportNPZWrongKeyKeepsFaces: --key WRONG must not delete, and a later
// run with the right key reads the files again (issue 15 item 3).
func TestImportNPZWrongKeyKeepsFaces(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeNPZTree(t, root, 3, 4, 16)
	lib := openTestLib(t)
	if _, err := lib.ImportNPZ(ctx, ImportOptions{Root: root, Manifest: importManifest()}); err != nil {
		t.Fatal(err)
	}
	good := dump(t, lib)
	// Change the files (new mtime and content) so that they are read again.
	for i := range 3 {
		p := filepath.Join(root, "person_0000"+string(rune('0'+i)), NPZFile)
		pp, err := npz.ReadFile(p, npz.DefaultKey)
		if err != nil {
			t.Fatal(err)
		}
		pp.Names = append(pp.Names, "extra.jpg")
		pp.Vectors = append(pp.Vectors, pp.Vectors[:16]...)
		if err := npz.WriteFile(p, npz.DefaultKey, pp); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := lib.ImportNPZ(ctx, ImportOptions{Root: root, Manifest: importManifest(), Key: "dlib"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failed) != 3 || rep.Failed[0].Status != catalog.StatusError {
		t.Errorf("failed %+v, want 3 retryable errors", rep.Failed)
	}
	st, _ := lib.cat.Stats(ctx)
	if st.Faces != 12 {
		t.Errorf("%d faces after the wrong key, want the 12 kept", st.Faces)
	}
	// The loader gives the kept faces (their rows stay ok: the failure is
	// the npz file's), with or without placeholder rows.
	for _, tc := range []struct {
		opt   FacesOptions
		faces int
	}{{FacesOptions{All: true}, 12}, {FacesOptions{All: true, Placeholders: true}, 12}, {FacesOptions{All: true, Placeholders: true, OKOnly: true}, 12}} {
		rows, err := lib.Faces(ctx, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range rows {
			if r.ID != 0 {
				n++
			}
		}
		if n != tc.faces {
			t.Errorf("Faces(%+v): %d faces, want %d", tc.opt, n, tc.faces)
		}
	}
	rep, err = lib.ImportNPZ(ctx, ImportOptions{Root: root, Manifest: importManifest()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 3 || rep.Faces != 15 || len(rep.Failed) != 0 {
		t.Errorf("right key again: %d imported, %d faces, failed %+v; want 3, 15, none", rep.Imported, rep.Faces, rep.Failed)
	}
	if st, _ := lib.cat.Stats(ctx); st.Faces != 15 || st.Images != 15 {
		t.Errorf("catalog %d images %d faces, want 15 and 15 (was:\n%s)", st.Images, st.Faces, good)
	}
}

func openTestLib(t *testing.T) *Library {
	t.Helper()
	lib, err := Open(context.Background(), Options{Dir: filepath.Join(t.TempDir(), "lib"), Backend: &fakeBackend{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lib.Close() })
	return lib
}

func rm(t *testing.T, root string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(root, n)); err != nil {
			t.Fatal(err)
		}
	}
}

func rmChildren(t *testing.T, root string) {
	t.Helper()
	es, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		rm(t, root, e.Name())
	}
}

// TestRefusedShapeIsRecordedOnce: an image the detector refuses for its
// shape (a *DecodeError, e.g. too small) is recorded with that status and
// not retried by the next run (issue 15 item 11).
func TestRefusedShapeIsRecordedOnce(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"alice/1.jpg": fakeSpec(0, 1, 1), "alice/tiny.png": fakeSpec(0, 2, -1)})
	f := newFixture(t, root)
	rep, err := f.index(t, ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failed) != 1 || rep.Failed[0].Status != catalog.StatusNoFace || !strings.Contains(rep.Failed[0].Error, "too small") {
		t.Errorf("failed %+v, want alice/tiny.png no_face 'too small'", rep.Failed)
	}
	rep, err = f.index(t, ctx, nil)
	if err != nil || rep.Unchanged != 2 || rep.Processed != 0 {
		t.Errorf("second run: %+v %v, want both unchanged", rep, err)
	}
}

// TestConcurrentIndexRefused: a second writer on a library (two 'index'
// runs at once, from two processes or two Library values) is refused with
// a clear error while the first holds the lock, and the catalog is intact.
func TestConcurrentIndexRefused(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"alice/1.jpg": fakeSpec(0, 1, 1)})
	f := newFixture(t, root)
	other, err := Open(ctx, Options{Dir: f.lib.Dir(), Backend: &fakeBackend{}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	unlock, err := other.lock() // the other writer is mid-run
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.index(t, ctx, nil); err == nil || !strings.Contains(err.Error(), "another 'facesearch index' is running") {
		t.Errorf("index beside another writer: %v, want the lock error", err)
	}
	unlock()
	if rep, err := f.index(t, ctx, nil); err != nil || rep.Processed != 1 {
		t.Errorf("after the other writer: %+v %v", rep, err)
	}
}

// TestImportNPZFilesBesideFolders: files directly under ROOT (labels, notes)
// are neither people nor unreadable folders: the import succeeds.
func TestImportNPZFilesBesideFolders(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeNPZTree(t, root, 2, 3, 16)
	if err := os.WriteFile(filepath.Join(root, "labels.csv"), []byte("a,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lib := openTestLib(t)
	rep, err := lib.ImportNPZ(ctx, ImportOptions{Root: root, Manifest: importManifest()})
	if err != nil || rep.Files != 2 {
		t.Fatalf("import with a file under ROOT: %+v, %v; want 2 npz files and no error", rep, err)
	}
	for _, s := range rep.Skipped {
		if s.Unreadable {
			t.Errorf("%s reported unreadable: %s", s.Rel, s.Reason)
		}
	}
}
