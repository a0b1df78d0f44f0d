package cli

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/model/onnxtest"
)

// runModelsCmd runs facesearch with args and FACESEARCH_HOME=home, and
// returns stdout, stderr (logs included) and the exit status.
func runModelsCmd(tb testing.TB, home string, args ...string) (stdout, stderr string, code int) {
	tb.Helper()
	var out, errb bytes.Buffer
	env := &cmdEnv{
		Stdout: &out,
		Stderr: &errb,
		Log:    slog.New(slog.NewTextHandler(&errb, nil)),
		Getenv: func(k string) string {
			if k == "FACESEARCH_HOME" {
				return home
			}
			return ""
		},
	}
	err := runEnv(context.Background(), env, args)
	if err != nil {
		code = ExitCode(err)
		errb.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), code
}

// modelOriginals copies the default model's downloaded files (not the
// derived ones) from the real FACESEARCH_HOME into home. It skips the test
// when they are absent, and fails it when CI=true.
func modelOriginals(tb testing.TB, home string) {
	tb.Helper()
	real := model.Home(os.Getenv)
	m, err := model.Builtin(model.DefaultName)
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range m.Files {
		p := f.Path
		if f.DerivedFrom != nil {
			p = f.DerivedFrom.Path
		}
		b, err := os.ReadFile(filepath.Join(real, p))
		if err != nil {
			if os.Getenv("CI") == "true" {
				tb.Fatalf("default model files missing (run scripts/setup.sh): %v", err)
			}
			tb.Skipf("default model files missing (run scripts/setup.sh): %v", err)
		}
		dst := filepath.Join(home, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

const (
	detectRel  = "faceplugin-face-recognition-js/model/fr_detect.onnx"
	flushedRel = "faceplugin-face-recognition-js/model/fr_feature.flushed.onnx"
)

func TestModelsCommand(t *testing.T) {
	tests := []struct {
		name      string
		originals bool                             // copy the real downloaded files into home
		setup     func(tb testing.TB, home string) // runs after the copy
		args      []string
		code      int
		stdout    []string // substrings expected on stdout
		stderr    []string // substrings expected on stderr
	}{
		{name: "no subcommand", args: []string{"models"}, code: 2,
			stderr: []string{"Usage: facesearch models", "no subcommand"}},
		{name: "help", args: []string{"models", "-h"}, code: 0,
			stderr: []string{"prepare [NAME]", "verify [NAME]", "FACESEARCH_HOME (now %HOME%)"}},
		{name: "unknown subcommand", args: []string{"models", "frobnicate"}, code: 2,
			stderr: []string{`unknown subcommand "frobnicate"`}},
		{name: "list empty home", args: []string{"models", "list"}, code: 0,
			stdout: []string{"faceplugin-v1 (default)  512  0.29", "missing: detect, feature, landmark", "FACESEARCH_HOME=%HOME%"}},
		{name: "list before prepare", originals: true, args: []string{"models", "list"}, code: 0,
			stdout: []string{"faceplugin-v1 (default)", "missing: feature\n"}},
		{name: "list extra argument", args: []string{"models", "list", "x"}, code: 2,
			stderr: []string{"takes no arguments"}},
		{name: "verify empty home", args: []string{"models", "verify"}, code: 1,
			stdout: []string{"FAIL  detect    %HOME%/" + detectRel},
			stderr: []string{"model faceplugin-v1, detect file: ", "no such file", "scripts/setup.sh"}},
		{name: "verify unknown model", args: []string{"models", "verify", "nope"}, code: 2,
			stderr: []string{`model "nope": no such built-in manifest`, "built-in: arcface-112, faceplugin-v1, japanese-face-v1"}},
		{name: "prepare", originals: true, args: []string{"models", "prepare"}, code: 0,
			stdout: []string{"model faceplugin-v1: 3 files verified under %HOME%"},
			stderr: []string{"flushed denormal weights", "denormals=8938"}},
		{name: "prepare named", originals: true, args: []string{"models", "prepare", "faceplugin-v1"}, code: 0,
			stdout: []string{"3 files verified"}},
		{name: "prepare then verify", originals: true, setup: prepareHome,
			args: []string{"models", "verify"}, code: 0,
			stdout: []string{"ok    detect", "ok    feature   %HOME%/" + flushedRel, "ok    landmark"}},
		{name: "prepare then list", originals: true, setup: prepareHome,
			args: []string{"models", "list"}, code: 0, stdout: []string{"3 verified"}},
		{name: "verify tampered", originals: true, setup: func(tb testing.TB, home string) {
			prepareHome(tb, home)
			appendByte(tb, filepath.Join(home, detectRel))
		}, args: []string{"models", "verify"}, code: 1,
			stdout: []string{"FAIL  detect", "ok    feature"},
			stderr: []string{"%HOME%/" + detectRel + ": sha256 mismatch: got ", ", want 6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854"}},
		{name: "list tampered", originals: true, setup: func(tb testing.TB, home string) {
			prepareHome(tb, home)
			appendByte(tb, filepath.Join(home, detectRel))
		}, args: []string{"models", "list"}, code: 0, stdout: []string{"differ: detect"}},
		{name: "prepare rebuilds a damaged derived file", originals: true, setup: func(tb testing.TB, home string) {
			prepareHome(tb, home)
			appendByte(tb, filepath.Join(home, flushedRel))
		}, args: []string{"models", "prepare"}, code: 0, stderr: []string{"denormals=8938"}},
		{name: "prepare without downloads", args: []string{"models", "prepare"}, code: 1,
			stderr: []string{"source of %HOME%/" + flushedRel, "fr_feature.onnx: no such file", "scripts/setup.sh"}},
		{name: "add unknown profile", args: []string{"models", "add", "p", "x.onnx"}, code: 2,
			stderr: []string{`models add: model "p": no such built-in manifest`}},
		{name: "add one argument", args: []string{"models", "add", "japanese-face-v1"}, code: 2,
			stderr: []string{"give PROFILE and FILE.onnx"}},
		{name: "add", setup: userModel(224, 512), args: []string{"models", "add", "japanese-face-v1", "%HOME%/src/m.onnx"}, code: 0,
			stdout: []string{"model japanese-face-v1: feature file installed at %HOME%/user-models/japanese-face-v1/feature.onnx", "input  input [1,3,224,224]", "output output [1,512]"}},
		{name: "add wrong size", setup: userModel(112, 512), args: []string{"models", "add", "japanese-face-v1", "%HOME%/src/m.onnx"}, code: 1,
			stderr: []string{"%HOME%/src/m.onnx does not fit profile japanese-face-v1: input input [1,3,112,112], want [1,3,224,224]"}},
		{name: "add to the default", setup: userModel(112, 512), args: []string{"models", "add", "faceplugin-v1", "%HOME%/src/m.onnx"}, code: 1,
			stderr: []string{"model faceplugin-v1 has no user-supplied file"}},
		{name: "list after add", setup: func(tb testing.TB, home string) {
			userModel(112, 512)(tb, home)
			if _, stderr, code := runModelsCmd(tb, home, "models", "add", "arcface-112", home+"/src/m.onnx"); code != 0 {
				tb.Fatal(stderr)
			}
		}, args: []string{"models", "list"}, code: 0,
			stdout: []string{"arcface-112              512  0.30       missing: detect, landmark\n", "japanese-face-v1         512  0.40       missing: detect, feature, landmark"}},
		{name: "verify not added", args: []string{"models", "verify", "japanese-face-v1"}, code: 1,
			stdout: []string{"FAIL  feature   %HOME%/user-models/japanese-face-v1/feature.onnx"},
			stderr: []string{"no such file"}},
		{name: "add help", args: []string{"models", "add", "-h"}, code: 0,
			stderr: []string{"Usage: facesearch models add PROFILE FILE.onnx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			if tt.originals {
				modelOriginals(t, home)
			}
			if tt.setup != nil {
				tt.setup(t, home)
			}
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "%HOME%", home)
			}
			stdout, stderr, code := runModelsCmd(t, home, args...)
			if code != tt.code {
				t.Errorf("exit status %d, want %d", code, tt.code)
			}
			for _, w := range tt.stdout {
				if w = strings.ReplaceAll(w, "%HOME%", home); !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q", w)
				}
			}
			for _, w := range tt.stderr {
				if w = strings.ReplaceAll(w, "%HOME%", home); !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
		})
	}
}

