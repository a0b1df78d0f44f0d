package library

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/npz"
	"github.com/facesearch/facesearch/internal/verdict"
)

// NPZFile is the per-person embedding file of the original FACE01 scripts:
// ROOT/<person>/npKnown.npz.
const NPZFile = "npKnown.npz"

// KeySource is the catalog setting that says how the library's faces were
// made: SourceNPZ for 'facesearch import-npz', unset for 'facesearch index'.
const KeySource = catalog.KeySource

// SourceNPZ is the KeySource value of an imported library.
const SourceNPZ = "npz"

// ErrMixedModels is wrapped by the errors of ImportNPZ and CheckIndex when a
// library would hold faces of two models, or photos and imported npz files.
var ErrMixedModels = errors.New("a library holds the faces of one model, made one way")

// ImportOptions configures Library.ImportNPZ.
type ImportOptions struct {
	Root string // dataset root: ROOT/<person>/npKnown.npz
	// Key is the array holding the embeddings (default npz.DefaultKey,
	// "efficientnetv2_arcface"; "dlib" for the older model).
	Key string
	// Manifest is the model the embeddings were made with (required): it is
	// recorded as the library's model, and its EmbeddingDim is enforced.
	Manifest *model.Manifest
	// Workers is the number of npz files read at once (default NumCPU).
	Workers int
	// BatchSize is the number of images (rows) per catalog transaction
	// (default 4096); BatchInterval commits a partial batch after that long
	// (default 2s), as for index.
	BatchSize     int
	BatchInterval time.Duration
	Factory       string       // faiss index type ("" keeps the library's)
	Params        SearchParams // default search parameters of an approximate index
	Reroot        bool         // accept a Root other than the library's
	Prune         bool         // confirm deleting more than half of the images (see IndexOptions.Prune)
	Progress      Progress     // counts npz files
}

// ImportReport summarises an ImportNPZ run.
type ImportReport struct {
	Root      string
	Files     int // npz files found
	Unchanged int // same size and mtime: not read
	Touched   int // mtime changed, same content (hash)
	Imported  int // read and written (new or changed)
	Deleted   int // npz files gone: their person's faces removed
	Kept      int // images of persons whose folder or npz could not be read: kept
	Faces     int // faces written
	// Failed lists the malformed npz files (status corrupt) and unreadable
	// ones (status error, retried by the next run).
	Failed  []catalog.Failure
	Skipped []Skipped // person folders without an npKnown.npz
	Index   IndexInfo
	Rebuilt bool
	// Calibration is the open-set calibration, refreshed when the catalog
	// changed (nil if it failed; search computes it then).
	Calibration *verdict.Calibration
	Elapsed     time.Duration
}

// Source returns how the library's faces were made (SourceNPZ, or "" for
// indexed photos).
func (l *Library) Source(ctx context.Context) (string, error) {
	v, _, err := l.cat.Setting(ctx, KeySource)
	return v, err
}

// CheckIndex returns an error wrapping ErrMixedModels when photos may not be
// indexed into the library with model modelID: it was imported from npz
// files. 'facesearch index' calls it before indexing.
func (l *Library) CheckIndex(ctx context.Context, modelID string) error {
	src, err := l.Source(ctx)
	if err != nil {
		return err
	}
	if src != SourceNPZ {
		return nil
	}
	m, err := l.ModelID(ctx)
	if err != nil {
		return err
	}
	return fmt.Errorf("library %s holds %s embeddings imported from npKnown.npz files (%w): update it with 'facesearch import-npz ROOT', and index photos with %s into another library (--library DIR)",
		l.dir, m, ErrMixedModels, modelID)
}

// checkImport refuses to import model name into a library whose faces come
// from 'facesearch index', or from another model.
func (l *Library) checkImport(ctx context.Context, name string) error {
	st, err := l.cat.Stats(ctx)
	if err != nil {
		return err
	}
	if st.Images == 0 {
		return nil
	}
	src, err := l.Source(ctx)
	if err != nil {
		return err
	}
	m, err := l.ModelID(ctx)
	if err != nil {
		return err
	}
	if src != SourceNPZ {
		return fmt.Errorf("library %s holds %d images indexed from photos with model %s (%w): import the npz files into another library (--library DIR)", l.dir, st.Images, m, ErrMixedModels)
	}
	if m != name {
		return fmt.Errorf("library %s holds embeddings of model %s, not %s (%w): import into another library (--library DIR), or name the same --model", l.dir, m, name, ErrMixedModels)
	}
	return nil
}

