package library

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/facesearch/facesearch/internal/adapt"
	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/eval"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/verdict"
)

// Files of the similarity adaptation in the library directory.
const (
	// AdaptFile holds the fitted transform, the selection that kept it and
	// its cross-fitted calibration samples (JSON).
	AdaptFile = "adapt.json"
	// AdaptedFlatFile holds the library's vectors mapped by the transform,
	// in the FlatFile layout (same ids, searched by the same exact scan).
	AdaptedFlatFile = "vectors.adapted.f32"
)

// KeySimilarity is the catalog setting choosing the similarity:
// SimilarityRaw, SimilarityAdapted, or unset (adapted when the adaptation
// was kept, else raw).
const KeySimilarity = catalog.KeySimilarity

// Similarity settings.
const (
	SimilarityRaw     = "raw"
	SimilarityAdapted = "adapted"
)

// adaptVersion is the version of AdaptFile this program writes and reads.
const adaptVersion = 1

// AdaptInfo is AdaptFile: an adaptation fitted on the library's folders.
type AdaptInfo struct {
	Version int `json:"version"`
	// ID names the transform ("wccn-d256-s0.5-<hash>"); the similarity it
	// defines is "adapted:<ID>".
	ID         string          `json:"id"`
	Model      string          `json:"model"`
	Generation int64           `json:"generation"` // catalog generation fitted on
	Faces      int             `json:"faces"`      // primary faces in the library at the fit
	Folders    int             `json:"folders"`
	FittedAt   time.Time       `json:"fitted_at"`
	Seconds    float64         `json:"fit_seconds"`
	Selection  adapt.Selection `json:"selection"`
	Kept       bool            `json:"kept"`
	// Transform is nil when no candidate was kept.
	Transform *adapt.Transform `json:"transform,omitempty"`
	// Cross-fitted open-set calibration samples of the adapted similarity
	// (non-mated from folders the fold's transform did not see).
	NonMated []float64 `json:"non_mated,omitempty"`
	// NonMatedFolder is the folder (FolderSet index) of each non-mated
	// sample: the calibration bounds the FPIR with people as the units.
	NonMatedFolder []int     `json:"non_mated_folder,omitempty"`
	Mated          []float64 `json:"mated,omitempty"`
	// MatchThreshold is the match threshold the verdict calibration
	// certifies at FPIR from the cross-fitted non-mated samples (the one
	// the certification compared; before the fourth pass of issue 13, the
	// point estimate).
	MatchThreshold float64 `json:"match_threshold,omitempty"`
	// CalibFolders is the number of folders the samples came from.
	CalibFolders int `json:"calibration_folders,omitempty"`
	// CalibQueries is the number of distinct faces behind the non-mated
	// samples (each searched once per repeated deal of the folds).
	CalibQueries int     `json:"calibration_queries,omitempty"`
	FPIR         float64 `json:"fpir,omitempty"`
	// VectorsChecksum is the checksum of AdaptedFlatFile as last written.
	VectorsChecksum string `json:"vectors_checksum,omitempty"`
	// VectorsStamp is AdaptedFlatFile's FileStamp as last written: a
	// search that finds the file unchanged skips its checksum (stamp.go).
	VectorsStamp *FileStamp `json:"vectors_stamp,omitempty"`
	// VectorsSeconds is how long the last refresh took to write the
	// adapted vectors (0 when they were current); not stored.
	VectorsSeconds float64 `json:"-"`
}

// Similarity names the similarity this adaptation defines.
func (a *AdaptInfo) Similarity() string {
	if a == nil || !a.Kept || a.Transform == nil {
		return SimilarityRaw
	}
	return SimilarityAdapted + ":" + a.ID
}

// SimilaritySetting returns the stored similarity setting ("" when unset).
func (l *Library) SimilaritySetting(ctx context.Context) (string, error) {
	v, _, err := l.cat.Setting(ctx, KeySimilarity)
	return v, err
}

