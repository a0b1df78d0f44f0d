package review

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/facesearch/facesearch/internal/library"
)

// Reload timing.
const (
	// ReloadPoll is how often a Reloader reads the catalog generation by
	// default.
	ReloadPoll = time.Second
	// reloadBackoff is the first wait after a failed reload; it doubles on
	// each further failure up to reloadBackoffMax.
	reloadBackoff    = 5 * time.Second
	reloadBackoffMax = 5 * time.Minute
)

// ReloadOptions configure a Reloader.
type ReloadOptions struct {
	// Backend configures every backend built on a reload (its Detector is
	// shared by all of them; the caller closes it after Close).
	Backend Options
	// Build makes the handler served over a backend.
	Build func(*Backend) (http.Handler, error)
	// Poll is how often the catalog generation is read (0: ReloadPoll).
	Poll time.Duration
}

// Reloader serves the handler built over the library as it was at the last
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
// pipeline (the Detector) and the server's limits are shared by every
// backend.
type Reloader struct {
	ctx  context.Context // the server's lifetime
	lib  *library.Library
	opt  ReloadOptions
	log  *slog.Logger
	poll time.Duration

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
	b    *Backend
	h    http.Handler
	refs sync.WaitGroup // requests using b
}

// NewReloader serves b (built over l) and watches l for changes until
// Close; ctx is the server's lifetime. Close closes the backend then current
// (b until the first reload).
func NewReloader(ctx context.Context, l *library.Library, b *Backend, opt ReloadOptions) (*Reloader, error) {
	gen, err := l.Generation(ctx)
	if err != nil {
		return nil, err
	}
	h, err := opt.Build(b)
	if err != nil {
		return nil, err
	}
	poll := ReloadPoll
	if opt.Poll > 0 {
		poll = opt.Poll
	}
	log := opt.Backend.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{ctx: ctx, lib: l, opt: opt, log: log, poll: poll,
		cur: &served{gen: gen, b: b, h: h}, stop: make(chan struct{}), done: make(chan struct{})}
	go r.watch()
	return r, nil
}

// watch reloads when the catalog's generation has changed and settled.
func (r *Reloader) watch() {
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
		gen, err := r.lib.Generation(r.ctx)
		if err != nil {
			r.log.Debug("reload: read the catalog generation", "err", err)
			continue
		}
		settled := gen == seen
		seen = gen
		if gen == r.current() || !settled || time.Now().Before(retryAt) {
			continue
		}
		if busy, err := r.lib.WriterActive(); busy || err != nil {
			if err != nil {
				r.log.Debug("reload", "err", err) // cannot tell: rely on the settled generation
			} else {
				continue
			}
		}
		if err := r.reload(gen); err != nil {
			backoff = min(max(2*backoff, reloadBackoff), reloadBackoffMax)
			retryAt = time.Now().Add(backoff)
			r.log.Warn("the library changed but could not be reloaded; still serving the previous state", "generation", gen, "retry_in", backoff.String(), "err", err)
			continue
		}
		backoff, retryAt = 0, time.Time{}
	}
}

// current returns the generation being served.
func (r *Reloader) current() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur.gen
}

// reload builds a backend over the library as it is now, recorded as
// generation gen (read before the build: a change during the build leaves
// it one reload behind, never wrong), and swaps it in.
func (r *Reloader) reload(gen int64) error {
	b, err := New(r.ctx, r.lib, r.opt.Backend)
	if err != nil {
		return err
	}
	h, err := r.opt.Build(b)
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
	r.log.Info("library changed; reloaded", "generation", gen, "faces", b.NFaces())
	go func() {
		defer r.olds.Done()
		old.refs.Wait()
		old.b.Close()
	}()
	return nil
}

// acquire returns the current handler; release it with r.release(s). It
// returns nil once Close has begun.
func (r *Reloader) acquire() *served {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.all.Add(1)
	r.cur.refs.Add(1)
	return r.cur
}

func (r *Reloader) release(s *served) {
	s.refs.Done()
	r.all.Done()
}

func (r *Reloader) ServeHTTP(w http.ResponseWriter, req *http.Request) {
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
// generation: the pipeline they share is C memory, which the caller closes
// once Close has returned) and for the closers of replaced backends, and
// closes the current backend. Calling it again returns nil.
func (r *Reloader) Close() error {
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
	return s.b.Close()
}
