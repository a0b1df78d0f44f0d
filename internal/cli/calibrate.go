package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"

	"github.com/facesearch/facesearch/internal/eval"
	"github.com/facesearch/facesearch/internal/face"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/verdict"
)

// Refusal limits of calibrate: a pairwise threshold this high, or keeping
// this few true pairs, is stored only with --force.
const (
	degenerateThreshold = 0.99
	degenerateTAR       = 0.2
)

func cmdCalibrate(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "calibrate", "[flags]\n\nCalibrates the library on its own folders (one person per folder; misfiled\nimages and people filed under two folders are trimmed, see docs/MODEL.md):\n  - the pairwise same-person threshold for the false-accept rate --far\n    (used by compare, pairs, audit and lookalikes);\n  - the open-set (1:N) operating points of the verdicts of search, check and\n    the web page, at the false-positive identification rates --fpir\n    (docs/VERDICTS.md; index refreshes these by itself).\nA threshold of 0.99 or more, or one keeping fewer than 20% of same-person\npairs or far fewer than the curve offers at a 10x looser FAR, is refused\nunless --force. --reset goes back to the model manifest's threshold.")
	lib := fs.String("library", "", "library directory (default $FACESEARCH_LIBRARY or ./.facesearch)")
	far := fs.Float64("far", 1e-3, "target false-accept rate: share of different-person pairs called the same person")
	fpir := fs.String("fpir", "", fpirUsage+"; stored for later refreshes")
	plotROC := fs.String("plot", "", "write the ROC curve to this file (.png, .svg or .pdf)")
	plotHist := fs.String("hist", "", "write the similarity histograms to this file (.png, .svg or .pdf)")
	dry := fs.Bool("dry-run", false, "report only; do not store the threshold")
	force := fs.Bool("force", false, "store the threshold even if it looks degenerate")
	only := fs.Bool("verdicts-only", false, "only the open-set operating points (--fpir); leave the pairwise threshold alone")
	reset := fs.Bool("reset", false, "remove the calibrated pairwise threshold (back to the model manifest's) and exit")
	seed := fs.Uint64("seed", 1, "seed of the pair sampling")
	asJSON := fs.Bool("json", false, "print JSON (schema "+CalibrateSchema+", docs/LIBRARY.md); the text report goes to stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"calibrate: takes no arguments (the library is --library)"}
	}
	if !(*far > 0 && *far < 1) {
		return usageError{fmt.Sprintf("calibrate: --far %g must be between 0 and 1", *far)}
	}
	fo, err := parseFPIR("calibrate", *fpir)
	if err != nil {
		return err
	}
	if *reset && *dry {
		return usageError{"calibrate: --reset and --dry-run exclude each other"}
	}
	l, err := openLibrary(ctx, env, *lib, *dry)
	if err != nil {
		return err
	}
	defer l.Close()
	w := env.Stdout
	if *reset {
		old, oldSrc, err := l.Threshold(ctx, nil)
		if err != nil {
			return err
		}
		if err := l.SetThreshold(ctx, 0); err != nil {
			return fmt.Errorf("calibrate %s: %w", l.Dir(), err)
		}
		now, src, err := l.Threshold(ctx, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "threshold reset to %.4f from the %s (was %.4f from the %s)\n", now, src, old, oldSrc)
		return nil
	}
	if *only {
		oc, err := l.Calibrate(ctx, library.CalibrateOptions{Fit: fo, DryRun: *dry})
		if err != nil {
			return err
		}
		printOpenSet(w, oc, !*dry)
		return nil
	}
	faces, err := libraryFaces(ctx, l)
	if err != nil {
		return err
	}
	groups, paths := eval.FolderGroups(faces)
	c, err := eval.Calibrate(ctx, groups, eval.CalibrateOptions{FAR: *far, Seed: *seed})
	if err != nil {
		return fmt.Errorf("calibrate %s: %w", l.Dir(), err)
	}
	old, oldSrc, err := l.Threshold(ctx, nil)
	if err != nil {
		return err
	}
	p := printer(env)
	if *asJSON {
		w = env.Stderr // the text report steps aside for the JSON document
	}
	p.Fprintf(w, "library %s: %d folders, %d images with a face\n", l.Dir(), len(groups), countVecs(groups))
	t := float32Above(c.Threshold)
	printCalibration(w, p, c, paths, t)
	bad := degenerate(c, t)
	switch {
	case *dry:
		p.Fprintf(w, "dry run: threshold not stored (the library uses %.4f from the %s)\n", old, oldSrc)
	case bad != "" && !*force:
		p.Fprintf(w, "not stored: %s; the library keeps %.4f from the %s (--force stores it anyway)\n", bad, old, oldSrc)
	default:
		if bad != "" {
			fmt.Fprintf(w, "warning: %s; stored because of --force\n", bad)
		}
		if err := l.SetThreshold(ctx, t); err != nil {
			return fmt.Errorf("calibrate %s: %w", l.Dir(), err)
		}
		p.Fprintf(w, "stored threshold %.4f in the library (was %.4f from the %s)\n", t, old, oldSrc)
	}
	// The open-set operating points.
	oc, err := l.Calibrate(ctx, library.CalibrateOptions{Fit: fo, DryRun: *dry})
	if err != nil {
		return err
	}
	printOpenSet(w, oc, !*dry)
	if *plotROC != "" {
		if err := eval.SavePlot(*plotROC, func(pw io.Writer, format string) error {
			return eval.PlotROC(pw, format, []eval.Curve{{Label: "library folders", Points: c.Curve}}, *far,
				eval.PlotOptions{Title: "ROC from the library's folders"})
		}); err != nil {
			return err
		}
		p.Fprintf(w, "wrote %s\n", *plotROC)
	}
	if *plotHist != "" {
		if err := eval.SavePlot(*plotHist, func(pw io.Writer, format string) error {
			return eval.PlotHistograms(pw, format, c.Same, c.Diff, float64(t),
				eval.PlotOptions{Title: fmt.Sprintf("Similarities in the library (threshold at FAR %g)", *far)})
		}); err != nil {
			return err
		}
		p.Fprintf(w, "wrote %s\n", *plotHist)
	}
	if *asJSON {
		stored := !*dry && (bad == "" || *force)
		if err := writeJSONDoc(env.Stdout, calibrateDoc(l.Dir(), len(groups), countVecs(groups), c, paths, stored, t, old, oldSrc)); err != nil {
			return err
		}
	}
	if bad != "" && !*force && !*dry {
		return fmt.Errorf("calibrate: refused a degenerate threshold %.4f (%s)", t, bad)
	}
	return nil
}

