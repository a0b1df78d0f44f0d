package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
	"modernc.org/sqlite"
)

// SQLite primary result codes (sqlite3.h) meaning "not allowed to write or
// create the file", as opposed to a damaged or unknown database.
const (
	sqlitePerm     = 3
	sqliteReadOnly = 8
	sqliteCantOpen = 14
)

// IsAccessError reports whether err (from Open) says the catalog or its
// folder cannot be written by this process — a read-only mount or another
// user's library — so that a read-only open is the right fallback. A
// damaged catalog, a failed migration or a newer schema are not.
func IsAccessError(err error) bool {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlitePerm, sqliteReadOnly, sqliteCantOpen:
			return true
		}
	}
	return false
}

// mayBeWritten reports whether some process other than root may write the
// catalog at path while it is read: false on a read-only file system, or
// when neither the catalog nor its folder has any write permission bit set
// (a writer needs both, to write the file and create its -wal and -shm).
// Only then is an immutable open (no locking, no change detection) safe.
func mayBeWritten(path string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return true, fmt.Errorf("statfs: %w", err)
	}
	if st.Flags&unix.ST_RDONLY != 0 {
		return false, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return true, err
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return true, err
	}
	return fi.Mode().Perm()&0o222 != 0 && di.Mode().Perm()&0o222 != 0, nil
}
