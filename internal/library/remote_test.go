package library

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/facesearch/facesearch/internal/vecindex"
)

// memStore is an in-memory RemoteStore for the library's sync logic; the
// real Weaviate store is tested against a real cluster in e2e (TestWeaviateCluster) and
// internal/weaviate.
type memStore struct {
	mu      sync.Mutex
	faces   map[int64]RemoteFace
	puts    int // faces written
	deletes int
	ensures []bool
	drop    map[int64]bool    // faces hidden from searches (a replica that lost vectors)
	short   bool              // return one result fewer than asked
	down    error             // Health's answer
	ctxs    []context.Context // of each Search call
	batches []int             // faces per Put call
	healthy int               // with later: Health calls answered before it fails
	later   bool              // Health fails after healthy calls (a node dies mid-search)
}

func (m *memStore) URL() string      { return "mem://x" }
func (m *memStore) Describe() string { return "mem:flat" }
func (m *memStore) Exact() bool      { return true }
func (m *memStore) Ensure(_ context.Context, reset bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ensures = append(m.ensures, reset)
	if reset || m.faces == nil {
		m.faces = map[int64]RemoteFace{}
	}
	return nil
}
func (m *memStore) Digests(context.Context) (map[int64]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[int64]string{}
	for id, f := range m.faces {
		out[id] = f.Digest
	}
	return out, nil
}
func (m *memStore) Put(_ context.Context, faces []RemoteFace) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range faces {
		m.faces[f.ID] = f
	}
	m.puts += len(faces)
	m.batches = append(m.batches, len(faces))
	return nil
}
func (m *memStore) Delete(_ context.Context, ids []int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		delete(m.faces, id)
	}
	m.deletes += len(ids)
	return nil
}
func (m *memStore) Count(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.faces)), nil
}
func (m *memStore) Health(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.later {
		if m.healthy == 0 {
			return errors.New("vector store incomplete: shard s1 has 0 of 1 replicas")
		}
		m.healthy--
	}
	return m.down
}
func (m *memStore) Search(ctx context.Context, q []float32, k int) ([]float32, []int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ctxs = append(m.ctxs, ctx)
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var vecs []float32
	var ids []int64
	for id, f := range m.faces {
		if !m.drop[id] {
			vecs, ids = append(vecs, f.Vector...), append(ids, id)
		}
	}
	hits := vecindex.BruteForce(vecs, ids, len(q), q, k)
	if m.short && k > 1 && len(hits) > 0 {
		hits = hits[:len(hits)-1]
	}
	s, out := make([]float32, len(hits)), make([]int64, len(hits))
	for i, h := range hits {
		s[i], out[i] = h.Score, h.ID
	}
	return s, out, nil
}

func remoteFixture(t *testing.T) (*fixture, *memStore) {
	t.Helper()
	root := t.TempDir()
	writeTree(t, root, baseTree())
	f := newFixture(t, root)
	store := &memStore{}
	f.lib.remote = func(url string) (RemoteStore, error) {
		if url != "mem://x" {
			return nil, errors.New("unknown store " + url)
		}
		return store, nil
	}
	return f, store
}

