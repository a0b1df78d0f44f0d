package server

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestOpenRefFIFO: a photo replaced by a FIFO is refused at once; opening it
// would block the handler beyond any request timeout.
func TestOpenRefFIFO(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "x.jpg"), 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		f, _, err := openRef(1, FileRef{Root: root, Path: "x.jpg"})
		if f != nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindNotFound {
			t.Fatalf("openRef on a FIFO: %v, want a not-found error", err)
		}
	case <-time.After(5 * time.Second):
		// Unblock the stuck open so the test binary can exit.
		if w, err := os.OpenFile(filepath.Join(root, "x.jpg"), os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("openRef blocked on a FIFO")
	}
}
