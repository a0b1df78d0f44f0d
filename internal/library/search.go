package library

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/facesearch/facesearch/internal/vecindex"
)

// Searcher searches an open library's vector index.
type Searcher struct {
	l     *Library
	idx   VectorIndex
	info  IndexInfo
	adapt *AdaptInfo      // nil: raw cosine
	cal   calibrationOnce // the open-set calibration, loaded on first use
	sizes struct {        // primary faces per person, loaded on first use (personSizes)
		mu sync.Mutex
		m  map[string]int
	}
}

// ErrEmpty is returned when searching a library without faces.
var ErrEmpty = errors.New("the library has no faces (index a dataset first)")

// Searcher opens the vector index for searching, rebuilding it from the
// catalog only if it is stale or missing.
func (l *Library) Searcher(ctx context.Context) (*Searcher, error) {
	return l.SearcherWith(ctx, SearcherOptions{})
}

// SearcherOptions configures SearcherWith.
type SearcherOptions struct {
	// Raw searches with the raw cosine whatever the library's similarity.
	Raw bool
}

// SearcherWith is Searcher with options.
func (l *Library) SearcherWith(ctx context.Context, opt SearcherOptions) (*Searcher, error) {
	idx, info, rebuilt, err := l.ensureIndex(ctx, SearchParams{})
	if err != nil {
		return nil, err
	}
	if rebuilt {
		l.log.Info("index was stale; rebuilt from the catalog", "faces", info.Count, "type", info.Resolved)
	}
	if idx == nil {
		return nil, fmt.Errorf("library %s: %w", l.dir, ErrEmpty)
	}
	s := &Searcher{l: l, idx: idx, info: info}
	if opt.Raw {
		return s, nil
	}
	if err := s.useAdaptation(ctx); err != nil {
		idx.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the index.
func (s *Searcher) Close() error { return s.idx.Close() }

// Info describes the index searched.
func (s *Searcher) Info() IndexInfo { return s.info }

// SearchOptions configures a search.
type SearchOptions struct {
	K        int     // results wanted (default 10)
	Min      float32 // drop results below this similarity (use -1 for none)
	AllFaces bool    // include non-primary faces
	Params   SearchParams
}

// Hit is one search result.
type Hit struct {
	FaceID     int64
	Similarity float32 // cosine similarity
	Path       string  // relative to the dataset root
	Person     string
	Box        [4]float32
	Primary    bool
}

// Search returns the faces most similar to the unit vector q, best first.
// Unless AllFaces, only primary faces are returned: the index holds every
// face, so it is asked for more results until k primary ones are found.
func (s *Searcher) Search(ctx context.Context, q []float32, opt SearchOptions) ([]Hit, error) {
	if len(q) != s.info.Dim {
		return nil, fmt.Errorf("search: query has %d dimensions, the library's embeddings %d", len(q), s.info.Dim)
	}
	if s.adapt != nil {
		aq, err := s.adapt.Transform.Apply(q)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		q = aq
	}
	k := opt.K
	if k <= 0 {
		k = 10
	}
	p := s.info.params(opt.Params)
	ntotal := int(s.idx.Ntotal())
	fetch := k
	if !opt.AllFaces {
		fetch = k + k/2 + 8
	}
	for {
		fetch = min(fetch, ntotal)
		scores, ids, err := searchCtx(ctx, s.idx, q, fetch, p)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		var valid []int64
		for _, id := range ids {
			if id >= 0 {
				valid = append(valid, id)
			}
		}
		infos, err := s.l.cat.FacesByID(ctx, valid)
		if err != nil {
			return nil, err
		}
		var hits []Hit
		below := false
		for i, id := range ids {
			if id < 0 {
				continue
			}
			if scores[i] < opt.Min {
				below = true
				break
			}
			fi, ok := infos[id]
			if !ok || (!opt.AllFaces && !fi.Primary) {
				continue
			}
			hits = append(hits, Hit{FaceID: id, Similarity: clampCos(scores[i]), Path: fi.Path, Person: fi.Person, Box: fi.Box, Primary: fi.Primary})
			if len(hits) == k {
				break
			}
		}
		if len(hits) == k || below || fetch >= ntotal {
			return hits, nil
		}
		fetch *= 4
	}
}

// PersonHit is one person in a by-person ranking.
type PersonHit struct {
	Person string
	Best   Hit // the person's most similar face
	Count  int // the person's faces among the hits
}

// ByPerson groups hits by person, ranked by each person's best face.
func ByPerson(hits []Hit) []PersonHit {
	idx := map[string]int{}
	var out []PersonHit
	for _, h := range hits {
		i, ok := idx[h.Person]
		if !ok {
			idx[h.Person] = len(out)
			out = append(out, PersonHit{Person: h.Person, Best: h})
			i = len(out) - 1
		}
		out[i].Count++
		if h.Similarity > out[i].Best.Similarity {
			out[i].Best = h
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Best.Similarity > out[b].Best.Similarity })
	return out
}

// Normalize scales v to unit length in place; it fails on a zero or
// non-finite vector (vecindex.Normalize).
func Normalize(v []float32) error { return vecindex.Normalize(v) }

// clampCos keeps a cosine computed in float32 (which can come out as
// 1.0000001 for a face and itself) within [-1, 1].
func clampCos(s float32) float32 { return max(-1, min(1, s)) }

func searchCtx(ctx context.Context, idx VectorIndex, q []float32, k int, p SearchParams) ([]float32, []int64, error) {
	return vecindex.SearchContext(ctx, idx, q, k, p)
}
