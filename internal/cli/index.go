package cli

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/facesearch/facesearch/internal/detect"
	"github.com/facesearch/facesearch/internal/embed"
	"github.com/facesearch/facesearch/internal/imgio"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
)

func cmdIndex(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "index", "[flags] ROOT\n\nIndexes ROOT/<person>/<images> into the library, incrementally: unchanged\nfiles are skipped, changed ones re-embedded, deleted ones removed. Ctrl-C\nstops cleanly; running the command again resumes.\n\nA run that would delete more than half of the library's images (or all of\nthem: an empty or unmounted ROOT) deletes nothing and fails unless --prune\nis given. Images under a folder that cannot be read are kept, and the run\nexits 1 naming the folder.")
	lib := fs.String("library", "", "library directory (default $FACESEARCH_LIBRARY or ./.facesearch)")
	workers := fs.Int("workers", 0, "images processed at once (default: CPUs / threads)")
	threads := fs.Int("threads", 1, "onnxruntime threads per model session")
	factory := fs.String("index", "", "faiss index type, e.g. Flat (exact, default), IVF,Flat, IVF256,PQ32, HNSW32 (default: keep the library's)")
	nprobe := fs.Int("nprobe", 0, "default IVF lists visited per search (default: tuned for recall@10 ≥ 0.95)")
	ef := fs.Int("ef-search", 0, "default HNSW efSearch (default: tuned for recall@10 ≥ 0.95)")
	batch := fs.Int("batch", 64, "images per catalog transaction")
	reroot := fs.Bool("reroot", false, "accept a ROOT other than the library's (the dataset moved)")
	asJSON := fs.Bool("json", false, "print the report as JSON (schema "+IndexSchema+", docs/LIBRARY.md)")
	prune := fs.Bool("prune", false, "confirm a run that deletes more than half of the library's images (their files are gone)")
	modelName := fs.String("model", model.DefaultName, "face model")
	vectors := fs.String("vectors", "", "where the library's vectors live: weaviate://HOST:PORT/Collection[?shards=N&replicas=N&index=flat|hnsw] or local (default: keep the library's; see docs/SCALE.md)")
	rebuildVectors := fs.Bool("rebuild-vectors", false, "recreate the vector index (a Weaviate collection: dropped and refilled) from the catalog first")
	roots, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(roots) != 1 {
		return usageError{"index: give exactly one dataset ROOT"}
	}
	if *threads < 1 {
		return usageError{"index: --threads must be ≥ 1"}
	}
	*workers = budgetWorkers(env, *workers, *threads, runtime.NumCPU())
	m, err := model.Builtin(*modelName)
	if err != nil {
		return usageError{"index: " + err.Error()}
	}
	l, err := openLibrary(ctx, env, *lib, false)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := l.CheckIndex(ctx, m.Name); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if err := setVectors(ctx, env, l, *vectors, *rebuildVectors); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	p, err := newPipeline(env, m, *threads)
	if err != nil {
		return err
	}
	defer p.Close()
	rep, err := l.Index(ctx, library.IndexOptions{
		Root: roots[0], Detector: pipelineDetector{p}, Decode: decodeImage, Manifest: m,
		Workers: *workers, BatchSize: *batch, Factory: *factory, MaxFileSize: imgio.MaxInputBytes,
		Params: library.SearchParams{NProbe: *nprobe, EfSearch: *ef}, Reroot: *reroot, Prune: *prune,
		Progress: newProgress(env.Stderr),
	})
	if rep != nil && *asJSON {
		if jerr := writeJSONDoc(env.Stdout, indexDoc(l.Dir(), rep, err == nil || errors.Is(err, library.ErrUnreadable))); jerr != nil && err == nil {
			err = jerr
		}
	} else if rep != nil {
		printIndexReport(env.Stdout, printer(env), l.Dir(), rep, err)
	}
	return err
}

// openLibrary opens the library named by the flag value (or
// FACESEARCH_LIBRARY, or ./.facesearch) with the faiss backend.
func openLibrary(ctx context.Context, env *cmdEnv, dir string, readOnly bool) (*library.Library, error) {
	return library.Open(ctx, library.Options{
		Dir: library.Dir(dir, env.Getenv), Backend: faissidx.Backend{}, Remote: remoteOpener(env.Log), Log: env.Log, ReadOnly: readOnly,
	})
}

