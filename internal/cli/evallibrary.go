package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/facesearch/facesearch/internal/adapt"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
	"github.com/facesearch/facesearch/internal/verdict"
)

// evalLibraryReport is the JSON of 'eval library'.
type evalLibraryReport struct {
	Schema    string             `json:"schema"`
	Library   string             `json:"library"`
	Model     string             `json:"model"`
	Folders   int                `json:"folders"`
	Faces     int                `json:"faces"`
	Eligible  int                `json:"eligible_folders"`
	Selection *adapt.Selection   `json:"held_out_folders,omitempty"`
	Split     *adapt.SplitResult `json:"split,omitempty"`
	Worst     []worstPair        `json:"worst_non_mated,omitempty"`
	Seconds   float64            `json:"seconds"`
}

type worstPair struct {
	Score float64 `json:"similarity"`
	Path  string  `json:"path"`
	Other string  `json:"other_folder_path"`
}

func evalLibrary(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "eval library", "[flags]\n\nMeasures, on the library's own folders, what adapting the similarity to its\npeople does: cross-validation over people (folds of folders), the raw cosine\nagainst each candidate transform (centring, WCCN, LDA). Open-set: held-out\nphotos of the folders a transform was fitted on are the mated searches, the\nfolders it was not fitted on the strangers, with the threshold letting\nthrough --fpir of them. Pairwise: TAR at FAR 1e-2 and 1e-3 among held-out\nphotos of fitted people and among unfitted people.\n\nWith --split-people N it instead emulates a library from this one: N folders\n(sorted, from --split-offset on) keep the first --split-share of their photos,\ntheir other photos are searched as mated queries and the other folders' photos as\nstrangers, with the threshold calibrated as the library would (cross-fitted\nfor an adapted similarity).")
	lib := fs.String("library", "", "library directory (default $FACESEARCH_LIBRARY or ./.facesearch)")
	fpir := fs.Float64("fpir", adapt.DefaultFPIR, "target false-positive identification rate (share of strangers matched)")
	folds := fs.Int("folds", adapt.DefaultFolds, "folds over people for the cross-validation")
	people := fs.Int("split-people", 0, "emulate a library of the first N folders (0: cross-validate on the library as it is)")
	share := fs.Float64("split-share", 0.6, "with --split-people: share of each library folder's photos in the emulated library")
	offset := fs.Int("split-offset", 0, "with --split-people: the N library folders start at this\nposition of the sorted list (wrapping); the others are the strangers")
	keepOutliers := fs.Bool("keep-outliers", false, "fit on every face (default: leave out faces that look misfiled or are outliers of their folder)")
	weighting := fs.String("weighting", string(adapt.WeightCapped), "folder weights in the fit: capped (faces, capped at the median folder size), faces or folders")
	worst := fs.Int("worst", 0, "also list the N faces most similar to another folder (raw cosine): what sets the open-set threshold")
	asJSON := fs.Bool("json", false, "write JSON")
	all := fs.Bool("all", false, "also try centring and LDA, and with --split-people measure every candidate on the emulated library")
	seed := fs.Uint64("seed", 1, "seed of the fold assignment")
	scores := fs.String("person-scores", "max", "person scores the candidates are judged by: max (the best face, the default of index and adapt) or all (also top3 and top3-c3w0.5, for measurement: they let strangers of a group the library barely holds through, docs/ADAPTATION.md)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"eval library: takes no arguments (the library is --library)"}
	}
	if !(*fpir > 0 && *fpir < 1) {
		return usageError{fmt.Sprintf("eval library: --fpir %g must be between 0 and 1", *fpir)}
	}
	if *folds < 2 {
		return usageError{fmt.Sprintf("eval library: --folds %d must be at least 2", *folds)}
	}
	if *offset < 0 {
		return usageError{fmt.Sprintf("eval library: --split-offset %d must not be negative", *offset)}
	}
	if !(*share > 0 && *share < 1) {
		return usageError{fmt.Sprintf("eval library: --split-share %g must be between 0 and 1", *share)}
	}
	pscores, err := personScoresFlag("eval library", *scores)
	if err != nil {
		return err
	}
	start := time.Now()
	l, err := openLibrary(ctx, env, *lib, true)
	if err != nil {
		return err
	}
	defer l.Close()
	set, err := l.FolderSet(ctx)
	if err != nil {
		return err
	}
	modelID, err := l.ModelID(ctx)
	if err != nil {
		return err
	}
	rep := evalLibraryReport{Schema: "facesearch.eval-library/1", Library: l.Dir(), Model: modelID,
		Folders: len(set.Names), Faces: set.Set.Len(), Eligible: adapt.Eligible(set.Set)}
	if set.Set.Len() == 0 {
		return fmt.Errorf("eval library %s: no faces (index a dataset first)", l.Dir())
	}
	knn := faissidx.KNN
	cands := adapt.CandidatesWith(pscores)
	if *all {
		cands = adapt.AllCandidates(pscores)
	}
	// The thresholds as the library's verdict calibration reads them
	// (verdict.MatchThreshold: folder-clustered bound), for the
	// certification as index certifies and for the emulated library's
	// calibrations.
	thr := func(non []float64, folders []int) (float64, error) {
		return verdict.MatchThreshold(non, folders, *fpir)
	}
	sopt := adapt.SelectOptions{Candidates: cands, PairFigures: true, Folds: *folds, FPIR: *fpir, Seed: *seed, KNN: knn, Fit: adapt.FitOptions{KeepOutliers: *keepOutliers, Weighting: adapt.Weighting(*weighting), KNN: knn}}
	if *people > 0 {
		// The certification's strangers leave out the folder pairs the raw
		// verdict sampling takes for one person (read on the whole library).
		alias, err := set.Aliases(ctx)
		if err != nil {
			return err
		}
		order := make([]int, len(set.Names))
		for i := range order {
			order[i] = (i + *offset) % len(order)
		}
		r, err := adapt.Split(ctx, set.Set, order, adapt.SplitOptions{People: *people, Share: *share, FPIR: *fpir, Select: sopt,
			CrossFit: adapt.CrossFitOptions{Folds: adapt.DefaultCalibrationFolds, Seed: *seed, Alias: alias}, AllCandidates: *all, Threshold: thr})
		if err != nil {
			return fmt.Errorf("eval library %s: %w", l.Dir(), err)
		}
		rep.Split = &r
	} else {
		sel, err := adapt.Select(ctx, set.Set, sopt)
		if err != nil {
			return fmt.Errorf("eval library %s: %w", l.Dir(), err)
		}
		if sel.Keep { // as index decides: the lead must hold on the whole library
			alias, err := set.Aliases(ctx)
			if err != nil {
				return err
			}
			c, _, err := adapt.Certify(ctx, set.Set, sel.Best.Params, adapt.CrossFitOptions{Folds: adapt.DefaultCalibrationFolds, Seed: *seed, KNN: knn, Fit: sopt.Fit, Alias: alias}, thr)
			if err != nil {
				return fmt.Errorf("eval library %s: %w", l.Dir(), err)
			}
			sel.Confirm(c, sopt.MinGain)
		}
		rep.Selection = &sel
	}
	for _, p := range adapt.WorstNonMated(set.Set, *worst) {
		rep.Worst = append(rep.Worst, worstPair{Score: p.Score, Path: set.Paths[p.A], Other: set.Paths[p.B]})
	}
	rep.Seconds = time.Since(start).Seconds()
	if *asJSON {
		e := json.NewEncoder(env.Stdout)
		e.SetIndent("", "  ")
		return e.Encode(rep)
	}
	printEvalLibrary(env.Stdout, rep)
	return nil
}

