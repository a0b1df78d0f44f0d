// Package orttest finds the onnxruntime library, the default face models and
// the shared test photos for tests. Missing pieces skip the test, or fail it
// when the environment variable CI is "true".
package orttest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/ort"
)

// Missing skips tb with the reason, or fails it under CI=true.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("CI: "+format, args...)
	}
	tb.Skipf("skipping: "+format, args...)
}

// Runtime opens the onnxruntime library and closes it when tb ends.
func Runtime(tb testing.TB) *ort.Runtime {
	tb.Helper()
	lib := model.RuntimeLibrary(os.Getenv)
	if _, err := os.Stat(lib); err != nil {
		Missing(tb, "onnxruntime library not found (%v); run setup", err)
	}
	rt, err := ort.Open(lib)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close() })
	return rt
}

// Manifest returns the default manifest and FACESEARCH_HOME, skipping when
// a model file is absent. Until `facesearch models prepare` has written the
// denormal-flushed feature model, it falls back to the original
// fr_feature.onnx beside it (same outputs, ~3x slower) and logs that.
func Manifest(tb testing.TB) (*model.Manifest, string) {
	tb.Helper()
	home := model.Home(os.Getenv)
	m, err := model.Builtin(model.DefaultName)
	if err != nil {
		tb.Fatal(err)
	}
	for _, role := range []string{"detect", "landmark", "feature"} {
		p, err := m.Path(home, role)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if role == "feature" {
			orig := filepath.Join(filepath.Dir(p), "fr_feature.onnx")
			if _, err := os.Stat(orig); err == nil {
				tb.Logf("%s absent (run 'facesearch models prepare'); using %s", p, orig)
				f := m.Files[role]
				f.Path = filepath.Join(filepath.Dir(f.Path), "fr_feature.onnx")
				m.Files[role] = f
				continue
			}
		}
		Missing(tb, "model file %s not found; run setup", p)
	}
	return m, home
}

// Faces returns the shared test photo directory (<repo>/../shared/faces),
// skipping when absent.
func Faces(tb testing.TB) string {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	// file is <repo>/internal/ort/orttest/orttest.go
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "faces")
	if d := os.Getenv("FACESEARCH_TEST_FACES"); d != "" {
		dir = d
	}
	if _, err := os.Stat(dir); err != nil {
		Missing(tb, "shared test photos not found at %s", dir)
	}
	return filepath.Clean(dir)
}
