package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/facesearch/facesearch/internal/eval"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
)

func cmdEval(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) > 0 && args[0] == "library" {
		return evalLibrary(ctx, env, args[1:])
	}
	if len(args) > 0 && args[0] == "verdicts" {
		return evalVerdicts(ctx, env, args[1:])
	}
	if len(args) == 0 || args[0] != "lfw" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintf(env.Stderr, "Usage: facesearch eval lfw [flags] DIR\n       facesearch eval library [flags]\n       facesearch eval verdicts [flags]\n\nRun 'facesearch eval PROTOCOL -h' for the flags.\n")
			return nil
		}
		return usageError{"eval: give a protocol: 'facesearch eval lfw DIR', 'facesearch eval library' or 'facesearch eval verdicts'"}
	}
	return evalLFW(ctx, env, args[1:])
}

func evalLFW(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "eval lfw", "[flags] DIR\n\nRuns the standard LFW protocol on DIR (DIR/<name>/<name>_NNNN.jpg and\nDIR/pairs.txt): 10-fold verification accuracy, ROC AUC, TAR at --far,\nthe threshold calibrated on the folders, and identification rank-1/rank-5\nover every image. Embeddings are cached in --library, so a rerun only\nrecomputes the statistics. An image in which no face is found counts as a\nwrong decision in every pair it is part of and as a miss as a query.")
	pairsFile := fs.String("pairs", "", "pairs file (default DIR/pairs.txt)")
	lib := fs.String("library", "", "library caching the embeddings (default $FACESEARCH_HOME/eval/lfw-MODEL)")
	out := fs.String("out", "", "directory for roc.png, hist.png and eval-lfw.json (default LIBRARY/report; an explicit '' writes nothing)")
	far := fs.Float64("far", 1e-3, "false-accept rate for TAR and the calibrated threshold")
	noIndex := fs.Bool("no-index", false, "use the library as it is; do not (re)index DIR")
	workers := fs.Int("workers", 0, "images embedded at once (default: CPUs / threads)")
	threads := fs.Int("threads", 1, "onnxruntime threads per model session")
	modelName := fs.String("model", model.DefaultName, "face model")
	flip := fs.Bool("flip", false, "average each embedding with the mirrored face's (twice the embedding cost; default library $FACESEARCH_HOME/eval/lfw-MODEL-flip)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"eval lfw: give exactly one LFW directory"}
	}
	if !(*far > 0 && *far < 1) {
		return usageError{fmt.Sprintf("eval lfw: --far %g must be between 0 and 1", *far)}
	}
	dir := fs.Arg(0)
	if *pairsFile == "" {
		*pairsFile = filepath.Join(dir, "pairs.txt")
	}
	pairs, err := eval.ReadPairs(*pairsFile)
	if err != nil {
		return err
	}
	m, err := model.Builtin(*modelName)
	if err != nil {
		return usageError{"eval lfw: " + err.Error()}
	}
	if *flip {
		m.FlipAverage = true
	}
	if *lib == "" {
		name := "lfw-" + m.Name
		if m.FlipAverage {
			name += "-flip"
		}
		*lib = filepath.Join(model.Home(env.Getenv), "eval", name)
	}
	// Never the current directory's docs/ by default: run inside a checkout
	// that would overwrite the committed figures (scripts/eval.sh asks for
	// docs/ explicitly).
	outSet := false
	fs.Visit(func(f *flag.Flag) { outSet = outSet || f.Name == "out" })
	if !outSet {
		*out = filepath.Join(*lib, "report")
	}
	l, err := openLibrary(ctx, env, *lib, *noIndex)
	if err != nil {
		return err
	}
	defer l.Close()
	if !*noIndex {
		if err := indexForEval(ctx, env, l, m, dir, *workers, *threads); err != nil {
			return err
		}
	}
	modelID, err := l.ModelID(ctx)
	if err != nil {
		return err
	}
	if modelID != "" && modelID != m.ID() {
		// Only with --no-index: indexing re-embeds faces of another model.
		return fmt.Errorf("eval lfw: library %s holds %s embeddings, not %s (drop --no-index, or give --library of a %s run)", l.Dir(), modelID, m.ID(), m.ID())
	}
	faces, err := libraryFaces(ctx, l)
	if err != nil {
		return err
	}
	if len(faces) == 0 {
		return fmt.Errorf("eval lfw: library %s is empty (run without --no-index)", l.Dir())
	}
	known := make(map[string]bool, len(faces))
	for _, f := range faces {
		known[f.File] = true
	}
	for _, im := range eval.Images(pairs) {
		if !known[im.Key()] {
			return fmt.Errorf("eval lfw: %s names %s, which is not in library %s (was it indexed from %s?)", *pairsFile, im.Key(), l.Dir(), dir)
		}
	}
	// The embedding sessions are closed by now: the identification's one
	// batch search gets every core.
	faissAllCores(env)
	s, err := eval.RunLFW(ctx, eval.LFWOptions{Pairs: pairs, Faces: faces, FAR: *far, KNN: faissidx.KNN})
	if err != nil {
		return fmt.Errorf("eval lfw: %w", err)
	}
	s.Dataset, s.Model, s.Library, s.When = dir, modelID, l.Dir(), time.Now().UTC()

	printLFW(env.Stdout, s)
	if *out != "" {
		if err := writeLFWOutputs(*out, s); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "wrote %s, %s and %s\n", filepath.Join(*out, "roc.png"), filepath.Join(*out, "hist.png"), filepath.Join(*out, "eval-lfw.json"))
	}
	return nil
}