// SetSimilarity stores the similarity setting: SimilarityRaw,
// SimilarityAdapted, or "" (the default: adapted when kept).
func (l *Library) SetSimilarity(ctx context.Context, v string) error {
	switch v {
	case "", SimilarityRaw, SimilarityAdapted:
	default:
		return fmt.Errorf("similarity %q: want raw or adapted", v)
	}
	return l.cat.SetSetting(ctx, KeySimilarity, v)
}

// Adaptation reads AdaptFile (nil, nil when there is none).
//
// The parsed file is kept for as long as its stamp (stamp.go) stays the
// same: a search reads it several times (the searcher, the calibration's
// freshness) and at 57,637 faces it holds 1.5 MB of cross-fitted samples.
// The caller gets its own copy of the struct (the slices are shared and
// must not be modified).
func (l *Library) Adaptation() (*AdaptInfo, error) {
	path := filepath.Join(l.dir, AdaptFile)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("library %s: %w", l.dir, err)
	}
	st := stampOf(fi)
	l.adaptMemo.mu.Lock()
	defer l.adaptMemo.mu.Unlock()
	if m := &l.adaptMemo; st != nil && m.a != nil && m.stamp == *st {
		c := *m.a
		return &c, nil
	}
	a, err := l.readAdaptation(path)
	if err != nil || a == nil {
		l.adaptMemo.a = nil
		return a, err
	}
	if st != nil {
		c := *a
		l.adaptMemo.stamp, l.adaptMemo.a = *st, &c
	}
	return a, nil
}

// adaptMemo is the last AdaptFile Adaptation parsed, with its stamp.
type adaptMemo struct {
	mu    sync.Mutex
	stamp FileStamp
	a     *AdaptInfo
}

// readAdaptation parses AdaptFile (nil, nil when it is gone).
func (l *Library) readAdaptation(path string) (*AdaptInfo, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("library %s: %w", l.dir, err)
	}
	var a AdaptInfo
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("library %s: %s: %w", l.dir, AdaptFile, err)
	}
	if a.Version != adaptVersion {
		return nil, fmt.Errorf("library %s: %s version %d, this program reads %d", l.dir, AdaptFile, a.Version, adaptVersion)
	}
	if t := a.Transform; t != nil && (t.In <= 0 || t.Out <= 0 || len(t.Mean) != t.In || (t.Matrix != nil && len(t.Matrix) != t.In*t.Out)) {
		return nil, fmt.Errorf("library %s: %s: malformed transform (%d→%d)", l.dir, AdaptFile, t.In, t.Out)
	}
	return &a, nil
}

// activeAdaptation returns the adaptation searches use, or nil for the raw
// cosine: the setting is not raw, a kept transform of the library's model
// exists, and the index is exact.
func (l *Library) activeAdaptation(ctx context.Context, info IndexInfo) (*AdaptInfo, error) {
	set, err := l.SimilaritySetting(ctx)
	if err != nil || set == SimilarityRaw {
		return nil, err
	}
	a, err := l.Adaptation()
	if err != nil || a == nil || !a.Kept || a.Transform == nil {
		if set == SimilarityAdapted && err == nil {
			l.log.Warn("similarity is set to adapted but the library has no kept adaptation; searching with the raw cosine")
		}
		return nil, err
	}
	if a.Model != info.Model || a.Transform.In != info.Dim || !info.Exact() || info.Storage != StorageFlat {
		return nil, nil
	}
	return a, nil
}

// AdaptOptions tunes Adapt.
type AdaptOptions struct {
	Select adapt.SelectOptions
	// Force refits even when the library changed little since the fit.
	Force bool
}

// RefitShare is how much the library's primary faces or folders must have
// changed (relative to the fit) for the end of an index run to refit.
const RefitShare = 0.1

// needsRefit says whether a fit is due: none yet, another model, a kept
// transform never certified against the raw cosine on the whole library
// (fitted before that check existed: on the issue-13 split such a WCCN
// matched 62-67% of the mated photos where raw matches 77%), or the faces
// or folders changed by RefitShare.
func needsRefit(a *AdaptInfo, modelID string, faces, folders int) bool {
	if a == nil || a.Model != modelID || (a.Kept && a.Selection.Certified == nil) {
		return true
	}
	changed := func(old, now int) bool {
		return math.Abs(float64(now-old)) >= RefitShare*math.Max(1, float64(old))
	}
	return changed(a.Faces, faces) || changed(a.Folders, folders)
}

