package library

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
