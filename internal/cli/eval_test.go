package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/eval"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/ort/orttest"
	"github.com/facesearch/facesearch/internal/testenv"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
)

// runEvalCmd runs facesearch with args using the real FACESEARCH_HOME.
func runEvalCmd(tb testing.TB, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	var out, errb bytes.Buffer
	env := &cmdEnv{Stdout: &out, Stderr: &errb, Log: slog.New(slog.NewTextHandler(&errb, nil)), Getenv: os.Getenv}
	err = runEnv(context.Background(), env, args)
	return out.String(), errb.String(), err
}

// miniLFW lays out a small LFW-style directory in a temporary folder: people
// people with at least 3 images each (3 images symlinked per person, real
// LFW names), and a 2-fold pairs.txt of same and different pairs.
func miniLFW(tb testing.TB, people int) string {
	tb.Helper()
	lfw := filepath.Join(testenv.Faces(tb), "lfw")
	ents, err := os.ReadDir(lfw)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	var names []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(lfw, e.Name(), fmt.Sprintf("%s_0003.jpg", e.Name()))); err != nil {
			continue
		}
		names = append(names, e.Name())
		if len(names) == people {
			break
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.Mkdir(filepath.Join(dir, n), 0o755); err != nil {
			tb.Fatal(err)
		}
		for i := 1; i <= 3; i++ {
			f := fmt.Sprintf("%s_%04d.jpg", n, i)
			if err := os.Symlink(filepath.Join(lfw, n, f), filepath.Join(dir, n, f)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	// Fold f uses people of parity f: same pairs (1,2) (1,3) (2,3) of the
	// first two, different pairs between consecutive people.
	per := people / 2
	var b strings.Builder
	fmt.Fprintf(&b, "2\t%d\n", per)
	for f := 0; f < 2; f++ {
		var mine []string
		for i := f; i < len(names); i += 2 {
			mine = append(mine, names[i])
		}
		for i := 0; i < per; i++ {
			n := mine[i%len(mine)]
			a, c := []int{1, 1, 2}[i%3], []int{2, 3, 3}[i%3]
			fmt.Fprintf(&b, "%s\t%d\t%d\n", n, a, c)
		}
		for i := 0; i < per; i++ {
			fmt.Fprintf(&b, "%s\t%d\t%s\t%d\n", mine[i%len(mine)], 1+i%3, mine[(i+1)%len(mine)], 1+(i+1)%3)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "pairs.txt"), []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

func TestEvalLFWAndCalibrate(t *testing.T) {
	orttest.Manifest(t)
	if testing.Short() {
		t.Skip("embeds 36 real photos")
	}
	dir := miniLFW(t, 12)
	tmp := t.TempDir()
	lib, out := filepath.Join(tmp, "lib"), filepath.Join(tmp, "out")

	stdout, stderr, err := runEvalCmd(t, "eval", "lfw", "--library", lib, "--out", out, "--far", "0.05", dir)
	if err != nil {
		t.Fatalf("eval lfw: %v\n%s\n%s", err, stdout, stderr)
	}
	t.Log(stdout)
	for _, want := range []string{"verification, 24 pairs, 2 folds: accuracy", "ROC AUC", "images without a face: ", "identification over", "held-out check, all folders"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	var s eval.LFWResult
	readJSON(t, filepath.Join(out, "eval-lfw.json"), &s)
	if s.Images != 36 || s.Pairs != 24 || s.Accuracy < 0.8 || s.AUC < 0.9 || s.Ident.Rank5 < 0.8 || len(s.HeldOut) != 2 {
		t.Errorf("implausible summary: %+v", s)
	}
	for _, p := range []string{"roc.png", "hist.png"} {
		f, err := os.Open(filepath.Join(out, p))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(f); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		f.Close()
	}

	// A rerun reuses the cached embeddings: same figures without indexing.
	out2 := filepath.Join(tmp, "out2")
	if _, stderr, err := runEvalCmd(t, "eval", "lfw", "--no-index", "--library", lib, "--out", out2, "--far", "0.05", dir); err != nil {
		t.Fatalf("rerun: %v\n%s", err, stderr)
	}
	var s2 eval.LFWResult
	readJSON(t, filepath.Join(out2, "eval-lfw.json"), &s2)
	if s2.Accuracy != s.Accuracy || s2.AUC != s.AUC || s2.Calib.Threshold != s.Calib.Threshold {
		t.Errorf("rerun differs: %+v vs %+v", s2, s)
	}

	// Without --out the figures go under the library, never ./docs.
	wd, _ := os.Getwd()
	os.Chdir(tmp)
	_, stderr, err = runEvalCmd(t, "eval", "lfw", "--no-index", "--library", lib, "--far", "0.05", dir)
	os.Chdir(wd)
	if err != nil {
		t.Fatalf("rerun without --out: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(lib, "report", "eval-lfw.json")); err != nil {
		t.Errorf("default --out: %v", err)
	}
	if _, err := os.Stat(filepath.Join(tmp, "docs")); err == nil {
		t.Error("eval lfw wrote ./docs without --out")
	}

	// calibrate stores the threshold in the library.
	plot := filepath.Join(tmp, "cal.png")
	stdout, stderr, err = runEvalCmd(t, "calibrate", "--library", lib, "--far", "0.05", "--plot", plot)
	if err != nil {
		t.Fatalf("calibrate: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "stored threshold") || !strings.Contains(stdout, "expected TAR") {
		t.Errorf("calibrate output:\n%s", stdout)
	}
	if _, err := os.Stat(plot); err != nil {
		t.Error(err)
	}
	l, err := library.Open(context.Background(), library.Options{Dir: lib, Backend: faissidx.Backend{}, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	th, src, err := l.Threshold(context.Background(), nil)
	l.Close()
	if err != nil || src != library.ThresholdCalibrated || th != float32Above(s.Calib.Threshold) {
		t.Errorf("stored threshold %v (%s, %v), want %v", th, src, err, float32Above(s.Calib.Threshold))
	}
}

func TestEvalCalibrateUsage(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "pairs.txt")
	os.WriteFile(bad, []byte("10 300\nA 1\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"eval"}, 2, "give a protocol"},
		{[]string{"eval", "cfp"}, 2, "give a protocol"},
		{[]string{"eval", "lfw"}, 2, "exactly one"},
		{[]string{"eval", "lfw", "--far", "0", dir}, 2, "--far"},
		{[]string{"eval", "lfw", dir}, 1, bad + ":2: expected a same-person line"},
		{[]string{"calibrate", "--far", "2"}, 2, "--far"},
		{[]string{"calibrate", "x"}, 2, "no arguments"},
		{[]string{"calibrate", "--dry-run", "--library", filepath.Join(dir, "none")}, 1, "no library"},
	} {
		_, _, err := runEvalCmd(t, tc.args...)
		if err == nil || ExitCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v (exit %d), want exit %d and %q", tc.args, err, ExitCode(err), tc.code, tc.want)
		}
	}
}

func readJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
}

func TestFloat32Above(t *testing.T) {
	for _, x := range []float64{0.1, 0.29, 1.0 / 3, -0.2, 0.5} {
		f := float32Above(x)
		if float64(f) < x || float64(f)-x > 1e-7 {
			t.Errorf("float32Above(%v) = %v", x, f)
		}
	}
}

// TestCalibrateHeldOutRealLFW checks the calibration on real photos: on a
// subset of LFW (people with at least 2 images, at most 6 each), the
// threshold calibrated on half the people must give a false-accept rate
// within a factor 2 of the target on the other half, also on the harder
// subset (the half of the folders with the most varied photos, 2% of the
// calibration images misfiled).
func TestCalibrateHeldOutRealLFW(t *testing.T) {
	orttest.Manifest(t)
	if testing.Short() {
		t.Skip("embeds about 1,100 real photos")
	}
	lfw := filepath.Join(testenv.Faces(t), "lfw")
	ents, err := os.ReadDir(lfw)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	people := 0
	for _, e := range ents {
		if !e.IsDir() || people == 300 {
			continue
		}
		n := e.Name()
		if _, err := os.Stat(filepath.Join(lfw, n, n+"_0002.jpg")); err != nil {
			continue
		}
		people++
		os.Mkdir(filepath.Join(dir, n), 0o755)
		for i := 1; i <= 6; i++ {
			f := fmt.Sprintf("%s_%04d.jpg", n, i)
			if _, err := os.Stat(filepath.Join(lfw, n, f)); err != nil {
				break
			}
			if err := os.Symlink(filepath.Join(lfw, n, f), filepath.Join(dir, n, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	lib := filepath.Join(t.TempDir(), "lib")
	if _, stderr, err := runEvalCmd(t, "index", "--library", lib, dir); err != nil {
		t.Fatalf("index: %v\n%s", err, stderr)
	}
	l, err := library.Open(context.Background(), library.Options{Dir: lib, Backend: faissidx.Backend{}, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	faces, err := libraryFaces(context.Background(), l)
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	groups := folderGroups(faces)
	t.Logf("%d people, %d images with a face", len(groups), countVecs(groups))
	for _, far := range []float64{1e-3, 1e-2} {
		for _, tc := range []struct {
			name   string
			groups []eval.Group
			dirty  bool
		}{{"all", groups, false}, {"hardest half, misfiled", eval.Hardest(groups, 0.5), true}} {
			prep := func(g []eval.Group) []eval.Group {
				if !tc.dirty {
					return g
				}
				out, _ := eval.Misfile(g, 0.02, 7)
				return out
			}
			h, err := eval.CheckCalibration(context.Background(), tc.groups, eval.CalibrateOptions{FAR: far, Seed: 1}, prep)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("FAR %g, %s: threshold %.4f, held-out FAR %.2e over %d pairs, TAR %.2f%%",
				far, tc.name, h.Calibration.Threshold, h.FAR, h.DiffPairs, 100*h.TAR)
			if !h.Within(2) {
				t.Errorf("FAR %g, %s: held-out FAR %.2e not within a factor 2", far, tc.name, h.FAR)
			}
		}
	}
}
