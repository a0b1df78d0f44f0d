package library

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// WriterActive reports whether a writer ('facesearch index', 'import-npz',
// or a search rebuilding a stale index) holds the library's lock right now.
// It probes the lock with a shared, non-blocking flock that it releases at
// once; a library without a lock file has never had a writer. A lock file
// that cannot be opened (another user's library) is an error: the caller
// cannot tell.
func (l *Library) WriterActive() (bool, error) {
	f, err := os.Open(filepath.Join(l.dir, lockFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("library %s: probe the writer lock: %w", l.dir, err)
	}
	defer f.Close()
	switch err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); {
	case errors.Is(err, unix.EWOULDBLOCK):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("library %s: probe the writer lock: %w", l.dir, err)
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false, nil
}
