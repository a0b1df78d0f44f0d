package library

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/verdict"
)

// Progress receives indexing progress; implementations render it.
type Progress interface {
	Start(total int) // number of files to process
	Add(n int)       // n more files processed
	Finish()
}

// IndexOptions configures Library.Index.
type IndexOptions struct {
	Root     string   // dataset root: ROOT/<person>/<images>
	Detector Detector // face pipeline
	Decode   Decoder  // image decoder
	Manifest *model.Manifest
	// Workers is the number of images processed at once (default NumCPU).
	Workers int
	// BatchSize is the number of images per catalog transaction (default 64);
	// BatchInterval commits a partial batch after that long (default 2s).
	// (ImportOptions has the same two, through the same pipeline.)
	BatchSize     int
	BatchInterval time.Duration
	// Factory is the faiss index factory string ("" keeps the library's
	// choice, "Flat" for a new library).
	Factory string
	// Params are the default search parameters stored with an approximate
	// index (0: tuned until recall@10 reaches TargetRecall).
	Params SearchParams
	// MaxFileSize refuses larger files (status too_large) before they are
	// read at all (0: no limit): the decoder's own limit, so that an 8 GiB
	// sparse file is not hashed first.
	MaxFileSize int64
	// Reroot accepts a Root other than the one the library was built from
	// (the dataset moved); paths are relative, so nothing is re-embedded.
	Reroot bool
	// Prune confirms a run that deletes more than half of the library's
	// images (or all of them); without it such a run deletes nothing and
	// fails with ErrWouldPrune.
	Prune    bool
	Progress Progress
}

// IndexReport summarises an index run.
type IndexReport struct {
	Root      string
	Files     int // candidate images found
	Unchanged int // skipped: same size and mtime
	Processed int // decoded and run through the pipeline
	Touched   int // mtime changed, content (hash) unchanged
	Moved     int // found under a new path by content hash
	Deleted   int // gone from disk, removed from the catalog
	Kept      int // under a folder that could not be read: kept
	Faces     int // faces written
	Failed    []catalog.Failure
	Skipped   []Skipped
	Index     IndexInfo
	Rebuilt   bool // the vector index was rebuilt
	// Calibration is the open-set calibration, refreshed when the catalog
	// changed (nil if it failed; search computes it then).
	Calibration *verdict.Calibration
	Elapsed     time.Duration
}

type work struct {
	file File
	prev *catalog.ImageState
}

type result struct {
	put   *catalog.Image
	touch *catalog.Touch
	move  *catalog.Move
	kept  *Skipped // changed on disk but could not be read: its rows are kept
}

// ErrInterrupted is returned (wrapped) when indexing stopped on context
// cancellation; everything processed until then is committed and a rerun
// resumes.
var ErrInterrupted = errors.New("indexing interrupted; run the same command again to resume")