func TestRemoteSyncIncremental(t *testing.T) {
	ctx := context.Background()
	f, store := remoteFixture(t)
	f.lib.syncPage = 2 // several pages: the sync never holds the whole catalog
	if err := f.lib.SetVectors(ctx, "mem://x"); err != nil {
		t.Fatal(err)
	}
	rep, err := f.index(t, ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := int(rep.Index.Count)
	if rep.Index.Storage != StorageRemote || store.puts != n || n == 0 || !rep.Index.Exact() {
		t.Fatalf("first run: %+v, %d written; want all %d faces sent", rep.Index, store.puts, n)
	}
	if len(store.batches) != (n+1)/2 || store.batches[0] != 2 {
		t.Errorf("first run sent %d faces in batches %v; want pages of 2", n, store.batches)
	}
	if _, err := os.Stat(filepath.Join(f.lib.Dir(), FlatFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("local vector file kept beside a remote index: %v", err)
	}
	// Unchanged: nothing sent.
	if rep, err = f.index(t, ctx, nil); err != nil || rep.Rebuilt || store.puts != n {
		t.Fatalf("unchanged run: rebuilt %v, %d written, %v", rep.Rebuilt, store.puts, err)
	}
	// One image removed, one added: only the new faces are sent and the
	// removed one deleted.
	os.Remove(filepath.Join(f.root, "bob", "1.jpg"))
	writeTree(t, f.root, map[string]string{"dave/1.jpg": fakeSpec(3, 20, 2)})
	if rep, err = f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	if rep.Index.Sent != 2 || rep.Index.Removed != 1 || store.puts != n+2 || int(rep.Index.Count) != n+1 {
		t.Fatalf("incremental run: sent %d removed %d (total written %d), count %d; want 2, 1, %d, %d", rep.Index.Sent, rep.Index.Removed, store.puts, rep.Index.Count, n+2, n+1)
	}
	// Search equals brute force over the catalog.
	s, err := f.lib.Searcher(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vecs, ids, dim, _ := f.lib.vectors(ctx, false)
	for axis := 0; axis < fakeDim; axis++ {
		q := fakeVector(axis, 999, 0)
		hits, err := s.Search(ctx, q, SearchOptions{K: 4, Min: -1, AllFaces: true})
		if err != nil {
			t.Fatal(err)
		}
		want := vecindex.BruteForce(vecs, ids, dim, q, 4)
		for i := range want {
			if hits[i].FaceID != want[i].ID {
				t.Fatalf("axis %d rank %d: face %d, want %d", axis, i, hits[i].FaceID, want[i].ID)
			}
		}
	}
	// --rebuild-vectors recreates the collection and sends everything.
	before := store.puts
	info, err := f.lib.RebuildVectors(ctx)
	if err != nil || store.puts != before+n+1 || !store.ensures[len(store.ensures)-1] || info.Sent != n+1 {
		t.Fatalf("rebuild: %+v %v, %d written (want %d), ensures %v", info, err, store.puts-before, n+1, store.ensures)
	}
	// Back to local files.
	if err := f.lib.SetVectors(ctx, "local"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	if st, state, _ := f.lib.IndexStatus(ctx); st.Storage != StorageFlat || state != IndexFresh {
		t.Errorf("after --vectors local: %s %s", st.Storage, state)
	}
}

func TestRemoteRefusesPartialAnswers(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		breakIt func(*memStore, []int64)
		want    string
		stale   bool // the Searcher syncs first (index.json gone), as search/serve do on a stale library
	}{
		{"unhealthy", func(m *memStore, _ []int64) {
			m.down = errors.New("vector store incomplete: shard s1 has 1 of 2 replicas")
		}, "incomplete", false},
		{"short answer", func(m *memStore, _ []int64) { m.short = true }, "refusing a partial answer", false},
		{"node lost during the search", func(m *memStore, _ []int64) {
			m.later, m.healthy = true, 2 // opening and the check before the search pass, the one after it fails
		}, "during the search", false},
		{"lost vectors", func(m *memStore, ids []int64) {
			m.drop = map[int64]bool{}
			for _, id := range ids {
				m.drop[id] = true
			}
		}, "self-check", false},
		{"lost vectors after an in-process sync", func(m *memStore, ids []int64) {
			m.drop = map[int64]bool{ids[0]: true}
		}, "self-check", true},
		{"lost faces", func(m *memStore, ids []int64) { delete(m.faces, ids[0]) }, "holds", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, store := remoteFixture(t)
			if err := f.lib.SetVectors(ctx, "mem://x"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.index(t, ctx, nil); err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for id := range store.faces {
				ids = append(ids, id)
			}
			sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
			tc.breakIt(store, ids)
			if tc.stale {
				if err := os.Remove(filepath.Join(f.lib.Dir(), IndexMetaFile)); err != nil {
					t.Fatal(err)
				}
			}
			s, err := f.lib.Searcher(ctx)
			if err == nil {
				_, err = s.Search(ctx, fakeVector(0, 999, 0), SearchOptions{K: 3, Min: -1, AllFaces: true})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// Each query to a remote store gets its own deadline (one for all would cut
// off a long batch, e.g. recall measurement), and the caller's
// cancellation reaches the store.
func TestRemoteSearchContexts(t *testing.T) {
	ctx := context.Background()
	f, store := remoteFixture(t)
	if err := f.lib.SetVectors(ctx, "mem://x"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.index(t, ctx, nil); err != nil {
		t.Fatal(err)
	}
	s, err := f.lib.Searcher(ctx)
	if err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	store.ctxs = nil
	store.mu.Unlock()
	q := append(append(fakeVector(0, 999, 0), fakeVector(1, 999, 0)...), fakeVector(2, 999, 0)...)
	if _, _, err := s.idx.Search(q, 2, SearchParams{}); err != nil {
		t.Fatal(err)
	}
	if len(store.ctxs) != 3 {
		t.Fatalf("%d store searches for 3 queries", len(store.ctxs))
	}
	seen := map[context.Context]bool{}
	for i, c := range store.ctxs {
		if _, ok := c.Deadline(); !ok {
			t.Errorf("query %d has no deadline", i)
		}
		if seen[c] {
			t.Errorf("query %d shares its context (and deadline) with another query", i)
		}
		seen[c] = true
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Search(cctx, fakeVector(0, 999, 0), SearchOptions{K: 2, Min: -1, AllFaces: true}); !errors.Is(err, context.Canceled) {
		t.Fatalf("search with a cancelled context: %v, want context.Canceled", err)
	}
}
