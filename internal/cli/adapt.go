package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/facesearch/facesearch/internal/adapt"
	"github.com/facesearch/facesearch/internal/library"
)

// AdaptSchema names the JSON document printed by 'adapt --json'.
const AdaptSchema = "facesearch.adapt/v1"

type adaptJSON struct {
	Schema     string           `json:"schema"`
	Library    string           `json:"library"`
	Setting    string           `json:"setting"`    // raw, adapted or auto
	Similarity string           `json:"similarity"` // what searches use
	Refitted   bool             `json:"refitted"`
	Kept       bool             `json:"kept"`
	Transform  string           `json:"transform,omitempty"`
	Threshold  float64          `json:"match_threshold,omitempty"`
	FPIR       float64          `json:"fpir,omitempty"`
	NonMated   int              `json:"calibration_non_mated,omitempty"`
	Mated      int              `json:"calibration_mated,omitempty"`
	Faces      int              `json:"faces"`
	Folders    int              `json:"folders"`
	Seconds    float64          `json:"fit_seconds"`
	VecSeconds float64          `json:"vectors_seconds"` // writing the adapted vectors in this run (0: they were current)
	Selection  *adapt.Selection `json:"selection,omitempty"`
}

func cmdAdapt(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "adapt", "[flags]\n\nShows, refits or switches the library's similarity adaptation (docs/ADAPTATION.md).\n'index' and 'import-npz' fit it by themselves when the library changed by 10%;\nit is kept only if it beats the raw cosine on held-out folders.\n--similarity raw|adapted|auto stores the library's setting (auto: adapted when\nkept, else raw); searches then say which similarity they used. A refit or a\nswitch recalibrates the verdicts in the similarity searches now use.")
	lib := fs.String("library", "", "library directory (default $FACESEARCH_LIBRARY or ./.facesearch)")
	sim := fs.String("similarity", "", "store the library's similarity: raw, adapted or auto")
	refit := fs.Bool("refit", false, "fit the adaptation now, even if the library changed little")
	fpir := fs.Float64("fpir", adapt.DefaultFPIR, "with --refit: target false-positive identification rate of the selection and calibration")
	minGain := fs.Float64("min-gain", adapt.DefaultMinGain, "with --refit: how much the mated match rate must beat the raw cosine's, on held-out folders and then at the certified thresholds on the whole library, to keep the transform (negative keeps the best one whatever it does, for measurement)")
	scores := fs.String("person-scores", "max", "with --refit: person scores the candidates are judged by: max (the best face, the default) or all (also top3 and top3-c3w0.5, for measurement only: they let strangers of a group the library barely holds through; the next 'index' refit returns to max)")
	asJSON := fs.Bool("json", false, "write JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"adapt: takes no arguments (the library is --library)"}
	}
	if !(*fpir > 0 && *fpir < 1) {
		return usageError{fmt.Sprintf("adapt: --fpir %g must be between 0 and 1", *fpir)}
	}
	pscores, err := personScoresFlag("adapt", *scores)
	if err != nil {
		return err
	}
	setting := *sim
	switch setting {
	case "", library.SimilarityRaw, library.SimilarityAdapted:
	case "auto":
		setting = ""
	default:
		return usageError{fmt.Sprintf("adapt: --similarity %q: want raw, adapted or auto", *sim)}
	}
	l, err := openLibrary(ctx, env, *lib, false)
	if err != nil {
		return err
	}
	defer l.Close()
	if *sim != "" {
		if err := l.SetSimilarity(ctx, setting); err != nil {
			return fmt.Errorf("adapt %s: %w", l.Dir(), err)
		}
	}
	out := adaptJSON{Schema: AdaptSchema, Library: l.Dir()}
	cur, err := l.SimilaritySetting(ctx)
	if err != nil {
		return err
	}
	if out.Setting = cur; cur == "" {
		out.Setting = "auto"
	}
	var a *library.AdaptInfo
	st, err := l.Counts(ctx)
	if err != nil {
		return err
	}
	if (*refit || cur != library.SimilarityRaw) && st.Faces > 0 {
		before, _ := l.Adaptation()
		a, err = l.RefreshAdaptation(ctx, library.AdaptOptions{Force: *refit, Select: adapt.SelectOptions{FPIR: *fpir, MinGain: *minGain, Candidates: adapt.CandidatesWith(pscores)}})
		if err != nil {
			return err
		}
		out.Refitted = a != nil && (before == nil || !a.FittedAt.Equal(before.FittedAt))
	}
	if a == nil {
		if a, err = l.Adaptation(); err != nil {
			return err
		}
	}
	if (*sim != "" || out.Refitted) && st.Faces > 0 {
		// The verdicts must be in the similarity searches now use.
		if _, err := l.RefreshCalibration(ctx); err != nil {
			return err
		}
	}
	out.Similarity = library.SimilarityRaw
	if s, err := l.Searcher(ctx); err == nil {
		out.Similarity = s.Similarity()
		s.Close()
	} else if !errors.Is(err, library.ErrEmpty) {
		return err
	}
	if a != nil {
		out.Kept, out.Faces, out.Folders, out.Seconds, out.VecSeconds = a.Kept, a.Faces, a.Folders, a.Seconds, a.VectorsSeconds
		out.Selection = &a.Selection
		if a.Kept {
			out.Transform, out.Threshold, out.FPIR = a.ID, a.MatchThreshold, a.FPIR
			out.NonMated, out.Mated = len(a.NonMated), len(a.Mated)
		}
	}
	if *asJSON {
		e := json.NewEncoder(env.Stdout)
		e.SetIndent("", "  ")
		return e.Encode(out)
	}
	w := env.Stdout
	fmt.Fprintf(w, "library %s: similarity setting %s; searches use %s\n", out.Library, out.Setting, out.Similarity)
	if a == nil {
		fmt.Fprintf(w, "no adaptation fitted (the library needs %d folders of at least %d faces; run 'facesearch adapt --refit' to try anyway)\n", adapt.MinFolders, adapt.MinFaces)
		return nil
	}
	verb := "fitted"
	if out.Refitted {
		verb = "refitted now"
	}
	fmt.Fprintf(w, "adaptation %s on %d faces in %d folders (%.1fs)\n", verb, a.Faces, a.Folders, a.Seconds)
	printSelection(w, a.Selection)
	if a.Kept {
		fmt.Fprintf(w, "transform %s; match threshold %.4f at FPIR %g from %d cross-fitted non-mated searches (%d mated)\n",
			a.ID, a.MatchThreshold, a.FPIR, len(a.NonMated), len(a.Mated))
	}
	return nil
}