// Index brings the library up to date with the dataset at opt.Root: new and
// changed images are embedded, unchanged ones skipped, deleted ones removed;
// then the vector index is rebuilt if the catalog changed.
func (l *Library) Index(ctx context.Context, opt IndexOptions) (*IndexReport, error) {
	start := time.Now()
	if opt.Detector == nil || opt.Decode == nil {
		return nil, errors.New("index: no detector or decoder")
	}
	unlock, err := l.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := l.checkCatalog(ctx, "index"); err != nil {
		return nil, err
	}
	root, err := l.checkRoot(ctx, "index", opt.Root, opt.Reroot)
	if err != nil {
		return nil, err
	}
	modelID := opt.Detector.ModelID()
	if err := l.cat.SetSetting(ctx, catalog.KeyRoot, root); err != nil {
		return nil, err
	}
	if err := l.cat.SetSetting(ctx, catalog.KeyModelID, modelID); err != nil {
		return nil, err
	}
	if opt.Manifest != nil {
		b, err := json.Marshal(opt.Manifest)
		if err != nil {
			return nil, fmt.Errorf("index: manifest: %w", err)
		}
		if err := l.cat.SetSetting(ctx, catalog.KeyManifest, string(b)); err != nil {
			return nil, err
		}
	}
	if opt.Factory != "" {
		if _, err := resolveFactory(opt.Factory, 1<<30, 0); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
	}

	files, skipped, err := Walk(root)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	states, err := l.cat.ImageStates(ctx)
	if err != nil {
		return nil, err
	}
	rep := &IndexReport{Root: root, Files: len(files), Skipped: skipped}
	var todo []work
	onDisk := make(map[string]bool, len(files))
	for _, f := range files {
		onDisk[f.Rel] = true
		s, ok := states[f.Rel]
		if ok && s.Size == f.Size && s.MtimeNS == f.MtimeNS && s.Model == modelID && s.Status != catalog.StatusError {
			rep.Unchanged++
			continue
		}
		w := work{file: f}
		if ok {
			w.prev = &s
		}
		todo = append(todo, w)
	}
	gone := &goneSet{byHash: map[string][]string{}, paths: map[string]bool{}}
	for p, s := range states {
		if onDisk[p] {
			continue
		}
		gone.paths[p] = true
		if s.Model == modelID && s.Status != catalog.StatusError && len(s.SHA256) > 0 {
			h := hex.EncodeToString(s.SHA256)
			gone.byHash[h] = append(gone.byHash[h], p)
		}
	}

	runErr := l.process(ctx, root, modelID, todo, gone, opt, rep)
	unread := newUnreadableSet(rep.Skipped) // the walk's and the files process could not read
	if runErr == nil {
		var b catalog.Batch
		for p := range gone.paths {
			if unread.covers(p) {
				rep.Kept++
				continue
			}
			b.Delete = append(b.Delete, p)
		}
		if err := pruneGuard("index", root, len(b.Delete), len(states), opt.Prune); err != nil {
			rep.Elapsed = time.Since(start)
			return rep, err
		}
		if err := l.cat.Apply(ctx, &b); err != nil {
			return rep, fmt.Errorf("index: delete vanished images: %w", err)
		}
		rep.Deleted = len(b.Delete)
	}
	rep.Elapsed = time.Since(start)
	if runErr != nil {
		return rep, runError(ctx, "index", root, runErr)
	}
	info, rebuilt, err := l.refreshIndex(ctx, opt.Factory, opt.Params, func(info IndexInfo) bool {
		paramsChanged := (opt.Params.NProbe > 0 && info.NProbe > 0 && opt.Params.NProbe != info.NProbe) ||
			(opt.Params.EfSearch > 0 && info.EfSearch > 0 && opt.Params.EfSearch != info.EfSearch)
		return paramsChanged || (opt.Factory != "" && opt.Factory != info.Factory)
	})
	if err != nil {
		return rep, fmt.Errorf("index %s: %w", root, err)
	}
	rep.Index, rep.Rebuilt = info, rebuilt
	rep.Calibration = l.refreshCalibration(ctx)
	rep.Elapsed = time.Since(start)
	return rep, unread.err("index", root, rep.Kept)
}

// goneSet holds catalog paths no longer on disk; a new file with the same
// content claims one (a move) instead of being re-embedded.
type goneSet struct {
	mu     sync.Mutex
	byHash map[string][]string
	paths  map[string]bool
}

func (g *goneSet) claim(hash []byte) (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := hex.EncodeToString(hash)
	ps := g.byHash[h]
	if len(ps) == 0 {
		return "", false
	}
	p := ps[len(ps)-1]
	g.byHash[h] = ps[:len(ps)-1]
	delete(g.paths, p)
	return p, true
}

