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
	"github.com/facesearch/facesearch/internal/face"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
)

func cmdEval(ctx context.Context, env *Env, args []string) error {
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

// lfwSummary is what eval lfw measures; it is also written as JSON.
type lfwSummary struct {
	Dataset   string    `json:"dataset"`
	Model     string    `json:"model"`
	Library   string    `json:"library"`
	When      time.Time `json:"when"`
	Images    int       `json:"images"`
	NoFace    []string  `json:"images_without_face"`
	Pairs     int       `json:"pairs"`
	NoFacePrs int       `json:"pairs_without_face"`
	Accuracy  float64   `json:"accuracy_mean"`
	AccStd    float64   `json:"accuracy_std"`
	FoldAcc   []float64 `json:"fold_accuracies"`
	FoldThr   []float64 `json:"fold_thresholds"`
	AUC       float64   `json:"auc"`
	FAR       float64   `json:"far"`
	TAR       float64   `json:"tar_at_far"`
	TARThr    float64   `json:"tar_threshold"`
	BestThr   float64   `json:"best_threshold"`
	BestAcc   float64   `json:"best_threshold_accuracy"`
	Calib     struct {
		Threshold   float64 `json:"threshold"`
		MeasuredFAR float64 `json:"measured_far"`
		TAR         float64 `json:"tar"`
		SamePairs   int     `json:"same_pairs"`
		DiffPairs   int     `json:"diff_pairs"`
		Outliers    int     `json:"outliers"`
		Merged      int     `json:"merged_folder_pairs"`
		PairsFAR    float64 `json:"far_on_lfw_pairs"`
		PairsNeg    int     `json:"lfw_diff_pairs"`
		PairsAcc    float64 `json:"accuracy_on_lfw_pairs"`
	} `json:"calibration"`
	HeldOut []heldOutSummary `json:"held_out_checks"`
	Ident   struct {
		Queries int     `json:"queries"`
		Gallery int     `json:"gallery"`
		Rank1   float64 `json:"rank1"`
		Rank5   float64 `json:"rank5"`
	} `json:"identification"`
	SamePairMean float64 `json:"same_pair_mean"`
	SamePairStd  float64 `json:"same_pair_std"`
	DiffPairMean float64 `json:"diff_pair_mean"`
	DiffPairStd  float64 `json:"diff_pair_std"`
}

type heldOutSummary struct {
	Name      string  `json:"name"`
	Threshold float64 `json:"threshold"`
	FAR       float64 `json:"held_out_far"`
	TAR       float64 `json:"held_out_tar"`
	DiffPairs int     `json:"held_out_diff_pairs"`
	Within2   bool    `json:"within_factor_2"`
	Misfiled  int     `json:"misfiled_injected"`
	Outliers  int     `json:"outliers_found"`
}

func evalLFW(ctx context.Context, env *Env, args []string) error {
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
	byKey := make(map[string][]float32, len(faces))
	var s lfwSummary
	s.Dataset, s.Model, s.Library, s.When, s.Images = dir, modelID, l.Dir(), time.Now().UTC(), len(faces)
	for _, f := range faces {
		byKey[f.File] = f.Vec
		if f.Vec == nil {
			s.NoFace = append(s.NoFace, f.File)
		}
	}
	for _, im := range eval.Images(pairs) {
		if _, ok := byKey[im.Key()]; !ok {
			return fmt.Errorf("eval lfw: %s names %s, which is not in library %s (was it indexed from %s?)", *pairsFile, im.Key(), l.Dir(), dir)
		}
	}
	v, err := eval.Verify(pairs, func(im eval.Image) []float32 { return byKey[im.Key()] }, *far)
	if err != nil {
		return fmt.Errorf("eval lfw: %w", err)
	}
	s.Pairs, s.NoFacePrs = v.Pairs, v.MissingPairs
	s.Accuracy, s.AccStd, s.FoldAcc, s.FoldThr = v.KFold.Mean, v.KFold.Std, v.KFold.Accuracies, v.KFold.Thresholds
	s.AUC, s.FAR, s.TAR, s.TARThr = v.AUC, *far, v.TAR, v.TARThreshold
	s.BestThr, s.BestAcc = v.BestThreshold, v.BestAccuracy
	var same, diff []float64
	for _, sc := range v.Scores {
		switch {
		case sc.Sim == eval.MissingSame || sc.Sim == eval.MissingDiff:
		case sc.Same:
			same = append(same, sc.Sim)
		default:
			diff = append(diff, sc.Sim)
		}
	}
	s.SamePairMean, s.SamePairStd = eval.MeanStd(same)
	s.DiffPairMean, s.DiffPairStd = eval.MeanStd(diff)

	// Calibration on the folders (every image, no pairs file).
	groups, paths := folderGroupPaths(faces)
	c, err := eval.Calibrate(ctx, groups, eval.CalibrateOptions{FAR: *far, Seed: 1})
	if err != nil {
		return fmt.Errorf("eval lfw: %w", err)
	}
	s.Calib.Threshold, s.Calib.MeasuredFAR, s.Calib.TAR = c.Threshold, c.MeasuredFAR, c.TAR
	s.Calib.SamePairs, s.Calib.DiffPairs, s.Calib.Outliers, s.Calib.Merged = len(c.Same), len(c.Diff), len(c.Outliers), c.MergedGroupPairs
	s.Calib.PairsAcc = eval.Accuracy(v.Scores, c.Threshold)
	neg, acc := 0, 0
	for _, sc := range v.Scores {
		if !sc.Same {
			neg++
			if sc.Sim >= c.Threshold {
				acc++
			}
		}
	}
	s.Calib.PairsFAR, s.Calib.PairsNeg = float64(acc)/float64(max(neg, 1)), neg

	// Held-out checks: calibrate on half the people, measure on the other half.
	for _, chk := range []struct {
		name    string
		groups  []eval.Group
		misfile float64
	}{
		{"all folders", groups, 0},
		{"hardest half of the folders (most varied photos), 2% of calibration images misfiled", eval.Hardest(groups, 0.5), 0.02},
	} {
		moved := 0
		prep := func(g []eval.Group) []eval.Group {
			if chk.misfile == 0 {
				return g
			}
			var out []eval.Group
			out, moved = eval.Misfile(g, chk.misfile, 7)
			return out
		}
		h, err := eval.CheckCalibration(ctx, chk.groups, eval.CalibrateOptions{FAR: *far, Seed: 1}, prep)
		if err != nil {
			return fmt.Errorf("eval lfw: %s: %w", chk.name, err)
		}
		s.HeldOut = append(s.HeldOut, heldOutSummary{Name: chk.name, Threshold: h.Calibration.Threshold, FAR: h.FAR, TAR: h.TAR,
			DiffPairs: h.DiffPairs, Within2: h.Within(2), Misfiled: moved, Outliers: len(h.Calibration.Outliers)})
	}

	// Identification over every image with a face: one batch search, the
	// embedding sessions are closed by now, so faiss gets every core.
	faissAllCores(env)
	id, gallery, err := identifyAll(ctx, faces)
	if err != nil {
		return fmt.Errorf("eval lfw: %w", err)
	}
	s.Ident.Queries, s.Ident.Gallery, s.Ident.Rank1, s.Ident.Rank5 = id.Queries, gallery, id.Rank(1), id.Rank(5)

	printLFW(env.Stdout, &s, c, groups, paths)
	if *out != "" {
		if err := writeLFWOutputs(*out, &s, v, c, same, diff, *far); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "wrote %s, %s and %s\n", filepath.Join(*out, "roc.png"), filepath.Join(*out, "hist.png"), filepath.Join(*out, "eval-lfw.json"))
	}
	return nil
}

