package cli

import (
	"context"
	"sync"

	"github.com/facesearch/facesearch/internal/cleanse"
	"github.com/facesearch/facesearch/internal/server"
)

// thumbnail picks the face shown for a person: the primary face nearest
// the mean of the person's primary faces (the most typical photo; a
// misfiled one is far from the mean), 0 when the person has none.
func (s *snapshot) thumbnail(person string) int64 {
	var ids []int64
	var mean []float32
	for _, id := range s.byName[person] {
		if !s.faces[id].Primary {
			continue
		}
		v := s.vecs[id]
		if mean == nil {
			mean = make([]float32, len(v))
		}
		if len(v) != len(mean) {
			continue
		}
		for k, x := range v {
			mean[k] += x
		}
		ids = append(ids, id)
	}
	best, bestSim := int64(0), float32(-2)
	for _, id := range ids {
		var sim float32
		for k, x := range s.vecs[id] {
			sim += x * mean[k]
		}
		if sim > bestSim {
			best, bestSim = id, sim
		}
	}
	return best
}

// lookalikeCache holds the look-alikes of the server's snapshot: they are
// computed once (after the audit) and reused by every request.
type lookalikeCache struct {
	mu   sync.Mutex
	done bool
	list []server.Lookalike
}

// Lookalikes implements server.LookalikeFinder: the server.MaxLookalikes
// pairs of different people that look most alike, over the audit's primary
// faces.
func (b *libraryBackend) Lookalikes(ctx context.Context) ([]server.Lookalike, error) {
	st, err := b.audited(ctx)
	if err != nil {
		return nil, err
	}
	c := &b.looks
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return c.list, nil
	}
	res, err := st.data.Lookalikes(ctx, b.cleanseOptions(), cleanse.LookalikeOptions{Top: server.MaxLookalikes, Audit: st.result})
	if err != nil {
		return nil, err
	}
	out := make([]server.Lookalike, len(res.Lookalikes))
	for i, l := range res.Lookalikes {
		out[i] = server.Lookalike{Persons: l.Persons, Similarity: l.Similarity, Median: l.Median, Max: l.Max, Pairs: l.Pairs}
		for _, p := range l.Evidence {
			out[i].Evidence = append(out[i].Evidence, server.FacePair{A: b.snap.faces[st.ids[p.A]], B: b.snap.faces[st.ids[p.B]], Similarity: p.Similarity})
		}
	}
	c.list, c.done = out, true
	b.log("lookalikes done", "pairs", len(out), "persons", res.Persons)
	return out, nil
}
