package library

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/vecindex"
	"golang.org/x/sync/errgroup"
)

// KeyVectors is the catalog setting naming the library's external vector
// store (a weaviate:// URL); absent, the vectors are local files.
const KeyVectors = catalog.KeyVectors

// StorageRemote marks an index whose vectors live in a RemoteStore.
const StorageRemote = "remote"

// RemoteFace is one face as written to a RemoteStore.
type RemoteFace struct {
	ID      int64
	Person  string
	Image   string // relative to the dataset root
	Primary bool
	Digest  string // changes whenever anything above or the vector does
	Vector  []float32
}

// RemoteStore is a vector store outside the library directory (a Weaviate
// collection). The catalog stays the source of truth: the store is synced
// from it and can be rebuilt from it.
type RemoteStore interface {
	URL() string      // canonical URL
	Describe() string // index type, as IndexInfo.Resolved
	Exact() bool      // searches are exact
	// Ensure creates the collection if missing (reset: drops it first).
	Ensure(ctx context.Context, reset bool) error
	// Digests lists every stored face id with its digest.
	Digests(ctx context.Context) (map[int64]string, error)
	Put(ctx context.Context, faces []RemoteFace) error
	Delete(ctx context.Context, ids []int64) error
	Count(ctx context.Context) (int64, error)
	// Health fails when a search could miss faces (a shard without enough
	// live replicas).
	Health(ctx context.Context) error
	// Search returns the k nearest faces by cosine similarity, best first.
	Search(ctx context.Context, q []float32, k int) (scores []float32, ids []int64, err error)
}

// RemoteOpener returns the store a URL names, without contacting it.
type RemoteOpener func(url string) (RemoteStore, error)

// remoteTimeout bounds one request to a remote store: one query, one
// health check, one count.
const remoteTimeout = 60 * time.Second

// VectorsURL returns the library's external vector store ("" for local).
func (l *Library) VectorsURL(ctx context.Context) (string, error) {
	u, _, err := l.cat.Setting(ctx, KeyVectors)
	return u, err
}

// SetVectors makes the store named by url ("" or "local": local files) the
// library's vector index; the next index run or search fills it from the
// catalog.
func (l *Library) SetVectors(ctx context.Context, url string) error {
	if url == "local" {
		url = ""
	}
	if url != "" {
		s, err := l.openRemote(url)
		if err != nil {
			return err
		}
		url = s.URL()
	}
	return l.cat.SetSetting(ctx, KeyVectors, url)
}

func (l *Library) openRemote(url string) (RemoteStore, error) {
	if l.remote == nil {
		return nil, fmt.Errorf("vector store %s: this build has no remote vector stores", url)
	}
	return l.remote(url)
}

// remoteStatus is IndexStatus for a library whose vectors are in url.
func (l *Library) remoteStatus(ctx context.Context, url string, info IndexInfo) (IndexInfo, string, error) {
	if info.Storage != StorageRemote || info.Vectors != url {
		return info, IndexMissing, nil
	}
	gen, err := l.cat.Generation(ctx)
	if err != nil {
		return info, "", err
	}
	m, err := l.ModelID(ctx)
	if err != nil {
		return info, "", err
	}
	if info.Generation != gen || info.Model != m {
		return info, IndexStale, nil
	}
	return info, IndexFresh, nil
}

// RebuildVectors drops the library's remote collection and writes every
// face again from the catalog.
func (l *Library) RebuildVectors(ctx context.Context) (IndexInfo, error) {
	url, err := l.VectorsURL(ctx)
	if err != nil {
		return IndexInfo{}, err
	}
	if url == "" {
		info, err := l.refreshIndexForce(ctx)
		return info, err
	}
	idx, info, err := l.syncRemote(ctx, url, true, SearchParams{})
	if idx != nil {
		idx.Close()
	}
	return info, err
}

func (l *Library) refreshIndexForce(ctx context.Context) (IndexInfo, error) {
	idx, info, err := l.rebuild(ctx, "", SearchParams{})
	if idx != nil {
		idx.Close()
	}
	return info, err
}