// indexForEval brings the eval library up to date with the LFW directory.
func indexForEval(ctx context.Context, env *Env, l *library.Library, m *model.Manifest, dir string, workers, threads int) error {
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

// identifyAll runs closed-set identification over every image with a face:
// one exact (Flat) inner-product search of all of them at once.
func identifyAll(ctx context.Context, faces []face.Face) (eval.Identification, int, error) {
	labels := make([]string, len(faces))
	var vecs []float32
	var ids []int64
	dim := 0
	for i, f := range faces {
		labels[i] = f.Person
		if f.Vec != nil {
			dim = len(f.Vec)
			vecs = append(vecs, f.Vec...)
			ids = append(ids, int64(i))
		}
	}
	if len(ids) == 0 {
		return eval.Identification{}, 0, fmt.Errorf("identification: no image has a face")
	}
	x, err := faissidx.Backend{}.New(dim, "Flat")
	if err != nil {
		return eval.Identification{}, 0, err
	}
	defer x.Close()
	if err := x.Add(vecs, ids); err != nil {
		return eval.Identification{}, 0, err
	}
	const k = 6 // rank 5 plus the query itself
	_, res, err := x.Search(vecs, k, library.SearchParams{})
	if err != nil {
		return eval.Identification{}, 0, err
	}
	row := make(map[int][]int, len(ids))
	for qi, id := range ids {
		r := make([]int, 0, k)
		for _, j := range res[qi*k : (qi+1)*k] {
			if j >= 0 {
				r = append(r, int(j))
			}
		}
		row[int(id)] = r
	}
	search := func(_ context.Context, q, _ int) ([]int, error) { return row[q], nil } // nil (no face): a miss
	id, err := eval.Identify(ctx, labels, search, eval.IdentifyOptions{MaxRank: 5})
	return id, len(ids), err
}

func printLFW(w io.Writer, s *lfwSummary, c *eval.Calibration, groups []eval.Group, paths [][]string) {
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

func writeLFWOutputs(out string, s *lfwSummary, v *eval.Verification, c *eval.Calibration, same, diff []float64, far float64) error {
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
