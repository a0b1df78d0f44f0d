// Package review is the serve backend: the use cases behind the web page and
// the JSON API over one library. It keeps the library's images and faces in
// memory as they were when it was built (a snapshot), runs the cleansing
// audit and the look-alikes in the background on first use, names findings
// by their keys and records reviewers' dismissals in the catalog (shared with
// 'facesearch audit'), and searches through the library's judged search. A
// Reloader swaps in a new backend when an index run has changed the library.
//
// Backend implements the interfaces package server declares (Detector,
// Searcher, JudgedSearcher, PhotoSearcher, Catalog, Cleanser,
// LookalikeFinder); package cli only wires it.
package review

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/cleanse"
	"github.com/facesearch/facesearch/internal/detect"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/server"
	"github.com/facesearch/facesearch/internal/vecindex"
)

// Options configure a Backend.
type Options struct {
	// Detector finds and embeds the faces of an uploaded photo (it must
	// keep the detector's errors as causes: they map to API kinds). nil: no
	// photo search (a library imported from npz files whose model is not
	// installed); people, cleansing and vector search work.
	Detector library.Detector
	// Index builds the exact index the audit, pairs and look-alikes search
	// (cleanse.Options.Index; nil: vecindex.NewBruteForce).
	Index vecindex.Builder
	Log   *slog.Logger // nil: discard
}

// Backend implements the server's interfaces over a library, the face
// pipeline and the cleansing audit.
type Backend struct {
	lib       *library.Library
	detector  library.Detector
	index     vecindex.Builder
	search    *library.Searcher
	root      string
	imported  bool // the faces come from import-npz: there are no image files
	threshold float32
	snap      *snapshot
	stats     server.Stats // of the library at start, like snap
	log       *slog.Logger

	ctx       context.Context // the server's lifetime, for the background audit
	auditMu   sync.Mutex      // guards auditDone; serialises dismissals
	auditDone chan struct{}   // closed when audit and auditErr are set
	audit     *auditState
	auditErr  error

	looks lookalikeCache // the look-alikes view, computed once
}

// auditWait is how long a cleansing request waits for a running audit
// before it answers "unavailable" with auditRetry as Retry-After.
const (
	auditWait  = time.Second
	auditRetry = 3 * time.Second
)

func (b *Backend) cleanseOptions() cleanse.Options {
	return cleanse.Options{Threshold: b.threshold, Index: b.index}
}

// snapshot is the catalog's images and faces in memory, as they were when
// the server started: a later 'facesearch index' is seen after a reload.
type snapshot struct {
	images  map[int64]*catalog.Image
	faces   map[int64]server.FaceRecord
	vecs    map[int64][]float32
	hashes  map[int64]string // face id -> image content hash ("" for an imported library)
	persons []server.Person
	byName  map[string][]int64 // person -> face ids, by file
	nfaces  int
}

// New is a backend over the library as it is now; ctx is the server's
// lifetime (the background audit runs on it). A library without faces is
// library.ErrEmpty. Close releases what it holds (not opt.Detector).
func New(ctx context.Context, l *library.Library, opt Options) (*Backend, error) {
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opt.Index == nil {
		opt.Index = vecindex.NewBruteForce
	}
	root, err := l.Root(ctx)
	if err != nil {
		return nil, err
	}
	view, err := l.View(ctx)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	snap := newSnapshot(view)
	if snap.nfaces == 0 {
		return nil, library.ErrEmpty
	}
	m, err := l.ManifestOrDefault(ctx)
	if err != nil {
		return nil, err
	}
	th, _, err := l.Threshold(ctx, m)
	if err != nil {
		return nil, err
	}
	src, err := l.Source(ctx)
	if err != nil {
		return nil, err
	}
	rep, err := l.Stats(ctx)
	if err != nil {
		return nil, err
	}
	c := rep.Catalog
	stats := server.Stats{Persons: c.Persons, Images: c.Images, ImagesOK: c.ImagesOK, Faces: c.Faces,
		PrimaryFaces: c.PrimaryFaces, ByStatus: c.ByStatus, Model: rep.ModelID, Index: rep.Index.Resolved,
		IndexState: rep.IndexState, Threshold: th}
	// The page and API search in the library's similarity (adapted when an
	// adaptation is kept), like search and check: the stored calibration is
	// for that similarity, so a raw searcher would find none and give no
	// verdicts. The pairs still compare raw vectors with the pairwise
	// threshold th.
	s, err := l.Searcher(ctx)
	if err != nil {
		return nil, err
	}
	// The verdicts' calibration: the stored one, read, never computed here
	// (a reload per catalog generation must stay cheap).
	if c, err := s.Calibration(ctx); err != nil {
		log.Warn("no open-set calibration; searches will try again", "err", err)
	} else if !c.Calibrated() {
		log.Info("library uncalibrated: results carry no verdict", "reason", c.Reason)
	} else if c.Stale != "" {
		log.Info("open-set calibration is stale", "note", c.Stale)
	}
	return &Backend{lib: l, detector: opt.Detector, index: opt.Index, search: s, root: root, imported: src == library.SourceNPZ,
		threshold: th, snap: snap, stats: stats, log: log, ctx: ctx}, nil
}

