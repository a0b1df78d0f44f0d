package library

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/catalog"
)

// damageCatalog overwrites the b-tree header of the catalog's last page
// (a page of the faces table: faces are written last) with garbage, with
// the library closed so that the WAL is checkpointed into the file.
func damageCatalog(t *testing.T, dbPath string) {
	t.Helper()
	b, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	const page = 16384
	if len(b) < 4*page {
		t.Fatalf("catalog of %d bytes is too small to damage one page", len(b))
	}
	off := len(b) - page
	for i := range 64 {
		b[off+i] = 0xA5
	}
	if err := os.WriteFile(dbPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestIndexNoticesDamagedCatalog: a catalog with a damaged page must not be
// reported "up to date" by index (quick check before writing), and
// catalog.Check(full) names the damage (issue 15 item 5).
func TestIndexNoticesDamagedCatalog(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	tree := map[string]string{}
	for i := range 150 {
		tree[fmt.Sprintf("p%02d/%03d.jpg", i%10, i)] = fakeSpec(i%8, i, 2)
	}
	writeTree(t, root, tree)
	dir := filepath.Join(t.TempDir(), "lib")
	lib, err := Open(ctx, Options{Dir: dir, Backend: &fakeBackend{}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{lib: lib, det: &fakeDetector{}, backend: &fakeBackend{}, root: root}
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := lib.cat.Check(ctx, true); err != nil {
		t.Fatalf("fresh catalog: %v", err)
	}
	lib.Close()
	damageCatalog(t, filepath.Join(dir, CatalogFile))

	lib, err = Open(ctx, Options{Dir: dir, Backend: &fakeBackend{}})
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	f.lib = lib
	rep, err := f.index(t, ctx, nil)
	if !errors.Is(err, catalog.ErrDamaged) || !strings.Contains(err.Error(), "stats --check") {
		t.Fatalf("index of a damaged catalog: %+v, %v; want ErrDamaged", rep, err)
	}
	if err := lib.cat.Check(ctx, true); !errors.Is(err, catalog.ErrDamaged) {
		t.Errorf("full check: %v, want ErrDamaged", err)
	}
}

// TestReadOnlyLibrarySearch: a library the user cannot write (read-only
// folder and catalog) opens ReadOnly and is searchable (issue 15 item 14).
// Run as uid 65534 when the tests run as root (root writes anything).
func TestReadOnlyLibrarySearch(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
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
	lib.Close()
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		os.Chmod(filepath.Join(dir, e.Name()), 0o444)
	}
	os.Chmod(dir, 0o555)
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o644); err == nil {
		t.Fatal("the library folder is still writable: cannot test")
	}
	ro, err := Open(ctx, Options{Dir: dir, Backend: &fakeBackend{}, ReadOnly: true})
	if err != nil {
		t.Fatalf("open a read-only library: %v", err)
	}
	defer ro.Close()
	if ids := searchIDs(t, ro, fakeVector(2, 3, 0)); len(ids) != 2 {
		t.Errorf("search of a read-only library: %v, want 2 hits", ids)
	}
	if _, err := ro.Stats(ctx); err != nil {
		t.Errorf("stats of a read-only library: %v", err)
	}
}
