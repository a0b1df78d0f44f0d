// Package testenv finds what facesearch's tests need outside the repository:
// the shared test photos and a Chromium for browser tests. A missing piece
// skips the test, or fails it when the environment variable CI is "true".
// It also holds small file helpers the tests of several packages share
// (copying a dataset, writing a .npy file). It is meant for tests only and
// depends on nothing but the standard library.
package testenv

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
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

// CopyFile copies the file from to to, creating to's directory.
func CopyFile(tb testing.TB, from, to string) {
	tb.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// CopyTree copies the regular files under src (a read-only dataset) to dst,
// keeping their relative paths.
func CopyTree(tb testing.TB, src, dst string) {
	tb.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		CopyFile(tb, p, filepath.Join(dst, rel))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// WriteNpy2 writes flat as an (n, dim) little-endian float32 .npy file
// (version 1.0, header padded to 64 bytes).
func WriteNpy2(tb testing.TB, path string, flat []float32, n, dim int) {
	tb.Helper()
	if n*dim != len(flat) {
		tb.Fatalf("WriteNpy2: %d values for shape (%d, %d)", len(flat), n, dim)
	}
	hdr := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", n, dim)
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	b.WriteString(hdr)
	binary.Write(&b, binary.LittleEndian, flat)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// CLIEnv is the environment facesearch's commands see in a test, beside the
// process's own: FACESEARCH_HOME set to home, the default (English) messages
// and no default library. Each value overrides the process's variable.
func CLIEnv(home string) map[string]string {
	return map[string]string{"FACESEARCH_HOME": home, "LANG": "", "LC_ALL": "", "LC_MESSAGES": "", "FACESEARCH_LIBRARY": ""}
}

// GetJSON GETs url and, when the status is 200 and v is not nil, decodes the
// body into v; it returns the status.
func GetJSON(tb testing.TB, url string, v any) int {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			tb.Fatal(err)
		}
	}
	return resp.StatusCode
}

// Persons is the part of GET /api/persons WaitPersons reads.
type Persons struct{ Persons []struct{ Name string } }

// WaitPersons reads base+"/api/persons" into doc until it lists want
// persons or 30 s have passed (a served library reloads in the background),
// and returns the last status.
func WaitPersons(tb testing.TB, base string, want int, doc *Persons) int {
	tb.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		doc.Persons = nil
		code := GetJSON(tb, base+"/api/persons", doc)
		if code == 200 && len(doc.Persons) == want || time.Now().After(deadline) {
			return code
		}
		time.Sleep(20 * time.Millisecond)
	}
}