func printEvalLibrary(w io.Writer, r evalLibraryReport) {
	fmt.Fprintf(w, "library %s: %d folders, %d faces (%d folders with at least %d faces), model %s\n",
		r.Library, r.Folders, r.Faces, r.Eligible, adapt.MinFaces, r.Model)
	if r.Selection != nil {
		printSelection(w, *r.Selection)
	}
	if s := r.Split; s != nil {
		fmt.Fprintf(w, "emulated library: %d folders, %d faces; %d mated queries; %d strangers from %d folders\n",
			s.LibraryFolders, s.LibraryFaces, s.MatedQueries, s.Strangers, s.StrangerFolders)
		printSelection(w, s.Selection)
		fmt.Fprintf(w, "\nsearching the emulated library (match = best hit at or above the threshold):\n")
		fmt.Fprintf(w, "  %-34s %-10s %9s %18s %18s\n", "similarity", "threshold", "rank-1", "mated match", "strangers match")
		outs := []*adapt.Outcome{&s.Raw, s.Adapted, s.Leaky}
		for i := range s.Candidates {
			outs = append(outs, &s.Candidates[i])
		}
		for _, o := range outs {
			if o == nil {
				continue
			}
			fmt.Fprintf(w, "  %-34s %-10.4f %8.1f%% %7.1f%% (%d/%d) %7.1f%% (%d/%d)   at strangers' own 1x/2x FPIR: %.1f%%/%.1f%%; threshold: %s, %d non-mated\n",
				o.Similarity, o.Threshold, 100*o.Rank1, 100*o.MatedRate, o.MatedMatch, o.Mated,
				100*o.StrangerRate, o.StrangerMatch, o.Strangers, 100*o.OracleMated1, 100*o.OracleMated2, o.Calibration, o.CalibSamples)
		}
		fmt.Fprintf(w, "chosen similarity: %s (the best transform's fit left out %d faces as misfiled or outliers)\n", s.Chosen, s.Dropped)
	}
	if len(r.Worst) > 0 {
		fmt.Fprintf(w, "faces most similar to another folder (raw cosine):\n")
		for _, p := range r.Worst {
			fmt.Fprintf(w, "  %.4f  %s  ~  %s\n", p.Score, p.Path, p.Other)
		}
	}
	fmt.Fprintf(w, "(%.1fs)\n", r.Seconds)
}

