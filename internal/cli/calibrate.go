package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/eval"
)

func cmdCalibrate(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "calibrate", "[flags]\n\nEstimates the same-person and different-person similarity distributions from\nthe library's own folders (one person per folder; misfiled images and people\nfiled under two folders are trimmed, see docs/MODEL.md), picks the threshold\nfor the false-accept rate --far and stores it in the library.")
	lib := fs.String("library", "", "library directory (default $FACESEARCH_LIBRARY or ./.facesearch)")
	far := fs.Float64("far", 1e-3, "target false-accept rate: share of different-person pairs called the same person")
	plotROC := fs.String("plot", "", "write the ROC curve to this file (.png, .svg or .pdf)")
	plotHist := fs.String("hist", "", "write the similarity histograms to this file (.png, .svg or .pdf)")
	dry := fs.Bool("dry-run", false, "report only; do not store the threshold")
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
	l, err := openLibrary(ctx, env, *lib, *dry)
	if err != nil {
		return err
	}
	defer l.Close()
	faces, err := libraryFaces(ctx, l.Catalog())
	if err != nil {
		return err
	}
	groups, paths := folderGroupPaths(faces)
	c, err := eval.Calibrate(ctx, groups, eval.CalibrateOptions{FAR: *far, Seed: *seed})
	if err != nil {
		return fmt.Errorf("calibrate %s: %w", l.Dir(), err)
	}
	old, oldSrc, err := l.Threshold(ctx, nil)
	if err != nil {
		return err
	}
	w, p := env.Stdout, printer(env)
	if *asJSON {
		w = env.Stderr // the text report steps aside for the JSON document
	}
	p.Fprintf(w, "library %s: %d folders, %d images with a face\n", l.Dir(), len(groups), countVecs(groups))
	printCalibration(w, p, c, paths)
	t := float32Above(c.Threshold)
	switch {
	case *dry:
		p.Fprintf(w, "dry run: threshold not stored (the library uses %.4f from the %s)\n", old, oldSrc)
	default:
		if err := l.SetThreshold(ctx, t); err != nil {
			return fmt.Errorf("calibrate %s: %w", l.Dir(), err)
		}
		p.Fprintf(w, "stored threshold %.4f in the library (was %.4f from the %s)\n", t, old, oldSrc)
	}
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
			return eval.PlotHistograms(pw, format, c.Same, c.Diff, c.Threshold,
				eval.PlotOptions{Title: fmt.Sprintf("Similarities in the library (threshold at FAR %g)", *far)})
		}); err != nil {
			return err
		}
		p.Fprintf(w, "wrote %s\n", *plotHist)
	}
	if *asJSON {
		return writeJSONDoc(env.Stdout, calibrateDoc(l.Dir(), len(groups), countVecs(groups), c, paths, !*dry, t, old, oldSrc))
	}
	return nil
}

// printCalibration prints a calibration: threshold, rates, trimming, curve.
func printCalibration(w io.Writer, p *msgPrinter, c *eval.Calibration, paths [][]string) {
	p.Fprintf(w, "threshold %.4f for FAR %g: measured FAR %.2e on %d different-person pairs, expected TAR %.2f%% on %d same-person pairs\n",
		c.Threshold, c.FAR, c.MeasuredFAR, len(c.Diff), 100*c.TAR, len(c.Same))
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
	for i, pt := range eval.ROCAt(c.Curve, fars) {
		if fars[i]*float64(len(c.Diff)) < 1 {
			p.Fprintf(w, "  %-9g (too few pairs to measure)\n", fars[i])
			continue
		}
		fmt.Fprintf(w, "  %-9g %-10.4f %.2f%%\n", fars[i], pt.Threshold, 100*pt.TAR)
	}
	for _, m := range c.Warnings {
		p.Fprintf(w, "warning: %s\n", m)
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

// libFace is one image of a library with the embedding of its primary face
// (nil when no face was found or the image failed).
type libFace struct {
	Path, Person string
	Status       string
	Vec          []float32
}

// libraryFaces reads every image of the catalog with its primary face.
func libraryFaces(ctx context.Context, cat *catalog.Catalog) ([]libFace, error) {
	ims, err := cat.Images(ctx, false)
	if err != nil {
		return nil, err
	}
	out := make([]libFace, 0, len(ims))
	for _, im := range ims {
		f := libFace{Path: im.Path, Person: im.Person, Status: im.Status}
		if im.Status == catalog.StatusOK {
			for _, fc := range im.Faces {
				if fc.Primary {
					f.Vec = fc.Embedding
					break
				}
			}
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// folderGroups groups the images with a face by folder (person).
func folderGroups(faces []libFace) []eval.Group {
	gs, _ := folderGroupPaths(faces)
	return gs
}

// folderGroupPaths is folderGroups plus the path of every vector.
func folderGroupPaths(faces []libFace) ([]eval.Group, [][]string) {
	idx := map[string]int{}
	var gs []eval.Group
	var paths [][]string
	for _, f := range faces {
		if f.Vec == nil {
			continue
		}
		i, ok := idx[f.Person]
		if !ok {
			i = len(gs)
			idx[f.Person] = i
			gs = append(gs, eval.Group{Name: f.Person})
			paths = append(paths, nil)
		}
		gs[i].Vectors = append(gs[i].Vectors, f.Vec)
		paths[i] = append(paths[i], f.Path)
	}
	return gs, paths
}

func countVecs(gs []eval.Group) int {
	n := 0
	for _, g := range gs {
		n += len(g.Vectors)
	}
	return n
}