// degenerate says why a pairwise threshold should not be stored ("" when
// it is fine): at or above degenerateThreshold, keeping fewer than
// degenerateTAR of the same-person pairs, or less than half the TAR the
// curve offers at a 10x looser FAR.
func degenerate(c *eval.Calibration, t float32) string {
	switch {
	case float64(t) >= degenerateThreshold:
		return fmt.Sprintf("threshold %.4f ≥ %.2f would call almost no pair the same person (duplicates or one person in several folders among the different-person pairs?)", t, degenerateThreshold)
	case c.TAR < degenerateTAR:
		return fmt.Sprintf("the threshold keeps only %.1f%% of same-person pairs", 100*c.TAR)
	}
	if looser := min(1, 10*c.FAR); looser > c.FAR && looser*float64(len(c.Diff)) >= 1 {
		if p := eval.ROCAt(c.Curve, []float64{looser})[0]; c.TAR < p.TAR/2 {
			return fmt.Sprintf("the threshold keeps %.1f%% of same-person pairs where FAR %g keeps %.1f%%", 100*c.TAR, looser, 100*p.TAR)
		}
	}
	return ""
}

// printOpenSet prints the open-set operating points.
func printOpenSet(w io.Writer, c *verdict.Calibration, stored bool) {
	fmt.Fprintf(w, "open-set (1:N) verdicts: %d non-mated searches from %d folders, %d mated searches (%.2f s)\n",
		c.NonMatedSearches, c.NonMatedFolders, c.MatedSearches, c.SampleSeconds)
	if !c.Calibrated() {
		fmt.Fprintf(w, "  uncalibrated: %s\n", c.Reason)
	} else {
		for _, p := range []struct {
			name string
			p    verdict.Point
		}{{"match", c.Match}, {"possible", c.Possible}} {
			fmt.Fprintf(w, "  %-8s ≥ %.4f: FPIR %.4f (%d of %d non-mated searches, target %g), FNIR %.4f\n",
				p.name, p.p.Threshold, p.p.MeasuredFPIR, p.p.NonMatedAbove, c.NonMatedSearches, p.p.FPIR, p.p.FNIR)
		}
	}
	for _, m := range c.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", m)
	}
	if stored {
		fmt.Fprintf(w, "  stored in %s\n", library.VerdictFile)
	}
}

