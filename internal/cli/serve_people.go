package cli

import (
	"context"
	"sync"

	"github.com/facesearch/facesearch/internal/cleanse"
	"github.com/facesearch/facesearch/internal/server"
)

// thumbOf makes face id (a primary face with detection score) the person's
// thumbnail when it is the most confident primary face seen so far.
func thumbOf(s *snapshot, p *server.Person, id int64, score float32) {
	if s.thumbScore == nil {
		s.thumbScore = map[string]float32{}
	}
	if best, ok := s.thumbScore[p.Name]; !ok || score > best {
		s.thumbScore[p.Name] = score
		p.FaceID = id
	}
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