// Adapt chooses, fits and stores the library's similarity adaptation, and
// writes the adapted vectors. It returns the stored description.
func (l *Library) Adapt(ctx context.Context, opt AdaptOptions) (*AdaptInfo, error) {
	start := time.Now()
	gen, err := l.cat.Generation(ctx)
	if err != nil {
		return nil, err
	}
	modelID, err := l.ModelID(ctx)
	if err != nil {
		return nil, err
	}
	fs, err := l.FolderSet(ctx)
	if err != nil {
		return nil, err
	}
	sopt := opt.Select
	if sopt.KNN == nil {
		if k := l.knn(); k != nil {
			sopt.KNN = adapt.KNN(k)
		}
	}
	if sopt.Fit.KNN == nil {
		sopt.Fit.KNN = sopt.KNN
	}
	if !(sopt.FPIR > 0 && sopt.FPIR < 1) {
		sopt.FPIR = adapt.DefaultFPIR
	}
	a := &AdaptInfo{Version: adaptVersion, Model: modelID, Generation: gen, Faces: fs.Set.Len(), Folders: len(fs.Names), FPIR: sopt.FPIR}
	sel, err := adapt.Select(ctx, fs.Set, sopt)
	if err != nil {
		return nil, fmt.Errorf("adapt %s: %w", l.dir, err)
	}
	var s adapt.Samples
	if sel.Keep {
		// The held-out folds favour a transform (smaller galleries, fits on
		// fewer folders): keep it only if it also beats the raw cosine at
		// the thresholds its verdict calibration will certify.
		alias, err := fs.Aliases(ctx)
		if err != nil {
			return nil, fmt.Errorf("adapt %s: %w", l.dir, err)
		}
		// The thresholds the verdict calibration would certify
		// (folder-clustered bound), the ones check judges with.
		certified := func(non []float64, folders []int) (float64, error) {
			return verdict.MatchThreshold(non, folders, sopt.FPIR)
		}
		var c adapt.Certified
		c, s, err = adapt.Certify(ctx, fs.Set, sel.Best.Params, adapt.CrossFitOptions{Folds: adapt.DefaultCalibrationFolds, Fit: sopt.Fit, KNN: sopt.KNN, Seed: sopt.Seed, Alias: alias}, certified)
		if err != nil {
			return nil, fmt.Errorf("adapt %s: %w", l.dir, err)
		}
		sel.Confirm(c, sopt.MinGain)
	}
	a.Selection, a.Kept = sel, sel.Keep
	if sel.Keep {
		t, err := adapt.Fit(fs.Set, sel.Best.Params, sopt.Fit)
		if err != nil {
			return nil, fmt.Errorf("adapt %s: %w", l.dir, err)
		}
		// The threshold the certification read (the verdict calibration's
		// rule), not a point estimate no verdict uses.
		thr := sel.Certified.AdaptedThreshold
		a.NonMatedFolder = s.NonMatedFolder
		a.Transform, a.NonMated, a.Mated, a.MatchThreshold, a.CalibFolders, a.CalibQueries = t, s.NonMated, s.Mated, thr, s.Folders, s.Queries
		a.ID = transformID(t, modelID, gen)
	}
	a.FittedAt = time.Now().UTC()
	a.Seconds = time.Since(start).Seconds()
	if err := writeJSONAtomic(filepath.Join(l.dir, AdaptFile), a); err != nil {
		return nil, err
	}
	// A new fit invalidates the adapted vectors of the previous transform
	// (their header, which names only dimension and generation, cannot
	// tell two transforms of one generation apart); a kept one's are
	// written by the next refresh or searcher.
	os.Remove(filepath.Join(l.dir, AdaptedFlatFile))
	return a, nil
}