type npzWork struct {
	person  string
	abs     string
	size    int64
	mtimeNS int64
	prev    []catalog.ImageState
}

type npzResult struct {
	batch   catalog.Batch
	touched bool
	faces   int
	failed  *catalog.Failure
}

// ImportNPZ brings the library up to date with the FACE01 embedding files
// ROOT/<person>/npKnown.npz, without embedding anything: every row of an npz
// becomes a face of that person (L2-normalised, primary, no crop or box),
// filed under the image name the npz records. Unchanged files (size and
// mtime) are skipped, changed ones replace their person's faces, deleted
// ones remove them. Malformed files are recorded as failures and skipped.
// Then the vector index is rebuilt if the catalog changed.
func (l *Library) ImportNPZ(ctx context.Context, opt ImportOptions) (*ImportReport, error) {
	start := time.Now()
	m := opt.Manifest
	if m == nil || m.Name == "" {
		return nil, errors.New("import-npz: no model manifest")
	}
	key := opt.Key
	if key == "" {
		key = npz.DefaultKey
	}
	unlock, err := l.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := l.checkCatalog(ctx, "import-npz"); err != nil {
		return nil, err
	}
	root, err := l.checkRoot(ctx, "import-npz", opt.Root, opt.Reroot)
	if err != nil {
		return nil, err
	}
	if err := l.checkImport(ctx, m.Name); err != nil {
		return nil, fmt.Errorf("import-npz: %w", err)
	}
	mj, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("import-npz: manifest: %w", err)
	}
	if opt.Factory != "" {
		if _, err := resolveFactory(opt.Factory, 1<<30, 0); err != nil {
			return nil, fmt.Errorf("import-npz: %w", err)
		}
	}
	for _, kv := range [][2]string{{catalog.KeyRoot, root}, {catalog.KeyModelID, m.Name}, {catalog.KeyManifest, string(mj)}, {KeySource, SourceNPZ}, {catalog.KeyIndex, opt.Factory}} {
		if kv[0] == catalog.KeyIndex && kv[1] == "" {
			continue
		}
		if err := l.cat.SetSetting(ctx, kv[0], kv[1]); err != nil {
			return nil, err
		}
	}

	rep := &ImportReport{Root: root}
	files, err := walkNPZ(root, rep)
	if err != nil {
		return nil, fmt.Errorf("import-npz: %w", err)
	}
	states, err := l.cat.ImageStates(ctx)
	if err != nil {
		return nil, err
	}
	byPerson := map[string][]catalog.ImageState{}
	for p, s := range states {
		person, _, _ := strings.Cut(p, "/")
		byPerson[person] = append(byPerson[person], s)
	}
	var todo []npzWork
	onDisk := map[string]bool{}
	for _, w := range files {
		onDisk[w.person] = true
		w.prev = byPerson[w.person]
		if unchangedNPZ(w, m.Name) {
			rep.Unchanged++
			continue
		}
		todo = append(todo, w)
	}
	var gone catalog.Batch
	unread := newUnreadableSet(rep.Skipped)
	for person, rows := range byPerson {
		if onDisk[person] {
			continue
		}
		if unread.covers(person) {
			rep.Kept += len(rows)
			continue
		}
		for _, r := range rows {
			gone.Delete = append(gone.Delete, r.Path)
		}
		rep.Deleted++
	}
	if err := pruneGuard("import-npz", root, len(gone.Delete), len(states), opt.Prune); err != nil {
		rep.Elapsed = time.Since(start)
		return rep, err
	}
	runErr := l.importFiles(ctx, todo, key, m, opt, rep)
	if runErr == nil && !gone.Empty() {
		runErr = l.cat.Apply(ctx, &gone)
	}
	rep.Elapsed = time.Since(start)
	if runErr != nil {
		return rep, runError(ctx, "import-npz", root, runErr)
	}
	info, rebuilt, err := l.refreshIndex(ctx, "", opt.Params, nil)
	if err != nil {
		return rep, fmt.Errorf("import-npz %s: %w", root, err)
	}
	rep.Index, rep.Rebuilt = info, rebuilt
	rep.Calibration = l.refreshCalibration(ctx)
	sort.Slice(rep.Failed, func(i, j int) bool { return rep.Failed[i].Path < rep.Failed[j].Path })
	rep.Elapsed = time.Since(start)
	return rep, unread.err("import-npz", root, rep.Kept)
}

