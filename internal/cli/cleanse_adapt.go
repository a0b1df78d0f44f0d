package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/facesearch/facesearch/internal/cleanse"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/report"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
)

// cleanseFlags are the flags shared by pairs, audit and lookalikes.
type cleanseFlags struct {
	library  *string
	min      *float64
	top      *int
	json     *bool
	html     *string
	allFaces *bool
	// sim is --similarity: raw or adapted (cleanse_similarity.go).
	sim *string
}

func addCleanseFlags(fs *flag.FlagSet, minHelp string, top int, jsonHelp string) *cleanseFlags {
	return &cleanseFlags{
		library:  fs.String("library", "", "library directory (default $FACESEARCH_LIBRARY or ./.facesearch)"),
		min:      fs.Float64("min", 0, minHelp),
		top:      fs.Int("top", top, "show only the best N results (0: all)"),
		json:     fs.Bool("json", false, jsonHelp),
		html:     fs.String("html", "", "also write a self-contained HTML report with the face crops to `FILE`"),
		allFaces: fs.Bool("all-faces", false, "use every detected face, not only each image's primary face"),
		sim:      addCleanseSimilarityFlag(fs),
	}
}

// cleanseSession is an open library loaded as a cleanse dataset.
type cleanseSession struct {
	lib       *library.Library
	root      string
	data      *cleanse.Dataset
	threshold float32 // the library's same-person threshold
	source    string  // where it came from
	opt       cleanse.Options
	dismissed map[string]bool // finding keys a reviewer marked "not a problem"
	sim       cleanseSim      // the similarity compared in (cleanse_similarity.go)
}

// openCleanse opens the library read-only and loads its faces.
func openCleanse(ctx context.Context, env *cmdEnv, cf *cleanseFlags) (*cleanseSession, error) {
	if *cf.min != 0 && (*cf.min <= -1 || *cf.min >= 1) {
		return nil, usageError{fmt.Sprintf("--min %v must be a cosine similarity in (-1, 1)", *cf.min)}
	}
	l, err := library.Open(ctx, library.Options{Dir: library.Dir(*cf.library, env.Getenv), Log: env.Log, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	s := &cleanseSession{lib: l}
	ok := false
	defer func() {
		if !ok {
			l.Close()
		}
	}()
	if s.root, err = l.Root(ctx); err != nil {
		return nil, err
	}
	if s.threshold, s.source, err = l.Threshold(ctx, nil); err != nil {
		return nil, err
	}
	start := time.Now()
	faces, err := loadFaces(ctx, l, s.root, *cf.allFaces)
	if err != nil {
		return nil, err
	}
	if s.data, err = cleanse.Prepare(faces); err != nil {
		return nil, fmt.Errorf("library %s: %w", l.Dir(), err)
	}
	if err := s.useSimilarity(ctx, *cf.sim, faces); err != nil {
		return nil, err
	}
	env.Log.Debug("loaded faces", "faces", len(faces), "persons", len(s.data.Persons()), "similarity", s.sim.Name, "took", time.Since(start))
	if url, err := l.VectorsURL(ctx); err == nil && url != "" {
		env.Log.Info("cleansing compares every face locally, with the vectors of the catalog; the library's search index is remote", "vectors", "catalog "+filepath.Join(l.Dir(), library.CatalogFile), "search_index", url)
	}
	faissAllCores(env) // the command's work is faiss range and k-NN searches
	s.opt = cleanse.Options{
		Threshold: s.threshold, DuplicateSim: s.sim.Duplicate, Index: faissidx.Builder("Flat", 0),
		Progress: newStageProgress(env.Stderr).update, Log: env.Log,
	}
	ok = true
	return s, nil
}

func (s *cleanseSession) Close() error { return s.lib.Close() }

// loadFaces reads the faces of every image (primary faces only unless
// all) with File the image's file-system path under root: what the reports
// show and the move scripts move.
func loadFaces(ctx context.Context, l *library.Library, root string, all bool) ([]cleanse.Face, error) {
	faces, err := l.Faces(ctx, library.FacesOptions{All: all})
	if err != nil {
		return nil, err
	}
	for i := range faces {
		faces[i].File = filepath.Join(root, filepath.FromSlash(faces[i].File))
	}
	return faces, nil
}

// rel shows a file relative to the dataset root.
func (s *cleanseSession) rel(file string) string {
	if r, err := filepath.Rel(s.root, file); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return file
}

// reportFace returns face i for an HTML report, with its crop.
func (s *cleanseSession) reportFace(ctx context.Context, i int) report.Face {
	f := s.data.Face(i)
	crop, err := s.lib.Crop(ctx, f.ID)
	if err != nil {
		crop = nil // shown as a placeholder
	}
	return report.Face{Crop: crop, Person: validUTF8(f.Person), File: validUTF8(s.rel(f.File))}
}

// reportMatch turns a cleanse pair into a report row.
func (s *cleanseSession) reportMatch(ctx context.Context, p cleanse.Pair, note string) report.Match {
	return report.Match{
		Faces:      []report.Face{s.reportFace(ctx, p.A), s.reportFace(ctx, p.B)},
		Similarity: p.Similarity, Note: note,
	}
}

// writeHTML writes the report to file.
func writeHTML(file string, r *report.Report) error {
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if err := report.Write(f, r); err != nil {
		f.Close()
		return fmt.Errorf("html report %s: %w", file, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("html report %s: %w", file, err)
	}
	return nil
}

// minOrThreshold returns the similarity a command uses (--min when given,
// else the library's threshold) and says which, with what it works on.
func (s *cleanseSession) minOrThreshold(w io.Writer, cf *cleanseFlags, what string) float32 {
	used := s.threshold
	if *cf.min != 0 {
		used = float32(*cf.min)
	}
	s.printSimilarity(w, what)
	src := "from the " + s.source
	if used != s.threshold {
		src = fmt.Sprintf("--min; the library's is %.2f", s.threshold)
	}
	fmt.Fprintf(w, "%s: %d faces of %d folders, %s %.2f (%s)\n", what, s.data.Len(), len(s.data.Persons()), "similarity threshold", used, src)
	return used
}

// stageProgress shows cleanse progress: a bar per stage on a terminal,
// otherwise a line every 10 seconds for long stages.
type stageProgress struct {
	w     io.Writer
	tty   bool
	mu    sync.Mutex
	stage string
	bar   *progressbar.ProgressBar
	start time.Time
	last  time.Time
}

func newStageProgress(w io.Writer) *stageProgress {
	p := &stageProgress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *stageProgress) update(stage string, done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if stage != p.stage {
		if p.bar != nil {
			p.bar.Exit()
			p.bar = nil
		}
		p.stage, p.start, p.last = stage, time.Now(), time.Now()
		if p.tty {
			p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(stage),
				progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
		}
	}
	if p.bar != nil {
		p.bar.Set(done)
		return
	}
	if now := time.Now(); now.Sub(p.last) >= 10*time.Second && done < total {
		p.last = now
		fmt.Fprintf(p.w, "%s: %d/%d (%.0f%%, %s)\n", stage, done, total, 100*float64(done)/float64(max(total, 1)), now.Sub(p.start).Round(time.Second))
	}
}

// validUTF8 replaces invalid UTF-8 (file names are raw bytes) for display.
func validUTF8(s string) string { return termText(s) }