// TestModelsPrepareIdempotent checks that a second prepare leaves the derived
// file alone (setup.sh runs it on every setup).
func TestModelsPrepareIdempotent(t *testing.T) {
	home := t.TempDir()
	modelOriginals(t, home)
	prepareHome(t, home)
	before, err := os.Stat(filepath.Join(home, flushedRel))
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runModelsCmd(t, home, "models", "prepare")
	if code != 0 {
		t.Fatalf("second prepare: status %d\n%s", code, stderr)
	}
	if strings.Contains(stderr, "flushed denormal weights") {
		t.Errorf("second prepare flushed again:\n%s", stderr)
	}
	after, err := os.Stat(filepath.Join(home, flushedRel))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Error("second prepare replaced the flushed file")
	}
}

// userModel writes a tiny ONNX model taking [1,3,side,side] and giving
// [1,dim] to home/src/m.onnx.
func userModel(side, dim int64) func(tb testing.TB, home string) {
	return func(tb testing.TB, home string) {
		tb.Helper()
		dir := filepath.Join(home, "src")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		onnxtest.Write(tb, dir, "m.onnx", onnxtest.FirstValues("input", "output", side, side, dim, false))
	}
}

func prepareHome(tb testing.TB, home string) {
	tb.Helper()
	if _, stderr, code := runModelsCmd(tb, home, "models", "prepare"); code != 0 {
		tb.Fatalf("models prepare: status %d\n%s", code, stderr)
	}
}

func appendByte(tb testing.TB, path string) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte{0}); err != nil {
		tb.Fatal(err)
	}
}
