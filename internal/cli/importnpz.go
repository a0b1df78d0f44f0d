package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/npz"
)

func cmdImportNpz(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "import-npz", "[flags] ROOT\n\nImports the embeddings of the original FACE01 scripts, ROOT/<person>/npKnown.npz,\ninto the library without re-embedding: each row becomes a face of that person,\nfiled under the image name the npz records. Incremental: unchanged files are\nskipped, changed ones replace their person's faces, deleted ones remove them.\nMalformed files are reported, recorded ('facesearch stats') and skipped; a wrong\n--key keeps the faces already imported. A run that would delete more than\nhalf of the library deletes nothing unless --prune is given.\nSee docs/MIGRATION.md.")
	lib := fs.String("library", "", "library directory (default $FACESEARCH_LIBRARY or ./.facesearch)")
	key := fs.String("key", npz.DefaultKey, "array holding the embeddings (e.g. dlib)")
	modelName := fs.String("model", "japanese-face-v1", "the model that made the embeddings (recorded; photo searches use it)")
	workers := fs.Int("workers", 0, "npz files read at once (default: CPUs)")
	factory := fs.String("index", "", "faiss index type, e.g. Flat (exact, default), IVF,Flat, HNSW32 (default: keep the library's)")
	nprobe := fs.Int("nprobe", 0, "default IVF lists visited per search (default 16)")
	ef := fs.Int("ef-search", 0, "default HNSW efSearch (default 64)")
	reroot := fs.Bool("reroot", false, "accept a ROOT other than the library's (the dataset moved)")
	prune := fs.Bool("prune", false, "confirm a run that deletes more than half of the library's images (their npz files are gone)")
	roots, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(roots) != 1 {
		return usageError{"import-npz: give exactly one dataset ROOT"}
	}
	if *key == "" || *key == npz.NamesKey {
		return usageError{fmt.Sprintf("import-npz: --key %q: name the embedding array (default %s)", *key, npz.DefaultKey)}
	}
	m, err := model.Builtin(*modelName)
	if err != nil {
		return usageError{fmt.Sprintf("import-npz: %v (built-in: %s)", err, strings.Join(model.BuiltinNames(), ", "))}
	}
	l, err := openLibrary(ctx, env, *lib, false)
	if err != nil {
		return err
	}
	defer l.Close()
	rep, err := l.ImportNPZ(ctx, library.ImportOptions{
		Root: roots[0], Key: *key, Manifest: m, Workers: *workers, Factory: *factory,
		Params: library.SearchParams{NProbe: *nprobe, EfSearch: *ef}, Reroot: *reroot, Prune: *prune,
	})
	if rep != nil {
		printImportReport(env.Stdout, printer(env), l.Dir(), rep, err)
	}
	if err == nil && model.Available(model.Home(env.Getenv), m) != nil {
		fmt.Fprintf(env.Stdout, "  searching with photos needs the %s model files: %s ('search --vector FILE.npy' works now)\n", m.Name, model.AddHint(m.Name))
	}
	return err
}

func printImportReport(w io.Writer, p *msgPrinter, dir string, r *library.ImportReport, runErr error) {
	verb := p.Sprintf(runVerb("imported", runErr))
	p.Fprintf(w, "%s %s into %s in %.2fs\n", verb, termText(r.Root), termText(dir), r.Elapsed.Seconds())
	p.Fprintf(w, "  %s files: %d found; %d unchanged, %d read, %d touched, %d deleted\n",
		library.NPZFile, r.Files, r.Unchanged, r.Imported, r.Touched, r.Deleted)
	p.Fprintf(w, "  faces written: %d\n", r.Faces)
	for _, s := range r.Skipped {
		if s.Unreadable {
			p.Fprintf(w, "  unreadable: %s: %s (its faces are kept)\n", termText(s.Rel), termText(s.Reason))
		}
	}
	if len(r.Failed) > 0 {
		p.Fprintf(w, "  failed: %d (skipped and recorded; 'facesearch stats' lists all failures)\n", len(r.Failed))
		for _, f := range r.Failed {
			p.Fprintf(w, "    %-11s %s: %s\n", f.Status, termText(f.Path), termText(f.Error))
		}
	}
	if len(r.Skipped) > 0 {
		p.Fprintf(w, "  folders without %s: %d\n", library.NPZFile, len(r.Skipped))
		for i, s := range r.Skipped {
			if i == 10 {
				p.Fprintf(w, "    ... and %d more\n", len(r.Skipped)-10)
				break
			}
			p.Fprintf(w, "    %s\n", termText(s.Rel))
		}
	}
	if runErr == nil || errors.Is(runErr, library.ErrUnreadable) { // the index was refreshed
		printIndexInfo(w, p, r.Index, r.Rebuilt)
		printVerdictsInfo(w, r.Calibration)
	}
}
