// Package testenv finds what facesearch's tests need outside the repository:
// the shared test photos and a Chromium for browser tests. A missing piece
// skips the test, or fails it when the environment variable CI is "true".
// It is meant for tests only and depends on nothing but the standard library.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Missing skips tb with the reason, or fails it under CI=true.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("CI: "+format, args...)
	}
	tb.Skipf("skipping: "+format, args...)
}

// Faces returns the shared test photo directory: $FACESEARCH_TEST_FACES, else
// <repo>/../shared/faces. It calls Missing when the directory is absent.
func Faces(tb testing.TB) string {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	// file is <repo>/internal/testenv/testenv.go
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "faces")
	if d := os.Getenv("FACESEARCH_TEST_FACES"); d != "" {
		dir = d
	}
	if _, err := os.Stat(dir); err != nil {
		Missing(tb, "shared test photos not found at %s (lay out ../shared/faces beside the repository)", dir)
	}
	return filepath.Clean(dir)
}

// FacesSet returns the named set under Faces (e.g. "lfw", "face_recognition"),
// calling Missing when it is absent.
func FacesSet(tb testing.TB, name string) string {
	tb.Helper()
	dir := filepath.Join(Faces(tb), name)
	if _, err := os.Stat(dir); err != nil {
		Missing(tb, "shared test photo set %s not found at %s", name, dir)
	}
	return dir
}

// Chromium returns the path of Debian's Chromium, calling Missing when it is
// not installed.
func Chromium(tb testing.TB) string {
	tb.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if exe, err := exec.LookPath(p); err == nil {
			return exe
		}
	}
	Missing(tb, "chromium is not installed (apt-get install chromium)")
	return ""
}