// Threshold is the library's same-person (pairwise) threshold, for the
// page's badges.
func (b *Backend) Threshold() float32 { return b.threshold }

// NFaces is the number of faces the backend serves.
func (b *Backend) NFaces() int { return b.snap.nfaces }

// byShownName finds a person by the name /api/persons showed: JSON carries
// a folder name that is not UTF-8 with U+FFFD in place of its bad bytes, and
// a client asks for it by that name. Only an unambiguous match counts.
func (s *snapshot) byShownName(name string) ([]int64, bool) {
	var found []int64
	n := 0
	for raw, ids := range s.byName {
		if !utf8.ValidString(raw) && (strings.ToValidUTF8(raw, "\uFFFD") == name || perByteValid(raw) == name) {
			found, n = ids, n+1
		}
	}
	return found, n == 1
}

// perByteValid replaces each byte that is not UTF-8 with U+FFFD, as
// encoding/json does (strings.ToValidUTF8 replaces each run with one).
func perByteValid(s string) string {
	var b strings.Builder
	for _, r := range s { // ranging a string yields U+FFFD per bad byte
		b.WriteRune(r)
	}
	return b.String()
}

func newSnapshot(v *library.View) *snapshot {
	s := &snapshot{images: map[int64]*catalog.Image{}, faces: map[int64]server.FaceRecord{},
		vecs: map[int64][]float32{}, hashes: map[int64]string{}, byName: map[string][]int64{}}
	count := map[string]*server.Person{}
	for i := range v.Images {
		im := &v.Images[i]
		s.images[im.ID] = im
		p := count[im.Person]
		if p == nil {
			p = &server.Person{Name: im.Person}
			count[im.Person] = p
		}
		p.Images++
	}
	for _, f := range v.Faces { // in path order, then detection order
		s.faces[f.ID] = server.FaceRecord{ID: f.ID, ImageID: f.ImageID, File: f.File, Person: f.Person,
			Box: f.Box, Score: f.Score, Primary: f.Primary}
		s.vecs[f.ID] = f.Vec
		s.hashes[f.ID] = f.Hash
		s.byName[f.Person] = append(s.byName[f.Person], f.ID)
		p := count[f.Person]
		p.Faces++
		if f.Primary {
			p.PrimaryFaces++
		}
		s.nfaces++
	}
	for _, p := range count {
		p.FaceID = s.thumbnail(p.Name)
		s.persons = append(s.persons, *p)
	}
	sort.Slice(s.persons, func(i, j int) bool { return s.persons[i].Name < s.persons[j].Name })
	return s
}

// Close releases the indexes (not the detector, which the reloader's
// backends share), after the background audit (cancelled with the server's
// context) has returned.
func (b *Backend) Close() error {
	b.auditMu.Lock()
	done := b.auditDone
	b.auditMu.Unlock()
	var err error
	if done != nil {
		<-done
		b.looks.wait()
		if b.audit != nil && b.audit.index != nil {
			err = b.audit.index.Close()
		}
	}
	return errors.Join(err, b.search.Close())
}

// errNoPhotoSearch answers photo searches without a detector.
var errNoPhotoSearch = &server.Error{Kind: server.KindUnavailable, Msg: "photo search needs the model that made the imported embeddings, which is not installed (see 'facesearch models'); search by vector, People and Cleansing work"}