// walkNPZ lists ROOT/<person>/npKnown.npz; folders without one are noted in
// rep.Skipped, hidden folders (a library inside ROOT) ignored.
func walkNPZ(root string, rep *ImportReport) ([]npzWork, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []npzWork
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if !e.IsDir() && !isDir(filepath.Join(root, name)) {
			continue // a file beside the person folders (labels, notes) is no person
		}
		abs := filepath.Join(root, name, NPZFile)
		st, err := os.Stat(abs)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			// Unreadable (permissions, I/O): not the same as absent.
			rep.Skipped = append(rep.Skipped, Skipped{Rel: name, Reason: err.Error(), Unreadable: true})
			continue
		}
		if err != nil || !st.Mode().IsRegular() {
			if isDir(filepath.Join(root, name)) {
				rep.Skipped = append(rep.Skipped, Skipped{Rel: name, Reason: "no " + NPZFile})
			}
			continue
		}
		out = append(out, npzWork{person: name, abs: abs, size: st.Size(), mtimeNS: st.ModTime().UnixNano()})
	}
	rep.Files = len(out)
	return out, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// unchangedNPZ reports whether every stored row of the person came from an
// npz of this size and mtime, with this model, and none needs a retry.
func unchangedNPZ(w npzWork, modelID string) bool {
	if len(w.prev) == 0 {
		return false
	}
	for _, s := range w.prev {
		if s.Size != w.size || s.MtimeNS != w.mtimeNS || s.Model != modelID || s.Status == catalog.StatusError {
			return false
		}
	}
	return true
}

// importFiles runs the npz files through the pipeline: a bounded pool reads
// them, one writer commits every BatchSize rows or BatchInterval (a file's
// rows are never split between transactions).
func (l *Library) importFiles(ctx context.Context, todo []npzWork, key string, m *model.Manifest, opt ImportOptions, rep *ImportReport) error {
	size := opt.BatchSize
	if size <= 0 {
		size = 4096
	}
	return pipeline[npzWork, npzResult]{
		Workers: opt.Workers, Size: size, Interval: opt.BatchInterval, Progress: opt.Progress,
		Do: func(_ context.Context, w npzWork) (npzResult, error) {
			return readNPZ(w, key, m), nil
		},
		Add: func(b *catalog.Batch, r npzResult) int {
			b.Delete = append(b.Delete, r.batch.Delete...)
			b.Put = append(b.Put, r.batch.Put...)
			b.Touch = append(b.Touch, r.batch.Touch...)
			return len(r.batch.Put) + len(r.batch.Touch) // BatchSize counts rows
		},
		Committed: func(_ *catalog.Batch, rs []npzResult) {
			for _, r := range rs {
				if r.touched {
					rep.Touched++
					continue
				}
				rep.Imported++
				rep.Faces += r.faces
				if r.failed != nil {
					rep.Failed = append(rep.Failed, *r.failed)
				}
			}
		},
	}.run(ctx, l.cat, todo)
}

