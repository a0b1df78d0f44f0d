package library

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/catalog"
)

// indexedLib indexes a two-person tree into a new library folder and
// closes it, returning the folder.
func indexedLib(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"alice/1.jpg": fakeSpec(0, 1, 1), "bob/1.jpg": fakeSpec(2, 3, 1)})
	dir := filepath.Join(t.TempDir(), "lib")
	lib, err := Open(ctx, Options{Dir: dir, Backend: &fakeBackend{}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{lib: lib, det: &fakeDetector{}, backend: &fakeBackend{}, root: root}
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := lib.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReadOnlyOpenKeepsRealErrors (review finding 5): a read-only open
// falls back to a read-only catalog only when the catalog cannot be
// written; a catalog of a newer schema is refused, not read (before, any
// error fell back to reading it read-only).
func TestReadOnlyOpenKeepsRealErrors(t *testing.T) {
	ctx := context.Background()
	dir := indexedLib(t)
	db, err := sql.Open("sqlite", filepath.Join(dir, CatalogFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	l, err := Open(ctx, Options{Dir: dir, Backend: &fakeBackend{}, ReadOnly: true})
	if err == nil {
		l.Close()
		t.Fatal("a catalog of a newer schema opened read-only")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("error %v, want it to say the schema is newer", err)
	}
}

// TestReadOnlyOpenRefusesImmutableWhenWritable (review finding 5): a
// library this user cannot write but its group can (so a writer may be
// indexing it) is not read as an immutable database, which would ignore the
// writer's changes and locks; the error says why and what to do. Run as uid
// 65534 when the tests run as root.
func TestReadOnlyOpenRefusesImmutableWhenWritable(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	ctx := context.Background()
	dir := indexedLib(t)
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		os.Chmod(filepath.Join(dir, e.Name()), 0o464) // owner r, group rw
	}
	os.Chmod(dir, 0o575) // owner r-x, group rwx
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o644); err == nil {
		t.Fatal("the library folder is writable: cannot test")
	}
	l, err := Open(ctx, Options{Dir: dir, Backend: &fakeBackend{}, ReadOnly: true})
	if err == nil {
		l.Close()
		t.Fatal("opened as immutable a library its group may be writing")
	}
	if !strings.Contains(err.Error(), "cannot be read safely") || !strings.Contains(err.Error(), "chmod a-w") {
		t.Errorf("error %v, want it to say why and what to do", err)
	}
}

// TestStaleIndexRebuiltOnlyUnderLock (review finding 1): a search of a
// stale index does not rewrite the index files while a writer holds the
// library's lock; it says why, and rebuilds once the lock is free.
func TestStaleIndexRebuiltOnlyUnderLock(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"alice/1.jpg": fakeSpec(0, 1, 1), "bob/1.jpg": fakeSpec(2, 3, 1), "carol/1.jpg": fakeSpec(4, 5, 1)})
	f := newFixture(t, root)
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.lib.cat.Apply(ctx, &catalog.Batch{Delete: []string{"carol/1.jpg"}}); err != nil {
		t.Fatal(err)
	}
	unlock, err := f.lib.lock() // a writer runs
	if err != nil {
		t.Fatal(err)
	}
	if busy, err := f.lib.WriterActive(); !busy || err != nil {
		t.Errorf("WriterActive while locked: %v %v, want true", busy, err)
	}
	meta := filepath.Join(f.lib.Dir(), IndexMetaFile)
	before, _ := os.ReadFile(meta)
	if s, err := f.lib.Searcher(ctx); err == nil {
		s.Close()
		t.Error("a stale index was rebuilt while a writer held the lock")
	} else if !strings.Contains(err.Error(), "another") {
		t.Errorf("error %v, want it to name the running writer", err)
	}
	if after, _ := os.ReadFile(meta); string(after) != string(before) {
		t.Error("index.json rewritten without the lock")
	}
	unlock()
	if busy, err := f.lib.WriterActive(); busy || err != nil {
		t.Errorf("WriterActive after unlock: %v %v, want false", busy, err)
	}
	s, err := f.lib.Searcher(ctx)
	if err != nil {
		t.Fatalf("search once the lock is free: %v", err)
	}
	defer s.Close()
	if n := s.Info().Count; n != 2 {
		t.Errorf("rebuilt index holds %d faces, want 2", n)
	}
}