// newPipeline loads the face models of m from FACESEARCH_HOME.
func newPipeline(env *cmdEnv, m *model.Manifest, threads int) (*embed.Pipeline, error) {
	p, err := embed.New(embed.Options{
		Home: model.Home(env.Getenv), Manifest: m, LibPath: model.RuntimeLibrary(env.Getenv),
		Threads: threads, Log: env.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("%w (run 'make setup' to install the models)", err)
	}
	return p, nil
}

// pipelineDetector adapts embed.Pipeline to library.Detector.
type pipelineDetector struct{ p *embed.Pipeline }

func (d pipelineDetector) Detect(ctx context.Context, img image.Image) ([]library.DetectedFace, int, error) {
	faces, err := d.p.Faces(ctx, img)
	if err != nil {
		return nil, -1, shapeError(err)
	}
	out := make([]library.DetectedFace, len(faces))
	for i, f := range faces {
		out[i] = library.DetectedFace{Box: f.Box, Score: f.Score, Landmarks: f.Landmarks, Embedding: f.Embedding}
		if f.Crop != nil {
			out[i].Crop = f.Crop
		}
	}
	return out, embed.Primary(faces, img.Bounds()), nil
}

func (d pipelineDetector) ModelID() string { return d.p.ModelID() }

// shapeError records the images the detector refuses for their shape as
// the file's own fault, not retried: too small for a face (no_face), or too
// extreme an aspect ratio (unsupported).
func shapeError(err error) error {
	switch {
	case errors.Is(err, detect.ErrTooSmall):
		return &library.DecodeError{Status: library.StatusNoFace, Reason: err.Error(), Err: err}
	case errors.Is(err, detect.ErrTooMuchWork):
		return &library.DecodeError{Status: library.StatusUnsupported, Reason: err.Error(), Err: err}
	}
	return err
}

// decodeImage decodes with imgio, classifying the file's own faults
// (library.ImageFault).
func decodeImage(path string) (image.Image, error) {
	img, _, err := imgio.DecodeFile(path, imgio.Options{})
	if err != nil {
		return nil, library.ImageFault(err)
	}
	return img, nil
}

// budgetWorkers returns how many images to embed at once: workers, or
// ncpu / threads when workers ≤ 0, reduced (with a warning) so that workers
// × onnxruntime threads per session stays within ncpu. threads must be ≥ 1.
func budgetWorkers(env *cmdEnv, workers, threads, ncpu int) int {
	fit := max(1, ncpu/threads)
	if workers <= 0 {
		return fit
	}
	if workers*threads > ncpu && workers > fit {
		env.Log.Warn("workers × threads exceeds the CPUs; reducing workers", "workers", workers, "threads", threads, "cpus", ncpu, "now", fit)
		return fit
	}
	return workers
}

// faissAllCores lets faiss (OpenMP) and OpenBLAS use every CPU, for a phase
// whose work is faiss searches with nothing else running: pairs, audit and
// lookalikes, and eval's identification once embedding is done. A count the
// user set in OMP_NUM_THREADS is left to the libraries. The thread budget of
// each command is documented in docs/FAISS.md.
func faissAllCores(env *cmdEnv) {
	if env.Getenv("OMP_NUM_THREADS") != "" {
		return
	}
	faissidx.SetThreads(runtime.NumCPU())
}

// show makes raw path bytes printable (invalid UTF-8 → U+FFFD).
func show(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// runVerb says how a run ended, from its error: done (also when only
// unreadable paths were kept), done but deletions refused (the prune
// guard), interrupted, or stopped by another error.
func runVerb(done string, err error) string {
	switch {
	case err == nil || errors.Is(err, library.ErrUnreadable):
		return done
	case errors.Is(err, library.ErrWouldPrune):
		return done + " (deletions refused)"
	case errors.Is(err, library.ErrInterrupted):
		return "partly " + done + " (interrupted)"
	}
	return "partly " + done + " (stopped by an error)"
}

func printIndexReport(w io.Writer, p *msgPrinter, dir string, r *library.IndexReport, runErr error) {
	verb := p.Sprintf(runVerb("indexed", runErr))
	p.Fprintf(w, "%s %s into %s in %.1fs\n", verb, termText(r.Root), termText(dir), r.Elapsed.Seconds())
	p.Fprintf(w, "  images: %d found; %d unchanged, %d processed, %d touched, %d moved, %d deleted\n",
		r.Files, r.Unchanged, r.Processed, r.Touched, r.Moved, r.Deleted)
	p.Fprintf(w, "  faces written: %d\n", r.Faces)
	if r.Kept > 0 {
		p.Fprintf(w, "  kept: %d images under folders or in files that could not be read\n", r.Kept)
	}
	if len(r.Failed) > 0 {
		p.Fprintf(w, "  failed: %d (recorded; 'facesearch stats' lists all failures)\n", len(r.Failed))
		sort.Slice(r.Failed, func(i, j int) bool { return r.Failed[i].Path < r.Failed[j].Path })
		for _, f := range r.Failed {
			p.Fprintf(w, "    %-11s %s: %s\n", f.Status, termText(f.Path), termText(f.Error))
		}
	}
	if len(r.Skipped) > 0 {
		p.Fprintf(w, "  skipped: %d\n", len(r.Skipped))
		for _, s := range r.Skipped {
			p.Fprintf(w, "    %s: %s\n", termText(s.Rel), termText(s.Reason))
		}
	}
	if runErr == nil || errors.Is(runErr, library.ErrUnreadable) { // the index was refreshed
		printIndexInfo(w, p, r.Index, r.Rebuilt)
		printVerdictsInfo(w, r.Calibration)
	}
}

func printIndexInfo(w io.Writer, p *msgPrinter, info library.IndexInfo, rebuilt bool) {
	state := p.Sprintf("up to date")
	if rebuilt {
		state = p.Sprintf("rebuilt in %.2fs", info.BuildTime)
	}
	if info.Count == 0 {
		p.Fprintf(w, "  index: empty (no faces)\n")
		return
	}
	p.Fprintf(w, "  index: %s, %d faces, %s\n", info.Resolved, info.Count, state)
	printVectorsInfo(w, info, rebuilt)
	if !info.Exact() {
		p.Fprintf(w, "  recall@10 vs exact search: %.3f (%d sample queries%s)\n", info.RecallAt10, info.Queries, searchParamsText(info))
	}
}

// newProgress returns a progress bar on a terminal, periodic lines otherwise.
func newProgress(w io.Writer) library.Progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{w: w}
	}
	return &lineProgress{w: w, every: 10 * time.Second}
}

