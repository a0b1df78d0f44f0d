package library

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
)

// ErrNoAdaptedSimilarity is returned (wrapped, with the reason) by
// AdaptedVectors when the library has no adapted similarity to use.
var ErrNoAdaptedSimilarity = errors.New("the library has no adapted similarity")

// AdaptedVectors returns the adapted vectors of the faces ids (catalog face
// ids) whose raw embeddings are raw, and the adaptation they come from: the
// rows of AdaptedFlatFile when it is current with the index, else the
// stored transform applied to raw (the same map; a read-only library whose
// adapted file is behind can still be cleansed in its similarity). It
// ignores the similarity setting (the caller asked for the adapted
// similarity) but not the model: an adaptation fitted for another model, or
// none kept, is an error wrapping ErrNoAdaptedSimilarity that names why.
func (l *Library) AdaptedVectors(ctx context.Context, ids []int64, raw [][]float32) ([][]float32, *AdaptInfo, error) {
	if len(ids) != len(raw) {
		return nil, nil, fmt.Errorf("adapted vectors: %d ids, %d vectors", len(ids), len(raw))
	}
	a, err := l.Adaptation()
	if err != nil {
		return nil, nil, err
	}
	switch {
	case a == nil:
		return nil, nil, fmt.Errorf("library %s: %w: none was fitted (index fits one on a library of at least 20 folders of 5 faces; facesearch adapt --refit tries anyway)", l.dir, ErrNoAdaptedSimilarity)
	case !a.Kept || a.Transform == nil:
		return nil, nil, fmt.Errorf("library %s: %w: the fitted adaptation was not kept (%s)", l.dir, ErrNoAdaptedSimilarity, a.Selection.Reason)
	}
	modelID, err := l.ModelID(ctx)
	if err != nil {
		return nil, nil, err
	}
	if a.Model != modelID {
		return nil, nil, fmt.Errorf("library %s: %w: the adaptation was fitted for model %s, the library's faces are of %s (the next index run refits it)", l.dir, ErrNoAdaptedSimilarity, a.Model, modelID)
	}
	out := make([][]float32, len(ids))
	if info, status, err := l.IndexStatus(ctx); err == nil && status == IndexFresh && info.Exact() && info.Storage == StorageFlat {
		want := IndexInfo{Dim: a.Transform.Out, Count: info.Count, Generation: info.Generation, Checksum: a.VectorsChecksum}
		if x, err := openFlat(filepath.Join(l.dir, AdaptedFlatFile), want, nil); err == nil {
			row := make(map[int64]int, len(x.ids))
			for r, id := range x.ids {
				row[id] = r
			}
			for k, id := range ids {
				if r, ok := row[id]; ok {
					out[k] = append([]float32(nil), x.vecs[r*x.dim:(r+1)*x.dim]...)
				}
			}
			x.Close()
		}
	}
	for k, v := range out {
		if v != nil {
			continue
		}
		if len(raw[k]) != a.Transform.In {
			return nil, nil, fmt.Errorf("library %s: face %d has a %d-d embedding, the adaptation maps %d-d", l.dir, ids[k], len(raw[k]), a.Transform.In)
		}
		if out[k], err = a.Transform.Apply(raw[k]); err != nil {
			return nil, nil, fmt.Errorf("library %s: face %d: %w", l.dir, ids[k], err)
		}
	}
	return out, a, nil
}
