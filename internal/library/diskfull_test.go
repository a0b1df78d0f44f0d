package library

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const diskFullChildEnv = "FACESEARCH_TEST_DISKFULL_CHILD" // "ROOT\x1fLIBRARY"

// TestDiskFullChild is the subprocess of TestIndexDiskFull: it indexes with
// a file size limit, so that the catalog's writes fail part-way.
func TestDiskFullChild(t *testing.T) {
	v := os.Getenv(diskFullChildEnv)
	if v == "" {
		t.Skip("subprocess of TestIndexDiskFull")
	}
	root, dir, _ := strings.Cut(v, "\x1f")
	lib, err := Open(context.Background(), Options{Dir: dir, Backend: &fakeBackend{}})
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	signal.Ignore(syscall.SIGXFSZ) // a write past the limit then fails with EFBIG
	lim := syscall.Rlimit{Cur: 2048 << 10, Max: ^uint64(0)}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	f := &fixture{lib: lib, det: &fakeDetector{}, backend: &fakeBackend{}, root: root}
	_, err = f.index(t, context.Background(), nil)
	st, _ := lib.cat.Stats(context.Background())
	fmt.Printf("INDEX-RESULT: %d images committed, then: %v\n", st.Images, err)
}

// TestIndexDiskFull: an index run whose writes fail (the disk is full; here
// a file size limit, RLIMIT_FSIZE, makes them fail with EFBIG as ENOSPC
// would) ends with an error, not a crash, and a later run with space
// completes to exactly the catalog of a clean run: nothing lost, nothing
// duplicated.
func TestIndexDiskFull(t *testing.T) {
	root := t.TempDir()
	tree := map[string]string{}
	for i := range 400 {
		tree[fmt.Sprintf("p%02d/%03d.jpg", i%20, i)] = fakeSpec(i%8, i, 1+i%2)
	}
	writeTree(t, root, tree)
	dir := filepath.Join(t.TempDir(), "full")
	cmd := exec.Command(os.Args[0], "-test.run=^TestDiskFullChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), diskFullChildEnv+"="+root+"\x1f"+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("the child crashed or failed: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "SKIP") {
		t.Skipf("child skipped:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "INDEX-RESULT: ") || strings.Contains(out.String(), "then: <nil>") {
		t.Fatalf("the limited run did not fail on a write:\n%s", out.String())
	}
	t.Logf("limited run: %s", strings.TrimSpace(out.String()[strings.Index(out.String(), "INDEX-RESULT: "):]))

	lib, err := Open(context.Background(), Options{Dir: dir, Backend: &fakeBackend{}})
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	f := &fixture{lib: lib, det: &fakeDetector{}, backend: &fakeBackend{}, root: root}
	if _, err := f.index(t, context.Background(), nil); err != nil {
		t.Fatalf("the run with space: %v", err)
	}
	clean := newFixture(t, root)
	if _, err := clean.index(t, context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if a, b := dump(t, lib), dump(t, clean.lib); a != b {
		t.Errorf("catalog after a disk-full run and a rerun differs from a clean run")
	}
	if err := lib.cat.Check(context.Background(), true); err != nil {
		t.Errorf("catalog after the disk-full run: %v", err)
	}
}
