package cli

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/facesearch/facesearch/internal/embed"
	"github.com/facesearch/facesearch/internal/library"
)

// Reload timing of 'serve'.
const (
	// reloadPoll is how often the reloader reads the catalog generation.
	reloadPoll = time.Second
	// reloadBackoff is the first wait after a failed reload; it doubles on
	// each further failure up to reloadBackoffMax.
	reloadBackoff    = 5 * time.Second
	reloadBackoffMax = 5 * time.Minute
)

// reloader serves the handler built over the library as it was at the last
// (re)load. A watcher reads the catalog generation every poll; when a
// 'facesearch index' or 'import-npz' has changed the catalog, it reloads
// once the change has settled: the generation is the same on two reads in
// a row and no writer holds the library's lock (an indexer commits a batch
// every few seconds and rebuilds the index files itself when it ends). The
// new backend (snapshot, index, audit) is built outside any lock the
// requests take; only the swap is exclusive. If the build fails (the
// library was emptied, say) the old backend keeps serving and the build is
// retried with backoff. Requests in flight finish on the backend they
// started with; it is closed when the last of them is done. The face
// pipeline and the server's limits are shared by every backend.
type reloader struct {
	ctx   context.Context // the server's lifetime
	env   *cmdEnv
	lib   *library.Library
	pipe  *embed.Pipeline // shared by every backend; closed by Close
	build func(*libraryBackend) (http.Handler, error)
	poll  time.Duration

	mu     sync.Mutex // guards cur and closed
	cur    *served
	closed bool
	all    sync.WaitGroup // every request, on any generation
	olds   sync.WaitGroup // closers of replaced backends
	stop   chan struct{}
	done   chan struct{} // closed when the watcher has returned
}

// served is one generation's backend and handler.
type served struct {
	gen  int64
	b    *libraryBackend
	h    http.Handler
	refs sync.WaitGroup // requests using b
}

func newReloader(ctx context.Context, env *cmdEnv, l *library.Library, b *libraryBackend, build func(*libraryBackend) (http.Handler, error)) (*reloader, error) {
	gen, err := l.Catalog().Generation(ctx)
	if err != nil {
		return nil, err
	}
	h, err := build(b)
	if err != nil {
		return nil, err
	}
	poll := reloadPoll
	if env.reloadPoll > 0 {
		poll = env.reloadPoll
	}
	r := &reloader{ctx: ctx, env: env, lib: l, pipe: b.pipe, build: build, poll: poll,
		cur: &served{gen: gen, b: b, h: h}, stop: make(chan struct{}), done: make(chan struct{})}
	go r.watch()
	return r, nil
}

// watch reloads when the catalog's generation has changed and settled.
func (r *reloader) watch() {
	defer close(r.done)
	t := time.NewTicker(r.poll)
	defer t.Stop()
	seen := r.current()
	var backoff time.Duration
	var retryAt time.Time
	for {
		select {
		case <-r.stop:
			return
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		gen, err := r.lib.Catalog().Generation(r.ctx)
		if err != nil {
			r.env.Log.Debug("reload: read the catalog generation", "err", err)
			continue
		}
		settled := gen == seen
		seen = gen
		if gen == r.current() || !settled || time.Now().Before(retryAt) {
			continue
		}
		if busy, err := r.lib.WriterActive(); busy || err != nil {
			if err != nil {
				r.env.Log.Debug("reload", "err", err) // cannot tell: rely on the settled generation
			} else {
				continue
			}
		}
		if err := r.reload(gen); err != nil {
			backoff = min(max(2*backoff, reloadBackoff), reloadBackoffMax)
			retryAt = time.Now().Add(backoff)
			r.env.Log.Warn("the library changed but could not be reloaded; still serving the previous state", "generation", gen, "retry_in", backoff.String(), "err", err)
			continue
		}
		backoff, retryAt = 0, time.Time{}
	}
}

// current returns the generation being served.
func (r *reloader) current() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur.gen
}

// reload builds a backend over the library as it is now, recorded as
// generation gen (read before the build: a change during the build leaves
// it one reload behind, never wrong), and swaps it in.
func (r *reloader) reload(gen int64) error {
	b, err := newLibraryBackendPipe(r.ctx, r.env, r.lib, r.pipe)
	if err != nil {
		return err
	}
	h, err := r.build(b)
	if err != nil {
		b.Close()
		return err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return b.Close()
	}
	old := r.cur
	r.cur = &served{gen: gen, b: b, h: h}
	r.olds.Add(1)
	r.mu.Unlock()
	r.env.Log.Info("library changed; reloaded", "generation", gen, "faces", b.snap.nfaces)
	go func() {
		defer r.olds.Done()
		old.refs.Wait()
		old.b.Close()
	}()
	return nil
}

// acquire returns the current handler; release it with r.release(s). It
// returns nil once Close has begun.
func (r *reloader) acquire() *served {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.all.Add(1)
	r.cur.refs.Add(1)
	return r.cur
}

func (r *reloader) release(s *served) {
	s.refs.Done()
	r.all.Done()
}

func (r *reloader) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	s := r.acquire()
	if s == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"error":{"code":"unavailable","message":"the server is stopping"}}`)
		return
	}
	defer r.release(s)
	s.h.ServeHTTP(w, req)
}

// Close stops the watcher, waits for every request still running (on any
// generation: the pipeline they share is C memory) and for the closers of
// replaced backends, and closes the current backend and the pipeline.
// Calling it again returns nil.
func (r *reloader) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	s := r.cur
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	r.all.Wait()
	r.olds.Wait()
	err := s.b.Close()
	if r.pipe != nil {
		if perr := r.pipe.Close(); err == nil {
			err = perr
		}
	}
	return err
}
