package library

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/vecindex"
)

// DefaultFactory is the index type of a new library: exact inner-product
// search over unit vectors (cosine similarity).
const DefaultFactory = "Flat"

// IndexInfo describes the vector index file; it is stored beside it
// (index.json) and records the catalog generation it was built from.
type IndexInfo struct {
	Factory    string    `json:"factory"`    // as requested ("IVF,Flat")
	Resolved   string    `json:"resolved"`   // as built ("IVF460,Flat")
	Generation int64     `json:"generation"` // catalog generation
	Model      string    `json:"model"`
	Dim        int       `json:"dim"`
	Count      int64     `json:"count"`
	NProbe     int       `json:"nprobe,omitempty"`
	EfSearch   int       `json:"ef_search,omitempty"`
	RecallAt10 float64   `json:"recall_at_10,omitempty"` // vs exact, on a sample; 0 for Flat
	Queries    int       `json:"recall_queries,omitempty"`
	BuiltAt    time.Time `json:"built_at"`
	BuildTime  float64   `json:"build_seconds"`
	// Storage says where the vectors are: StorageFlat (FlatFile, mapped and
	// searched in place; exact indexes) or StorageFaiss (IndexFile).
	Storage string `json:"storage,omitempty"`
	// Checksum of the data file ("crc32c:…"; of the bytes after the header
	// for a FlatFile), verified when the file is opened with a stamp other
	// than Stamp, and always by VerifyIndex ("": not recorded by an older
	// version).
	Checksum string `json:"checksum,omitempty"`
	// Stamp is the data file's FileStamp right after it was written (nil:
	// not recorded, or the platform has none): a search that finds the
	// file unchanged skips the checksum pass (stamp.go).
	Stamp *FileStamp `json:"stamp,omitempty"`
	// Remote stores (StorageRemote, see remote.go): the store's URL, whether
	// it searches exactly, and what the last sync sent and removed.
	Vectors     string `json:"vectors,omitempty"`
	ExactRemote bool   `json:"exact_remote,omitempty"`
	Sent        int    `json:"sent,omitempty"`
	Removed     int    `json:"removed,omitempty"`
}

// file returns the name of the index's data file in the library directory.
func (i IndexInfo) file() string {
	if i.Storage == StorageFlat {
		return FlatFile
	}
	return IndexFile
}

// Index states reported by IndexStatus.
const (
	IndexFresh   = "fresh"
	IndexStale   = "stale"
	IndexMissing = "missing"
	// IndexDamaged: fresh by index.json, but the file's checksum or counts
	// do not match (Stats only; a search rebuilds it).
	IndexDamaged = "damaged"
)

// Exact reports whether the index is an exact (Flat) one.
func (i IndexInfo) Exact() bool {
	if i.Storage == StorageRemote {
		return i.ExactRemote
	}
	return vecindex.Exact(i.Resolved)
}

func (l *Library) factory(ctx context.Context) (string, error) {
	f, ok, err := l.cat.Setting(ctx, catalog.KeyIndex)
	if err != nil {
		return "", err
	}
	if !ok {
		return DefaultFactory, nil
	}
	return f, nil
}