// process runs the images through the pipeline: a bounded pool embeds
// them, one writer commits every BatchSize results or BatchInterval. On
// cancellation every completed image is still committed.
func (l *Library) process(ctx context.Context, root, modelID string, todo []work, gone *goneSet, opt IndexOptions, rep *IndexReport) error {
	size := opt.BatchSize
	if size <= 0 {
		size = 64
	}
	return pipeline[work, result]{
		Workers: opt.Workers, Size: size, Interval: opt.BatchInterval, Progress: opt.Progress,
		Do: func(ctx context.Context, w work) (result, error) {
			return l.processOne(ctx, root, modelID, w, gone, opt)
		},
		Add: func(b *catalog.Batch, r result) int {
			switch {
			case r.put != nil:
				b.Put = append(b.Put, *r.put)
			case r.touch != nil:
				b.Touch = append(b.Touch, *r.touch)
			case r.move != nil:
				b.Move = append(b.Move, *r.move)
			}
			return 1 // BatchSize counts images
		},
		Committed: func(b *catalog.Batch, rs []result) {
			for _, im := range b.Put {
				rep.Processed++
				rep.Faces += len(im.Faces)
				if im.Status != catalog.StatusOK {
					rep.Failed = append(rep.Failed, catalog.Failure{Path: im.Path, Status: im.Status, Error: im.Error})
				}
			}
			rep.Touched += len(b.Touch)
			rep.Moved += len(b.Move)
			for _, r := range rs {
				if r.kept != nil {
					rep.Skipped = append(rep.Skipped, *r.kept)
					rep.Kept++
				}
			}
		},
	}.run(ctx, l.cat, todo)
}

func (l *Library) processOne(ctx context.Context, root, modelID string, w work, gone *goneSet, opt IndexOptions) (result, error) {
	f := w.file
	abs := filepath.Join(root, filepath.FromSlash(f.Rel))
	im := &catalog.Image{Path: f.Rel, Person: f.Person, Size: f.Size, MtimeNS: f.MtimeNS, Model: modelID}
	if opt.MaxFileSize > 0 && f.Size > opt.MaxFileSize {
		im.Status, im.Error = catalog.StatusTooLarge, fmt.Sprintf("file is %d MiB (> %d MiB limit)", f.Size>>20, opt.MaxFileSize>>20)
		return result{put: im}, nil
	}
	hash, err := hashFile(abs)
	if err != nil {
		if r, ok := keepUnread(w, err); ok {
			return r, nil
		}
		im.Status, im.Error = catalog.StatusError, err.Error()
		return result{put: im}, nil
	}
	im.SHA256 = hash
	if p := w.prev; p != nil && bytes.Equal(p.SHA256, hash) && p.Model == modelID && p.Status != catalog.StatusError {
		return result{touch: &catalog.Touch{Path: f.Rel, Size: f.Size, MtimeNS: f.MtimeNS}}, nil
	}
	if w.prev == nil {
		if from, ok := gone.claim(hash); ok {
			return result{move: &catalog.Move{From: from, To: f.Rel, Person: f.Person, Size: f.Size, MtimeNS: f.MtimeNS}}, nil
		}
	}
	img, err := opt.Decode(abs)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			im.Status, im.Error = de.Status, de.reason()
		} else if r, ok := keepUnread(w, err); ok && isReadError(err) {
			return r, nil
		} else {
			im.Status, im.Error = catalog.StatusError, err.Error()
		}
		return result{put: im}, nil
	}
	b := img.Bounds()
	im.Width, im.Height = b.Dx(), b.Dy()
	faces, primary, err := opt.Detector.Detect(ctx, img)
	if err != nil {
		if ctx.Err() != nil {
			return result{}, context.Cause(ctx)
		}
		var de *DecodeError
		if errors.As(err, &de) { // the image's own fault (too small...): not retried
			im.Status, im.Error = de.Status, de.reason()
			return result{put: im}, nil
		}
		im.Status, im.Error = catalog.StatusError, fmt.Sprintf("face pipeline: %v", err)
		return result{put: im}, nil
	}
	if len(faces) == 0 {
		im.Status, im.Error = catalog.StatusNoFace, "no face found"
		return result{put: im}, nil
	}
	im.Status = catalog.StatusOK
	for i, df := range faces {
		crop, err := encodeCrop(df.Crop)
		if err != nil {
			return result{}, fmt.Errorf("encode crop of %s: %w", f.Rel, err)
		}
		im.Faces = append(im.Faces, catalog.Face{
			Box: df.Box, Score: df.Score, Landmarks: df.Landmarks, Primary: i == primary,
			Embedding: df.Embedding, Model: modelID, Crop: crop,
		})
	}
	return result{put: im}, nil
}

