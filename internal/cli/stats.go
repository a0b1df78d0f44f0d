package cli

import (
	"context"
	"fmt"
	"sort"

	"github.com/facesearch/facesearch/internal/library"
)

func cmdStats(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "stats", "[flags]\n\nSummarises the library: persons, images, faces, failures, model, index.")
	lib := fs.String("library", "", "library directory (default $FACESEARCH_LIBRARY or ./.facesearch)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"stats: takes no arguments"}
	}
	l, err := openLibrary(ctx, env, *lib, true)
	if err != nil {
		return err
	}
	defer l.Close()
	r, err := l.Stats(ctx)
	if err != nil {
		return err
	}
	w := env.Stdout
	c := r.Catalog
	fmt.Fprintf(w, "library   %s\n", r.Dir)
	fmt.Fprintf(w, "dataset   %s\n", show(r.Root))
	if r.Manifest != nil {
		fmt.Fprintf(w, "model     %s (%d-d embeddings), same-person threshold %.4f (%s)\n", r.ModelID, r.Manifest.EmbeddingDim, r.Threshold, r.ThresholdSource)
	} else {
		fmt.Fprintf(w, "model     %s\n", r.ModelID)
	}
	fmt.Fprintf(w, "persons   %d\n", c.Persons)
	fmt.Fprintf(w, "images    %d (ok %d, failed %d)\n", c.Images, c.ImagesOK, c.Images-c.ImagesOK)
	fmt.Fprintf(w, "faces     %d (primary %d, other faces in group photos %d)\n", c.Faces, c.PrimaryFaces, c.Faces-c.PrimaryFaces)
	switch r.IndexState {
	case library.IndexFresh:
		fmt.Fprintf(w, "index     %s, %d faces, up to date (catalog generation %d)\n", r.Index.Resolved, r.Index.Count, r.Generation)
		if !r.Index.Exact() && r.Index.Count > 0 {
			fmt.Fprintf(w, "          recall@10 vs exact search %.3f (%d sample queries%s)\n", r.Index.RecallAt10, r.Index.Queries, searchParamsText(r.Index))
		}
	case library.IndexStale:
		why := fmt.Sprintf("built from catalog generation %d, catalog at %d", r.Index.Generation, r.Generation)
		switch {
		case r.Index.Factory != r.Factory:
			why = fmt.Sprintf("built as %s", r.Index.Factory)
		case r.Index.Model != r.ModelID:
			why = fmt.Sprintf("built with model %s", r.Index.Model)
		}
		fmt.Fprintf(w, "index     %s requested, stale (%s): the next index or search rebuilds it\n", r.Factory, why)
	default:
		fmt.Fprintf(w, "index     %s requested, missing: the next index or search builds it\n", r.Factory)
	}
	if len(r.Failures) == 0 {
		return nil
	}
	by := map[string]int{}
	for _, f := range r.Failures {
		by[f.Status]++
	}
	statuses := make([]string, 0, len(by))
	for s := range by {
		statuses = append(statuses, s)
	}
	sort.Strings(statuses)
	fmt.Fprintf(w, "failures  %d\n", len(r.Failures))
	for _, s := range statuses {
		fmt.Fprintf(w, "  %s: %d\n", s, by[s])
		for _, f := range r.Failures {
			if f.Status == s {
				fmt.Fprintf(w, "    %s: %s\n", show(f.Path), show(f.Error))
			}
		}
	}
	return nil
}
