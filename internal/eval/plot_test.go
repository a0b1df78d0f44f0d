package eval

import (
	"context"
	"flag"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

var plotDir = flag.String("plotdir", "", "also write the test plots into this directory (to look at them)")

func TestPlots(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	c, err := Calibrate(context.Background(), synthFaces(rng, 200, 64), CalibrateOptions{DiffPairs: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	var scores []Score
	for _, s := range c.Same {
		scores = append(scores, Score{Sim: s, Same: true})
	}
	for _, s := range c.Diff[:5000] {
		scores = append(scores, Score{Sim: s})
	}
	small, err := ROC(scores)
	if err != nil {
		t.Fatal(err)
	}
	dir := *plotDir
	if dir == "" {
		dir = t.TempDir()
	}
	rocPath := filepath.Join(dir, "roc.png")
	histPath := filepath.Join(dir, "hist.png")
	err = SavePlot(rocPath, func(w io.Writer, format string) error {
		return PlotROC(w, format, []Curve{{"synthetic, 100k pairs", c.Curve}, {"synthetic, 5k pairs", small}}, 1e-3, PlotOptions{Title: "ROC (synthetic)"})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = SavePlot(histPath, func(w io.Writer, format string) error {
		return PlotHistograms(w, format, c.Same, c.Diff, c.Threshold, PlotOptions{Title: "Similarity (synthetic)"})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{rocPath, histPath} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if b := img.Bounds(); b.Dx() != 576 || b.Dy() != 432 {
			t.Errorf("%s: %v, want 576x432 (6x4.5 in at 96 dpi)", p, b)
		}
	}
	if err := SavePlot(filepath.Join(dir, "x.png"), func(w io.Writer, f string) error {
		return PlotROC(w, f, nil, 0, PlotOptions{})
	}); err == nil {
		t.Error("no curves: no error")
	}
	if err := SavePlot(filepath.Join(dir, "no", "such", "dir.png"), func(io.Writer, string) error { return nil }); err == nil {
		t.Error("unwritable path: no error")
	}
}