// readNPZ turns one npz file into catalog changes: a touch when only its
// mtime changed, else the replacement of its person's rows (one failed row
// "<person>/npKnown.npz" when the file is malformed).
func readNPZ(w npzWork, key string, m *model.Manifest) npzResult {
	rel := w.person + "/" + NPZFile
	var r npzResult
	for _, s := range w.prev {
		r.batch.Delete = append(r.batch.Delete, s.Path)
	}
	var sum []byte
	fail := func(status, reason string) npzResult {
		im := catalog.Image{Path: rel, Person: w.person, Size: w.size, MtimeNS: w.mtimeNS, SHA256: sum, Status: status, Error: reason, Model: m.Name}
		r.batch.Put = []catalog.Image{im}
		r.failed = &catalog.Failure{Path: rel, Status: status, Error: reason}
		return r
	}
	b, err := os.ReadFile(w.abs)
	if err != nil {
		// Not read is not gone: keep the person's faces, retry next run.
		r.batch.Delete = nil
		return fail(catalog.StatusError, err.Error())
	}
	h := sha256.Sum256(b)
	sum = h[:]
	if len(w.prev) == 1 && w.prev[0].Path == rel && w.prev[0].Status != catalog.StatusError &&
		w.prev[0].Model == m.Name && bytes.Equal(w.prev[0].SHA256, sum) {
		return r.touch(w) // the same malformed file as before
	}
	p, err := npz.Read(bytes.NewReader(b), int64(len(b)), key)
	if errors.Is(err, npz.ErrMissingKey) {
		// A wrong --key is the run's mistake, not the file's: keep the
		// person's faces and record an error, retried by the next run.
		r.batch.Delete = nil
		return fail(catalog.StatusError, err.Error()+" (wrong --key?)")
	}
	if err != nil {
		return fail(catalog.StatusCorrupt, err.Error())
	}
	if m.EmbeddingDim > 0 && p.Dim != m.EmbeddingDim {
		r.batch.Delete = nil // as for a missing key: the run's mistake, retried
		return fail(catalog.StatusError, fmt.Sprintf("array %q holds %d-d embeddings, model %s makes %d-d ones (wrong --key or --model?)", key, p.Dim, m.Name, m.EmbeddingDim))
	}
	if p.Len() == 0 {
		return fail(catalog.StatusNoFace, "no embeddings")
	}
	byName := map[string]int{}
	var ims []catalog.Image
	var ids []*identity
	for i := range p.Len() {
		name := imageName(p.Names[i], i)
		j, ok := byName[name]
		if !ok {
			j = len(ims)
			byName[name] = j
			ims = append(ims, catalog.Image{Path: w.person + "/" + name, Person: w.person, Size: w.size, MtimeNS: w.mtimeNS,
				Status: catalog.StatusOK, Model: m.Name})
			ids = append(ids, rowIdentity(name))
		}
		v := p.Row(i)
		ids[j].add(v)
		v = v[:len(v):len(v)] // normalised in place: p is ours; no append may reach the next row
		if err := Normalize(v); err != nil {
			if len(ims[j].Faces) == 0 {
				ims[j].Status, ims[j].Error = catalog.StatusCorrupt, fmt.Sprintf("%s row %d: embedding %v", NPZFile, i, err)
			}
			continue
		}
		ims[j].Status, ims[j].Error = catalog.StatusOK, ""
		ims[j].Faces = append(ims[j].Faces, catalog.Face{Primary: true, Embedding: v, Model: m.Name})
		r.faces++
	}
	for j := range ims {
		ims[j].SHA256 = ids[j].sum()
	}
	if sameRows(w.prev, ims, m.Name) {
		return r.touch(w)
	}
	r.batch.Put = ims
	return r
}

// touch turns r into a touch of the person's stored rows (mtime changed,
// content not).
func (r npzResult) touch(w npzWork) npzResult {
	r.batch.Delete = nil
	for _, s := range w.prev {
		r.batch.Touch = append(r.batch.Touch, catalog.Touch{Path: s.Path, Size: w.size, MtimeNS: w.mtimeNS})
	}
	r.touched = true
	return r
}

// identity is the stored "hash" of an imported image: there are no image
// bytes, so it is the SHA-256 of the image's name and its embedding rows
// as stored in the npz (before normalisation). It tells whether a row
// changed between imports; it is not a content hash of a photo, and two
// images with equal identities are not known to be byte-identical files.
type identity struct{ h hash.Hash }

func rowIdentity(name string) *identity {
	id := &identity{h: sha256.New()}
	id.h.Write([]byte("facesearch npz row\x00" + name + "\x00"))
	return id
}

func (id *identity) add(v []float32) { id.h.Write(catalog.EncodeVector(v)) }

func (id *identity) sum() []byte { return id.h.Sum(nil) }

// sameRows reports whether the stored rows prev are exactly the rows ims
// (paths, identities, model), none awaiting a retry.
func sameRows(prev []catalog.ImageState, ims []catalog.Image, modelID string) bool {
	if len(prev) == 0 || len(prev) != len(ims) {
		return false
	}
	want := make(map[string][]byte, len(ims))
	for _, im := range ims {
		want[im.Path] = im.SHA256
	}
	for _, s := range prev {
		w, ok := want[s.Path]
		if !ok || !bytes.Equal(s.SHA256, w) || s.Model != modelID || s.Status == catalog.StatusError {
			return false
		}
	}
	return true
}

// imageName makes a catalog path element of a name stored in an npz: its
// last path element (names may be full paths), or "row<i>" when empty.
func imageName(s string, i int) string {
	s = strings.ReplaceAll(s, "\\", "/")
	s = path.Base(strings.TrimRight(s, "/"))
	if s == "" || s == "." || s == "/" || s == ".." {
		return fmt.Sprintf("row%d", i)
	}
	return s
}
