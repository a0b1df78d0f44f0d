package library

import (
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWalkReportsIrregularAndUnreadable: a FIFO under ROOT is listed as
// skipped (not a regular file) and never opened; an extension-less file
// that cannot be read is skipped as unreadable, and its catalog row is kept
// (issue 15 item 12). Runs as uid 65534 when the tests run as root.
func TestWalkReportsIrregularAndUnreadable(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"alice/1.jpg": fakeSpec(0, 1, 1), "alice/2.jpg": fakeSpec(0, 3, 1),
		"alice/scan": "\xff\xd8\xff sniffed as a JPEG"})
	f := newFixture(t, root)
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	before := dump(t, f.lib)
	if !strings.Contains(before, `"alice/scan"`) {
		t.Fatalf("the extension-less image was not indexed:\n%s", before)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "alice", "pipe.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	scan := filepath.Join(root, "alice", "scan")
	if err := os.Chmod(scan, 0); err != nil {
		t.Fatal(err)
	}
	rep, err := f.index(t, ctx, nil)
	if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "alice/scan") {
		t.Errorf("error %v, want ErrUnreadable naming alice/scan", err)
	}
	notes := map[string]string{}
	for _, s := range rep.Skipped {
		notes[s.Rel] = s.Reason
	}
	if !strings.Contains(notes["alice/pipe.jpg"], "not a regular file (named pipe)") {
		t.Errorf("skipped %+v, want alice/pipe.jpg as not a regular file", rep.Skipped)
	}
	if !strings.Contains(notes["alice/scan"], "permission denied") {
		t.Errorf("skipped %+v, want alice/scan as permission denied", rep.Skipped)
	}
	if got := dump(t, f.lib); got != before || rep.Deleted != 0 || rep.Kept != 1 {
		t.Errorf("deleted %d kept %d, catalog:\n%s\nwas:\n%s", rep.Deleted, rep.Kept, got, before)
	}
}

// TestHugeFileRefusedBeforeHashing: a file over MaxFileSize (a sparse file
// of 8 GiB took 29 s to hash before the decoder's size check) is recorded
// too_large without being read (issue 15 item 10). The file is also made
// unreadable (chmod 000, as uid 65534 when the tests run as root): hashing
// it before the size check would record "error", not too_large.
func TestHugeFileRefusedBeforeHashing(t *testing.T) {
	if asUnprivileged(t) {
		return
	}
	ctx := context.Background()
	root := t.TempDir()
	writeTree(t, root, map[string]string{"alice/1.jpg": fakeSpec(0, 1, 1)})
	big := filepath.Join(root, "alice", "huge.jpg")
	fh, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := fh.Truncate(64 << 20); err != nil { // sparse: no blocks written
		t.Fatal(err)
	}
	fh.Close()
	if err := os.Chmod(big, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(big); err == nil {
		t.Fatal("a chmod 000 file is readable: cannot test")
	}
	f := newFixture(t, root)
	decoded := map[string]bool{}
	rep, err := f.index(t, ctx, func(o *IndexOptions) {
		o.MaxFileSize = 1 << 20
		o.Decode = func(p string) (image.Image, error) {
			decoded[filepath.Base(p)] = true
			return fakeDecode(p)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failed) != 1 || rep.Failed[0].Status != "too_large" || !strings.Contains(rep.Failed[0].Error, "limit") {
		t.Errorf("failed %+v, want huge.jpg too_large", rep.Failed)
	}
	if decoded["huge.jpg"] {
		t.Error("the huge file was read by the decoder")
	}
}