// keepUnread is the result for a file that changed on disk but could not
// be read (err): a run never deletes what it merely failed to read, so a
// file with healthy rows keeps them and is reported unreadable. A file
// without such rows gets no result (ok false): it is recorded as an error.
func keepUnread(w work, err error) (result, bool) {
	if w.prev == nil || w.prev.Status == catalog.StatusError {
		return result{}, false
	}
	return result{kept: &Skipped{Rel: w.file.Rel, Reason: err.Error(), Unreadable: true}}, true
}

// isReadError reports whether err is a failure to read the file (denied,
// gone, an I/O error) rather than a finding about its content.
func isReadError(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) ||
		errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ESTALE) || errors.Is(err, syscall.ENXIO)
}

// encodeCrop stores an aligned crop as a JPEG of quality 90 (~4-5 KB at
// 112x112).
func encodeCrop(img image.Image) ([]byte, error) {
	if img == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func hashFile(path string) ([]byte, error) {
	// Non-blocking: a file replaced by a FIFO since the walk must not hang.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

// checkRoot resolves the dataset root given to command op and checks that it
// is a directory and the dataset this library holds (unless reroot).
func (l *Library) checkRoot(ctx context.Context, op, dir string, reroot bool) (string, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", op, dir, err)
	}
	if st, err := os.Stat(root); err != nil {
		return "", fmt.Errorf("%s: dataset root: %w", op, err)
	} else if !st.IsDir() {
		return "", fmt.Errorf("%s: dataset root %s is not a directory", op, root)
	}
	if old, err := l.Root(ctx); err != nil {
		return "", err
	} else if old != "" && old != root && !reroot {
		return "", fmt.Errorf("%s: library %s holds the dataset %s, not %s (use another --library, or --reroot if the dataset moved)", op, l.dir, old, root)
	}
	return root, nil
}

// runError wraps the error that ended an index or import run: an
// interrupted run (ctx cancelled) reports ErrInterrupted and its cause.
func runError(ctx context.Context, op, root string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s %s: %w (%v)", op, root, ErrInterrupted, context.Cause(ctx))
	}
	return fmt.Errorf("%s %s: %w", op, root, err)
}

// refreshIndex rebuilds the vector index after a run that changed the
// catalog, or when force (nil: never) says the stored index no longer fits
// the request, with the given factory ("" keeps the library's). It returns
// the index's description and whether it was rebuilt.
func (l *Library) refreshIndex(ctx context.Context, factory string, params SearchParams, force func(IndexInfo) bool) (IndexInfo, bool, error) {
	info, state, err := l.IndexStatus(ctx)
	if err != nil {
		return info, false, err
	}
	if state == IndexFresh && (force == nil || !force(info)) {
		// Fresh by its description; check the files too (checksum, counts),
		// so that 'index' repairs a damaged index rather than call it up to
		// date. A remote store is not verified here (it is opened by the
		// search; rebuilding would not help a cluster that cannot answer).
		if info.Storage == StorageRemote {
			return info, false, nil
		}
		err := l.verifyMainIndex(ctx, info)
		if err == nil {
			l.stampVerified(info)
			l.repairAdapted(ctx, info)
			l.adaptAfterRun(ctx, info)
			return info, false, nil
		}
		l.log.Warn("unreadable or damaged index; rebuilding it from the catalog", "err", err)
	}
	idx, newInfo, err := l.rebuild(ctx, factory, params)
	if err != nil {
		return info, false, err
	}
	if idx != nil {
		idx.Close()
	}
	l.adaptAfterRun(ctx, newInfo)
	return newInfo, true, nil
}