// Aliases reads the folder labels as the raw verdict sampling reads them
// (eval.ReadLabels on the raw vectors: one person filed under two folders
// is one person in any similarity) and returns its alias test over the
// set's folder ids, for adapt.CrossFitOptions.Alias; nil when no folder has
// two faces.
func (fs *FolderSet) Aliases(ctx context.Context) (func(a, b int) bool, error) {
	groups := make([]eval.Group, len(fs.Names))
	for i, n := range fs.Names {
		groups[i].Name = n
	}
	for r, f := range fs.Set.Folders {
		groups[f].Vectors = append(groups[f].Vectors, fs.Set.Row(r))
	}
	labels, err := eval.ReadLabels(ctx, groups, eval.CalibrateOptions{})
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, nil // no folder has two faces: no alias known
	}
	return labels.Alias, nil
}

// transformID is "<kind>-d<dim>-s<shrink>-<8 hex digits of a hash of the
// transform, the model and the generation>".
func transformID(t *adapt.Transform, modelID string, gen int64) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d\x00", modelID, gen, t.In, t.Out)
	binary.Write(h, binary.LittleEndian, t.Mean)
	binary.Write(h, binary.LittleEndian, t.Matrix)
	sum := hex.EncodeToString(h.Sum(nil))[:8]
	p := t.Params
	if !p.Score.IsMax() {
		sum = p.Score.String() + "-" + sum
	}
	if p.Kind == adapt.KindCentre {
		return fmt.Sprintf("centre-%s", sum)
	}
	return fmt.Sprintf("%s-d%d-s%g-%s", p.Kind, t.Out, p.Shrink, sum)
}

// writeAdaptedFlat maps the raw vectors (all faces, ids as in the raw flat
// file) by the transform and writes AdaptedFlatFile with generation gen.
func (l *Library) writeAdaptedFlat(t *adapt.Transform, gen int64, vecs []float32, ids []int64) (string, error) {
	out, err := t.ApplyAll(vecs)
	if err != nil {
		return "", fmt.Errorf("adapt the library's vectors: %w", err)
	}
	return writeFlat(filepath.Join(l.dir, AdaptedFlatFile), t.Out, gen, out, ids)
}

// refreshAdaptation runs at the end of index and import-npz: it refits the
// adaptation when the library changed enough (needsRefit) and the setting
// is not raw, and brings the adapted vectors up to the index's generation.
func (l *Library) refreshAdaptation(ctx context.Context, info IndexInfo, opt AdaptOptions) (*AdaptInfo, error) {
	set, err := l.SimilaritySetting(ctx)
	if err != nil || set == SimilarityRaw || !info.Exact() || info.Storage != StorageFlat || info.Count == 0 {
		return nil, err
	}
	a, err := l.Adaptation()
	if err != nil {
		l.log.Warn("unreadable adaptation; refitting", "err", err)
		a = nil
	}
	fs, err := l.FolderSet(ctx)
	if err != nil {
		return nil, err
	}
	if opt.Force || needsRefit(a, info.Model, fs.Set.Len(), len(fs.Names)) {
		if adapt.Eligible(fs.Set) < adapt.MinFolders && a == nil && !opt.Force {
			return nil, nil // too small a library to try; a later run will
		}
		l.log.Info("fitting the similarity adaptation on the library's folders", "faces", fs.Set.Len(), "folders", len(fs.Names))
		if a, err = l.Adapt(ctx, opt); err != nil {
			return nil, err
		}
		l.log.Info("similarity adaptation", "kept", a.Kept, "reason", a.Selection.Reason, "seconds", a.Seconds)
	}
	t0 := time.Now()
	wrote, err := l.ensureAdaptedFlat(a, info)
	if err != nil {
		return a, err
	}
	if wrote {
		a.VectorsSeconds = time.Since(t0).Seconds()
	}
	return a, nil
}