// IndexStatus reads the index description and says whether the index is
// fresh, stale (the catalog or the requested type changed) or missing.
func (l *Library) IndexStatus(ctx context.Context) (IndexInfo, string, error) {
	var info IndexInfo
	b, err := os.ReadFile(filepath.Join(l.dir, IndexMetaFile))
	if errors.Is(err, os.ErrNotExist) {
		return info, IndexMissing, nil
	}
	if err != nil {
		return info, "", fmt.Errorf("library %s: %w", l.dir, err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		l.log.Warn("unreadable index description; rebuilding", "err", err)
		return info, IndexStale, nil
	}
	if url, err := l.VectorsURL(ctx); err != nil || url != "" {
		if err != nil {
			return info, "", err
		}
		return l.remoteStatus(ctx, url, info)
	}
	if _, err := os.Stat(filepath.Join(l.dir, info.file())); err != nil && info.Count > 0 {
		return info, IndexMissing, nil
	}
	if info.Exact() && info.Storage != StorageFlat && info.Count > 0 {
		return info, IndexStale, nil // an exact index of an older version: rebuilt as a FlatFile
	}
	gen, err := l.cat.Generation(ctx)
	if err != nil {
		return info, "", err
	}
	f, err := l.factory(ctx)
	if err != nil {
		return info, "", err
	}
	m, err := l.ModelID(ctx)
	if err != nil {
		return info, "", err
	}
	if info.Generation != gen || info.Factory != f || info.Model != m {
		return info, IndexStale, nil
	}
	return info, IndexFresh, nil
}

// ensureIndex opens the index, rebuilding it first if stale or missing. The
// returned index is nil when the library has no face.
func (l *Library) ensureIndex(ctx context.Context, params SearchParams) (VectorIndex, IndexInfo, bool, error) {
	if l.backend == nil {
		return nil, IndexInfo{}, false, errors.New("library: no vector index backend")
	}
	info, state, err := l.IndexStatus(ctx)
	if err != nil {
		return nil, info, false, err
	}
	if state == IndexFresh {
		if info.Count == 0 {
			return nil, info, false, nil
		}
		idx, err := l.openIndex(ctx, info)
		if err == nil {
			return idx, info, false, nil
		}
		if info.Storage == StorageRemote {
			return nil, info, false, err // the cluster cannot answer: rebuilding would not help
		}
		l.log.Warn("unreadable or damaged index; rebuilding it from the catalog", "err", err)
	}
	// The index files are written only under the library's writer lock: a
	// running 'index' or 'import-npz' rebuilds them itself when it ends.
	unlock, err := l.lock()
	if err != nil {
		return nil, info, false, fmt.Errorf("the index is stale or damaged and must be rebuilt: %w", err)
	}
	defer unlock()
	idx, info, err := l.Rebuild(ctx, params)
	return idx, info, true, err
}

// openIndex opens the fresh index described by info, verifying its
// checksum and its face count against index.json and the catalog.
func (l *Library) openIndex(ctx context.Context, info IndexInfo) (VectorIndex, error) {
	if info.Storage == StorageRemote {
		return l.openRemoteIndex(ctx, info)
	}
	path := filepath.Join(l.dir, info.file())
	if err := l.checkCatalogCount(ctx, path, info.Count); err != nil {
		return nil, err
	}
	if info.Storage == StorageFlat {
		x, err := openFlat(path, info, l.knn())
		if err != nil {
			return nil, err
		}
		return x, nil
	}
	if info.Checksum != "" && !stampUnchanged(path, info.Stamp) {
		sum, err := checksumFile(path, 0)
		if err != nil {
			return nil, err
		}
		if err := verifyChecksum(path, info.Checksum, sum); err != nil {
			return nil, err
		}
	}
	x, err := l.backend.Read(path)
	if err != nil {
		return nil, err
	}
	if n := x.Ntotal(); n != info.Count || x.Dim() != info.Dim {
		x.Close()
		return nil, fmt.Errorf("%s: %w: holds %d %d-d vectors, index.json says %d %d-d", path, ErrIndexDamaged, n, x.Dim(), info.Count, info.Dim)
	}
	return x, nil
}

// VerifyIndex opens a fresh index as a search would (checksum, counts
// against index.json and the catalog) and closes it, and checksums the
// adapted vectors when searches use them; it returns nil for a stale,
// missing or empty index (a search rebuilds those). It always checksums,
// whatever the files' stamps.
func (l *Library) VerifyIndex(ctx context.Context) error {
	info, state, err := l.IndexStatus(ctx)
	if err != nil || state != IndexFresh {
		return err
	}
	if err := l.verifyMainIndex(ctx, info); err != nil {
		return err
	}
	return l.verifyAdapted(ctx, info)
}

// verifyMainIndex is VerifyIndex of the fresh vector index that info
// describes, alone (nil for an empty one: it has no file).
func (l *Library) verifyMainIndex(ctx context.Context, info IndexInfo) error {
	if info.Count == 0 {
		return nil
	}
	info.Stamp = nil // checksum the file whatever its stamp
	x, err := l.openIndex(ctx, info)
	if err != nil {
		return err
	}
	return x.Close()
}

// knn returns the backend's exact search, or nil (a Go loop) if it has none.
func (l *Library) knn() vecindex.KNN {
	if es, ok := l.backend.(vecindex.ExactSearcher); ok {
		return es.KNN
	}
	return nil
}

// Rebuild builds the vector index from the catalog's embeddings (no
// re-embedding), measures recall@10 against exact search for approximate
// types, and writes it with its description. Exact indexes are written as a
// FlatFile, others as a faiss IndexFile.
func (l *Library) Rebuild(ctx context.Context, params SearchParams) (VectorIndex, IndexInfo, error) {
	return l.rebuild(ctx, "", params)
}

// rebuild builds an index of type factory ("" for the library's), and makes
// that type the library's once the index is written.
func (l *Library) rebuild(ctx context.Context, factory string, params SearchParams) (VectorIndex, IndexInfo, error) {
	if url, err := l.VectorsURL(ctx); err != nil || url != "" {
		if err != nil {
			return nil, IndexInfo{}, err
		}
		if factory != "" {
			return nil, IndexInfo{}, fmt.Errorf("index type %q is for local faiss indexes; the library's vectors are in %s (choose its index type in the URL, e.g. ?index=hnsw)", factory, url)
		}
		return l.syncRemote(ctx, url, false, params)
	}
	start := time.Now()
	l.removeStaleTemps(start)
	gen, err := l.cat.Generation(ctx) // read first: a concurrent change leaves the index stale, never wrong
	if err != nil {
		return nil, IndexInfo{}, err
	}
	stored, err := l.factory(ctx)
	if err != nil {
		return nil, IndexInfo{}, err
	}
	if factory == "" {
		factory = stored
	}
	modelID, err := l.ModelID(ctx)
	if err != nil {
		return nil, IndexInfo{}, err
	}
	vecs, ids, dim, err := l.vectors(ctx, false)
	if err != nil {
		return nil, IndexInfo{}, err
	}
	info := IndexInfo{Factory: factory, Generation: gen, Model: modelID, Dim: dim, Count: int64(len(ids)), BuiltAt: time.Now().UTC()}
	var idx VectorIndex
	if len(ids) > 0 {
		info.Resolved, err = vecindex.ResolveFactory(factory, len(ids), dim)
		if err != nil {
			return nil, info, err
		}
		if info.Resolved != factory {
			l.log.Info("index type adapted to the library", "requested", factory, "built", info.Resolved, "faces", len(ids))
		}
	}
	if len(ids) > 0 && info.Exact() {
		info.Storage = StorageFlat
		path := filepath.Join(l.dir, FlatFile)
		if info.Checksum, err = writeFlat(path, dim, gen, vecs, ids); err != nil {
			return nil, info, fmt.Errorf("write index: %w", err)
		}
		info.Stamp = statStamp(path)
		x, err := openFlat(path, info, l.knn())
		if err != nil {
			return nil, info, fmt.Errorf("open the index just written: %w", err)
		}
		idx = x
	} else if len(ids) > 0 {
		idx, err = l.backend.New(dim, info.Resolved)
		if err != nil {
			return nil, info, fmt.Errorf("index %s: %w", info.Resolved, err)
		}
		if !idx.IsTrained() {
			if err := idx.Train(vecs); err != nil {
				idx.Close()
				return nil, info, fmt.Errorf("train index %s on %d faces: %w", info.Resolved, len(ids), err)
			}
		}
		if err := idx.Add(vecs, ids); err != nil {
			idx.Close()
			return nil, info, fmt.Errorf("add %d faces to index: %w", len(ids), err)
		}
		if err := tuneSearch(idx, vecs, ids, dim, params, &info); err != nil {
			idx.Close()
			return nil, info, err
		}
		if err := idx.Write(filepath.Join(l.dir, IndexFile)); err != nil {
			idx.Close()
			return nil, info, fmt.Errorf("write index: %w", err)
		}
		if info.Checksum, err = checksumFile(filepath.Join(l.dir, IndexFile), 0); err != nil {
			idx.Close()
			return nil, info, fmt.Errorf("write index: %w", err)
		}
		info.Stamp = statStamp(filepath.Join(l.dir, IndexFile))
	}
	info.BuildTime = time.Since(start).Seconds()
	fail := func(err error) (VectorIndex, IndexInfo, error) {
		if idx != nil {
			idx.Close()
		}
		return nil, info, err
	}
	if factory != stored {
		if err := l.cat.SetSetting(ctx, catalog.KeyIndex, factory); err != nil {
			return fail(err)
		}
	}
	if err := writeJSONAtomic(filepath.Join(l.dir, IndexMetaFile), info); err != nil {
		return fail(err)
	}
	// Only now that the description names the new file (or none) is the
	// other kind removed: a crash before leaves a described index.
	for _, name := range []string{IndexFile, FlatFile} {
		if len(ids) == 0 || name != info.file() {
			os.Remove(filepath.Join(l.dir, name))
		}
	}
	return idx, info, nil
}

// params fills unset search parameters with the index's defaults.
func (i IndexInfo) params(p SearchParams) SearchParams {
	if p.NProbe <= 0 {
		p.NProbe = i.NProbe
	}
	if p.EfSearch <= 0 {
		p.EfSearch = i.EfSearch
	}
	return p
}

// vectors loads every face embedding (primary faces only if primaryOnly).
func (l *Library) vectors(ctx context.Context, primaryOnly bool) ([]float32, []int64, int, error) {
	var vecs []float32
	var ids []int64
	dim := 0
	err := l.cat.EachEmbedding(ctx, func(id int64, primary bool, emb []float32) error {
		if primaryOnly && !primary {
			return nil
		}
		if dim == 0 {
			dim = len(emb)
		} else if len(emb) != dim {
			return fmt.Errorf("face %d has a %d-d embedding, others %d-d (mixed models: re-run index)", id, len(emb), dim)
		}
		vecs = append(vecs, emb...)
		ids = append(ids, id)
		return nil
	})
	return vecs, ids, dim, err
}

// TargetRecall is the recall@10 against exact search that automatic search
// parameters aim for.
const TargetRecall = 0.95

// tuneSearch sets the index's default search parameters and measures its
// recall@10. Parameters not given are chosen: nprobe doubles from 16 (up to
// nlist) and efSearch from 64 (up to 1024) until the recall reaches
// TargetRecall.
func tuneSearch(idx VectorIndex, vecs []float32, ids []int64, dim int, given SearchParams, info *IndexInfo) error {
	ivf, hnsw := strings.Contains(info.Resolved, "IVF"), strings.Contains(info.Resolved, "HNSW")
	nlist := 1 << 30
	if n := vecindex.ListCount(info.Resolved); n > 0 {
		nlist = n
	}
	if ivf {
		info.NProbe = given.NProbe
		if info.NProbe <= 0 {
			info.NProbe = min(16, nlist)
		}
	}
	if hnsw {
		info.EfSearch = given.EfSearch
		if info.EfSearch <= 0 {
			info.EfSearch = 64
		}
	}
	for {
		r, nq, err := vecindex.Recall(idx, vecs, ids, dim, info.params(SearchParams{}))
		if err != nil {
			return err
		}
		info.RecallAt10, info.Queries = r, nq
		grew := false
		if r < TargetRecall && ivf && given.NProbe <= 0 && info.NProbe < nlist {
			info.NProbe, grew = min(2*info.NProbe, nlist), true
		}
		if r < TargetRecall && hnsw && given.EfSearch <= 0 && info.EfSearch < 1024 {
			info.EfSearch, grew = 2*info.EfSearch, true
		}
		if !grew {
			return nil
		}
	}
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	// A unique temporary file: two writers never write or rename each
	// other's half-written file.
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// staleTempAge is how old a temporary index file must be before a rebuild
// removes it: a process killed while writing the index leaves one behind
// (up to the index's size), and a younger one may still be another
// process's rebuild in progress.
const staleTempAge = 15 * time.Minute

// removeStaleTemps deletes temporary index files (".vectors.f32.tmp*",
// ".index.faiss.tmp*") older than staleTempAge, best effort.
func (l *Library) removeStaleTemps(now time.Time) {
	for _, name := range []string{FlatFile, IndexFile} {
		matches, _ := filepath.Glob(filepath.Join(l.dir, "."+name+".tmp*"))
		for _, m := range matches {
			if st, err := os.Lstat(m); err == nil && st.Mode().IsRegular() && now.Sub(st.ModTime()) > staleTempAge {
				if os.Remove(m) == nil {
					l.log.Info("removed a temporary index file left by an interrupted run", "file", m)
				}
			}
		}
	}
}

// resolveFactory is vecindex.ResolveFactory (the one factory and IVF
// list-count rule), named here for the library's option checks.
func resolveFactory(f string, n, dim int) (string, error) { return vecindex.ResolveFactory(f, n, dim) }