// faceDigest identifies what a face's object holds.
func faceDigest(model string, f catalog.FaceInfo, emb []float32) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%t\x00", model, f.Person, f.Path, f.Primary)
	b := make([]byte, 4*len(emb))
	for i, x := range emb {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// syncChunk is how many faces a remote sync reads, compares and sends at a
// time.
const syncChunk = 10000

// syncRemote makes the store at url hold exactly the catalog's faces,
// sending only the faces whose digest differs and deleting the others
// (reset: recreate the collection and send everything), then writes the
// index description.
func (l *Library) syncRemote(ctx context.Context, url string, reset bool, params SearchParams) (VectorIndex, IndexInfo, error) {
	start := time.Now()
	gen, err := l.cat.Generation(ctx) // read first: a concurrent change leaves the index stale, never wrong
	if err != nil {
		return nil, IndexInfo{}, err
	}
	modelID, err := l.ModelID(ctx)
	if err != nil {
		return nil, IndexInfo{}, err
	}
	store, err := l.openRemote(url)
	if err != nil {
		return nil, IndexInfo{}, err
	}
	info := IndexInfo{Factory: DefaultFactory, Resolved: store.Describe(), Generation: gen, Model: modelID,
		BuiltAt: time.Now().UTC(), Storage: StorageRemote, Vectors: url, ExactRemote: store.Exact()}
	if f, err := l.factory(ctx); err == nil {
		info.Factory = f
	}
	if err := store.Ensure(ctx, reset); err != nil {
		return nil, info, fmt.Errorf("vector store %s: %w", url, err)
	}
	tList := time.Now()
	have, err := store.Digests(ctx) // faces the store holds; what is left after the pages is deleted
	if err != nil {
		return nil, info, fmt.Errorf("vector store %s: %w", url, err)
	}
	// Read, compare and send the catalog a page at a time, so the sync holds
	// one page of vectors (not the whole catalog) besides the digests.
	tPut := time.Now()
	var listTime time.Duration
	pageSize := syncChunk
	if l.syncPage > 0 {
		pageSize = l.syncPage
	}
	for after := int64(math.MinInt64); ; {
		t0 := time.Now()
		page, err := l.cat.EmbeddingsAfter(ctx, after, pageSize)
		if err != nil {
			return nil, info, err
		}
		if len(page) == 0 {
			break
		}
		ids := make([]int64, len(page))
		for i, e := range page {
			ids[i] = e.ID
		}
		infos, err := l.cat.FacesByID(ctx, ids)
		if err != nil {
			return nil, info, err
		}
		listTime += time.Since(t0)
		var send []RemoteFace
		for _, e := range page {
			after = e.ID
			fi, ok := infos[e.ID]
			if !ok {
				continue // deleted meanwhile: the generation changed, the next run syncs again
			}
			if info.Dim == 0 {
				info.Dim = len(e.Vec)
			} else if len(e.Vec) != info.Dim {
				return nil, info, fmt.Errorf("face %d has a %d-d embedding, others %d-d (mixed models: re-run index)", e.ID, len(e.Vec), info.Dim)
			}
			info.Count++
			d := faceDigest(modelID, fi, e.Vec)
			if have[e.ID] != d {
				send = append(send, RemoteFace{ID: e.ID, Person: fi.Person, Image: fi.Path, Primary: fi.Primary, Digest: d, Vector: e.Vec})
			}
			delete(have, e.ID)
		}
		if err := store.Put(ctx, send); err != nil {
			return nil, info, fmt.Errorf("vector store %s: %w", url, err)
		}
		info.Sent += len(send)
	}
	drop := make([]int64, 0, len(have))
	for id := range have {
		drop = append(drop, id)
	}
	if err := store.Delete(ctx, drop); err != nil {
		return nil, info, fmt.Errorf("vector store %s: %w", url, err)
	}
	info.Removed = len(drop)
	putTime := time.Since(tPut) - listTime
	n, err := store.Count(ctx)
	if err != nil {
		return nil, info, fmt.Errorf("vector store %s: %w", url, err)
	}
	if n != info.Count {
		return nil, info, fmt.Errorf("vector store %s holds %d faces after the sync, the catalog %d (run 'facesearch index --rebuild-vectors')", url, n, info.Count)
	}
	var idx VectorIndex
	if info.Count > 0 {
		idx = &remoteIndex{store: store, info: info}
		if !store.Exact() {
			// Recall against exact search needs every vector in memory:
			// only for an approximate (hnsw) collection.
			vecs, ids, dim, err := l.vectors(ctx, false)
			if err != nil {
				return nil, info, err
			}
			r, nq, err := vecindex.Recall(idx, vecs, ids, dim, params)
			if err != nil {
				return nil, info, err
			}
			info.RecallAt10, info.Queries = r, nq
			idx.(*remoteIndex).info = info
		}
	}
	info.BuildTime = time.Since(start).Seconds()
	if err := writeJSONAtomic(filepath.Join(l.dir, IndexMetaFile), info); err != nil {
		return nil, info, err
	}
	for _, name := range []string{IndexFile, FlatFile} {
		os.Remove(filepath.Join(l.dir, name))
	}
	l.log.Info("vector store synced", "store", url, "faces", info.Count, "sent", info.Sent, "removed", info.Removed, "seconds", info.BuildTime,
		"list_s", tPut.Sub(tList).Seconds(), "catalog_s", listTime.Seconds(), "write_s", putTime.Seconds())
	if idx != nil {
		// The same self-check as openRemoteIndex: a search, check or serve
		// that synced first must not skip it (and serve repeats it).
		x := idx.(*remoteIndex)
		if err := l.loadProbes(ctx, x); err != nil {
			return nil, info, err
		}
		if err := x.probe(ctx); err != nil {
			return nil, info, err
		}
	}
	return idx, info, nil
}

// remoteIndex is a VectorIndex over a RemoteStore, read-only.
type remoteIndex struct {
	store  RemoteStore
	info   IndexInfo
	probes []probe // faces searched for by their own vectors (see probe)

	mu        sync.Mutex
	lastProbe time.Time
}

type probe struct {
	id  int64
	vec []float32
}

// reprobeEvery is how often a long-lived remote index (serve) repeats its
// self-check before a search.
const reprobeEvery = 30 * time.Second

func (x *remoteIndex) open(ctx context.Context) error {
	if err := x.store.Health(ctx); err != nil {
		return fmt.Errorf("vector store %s: %w", x.info.Vectors, err)
	}
	n, err := x.store.Count(ctx)
	if err != nil {
		return fmt.Errorf("vector store %s: %w", x.info.Vectors, err)
	}
	if n != x.info.Count {
		return fmt.Errorf("vector store %s holds %d faces, the catalog %d: searches would be incomplete (run 'facesearch index --rebuild-vectors')", x.info.Vectors, n, x.info.Count)
	}
	return nil
}

var errReadOnly = errors.New("a remote vector index is written by syncing from the catalog")

func (x *remoteIndex) Dim() int                     { return x.info.Dim }
func (x *remoteIndex) Ntotal() int64                { return x.info.Count }
func (x *remoteIndex) IsTrained() bool              { return true }
func (x *remoteIndex) Train([]float32) error        { return errReadOnly }
func (x *remoteIndex) Add([]float32, []int64) error { return errReadOnly }
func (x *remoteIndex) Write(string) error           { return errReadOnly }
func (x *remoteIndex) Close() error                 { return nil }

// Search is SearchCtx without a caller's context (vecindex.Recall, eval).
func (x *remoteIndex) Search(queries []float32, k int, p SearchParams) ([]float32, []int64, error) {
	return x.SearchCtx(context.Background(), queries, k, p)
}

// remoteParallel is how many queries of one call run at once.
const remoteParallel = 4

// SearchCtx checks the cluster's health first and refuses to answer when a
// shard cannot, or when the store returns fewer faces than it must hold:
// never silently partial results. Each query (and the health check and
// self-check) has its own remoteTimeout, and all end when ctx does.
func (x *remoteIndex) SearchCtx(ctx context.Context, queries []float32, k int, _ SearchParams) ([]float32, []int64, error) {
	if err := withTimeout(ctx, x.store.Health); err != nil {
		return nil, nil, fmt.Errorf("vector store %s: %w", x.info.Vectors, err)
	}
	x.mu.Lock()
	due := len(x.probes) > 0 && time.Since(x.lastProbe) > reprobeEvery
	x.mu.Unlock()
	if due {
		if err := x.probe(ctx); err != nil {
			return nil, nil, err
		}
	}
	dim := x.info.Dim
	nq := len(queries) / dim
	scores := make([]float32, nq*k)
	ids := make([]int64, nq*k)
	want := min(int64(k), x.info.Count)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(remoteParallel)
	for i := 0; i < nq; i++ {
		g.Go(func() error {
			var s []float32
			var id []int64
			err := withTimeout(gctx, func(qctx context.Context) (err error) {
				s, id, err = x.store.Search(qctx, queries[i*dim:(i+1)*dim], k)
				return err
			})
			if err != nil {
				return fmt.Errorf("vector store %s: %w", x.info.Vectors, err)
			}
			if int64(len(id)) < want {
				return fmt.Errorf("vector store %s returned %d of the %d faces asked for (it should hold %d): refusing a partial answer", x.info.Vectors, len(id), want, x.info.Count)
			}
			for j := 0; j < k; j++ {
				if j < len(id) {
					scores[i*k+j], ids[i*k+j] = s[j], id[j]
				} else {
					scores[i*k+j], ids[i*k+j] = float32(math.Inf(-1)), -1
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	// A node that died during the searches leaves its shards out of the
	// answer without an error when replicas=1: check again.
	if err := withTimeout(ctx, x.store.Health); err != nil {
		return nil, nil, fmt.Errorf("vector store %s during the search: %w", x.info.Vectors, err)
	}
	return scores, ids, nil
}

// withTimeout runs f with ctx bounded by remoteTimeout.
func withTimeout(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, remoteTimeout)
	defer cancel()
	return f(ctx)
}

// probeFaces is how many stored faces a remote index searches for by their
// own vectors when it is opened.
const probeFaces = 32

// openRemoteIndex opens the fresh remote index described by info, checking
// that the cluster can answer, holds every face, and finds a sample of the
// faces by their own vectors.
func (l *Library) openRemoteIndex(ctx context.Context, info IndexInfo) (VectorIndex, error) {
	store, err := l.openRemote(info.Vectors)
	if err != nil {
		return nil, err
	}
	x := &remoteIndex{store: store, info: info}
	if err := withTimeout(ctx, x.open); err != nil {
		return nil, err
	}
	if err := l.loadProbes(ctx, x); err != nil {
		return nil, err
	}
	if err := x.probe(ctx); err != nil {
		return nil, err
	}
	return x, nil
}

// loadProbes picks up to probeFaces faces evenly spread over the catalog.
func (l *Library) loadProbes(ctx context.Context, x *remoteIndex) error {
	step := max(1, int(x.info.Count)/probeFaces)
	i := 0
	return l.cat.EachEmbedding(ctx, func(id int64, _ bool, emb []float32) error {
		if i%step == 0 && len(x.probes) < probeFaces {
			x.probes = append(x.probes, probe{id, emb})
		}
		i++
		return nil
	})
}

// probe searches for the probe faces by their own vectors: each must come
// back first (or a duplicate with the same vector; among the first 10 for an
// approximate index). Measured on Weaviate
// v1.35.2: a node restarted after SIGKILL reported every shard READY with
// the right object counts while its flat index had lost vectors, answering
// searches without them and without an error.
func (x *remoteIndex) probe(ctx context.Context) error {
	k := 1
	if !x.info.Exact() {
		k = 10 // an approximate index need only find the face among the first 10
	}
	for _, p := range x.probes {
		var scores []float32
		var ids []int64
		err := withTimeout(ctx, func(qctx context.Context) (err error) {
			scores, ids, err = x.store.Search(qctx, p.vec, k)
			return err
		})
		if err != nil {
			return fmt.Errorf("vector store %s: %w", x.info.Vectors, err)
		}
		found := len(ids) > 0 && scores[0] >= 0.9999 // itself, or a duplicate with the same vector
		for _, id := range ids {
			found = found || id == p.id
		}
		if !found {
			return fmt.Errorf("vector store %s failed its self-check: face %d is not found by its own vector (a replica lost vectors, e.g. a node that crashed): searches would be incomplete; run 'facesearch index --rebuild-vectors'", x.info.Vectors, p.id)
		}
	}
	x.mu.Lock()
	x.lastProbe = time.Now()
	x.mu.Unlock()
	return nil
}