// ensureAdaptedFlat makes AdaptedFlatFile hold the index's vectors under a
// (a no-op when it already does) and reports whether it wrote it.
func (l *Library) ensureAdaptedFlat(a *AdaptInfo, info IndexInfo) (bool, error) {
	if a == nil || !a.Kept || a.Transform == nil {
		return false, nil
	}
	want := IndexInfo{Dim: a.Transform.Out, Count: info.Count, Generation: info.Generation}
	path := filepath.Join(l.dir, AdaptedFlatFile)
	if flatCurrent(path, want) {
		return false, nil
	}
	raw, err := openFlat(filepath.Join(l.dir, FlatFile), info, nil)
	if err != nil {
		return false, fmt.Errorf("read the raw vectors to adapt: %w", err)
	}
	defer raw.Close()
	sum, err := l.writeAdaptedFlat(a.Transform, info.Generation, raw.vecs, raw.ids)
	if err != nil {
		return false, err
	}
	a.VectorsChecksum = sum
	a.VectorsStamp = statStamp(path)
	if err := writeJSONAtomic(filepath.Join(l.dir, AdaptFile), a); err != nil {
		return false, err
	}
	return true, nil
}

// RefreshAdaptation refits the adaptation now (force) or when due, for
// the current index, and returns it.
func (l *Library) RefreshAdaptation(ctx context.Context, opt AdaptOptions) (*AdaptInfo, error) {
	idx, info, _, err := l.ensureIndex(ctx, SearchParams{})
	if err != nil {
		return nil, err
	}
	if idx != nil {
		idx.Close()
	}
	unlock, err := l.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return l.refreshAdaptation(ctx, info, opt)
}

// adaptAfterRun refreshes the adaptation at the end of an index or import
// run. A failure is logged, not returned: the run's work is stored and the
// index is written; searches then use the raw cosine (and say so) until a
// later run fits the adaptation.
func (l *Library) adaptAfterRun(ctx context.Context, info IndexInfo) {
	if _, err := l.refreshAdaptation(ctx, info, AdaptOptions{}); err != nil {
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("similarity adaptation not refreshed; searches use the raw cosine until it is", "err", err)
	}
}

// useAdaptation switches the searcher to the adapted vectors when the
// library's similarity is adapted, writing them first if they are behind
// the index. When they cannot be written (a read-only library) it stays on
// the raw cosine with a warning; Similarity says which is used.
func (s *Searcher) useAdaptation(ctx context.Context) error {
	a, err := s.l.activeAdaptation(ctx, s.info)
	if err != nil {
		return err
	}
	if a == nil {
		return nil
	}
	if _, err := s.l.ensureAdaptedFlat(a, s.info); err != nil {
		s.l.log.Warn("adapted vectors are behind the index and could not be refreshed; searching with the raw cosine", "err", err)
		return nil
	}
	want := IndexInfo{Dim: a.Transform.Out, Count: s.info.Count, Generation: s.info.Generation, Checksum: a.VectorsChecksum, Stamp: a.VectorsStamp}
	x, err := openFlat(filepath.Join(s.l.dir, AdaptedFlatFile), want, s.l.knn())
	if err != nil {
		s.l.log.Warn("unreadable adapted vectors; searching with the raw cosine", "err", err)
		return nil
	}
	s.idx.Close()
	s.idx, s.adapt = x, a
	return nil
}

// Similarity names the similarity the searcher's scores are in: "raw" or
// "adapted:<transform id>".
func (s *Searcher) Similarity() string { return s.adapt.Similarity() }

// Adaptation returns the adaptation searched with (nil: raw cosine).
func (s *Searcher) Adaptation() *AdaptInfo { return s.adapt }

// ThresholdAdapted is the threshold source of an adapted similarity: the
// adaptation's cross-fitted calibration at its FPIR.
const ThresholdAdapted = "adapted"

// Threshold returns the same-person threshold in the searcher's
// similarity: the adaptation's cross-fitted match threshold when adapted,
// else the library's (Library.Threshold).
func (s *Searcher) Threshold(ctx context.Context, m *model.Manifest) (float32, string, error) {
	if s.adapt != nil {
		return float32(s.adapt.MatchThreshold), ThresholdAdapted, nil
	}
	return s.l.Threshold(ctx, m)
}