// Faces implements server.Detector.
func (b *Backend) Faces(ctx context.Context, img *image.RGBA) ([]server.QueryFace, int, error) {
	if b.detector == nil {
		return nil, -1, errNoPhotoSearch
	}
	fs, primary, err := b.detector.Detect(ctx, img)
	switch {
	case errors.Is(err, detect.ErrTooSmall):
		return nil, -1, &server.Error{Kind: server.KindNoFace, Msg: err.Error(), Err: err}
	case errors.Is(err, detect.ErrTooMuchWork):
		return nil, -1, &server.Error{Kind: server.KindBadRequest, Msg: err.Error(), Err: err}
	case err != nil:
		return nil, -1, err
	}
	out := make([]server.QueryFace, len(fs))
	for i, f := range fs {
		out[i] = server.QueryFace{Box: f.Box, Score: f.Score, Embedding: f.Embedding}
	}
	return out, primary, nil
}

// Dim implements server.Searcher.
func (b *Backend) Dim() int { return b.search.Info().Dim }

// Search implements server.Searcher.
func (b *Backend) Search(ctx context.Context, vec []float32, k int) ([]server.Match, error) {
	hits, err := b.search.Search(ctx, vec, library.SearchOptions{K: k, Min: -1})
	if err != nil {
		return nil, err
	}
	out := make([]server.Match, len(hits))
	for i, h := range hits {
		out[i] = server.Match{FaceID: h.FaceID, ImageID: b.snap.faces[h.FaceID].ImageID, Similarity: h.Similarity,
			File: h.Path, Person: h.Person, Box: h.Box}
	}
	return out, nil
}

// Persons implements server.Catalog.
func (b *Backend) Persons(ctx context.Context) ([]server.Person, error) {
	return b.snap.persons, nil
}

// PersonFaces implements server.Catalog.
func (b *Backend) PersonFaces(ctx context.Context, name string) ([]server.FaceRecord, error) {
	ids, ok := b.snap.byName[name]
	if !ok {
		ids, ok = b.snap.byShownName(name)
	}
	if !ok {
		return nil, server.ErrNotFound
	}
	out := make([]server.FaceRecord, len(ids))
	for i, id := range ids {
		out[i] = b.snap.faces[id]
	}
	return out, nil
}

// Face implements server.Catalog.
func (b *Backend) Face(ctx context.Context, id int64) (server.FaceRecord, error) {
	f, ok := b.snap.faces[id]
	if !ok {
		return f, server.ErrNotFound
	}
	return f, nil
}

// FaceCrop implements server.Catalog.
func (b *Backend) FaceCrop(ctx context.Context, id int64) ([]byte, string, error) {
	if _, ok := b.snap.faces[id]; !ok {
		return nil, "", server.ErrNotFound
	}
	// Crops are read from the catalog: face ids are never reused, so this
	// is the crop of the snapshot's face, or none if it was removed since.
	c, err := b.lib.Crop(ctx, id)
	if errors.Is(err, library.ErrNoSuchFace) {
		return nil, "", fmt.Errorf("face %d was removed from the library after the server started: %w", id, server.ErrNotFound)
	}
	if err != nil {
		return nil, "", err
	}
	return c, http.DetectContentType(c), nil
}

// Image implements server.Catalog.
func (b *Backend) Image(ctx context.Context, id int64) (server.ImageRecord, error) {
	im, ok := b.snap.images[id]
	if !ok {
		return server.ImageRecord{}, server.ErrNotFound
	}
	r := server.ImageRecord{ID: im.ID, File: im.Path, Person: im.Person, Width: im.Width, Height: im.Height,
		Status: im.Status, Error: im.Error, Faces: []server.FaceRecord{}}
	for _, fid := range b.snap.byName[im.Person] {
		if f := b.snap.faces[fid]; f.ImageID == id {
			r.Faces = append(r.Faces, f)
		}
	}
	return r, nil
}

// ImageFile implements server.Catalog: the catalog's relative path under the
// library's root, for images indexed from photos with status ok.
func (b *Backend) ImageFile(ctx context.Context, id int64) (server.FileRef, error) {
	im, ok := b.snap.images[id]
	switch {
	case !ok:
		return server.FileRef{}, server.ErrNotFound
	case b.imported:
		return server.FileRef{}, fmt.Errorf("%s was imported from %s: the library has no image files: %w", im.Path, library.NPZFile, server.ErrNotFound)
	case im.Status != library.StatusOK:
		return server.FileRef{}, fmt.Errorf("%s has status %s: only images indexed with faces are served: %w", im.Path, im.Status, server.ErrNotFound)
	}
	return server.FileRef{Root: b.root, Path: im.Path, Size: im.Size, ModTime: time.Unix(0, im.MtimeNS)}, nil
}

// Stats implements server.Catalog: the library as it was at start.
func (b *Backend) Stats(ctx context.Context) (server.Stats, error) {
	return b.stats, nil
}
