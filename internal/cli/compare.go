package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/facesearch/facesearch/internal/embed"
	"github.com/facesearch/facesearch/internal/eval"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/model"
)

// CompareSchema names the JSON document printed by 'compare --json'.
const CompareSchema = "facesearch.compare/v1"

type compareJSON struct {
	Schema     string  `json:"schema"`
	A          string  `json:"a"`
	B          string  `json:"b"`
	FaceA      int     `json:"face_a"` // 1-based
	FaceB      int     `json:"face_b"`
	Similarity float64 `json:"similarity"`
	// SamePerson is Similarity ≥ Threshold (the library's pairwise
	// threshold, or the model's).
	SamePerson      bool    `json:"same_person"`
	Threshold       float64 `json:"threshold"`
	ThresholdSource string  `json:"threshold_source"`
	// FAR is the share of different-person pairs of the library's folders
	// with a similarity at least this high (DiffPairs of them; null
	// without a library).
	FAR       *float64 `json:"far"`
	FARAbove  int      `json:"far_pairs_at_or_above"`
	DiffPairs int      `json:"diff_pairs"`
	// TAR is the share of same-person pairs at least this similar.
	TAR       *float64 `json:"tar"`
	SamePairs int      `json:"same_pairs"`
}

func cmdCompare(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "compare", "[flags] PHOTO_A PHOTO_B\n\nAre the people in two photos the same person? Prints the cosine similarity\nof their primary faces (or --face-a/--face-b) and, from the library's own\nfolders, the pairwise false-accept rate at that similarity: the share of\ndifferent-person pairs that are at least as similar. This is a 1:1\nquestion; to ask whether a person is in the library, use 'check'.")
	lib := fs.String("library", "", "library giving the pairwise rates (default $FACESEARCH_LIBRARY or ./.facesearch; without one only the model's threshold is used)")
	asJSON := fs.Bool("json", false, "print JSON (schema "+CompareSchema+")")
	faceA := fs.String("face-a", "primary", "face of PHOTO_A: primary or N (1-based)")
	faceB := fs.String("face-b", "primary", "face of PHOTO_B: primary or N (1-based)")
	threads := fs.Int("threads", 1, "onnxruntime threads")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{"compare: give exactly two photos"}
	}
	na, err := parseFaceSel("compare", *faceA)
	if err != nil || na == library.FaceAll {
		return usageError{fmt.Sprintf("compare: --face-a %q: want primary or a face number", *faceA)}
	}
	nb, err := parseFaceSel("compare", *faceB)
	if err != nil || nb == library.FaceAll {
		return usageError{fmt.Sprintf("compare: --face-b %q: want primary or a face number", *faceB)}
	}
	var l *library.Library
	if lb, err := openLibrary(ctx, env, *lib, true); err == nil {
		l = lb
		defer l.Close()
	} else if !errors.Is(err, library.ErrNoLibrary) {
		return err
	}
	var m *model.Manifest
	if l != nil {
		if m, err = l.Manifest(ctx); err != nil {
			return err
		}
	}
	if m == nil {
		if m, err = model.Builtin(model.DefaultName); err != nil {
			return err
		}
	}
	p, err := newPipeline(env, m, *threads)
	if err != nil {
		return err
	}
	defer p.Close()
	emb := func(file string, n int) ([]float32, int, error) {
		img, err := decodeImage(file)
		if err != nil {
			return nil, 0, err
		}
		faces, primary, err := pipelineDetector{p}.Detect(ctx, img)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: face pipeline: %w", file, err)
		}
		i, err := library.PickFace(len(faces), primary, n) // the face choice of search and the API
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", file, err)
		}
		return faces[i].Embedding, i + 1, nil
	}
	va, ia, err := emb(pos[0], na)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	vb, ib, err := emb(pos[1], nb)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	sim := max(-1, min(1, embed.Cosine(va, vb)))
	out := compareJSON{Schema: CompareSchema, A: show(pos[0]), B: show(pos[1]), FaceA: ia, FaceB: ib, Similarity: r4(sim),
		Threshold: r4(m.Threshold), ThresholdSource: library.ThresholdManifest}
	if l != nil {
		thr, src, err := l.Threshold(ctx, m)
		if err != nil {
			return err
		}
		out.Threshold, out.ThresholdSource = r4(thr), src
		faces, err := libraryFaces(ctx, l)
		if err != nil {
			return err
		}
		groups := folderGroups(faces)
		if c, err := eval.Calibrate(ctx, groups, eval.CalibrateOptions{DiffPairs: 200_000, Seed: 1}); err == nil {
			out.DiffPairs, out.SamePairs = len(c.Diff), len(c.Same)
			out.FARAbove = countAtLeast(c.Diff, float64(sim))
			far := float64(out.FARAbove) / float64(len(c.Diff))
			tar := float64(countAtLeast(c.Same, float64(sim))) / float64(len(c.Same))
			out.FAR, out.TAR = &far, &tar
		} else {
			env.Log.Warn("no pairwise rates from the library", "err", err)
		}
	}
	out.SamePerson = float64(sim) >= out.Threshold
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := env.Stdout
	yn := map[bool]string{true: "same person", false: "different people"}
	fmt.Fprintf(w, "%s (face %d) vs %s (face %d): similarity %.4f — %s (threshold %.4f, %s)\n", termText(pos[0]), ia, termText(pos[1]), ib, out.Similarity, yn[out.SamePerson], out.Threshold, out.ThresholdSource)
	if out.FAR != nil {
		if out.FARAbove == 0 {
			fmt.Fprintf(w, "pairwise FAR: below 1 in %d (no different-person pair of the library is this similar)", out.DiffPairs)
		} else {
			fmt.Fprintf(w, "pairwise FAR: %.2e (%d of %d different-person pairs of the library are this similar)", *out.FAR, out.FARAbove, out.DiffPairs)
		}
		fmt.Fprintf(w, "; %.1f%% of %d same-person pairs are\n", 100**out.TAR, out.SamePairs)
	} else {
		fmt.Fprintln(w, "pairwise FAR: unknown (no library; index a dataset or give --library)")
	}
	return nil
}

func countAtLeast(v []float64, t float64) int {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	i := sort.SearchFloat64s(s, t)
	return len(s) - i
}
