package review

import (
	"context"
	"fmt"
	"sync"
	"time"

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

// Look-alikes are computed in the background (on the server's context,
// never a request's), once the audit is done; a failure is kept and
// retried after lookalikeBackoff(failures) on the next request.
const (
	lookalikeRetry      = 3 * time.Second // Retry-After while they are computed
	lookalikeBackoffMin = 5 * time.Second
	lookalikeBackoffMax = 5 * time.Minute
)

// lookalikeBackoff is how long the n-th consecutive failure (n >= 1) is
// answered from the cache before the computation is tried again.
func lookalikeBackoff(n int) time.Duration {
	d := lookalikeBackoffMin
	for i := 1; i < n && d < lookalikeBackoffMax; i++ {
		d *= 2
	}
	return min(d, lookalikeBackoffMax)
}

// lookalikeCache holds the look-alikes of the server's snapshot: computed
// once in the background and reused by every request. mu is held only to
// read or set the fields, never while computing.
type lookalikeCache struct {
	mu       sync.Mutex
	running  chan struct{} // non-nil while a computation runs, closed when it ends
	done     bool
	list     []server.Lookalike
	err      error     // the last failure, kept until retryAt
	retryAt  time.Time // when a failed computation may be started again
	failures int       // consecutive failures
	now      func() time.Time
	log      func(msg string, args ...any)
}

func (c *lookalikeCache) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// startLocked starts compute on ctx unless it is done, running, or failed
// less than its backoff ago. c.mu must be held.
func (c *lookalikeCache) startLocked(ctx context.Context, compute func(context.Context) ([]server.Lookalike, error)) {
	if c.done || c.running != nil || (c.err != nil && c.clock().Before(c.retryAt)) {
		return
	}
	ch := make(chan struct{})
	c.running = ch
	go func() {
		defer close(ch)
		list, err := compute(ctx)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.running = nil
		if err != nil {
			c.failures++
			c.err, c.retryAt = err, c.clock().Add(lookalikeBackoff(c.failures))
			if c.log != nil {
				c.log("lookalikes failed", "err", err, "failures", c.failures, "retry_seconds", lookalikeBackoff(c.failures).Seconds())
			}
			return
		}
		c.list, c.done, c.err, c.failures = list, true, nil, 0
	}()
}

// start begins the computation in the background (see startLocked).
func (c *lookalikeCache) start(ctx context.Context, compute func(context.Context) ([]server.Lookalike, error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.startLocked(ctx, compute)
}

// get returns the look-alikes if they are ready, waiting at most wait (or
// until the request's ctx ends) for a running computation started on bg;
// otherwise "unavailable" with a Retry-After: still computing, or the
// cached failure until its backoff has passed.
func (c *lookalikeCache) get(ctx, bg context.Context, wait time.Duration, compute func(context.Context) ([]server.Lookalike, error)) ([]server.Lookalike, error) {
	c.mu.Lock()
	c.startLocked(bg, compute)
	ch := c.running
	c.mu.Unlock()
	if ch != nil {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.done:
		return c.list, nil
	case c.running != nil:
		return nil, &server.Error{Kind: server.KindUnavailable, Msg: "the look-alikes are still being computed; try again in a moment", RetryAfter: lookalikeRetry}
	default:
		retry := max(c.retryAt.Sub(c.clock()), time.Second)
		return nil, &server.Error{Kind: server.KindUnavailable, Msg: fmt.Sprintf("computing the look-alikes failed (%v); it is tried again in %.0f s", c.err, retry.Seconds()), RetryAfter: retry}
	}
}

// wait returns when no computation is running (for Close).
func (c *lookalikeCache) wait() {
	c.mu.Lock()
	ch := c.running
	c.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

// Lookalikes implements server.LookalikeFinder: the server.MaxLookalikes
// pairs of different people that look most alike, over the audit's primary
// faces. It never computes under the request's deadline: until the
// background computation is done it answers "unavailable" with a
// Retry-After.
func (b *Backend) Lookalikes(ctx context.Context) ([]server.Lookalike, error) {
	st, err := b.audited(ctx)
	if err != nil {
		return nil, err
	}
	return b.looks.get(ctx, b.ctx, auditWait, b.lookalikesOf(st))
}

// lookalikesOf returns the computation of the look-alikes over the audit st.
func (b *Backend) lookalikesOf(st *auditState) func(context.Context) ([]server.Lookalike, error) {
	return func(ctx context.Context) ([]server.Lookalike, error) {
		t0 := time.Now()
		res, err := st.data.Lookalikes(ctx, b.cleanseOptions(), cleanse.LookalikeOptions{Top: server.MaxLookalikes, Audit: st.result})
		if err != nil {
			return nil, fmt.Errorf("lookalikes: %w", err)
		}
		out := make([]server.Lookalike, len(res.Lookalikes))
		for i, l := range res.Lookalikes {
			out[i] = server.Lookalike{Persons: l.Persons, Similarity: l.Similarity, Median: l.Median, Max: l.Max, Pairs: l.Pairs}
			for _, p := range l.Evidence {
				out[i].Evidence = append(out[i].Evidence, server.FacePair{A: b.snap.faces[st.ids[p.A]], B: b.snap.faces[st.ids[p.B]], Similarity: p.Similarity})
			}
		}
		b.log.Info("lookalikes done", "pairs", len(out), "persons", res.Persons, "seconds", time.Since(t0).Seconds())
		return out, nil
	}
}
