package imgio

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDecodeFIFO: a named pipe nobody writes to must be refused at once,
// not block the caller forever (issue 15 item 10: 'search FIFO' hung and
// ignored Ctrl-C).
func TestDecodeFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pipe.jpg")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := DecodeFile(p, Options{})
		done <- err
	}()
	select {
	case err := <-done:
		var ie *Error
		if !errors.Is(err, ErrNotImage) || !strings.Contains(err.Error(), "named pipe") || !errors.As(err, &ie) || ie.Kind != ErrNotImage {
			t.Errorf("error %v, want an *Error of kind ErrNotImage naming the named pipe", err)
		}
	case <-time.After(20 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("DecodeFile blocked on a FIFO")
	}
}