// flatCurrent reports whether the flat file at path has the header and size
// want describes, reading only its header.
func flatCurrent(path string, want IndexInfo) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var hdr [flatHeaderSize]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil || string(hdr[:8]) != flatMagic {
		return false
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	_, size := flatLayout(want.Dim, want.Count)
	return binary.LittleEndian.Uint32(hdr[8:]) == flatVersion &&
		int(binary.LittleEndian.Uint32(hdr[12:])) == want.Dim &&
		int64(binary.LittleEndian.Uint64(hdr[16:])) == want.Count &&
		int64(binary.LittleEndian.Uint64(hdr[24:])) == want.Generation &&
		st.Size() == size
}

// currentAdaptation returns the adaptation searches of the library use now
// (nil: the raw cosine), judged from the index description.
func (l *Library) currentAdaptation(ctx context.Context) (*AdaptInfo, error) {
	info, _, err := l.IndexStatus(ctx)
	if err != nil {
		return nil, err
	}
	return l.activeAdaptation(ctx, info)
}

// calibrateAdapted fits the open-set calibration of an adapted similarity
// on its cross-fitted samples (non-mated searches from folders the fold's
// transform did not see; never leave-one-folder-out on fitted folders).
func (l *Library) calibrateAdapted(a *AdaptInfo, fo verdict.FitOptions, gen int64, modelID string) (*verdict.Calibration, error) {
	c, err := verdict.Fit(verdict.Samples{NonMated: a.NonMated, Mated: a.Mated, NonMatedCluster: a.NonMatedFolder,
		NonMatedFolders: a.CalibFolders, MatedFolders: a.CalibFolders}, fo)
	if err != nil {
		return nil, fmt.Errorf("library %s: calibrate %s: %w", l.dir, a.Similarity(), err)
	}
	c.Similarity, c.Generation, c.Model, c.Faces, c.Folders = a.Similarity(), gen, modelID, a.Faces, a.Folders
	return c, nil
}

// verifyAdapted checksums the adapted vectors of the fresh index info
// describes when searches use them and they are current (a stale file is
// rewritten by the next search or index run anyway): whatever its stamp,
// like VerifyIndex.
func (l *Library) verifyAdapted(ctx context.Context, info IndexInfo) error {
	if info.Count == 0 {
		return nil
	}
	a, err := l.activeAdaptation(ctx, info)
	if err != nil || a == nil || a.Transform == nil {
		return err
	}
	want := IndexInfo{Dim: a.Transform.Out, Count: info.Count, Generation: info.Generation, Checksum: a.VectorsChecksum}
	path := filepath.Join(l.dir, AdaptedFlatFile)
	if !flatCurrent(path, want) {
		return nil
	}
	x, err := openFlat(path, want, nil)
	if err != nil {
		return err
	}
	return x.Close()
}

// repairAdapted, under the writer lock, removes damaged adapted vectors of
// the fresh index info describes (derived data: the transform and
// vectors.f32 rebuild them, which the adaptation refresh after it does) and
// re-records the stamp of sound ones
// whose stamp went out of date.
func (l *Library) repairAdapted(ctx context.Context, info IndexInfo) {
	err := l.verifyAdapted(ctx, info)
	if errors.Is(err, ErrIndexDamaged) {
		l.log.Warn("damaged adapted vectors; rewriting them from the index", "err", err)
		if rerr := os.Remove(filepath.Join(l.dir, AdaptedFlatFile)); rerr != nil {
			l.log.Warn("could not remove the damaged adapted vectors", "err", rerr)
		}
		return
	}
	if err != nil {
		return
	}
	a, aerr := l.Adaptation()
	if aerr != nil || a == nil || !a.Kept {
		return
	}
	st := statStamp(filepath.Join(l.dir, AdaptedFlatFile))
	if st == nil || (a.VectorsStamp != nil && *st == *a.VectorsStamp) {
		return
	}
	a.VectorsStamp = st
	if werr := writeJSONAtomic(filepath.Join(l.dir, AdaptFile), a); werr != nil {
		l.log.Warn("could not record the adapted vectors' stamp", "err", werr)
	}
}
