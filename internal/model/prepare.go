package model

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// MismatchError reports a file whose sha256 is not the one its manifest
// names.
type MismatchError struct {
	Path string // absolute path of the file
	Want string // hex sha256 from the manifest
	Got  string // hex sha256 of the file
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s: sha256 mismatch: got %s, want %s", e.Path, e.Got, e.Want)
}

// FileStatus is the result of checking one file of a manifest.
type FileStatus struct {
	Role string // "detect", "landmark", "feature", ...
	Path string // absolute path under FACESEARCH_HOME
	// Err is nil when the file is present with the expected sha256; it wraps
	// fs.ErrNotExist when the file is missing, and is a *MismatchError when
	// its content differs.
	Err error
}

// Check hashes every file of m under home and reports each one, in role
// order.
func Check(home string, m *Manifest) []FileStatus {
	var st []FileStatus
	for _, role := range m.Roles() {
		f := m.Files[role]
		p := filepath.Join(home, f.Path)
		st = append(st, FileStatus{Role: role, Path: p, Err: checkFile(p, f.SHA256)})
	}
	return st
}

// Verify checks the sha256 of every file of m under home. The error names
// every file that is missing or differs.
func Verify(home string, m *Manifest) error {
	var errs []error
	for _, s := range Check(home, m) {
		if s.Err != nil {
			errs = append(errs, fmt.Errorf("model %s, %s file: %w", m.Name, s.Role, s.Err))
		}
	}
	return errors.Join(errs...)
}

// Prepare makes the files of m that are derived from others (see
// File.DerivedFrom) when they are missing or differ from the manifest, then
// verifies every file. It is idempotent: a second run only hashes the files.
// Derived files are written atomically (a temporary file renamed into place).
func Prepare(home string, m *Manifest, log *slog.Logger) error {
	for _, role := range m.Roles() {
		f := m.Files[role]
		if f.DerivedFrom == nil {
			continue
		}
		dst := filepath.Join(home, f.Path)
		err := checkFile(dst, f.SHA256)
		if err == nil {
			log.Debug("model file up to date", "model", m.Name, "role", role, "path", dst)
			continue
		}
		var mm *MismatchError
		if !errors.Is(err, fs.ErrNotExist) && !errors.As(err, &mm) {
			return fmt.Errorf("model %s, %s file: %w", m.Name, role, err)
		}
		if err := derive(home, f, log); err != nil {
			return fmt.Errorf("model %s, %s file: %w", m.Name, role, err)
		}
	}
	return Verify(home, m)
}

// derive makes the file f from its source.
func derive(home string, f File, log *slog.Logger) error {
	d := f.DerivedFrom
	src := filepath.Join(home, d.Path)
	dst := filepath.Join(home, f.Path)
	if d.Transform != TransformFlushDenormals {
		return fmt.Errorf("%s: unknown transform %q", dst, d.Transform)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("source of %s: %w", dst, err)
	}
	if got := hashBytes(b); got != d.SHA256 {
		return fmt.Errorf("source of %s: %w", dst, &MismatchError{Path: src, Want: d.SHA256, Got: got})
	}
	out, n, err := FlushDenormals(b)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if err := writeAtomic(dst, out); err != nil {
		return err
	}
	log.Info("flushed denormal weights", "source", src, "path", dst, "denormals", n)
	return nil
}

// writeAtomic writes b to path through a temporary file in the same folder,
// so that path is either absent, old or complete.
func writeAtomic(path string, b []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// checkFile returns nil when the file at path has the sha256 want. An empty
// want (a user-supplied file without a record) gives ErrNotAdded.
func checkFile(path, want string) error {
	if want == "" {
		if _, err := os.Stat(path); err != nil {
			return err
		}
		return fmt.Errorf("%s: %w (no sha256 recorded by 'facesearch models add')", path, ErrNotAdded)
	}
	got, err := hashFile(path)
	if err != nil {
		return err
	}
	if got != want {
		return &MismatchError{Path: path, Want: want, Got: got}
	}
	return nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err // *fs.PathError names the file
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashBytes(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
