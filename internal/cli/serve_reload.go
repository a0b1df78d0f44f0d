package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/facesearch/facesearch/internal/embed"
	"github.com/facesearch/facesearch/internal/library"
)

// reloader serves the handler built over the library as it is now: each
// request first reads the catalog generation (one small query) and, when a
// 'facesearch index' or 'import-npz' changed the catalog since the handler
// was built, builds a new backend (snapshot, index, audit) and handler
// before answering. Requests in flight finish on the backend they started
// with; it is closed when the last of them is done. The face pipeline is
// loaded once and shared.
type reloader struct {
	ctx   context.Context // the server's lifetime
	env   *Env
	lib   *library.Library
	pipe  *embed.Pipeline // shared by every backend; closed by Close
	build func(*libraryBackend) (http.Handler, error)

	mu  sync.RWMutex // guards cur; held for writing while swapping
	cur *served
}

// served is one generation's backend and handler.
type served struct {
	gen  int64
	b    *libraryBackend
	h    http.Handler
	refs sync.WaitGroup // requests using b
}

func newReloader(ctx context.Context, env *Env, l *library.Library, b *libraryBackend, build func(*libraryBackend) (http.Handler, error)) (*reloader, error) {
	gen, err := l.Catalog().Generation(ctx)
	if err != nil {
		return nil, err
	}
	h, err := build(b)
	if err != nil {
		return nil, err
	}
	return &reloader{ctx: ctx, env: env, lib: l, pipe: b.pipe, build: build, cur: &served{gen: gen, b: b, h: h}}, nil
}

// acquire returns the current generation's handler, reloading first if the
// catalog changed; release it with s.refs.Done().
func (r *reloader) acquire(ctx context.Context) (*served, error) {
	gen, err := r.lib.Catalog().Generation(ctx)
	r.mu.RLock()
	s := r.cur
	if err != nil || gen == s.gen {
		s.refs.Add(1)
		r.mu.RUnlock()
		return s, nil // a failed generation read keeps serving what we have
	}
	r.mu.RUnlock()

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur.gen != gen { // not reloaded by a concurrent request meanwhile
		b, err := newLibraryBackendPipe(r.ctx, r.env, r.lib, r.pipe)
		if err != nil {
			return nil, fmt.Errorf("the library changed (catalog generation %d -> %d) and could not be reloaded: %w", r.cur.gen, gen, err)
		}
		h, err := r.build(b)
		if err != nil {
			b.Close()
			return nil, err
		}
		old := r.cur
		r.cur = &served{gen: gen, b: b, h: h}
		r.env.Log.Info("library changed; reloaded", "generation", gen, "faces", b.snap.nfaces)
		go func() { old.refs.Wait(); old.b.Close() }()
	}
	r.cur.refs.Add(1)
	return r.cur, nil
}

func (r *reloader) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	s, err := r.acquire(req.Context())
	if err != nil {
		r.env.Log.Error("reload", "err", err)
		http.Error(w, `{"error":{"code":"unavailable","message":`+jsonString(err.Error())+`}}`, http.StatusServiceUnavailable)
		return
	}
	defer s.refs.Done()
	s.h.ServeHTTP(w, req)
}

// Close waits for the requests of the current backend and closes it and
// the shared pipeline.
func (r *reloader) Close() error {
	r.mu.Lock()
	s := r.cur
	r.mu.Unlock()
	s.refs.Wait()
	err := s.b.Close()
	if r.pipe != nil {
		if perr := r.pipe.Close(); err == nil {
			err = perr
		}
	}
	return err
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