type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (p *barProgress) Start(total int) {
	p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription("indexing"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("img"),
		progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }))
}
func (p *barProgress) Add(n int) { p.bar.Add(n) }
func (p *barProgress) Finish()   { p.bar.Exit() }

type lineProgress struct {
	w           io.Writer
	every       time.Duration
	mu          sync.Mutex
	total, done int
	start, last time.Time
}

func (p *lineProgress) Start(total int) {
	p.total, p.start, p.last = total, time.Now(), time.Now()
	if total > 0 {
		fmt.Fprintf(p.w, "indexing %d images\n", total)
	}
}

func (p *lineProgress) Add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	el := time.Since(p.start).Seconds()
	rate := float64(p.done) / el
	eta := time.Duration(float64(p.total-p.done) / rate * float64(time.Second)).Round(time.Second)
	fmt.Fprintf(p.w, "indexed %d/%d images (%.1f img/s, ETA %s)\n", p.done, p.total, rate, eta)
}

func (p *lineProgress) Finish() {}

// searchParamsText names the search parameters an approximate index uses.
func searchParamsText(info library.IndexInfo) string {
	var b strings.Builder
	if info.NProbe > 0 {
		fmt.Fprintf(&b, ", nprobe %d", info.NProbe)
	}
	if info.EfSearch > 0 {
		fmt.Fprintf(&b, ", efSearch %d", info.EfSearch)
	}
	return b.String()
}
