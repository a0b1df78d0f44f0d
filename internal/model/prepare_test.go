package model

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// modelsHome returns FACESEARCH_HOME with the default model's original files,
// skipping the test when they are absent (failing when CI=true).
func modelsHome(tb testing.TB) string {
	tb.Helper()
	home := Home(os.Getenv)
	m := defaultManifest(tb)
	for _, role := range m.Roles() {
		f := m.Files[role]
		p := f.Path
		if f.DerivedFrom != nil {
			p = f.DerivedFrom.Path
		}
		if _, err := os.Stat(filepath.Join(home, p)); err != nil {
			if os.Getenv("CI") == "true" {
				tb.Fatalf("default model files missing (run scripts/setup.sh): %v", err)
			}
			tb.Skipf("default model files missing (run scripts/setup.sh): %v", err)
		}
	}
	return home
}

func defaultManifest(tb testing.TB) *Manifest {
	tb.Helper()
	m, err := Builtin(DefaultName)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func writeFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// synthetic returns a manifest with a plain file and a file derived from
// testModel, and the contents the home must start with.
func synthetic(tb testing.TB) (*Manifest, map[string][]byte) {
	tb.Helper()
	src, _ := testModel()
	flushed, _, err := FlushDenormals(src)
	if err != nil {
		tb.Fatal(err)
	}
	plain := []byte("detector bytes")
	m := &Manifest{
		Name: "synthetic",
		Files: map[string]File{
			"detect": {Path: "m/detect.onnx", SHA256: hashBytes(plain)},
			"feature": {Path: "m/feature.flushed.onnx", SHA256: hashBytes(flushed),
				DerivedFrom: &Derivation{Path: "m/feature.onnx", SHA256: hashBytes(src), Transform: TransformFlushDenormals}},
		},
	}
	return m, map[string][]byte{"m/detect.onnx": plain, "m/feature.onnx": src}
}

func TestPrepare(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(tb testing.TB, home string, m *Manifest) // changes the home or manifest before Prepare
		want       string                                        // substring of the error; "" for success
		isNotExist bool
	}{
		{name: "fresh"},
		{name: "derived file corrupt is rebuilt", setup: func(tb testing.TB, home string, _ *Manifest) {
			writeFile(tb, filepath.Join(home, "m/feature.flushed.onnx"), []byte("partial"))
		}},
		{name: "source differs", setup: func(tb testing.TB, home string, _ *Manifest) {
			writeFile(tb, filepath.Join(home, "m/feature.onnx"), []byte("other model"))
		}, want: "m/feature.onnx: sha256 mismatch: got " + hashBytes([]byte("other model")) + ", want "},
		{name: "source missing", setup: func(tb testing.TB, home string, _ *Manifest) {
			os.Remove(filepath.Join(home, "m/feature.onnx"))
		}, want: "source of", isNotExist: true},
		{name: "plain file differs", setup: func(tb testing.TB, home string, _ *Manifest) {
			writeFile(tb, filepath.Join(home, "m/detect.onnx"), []byte("tampered"))
		}, want: "detect file: " + "%HOME%/m/detect.onnx: sha256 mismatch"},
		{name: "plain file missing", setup: func(tb testing.TB, home string, _ *Manifest) {
			os.Remove(filepath.Join(home, "m/detect.onnx"))
		}, want: "detect.onnx: no such file", isNotExist: true},
		{name: "unknown transform", setup: func(tb testing.TB, home string, m *Manifest) {
			m.Files["feature"].DerivedFrom.Transform = "zip"
		}, want: `unknown transform "zip"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, files := synthetic(t)
			home := t.TempDir()
			for p, b := range files {
				writeFile(t, filepath.Join(home, p), b)
			}
			if tt.setup != nil {
				tt.setup(t, home, m)
			}
			var logs bytes.Buffer
			err := Prepare(home, m, slog.New(slog.NewTextHandler(&logs, nil)))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(logs.String(), "denormals=7") {
					t.Errorf("log does not report 7 denormals:\n%s", logs.String())
				}
				if err := Verify(home, m); err != nil {
					t.Errorf("Verify after Prepare: %v", err)
				}
				return
			}
			want := strings.ReplaceAll(tt.want, "%HOME%", home)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want one containing %q", err, want)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tt.isNotExist {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v, want %v", got, tt.isNotExist)
			}
		})
	}
}

func TestPrepareIdempotent(t *testing.T) {
	m, files := synthetic(t)
	home := t.TempDir()
	for p, b := range files {
		writeFile(t, filepath.Join(home, p), b)
	}
	log := slog.New(slog.DiscardHandler)
	if err := Prepare(home, m, log); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(home, "m/feature.flushed.onnx")
	old := time.Unix(1_000_000, 0)
	if err := os.Chtimes(dst, old, old); err != nil {
		t.Fatal(err)
	}
	if err := Prepare(home, m, log); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ModTime().Equal(old) {
		t.Errorf("second Prepare rewrote %s", dst)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(filepath.Dir(dst))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("leftover temporary file %s", e.Name())
		}
	}
}

func TestCheckReportsEveryFile(t *testing.T) {
	m, files := synthetic(t)
	home := t.TempDir()
	for p, b := range files {
		writeFile(t, filepath.Join(home, p), b)
	}
	st := Check(home, m)
	if len(st) != 2 || st[0].Role != "detect" || st[1].Role != "feature" {
		t.Fatalf("Check = %+v, want detect then feature", st)
	}
	if st[0].Err != nil {
		t.Errorf("detect: %v", st[0].Err)
	}
	if !errors.Is(st[1].Err, fs.ErrNotExist) {
		t.Errorf("feature (not prepared yet): %v, want not exist", st[1].Err)
	}
	err := Verify(home, m)
	if err == nil || !strings.Contains(err.Error(), "model synthetic, feature file: ") {
		t.Errorf("Verify = %v, want the missing feature file named", err)
	}
}

// TestPrepareDefault prepares the real default model in a temporary home and
// checks the denormal count and the manifest's sha256 of the flushed file.
func TestPrepareDefault(t *testing.T) {
	real := modelsHome(t)
	m := defaultManifest(t)
	home := t.TempDir()
	for _, role := range m.Roles() {
		f := m.Files[role]
		p := f.Path
		if f.DerivedFrom != nil {
			p = f.DerivedFrom.Path
		}
		b, err := os.ReadFile(filepath.Join(real, p))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(home, p), b)
	}
	var logs bytes.Buffer
	if err := Prepare(home, m, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "denormals=8938") {
		t.Errorf("log does not report 8938 denormals:\n%s", logs.String())
	}
}

func TestBuiltinManifests(t *testing.T) {
	names := BuiltinNames()
	if !slices.Contains(names, DefaultName) {
		t.Fatalf("BuiltinNames = %v, want %s among them", names, DefaultName)
	}
	for _, n := range names {
		m, err := Builtin(n)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name != n {
			t.Errorf("manifest %s.json names itself %q", n, m.Name)
		}
		for role, f := range m.Files {
			if f.User {
				if f.SHA256 != "" {
					t.Errorf("%s %s: user file with a fixed sha256 %q (use accept_sha256)", n, role, f.SHA256)
				}
				continue
			}
			if len(f.SHA256) != 64 {
				t.Errorf("%s %s: sha256 %q is not 64 hex digits", n, role, f.SHA256)
			}
			if d := f.DerivedFrom; d != nil && (len(d.SHA256) != 64 || d.Transform != TransformFlushDenormals) {
				t.Errorf("%s %s: bad derived_from %+v", n, role, *d)
			}
		}
	}
}