// printCalibration prints a calibration: threshold t (as stored), rates,
// trimming, curve; the curve's row at the target FAR is the same threshold.
func printCalibration(w io.Writer, p *msgPrinter, c *eval.Calibration, paths [][]string, t float32) {
	p.Fprintf(w, "threshold %.4f for FAR %g: measured FAR %.2e on %d different-person pairs, expected TAR %.2f%% on %d same-person pairs\n",
		t, c.FAR, c.MeasuredFAR, len(c.Diff), 100*c.TAR, len(c.Same))
	p.Fprintf(w, "trimmed: %d images set aside as probably misfiled (or badly detected), %d folder pairs that look like one person\n",
		len(c.Outliers), c.MergedGroupPairs)
	for i, o := range c.Outliers {
		if i == 10 {
			p.Fprintf(w, "  ... and %d more\n", len(c.Outliers)-10)
			break
		}
		p.Fprintf(w, "  outlier: %s\n", termText(paths[o.Group][o.Index]))
	}
	p.Fprintf(w, "ROC (from the folders):\n  %-9s %-10s %s\n", "FAR", "threshold", "TAR")
	fars := []float64{1e-5, 1e-4, 1e-3, 1e-2, 1e-1}
	if !slices.Contains(fars, c.FAR) {
		fars = append(fars, c.FAR)
		sort.Float64s(fars)
	}
	for i, pt := range eval.ROCAt(c.Curve, fars) {
		if fars[i]*float64(len(c.Diff)) < 1 {
			p.Fprintf(w, "  %-9g (too few pairs to measure)\n", fars[i])
			continue
		}
		if fars[i] == c.FAR {
			fmt.Fprintf(w, "  %-9g %-10.4f %.2f%%  (the threshold above)\n", fars[i], t, 100*c.TAR)
			continue
		}
		fmt.Fprintf(w, "  %-9g %-10.4f %.2f%%\n", fars[i], pt.Threshold, 100*pt.TAR)
	}
	for _, m := range c.Warnings {
		p.Fprintf(w, "warning: %s\n", m)
	}
	if c.TAR < 0.8 {
		fmt.Fprintf(w, "warning: at this threshold %.1f%% of same-person pairs are missed\n", 100*(1-c.TAR))
	}
}

// float32Above rounds t up to a float32, so that the stored threshold never
// accepts a pair the float64 one rejects.
func float32Above(t float64) float32 {
	f := float32(t)
	if float64(f) < t {
		f = math.Nextafter32(f, float32(math.Inf(1)))
	}
	return f
}

// libraryFaces reads every image of the library with its primary face, in
// path order (Vec nil when no face was found or the image failed).
func libraryFaces(ctx context.Context, l *library.Library) ([]face.Face, error) {
	return l.Faces(ctx, library.FacesOptions{Placeholders: true, OKOnly: true})
}

// folderGroups groups the images with a face by folder (person).
func folderGroups(faces []face.Face) []eval.Group {
	gs, _ := eval.FolderGroups(faces)
	return gs
}

func countVecs(gs []eval.Group) int {
	n := 0
	for _, g := range gs {
		n += len(g.Vectors)
	}
	return n
}