// indexForEval brings the eval library up to date with the LFW directory.
func indexForEval(ctx context.Context, env *cmdEnv, l *library.Library, m *model.Manifest, dir string, workers, threads int) error {
	if threads < 1 {
		return usageError{"eval lfw: --threads must be ≥ 1"}
	}
	workers = budgetWorkers(env, workers, threads, runtime.NumCPU())
	p, err := newPipeline(env, m, threads)
	if err != nil {
		return err
	}
	defer p.Close()
	rep, err := l.Index(ctx, library.IndexOptions{
		Root: dir, Detector: pipelineDetector{p}, Decode: decodeImage, Manifest: m,
		Workers: workers, Reroot: true, Prune: true, Progress: newProgress(env.Stderr),
	})
	if err != nil {
		return err
	}
	if rep.Processed > 0 || rep.Deleted > 0 {
		env.Log.Info("eval library updated", "dir", l.Dir(), "processed", rep.Processed, "unchanged", rep.Unchanged, "deleted", rep.Deleted, "seconds", rep.Elapsed.Seconds())
	}
	return nil
}

func printLFW(w io.Writer, s *eval.LFWResult) {
	c, groups, paths := s.Calibration, s.Groups, s.GroupPaths
	fmt.Fprintf(w, "LFW %s, model %s (%d images, library %s)\n", termText(s.Dataset), s.Model, s.Images, termText(s.Library))
	fmt.Fprintf(w, "verification, %d pairs, %d folds: accuracy %.2f%% ± %.2f%% (population std of the fold accuracies)\n",
		s.Pairs, len(s.FoldAcc), 100*s.Accuracy, 100*s.AccStd)
	fmt.Fprintf(w, "  ROC AUC %.4f; TAR %.2f%% at FAR %g (threshold %.4f); best overall threshold %.4f (accuracy %.2f%% on all pairs)\n",
		s.AUC, 100*s.TAR, s.FAR, s.TARThr, s.BestThr, 100*s.BestAcc)
	fmt.Fprintf(w, "  same-person pairs cosine %.3f ± %.3f, different-person %.3f ± %.3f\n", s.SamePairMean, s.SamePairStd, s.DiffPairMean, s.DiffPairStd)
	fmt.Fprintf(w, "  images without a face: %d of %d; %d pairs involve one and count as wrong decisions\n", len(s.NoFace), s.Images, s.NoFacePrs)
	for i, p := range s.NoFace {
		if i == 10 {
			fmt.Fprintf(w, "    ... and %d more\n", len(s.NoFace)-10)
			break
		}
		fmt.Fprintf(w, "    %s\n", termText(p))
	}
	fmt.Fprintf(w, "calibration on the %d folders (no pairs file):\n", len(groups))
	printCalibration(indentWriter{w}, printer(nil), c, paths, float32Above(c.Threshold))
	fmt.Fprintf(w, "  at that threshold on the pairs file: FAR %.2e (of only %d different-person pairs), accuracy %.2f%%\n", s.Calib.PairsFAR, s.Calib.PairsNeg, 100*s.Calib.PairsAcc)
	for _, h := range s.HeldOut {
		extra := ""
		if h.Misfiled > 0 {
			extra = fmt.Sprintf(" (%d images misfiled on purpose, %d outliers set aside)", h.Misfiled, h.Outliers)
		}
		fmt.Fprintf(w, "held-out check, %s: threshold %.4f from half the people gives FAR %.2e (target %g, within a factor 2: %v) and TAR %.2f%% on the other half (%d different-person pairs)%s\n",
			h.Name, h.Threshold, h.FAR, s.FAR, h.Within2, 100*h.TAR, h.DiffPairs, extra)
	}
	fmt.Fprintf(w, "identification over %d faces (%d queries: images of people with ≥ 2 images): rank-1 %.2f%%, rank-5 %.2f%%\n",
		s.Ident.Gallery, s.Ident.Queries, 100*s.Ident.Rank1, 100*s.Ident.Rank5)
}

// indentWriter prefixes every line written with two spaces.
type indentWriter struct{ w io.Writer }

func (i indentWriter) Write(p []byte) (int, error) {
	var b []byte
	start := true
	for _, c := range p {
		if start {
			b = append(b, ' ', ' ')
		}
		b = append(b, c)
		start = c == '\n'
	}
	if _, err := i.w.Write(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

func writeLFWOutputs(out string, s *eval.LFWResult) error {
	v, c, same, diff, far := s.Verification, s.Calibration, s.SameSims, s.DiffSims, s.FAR
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("eval lfw: %w", err)
	}
	err := eval.SavePlot(filepath.Join(out, "roc.png"), func(w io.Writer, format string) error {
		return eval.PlotROC(w, format, []eval.Curve{
			{Label: fmt.Sprintf("LFW pairs (%d)", s.Pairs), Points: v.ROC},
			{Label: fmt.Sprintf("LFW folders, %dk pairs", len(c.Diff)/1000), Points: c.Curve},
		}, far, eval.PlotOptions{Title: fmt.Sprintf("%s on LFW: accuracy %.2f%%, AUC %.4f", s.Model, 100*s.Accuracy, s.AUC)})
	})
	if err != nil {
		return err
	}
	err = eval.SavePlot(filepath.Join(out, "hist.png"), func(w io.Writer, format string) error {
		return eval.PlotHistograms(w, format, same, diff, c.Threshold,
			eval.PlotOptions{Title: fmt.Sprintf("LFW pairs: cosine similarity (threshold at FAR %g from the folders)", far)})
	})
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "eval-lfw.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("eval lfw: %w", err)
	}
	return nil
}
