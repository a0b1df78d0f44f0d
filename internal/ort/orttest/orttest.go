// Package orttest finds the onnxruntime library and the default face models
// for tests. Missing pieces skip the test, or fail it when the environment
// variable CI is "true" (testenv.Missing); testenv finds the shared photos.
package orttest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/ort"
	"github.com/facesearch/facesearch/internal/testenv"
)

// Runtime opens the onnxruntime library and closes it when tb ends.
func Runtime(tb testing.TB) *ort.Runtime {
	tb.Helper()
	lib := model.RuntimeLibrary(os.Getenv)
	if _, err := os.Stat(lib); err != nil {
		testenv.Missing(tb, "onnxruntime library not found (%v); run setup", err)
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
		testenv.Missing(tb, "model file %s not found; run setup", p)
	}
	return m, home
}

// CLIHome returns the FACESEARCH_HOME the commands can run with: it has the
// models, and the feature model is the prepared one (the commands do not fall
// back to the original the way Manifest does). Otherwise it calls
// testenv.Missing.
func CLIHome(tb testing.TB) string {
	tb.Helper()
	m, home := Manifest(tb)
	builtin, _ := model.Builtin(model.DefaultName)
	if m.Files["feature"].Path != builtin.Files["feature"].Path {
		testenv.Missing(tb, "the CLI needs the prepared feature model (run 'facesearch models prepare')")
	}
	return home
}
