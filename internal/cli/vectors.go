package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
	"github.com/facesearch/facesearch/internal/weaviate"
)

// remoteOpener opens the external vector stores a library may name
// (index --vectors weaviate://HOST:PORT/Collection).
func remoteOpener(log *slog.Logger) library.RemoteOpener {
	return func(url string) (library.RemoteStore, error) {
		if !strings.HasPrefix(url, weaviate.Scheme+"://") {
			return nil, fmt.Errorf("vector store %q: only weaviate://HOST:PORT/Collection is supported (or \"local\")", url)
		}
		cfg, err := weaviate.ParseURL(url)
		if err != nil {
			return nil, err
		}
		return weaviateStore{weaviate.New(weaviate.Options{Config: cfg, Log: log})}, nil
	}
}

// weaviateStore adapts weaviate.Client to library.RemoteStore.
type weaviateStore struct{ c *weaviate.Client }

func (s weaviateStore) URL() string      { return s.c.Config().String() }
func (s weaviateStore) Describe() string { return s.c.Config().Describe() }
func (s weaviateStore) Exact() bool      { return s.c.Config().Exact() }
func (s weaviateStore) Ensure(ctx context.Context, reset bool) error {
	return s.c.Ensure(ctx, reset)
}
func (s weaviateStore) Digests(ctx context.Context) (map[int64]string, error) {
	return s.c.Digests(ctx)
}
func (s weaviateStore) Delete(ctx context.Context, ids []int64) error { return s.c.Delete(ctx, ids) }
func (s weaviateStore) Count(ctx context.Context) (int64, error)      { return s.c.Count(ctx) }
func (s weaviateStore) Health(ctx context.Context) error              { return s.c.Health(ctx) }

func (s weaviateStore) Put(ctx context.Context, faces []library.RemoteFace) error {
	out := make([]weaviate.Face, len(faces))
	for i, f := range faces {
		out[i] = weaviate.Face{ID: f.ID, Person: f.Person, Image: f.Image, Primary: f.Primary, Digest: f.Digest, Vector: f.Vector}
	}
	return s.c.Put(ctx, out)
}

func (s weaviateStore) Search(ctx context.Context, q []float32, k int) ([]float32, []int64, error) {
	hits, err := s.c.Search(ctx, q, k)
	if err != nil {
		return nil, nil, err
	}
	scores, ids := make([]float32, len(hits)), make([]int64, len(hits))
	for i, h := range hits {
		scores[i], ids[i] = h.Similarity, h.FaceID
	}
	return scores, ids, nil
}

// printVectorsInfo says where a library's vectors are and what the last
// sync sent.
func printVectorsInfo(w io.Writer, info library.IndexInfo, rebuilt bool) {
	if info.Storage != library.StorageRemote {
		return
	}
	if rebuilt {
		fmt.Fprintf(w, "  vectors: %s (sent %d, removed %d)\n", info.Vectors, info.Sent, info.Removed)
	} else {
		fmt.Fprintf(w, "  vectors: %s\n", info.Vectors)
	}
}

// setVectors applies index --vectors and --rebuild-vectors before a run.
func setVectors(ctx context.Context, env *cmdEnv, l *library.Library, url string, rebuild bool) error {
	if url != "" {
		if err := l.SetVectors(ctx, url); err != nil {
			return err
		}
	}
	if rebuild {
		info, err := l.RebuildVectors(ctx)
		if err != nil {
			return fmt.Errorf("rebuild vectors: %w", err)
		}
		fmt.Fprintf(env.Stderr, "vector index rebuilt from the catalog: %s, %d faces in %.1fs\n", info.Resolved, info.Count, info.BuildTime)
	}
	return nil
}

// OpenLibrary opens a library directory with the faiss backend and the
// remote vector stores, as the commands do (for bench/ programs).
func OpenLibrary(ctx context.Context, dir string, readOnly bool, log *slog.Logger) (*library.Library, error) {
	return library.Open(ctx, library.Options{Dir: dir, Backend: faissidx.Backend{}, Remote: remoteOpener(log), Log: log, ReadOnly: readOnly})
}