func printSelection(w io.Writer, s adapt.Selection) {
	fmt.Fprintf(w, "held-out folders: %d folders, %d faces, %d folds over people, FPIR %g\n", s.Folders, s.Faces, s.Folds, s.FPIR)
	if s.Raw.Mated == 0 {
		fmt.Fprintf(w, "  not evaluated: %s\n", s.Reason)
		return
	}
	fmt.Fprintf(w, "  %-24s %12s %8s %8s | %-22s | %-22s\n", "similarity", "mated match", "rank-1", "thresh", "seen people AUC/TAR2/3", "unseen people AUC/TAR2/3")
	row := func(sc adapt.Score) {
		fmt.Fprintf(w, "  %-24s %11.1f%% %7.1f%% %8.4f | %.3f %5.1f%% %5.1f%% | %.3f %5.1f%% %5.1f%%\n",
			sc.Params, 100*sc.MatedRate, 100*sc.Rank1, sc.Threshold,
			sc.SeenPairs.AUC, 100*sc.SeenPairs.TAR2, 100*sc.SeenPairs.TAR3,
			sc.UnseenPairs.AUC, 100*sc.UnseenPairs.TAR2, 100*sc.UnseenPairs.TAR3)
	}
	row(s.Raw)
	for _, sc := range s.All {
		row(sc)
	}
	fmt.Fprintf(w, "  %d mated and %d non-mated queries; seen-people pairs %d/%d, unseen %d/%d (same/different)\n",
		s.Raw.Mated, s.Raw.NonMated, s.Raw.SeenPairs.Same, s.Raw.SeenPairs.Diff, s.Raw.UnseenPairs.Same, s.Raw.UnseenPairs.Diff)
	verdict := "not kept"
	if s.Keep {
		verdict = "kept"
	}
	if c := s.Certified; c != nil {
		fmt.Fprintf(w, "  at the certified match thresholds on the whole library (%d folders, %d mated / %d non-mated searches each): %s %.1f%% (≥ %.4f), raw %.1f%% (≥ %.4f)\n",
			c.Folders, c.Mated, c.NonMated, s.Best.Params, 100*c.Adapted, c.AdaptedThreshold, 100*c.Raw, c.RawThreshold)
	}
	fmt.Fprintf(w, "  best: %s (%s): %s\n", s.Best.Params, verdict, s.Reason)
}

// personScoresFlag reads a --person-scores flag: max (adapt.PersonScores,
// the default) or all (adapt.AllPersonScores, for measurement).
func personScoresFlag(cmd, v string) ([]adapt.PersonScore, error) {
	switch v {
	case "", "max":
		return adapt.PersonScores(), nil
	case "all":
		return adapt.AllPersonScores(), nil
	}
	return nil, usageError{fmt.Sprintf("%s: --person-scores %q: want max or all", cmd, v)}
}
