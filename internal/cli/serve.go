package cli

import (
	"context"
	"fmt"
	"image"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/facesearch/facesearch/internal/embed"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/review"
	"github.com/facesearch/facesearch/internal/server"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
)

func cmdServe(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "serve", "[flags]\n\nServes the web page and the JSON API (docs/API.md) of a library. It listens on\nloopback by default; another address needs --token (or $FACESEARCH_TOKEN), or\n--insecure given knowingly. Stop it with Ctrl-C or SIGTERM.")
	lib := fs.String("library", "", "library directory (default $FACESEARCH_LIBRARY or ./.facesearch)")
	addr := fs.String("addr", server.DefaultAddr, "listen address host:port (port 0 picks a free one)")
	token := fs.String("token", "", "bearer token required on /api/ (default $FACESEARCH_TOKEN)")
	insecure := fs.Bool("insecure", false, "allow a non-loopback address without a token")
	allowHost := fs.String("allow-host", "", "comma-separated host names also accepted in the Host header without a token (besides loopback and the --addr host)")
	threads := fs.Int("threads", 1, "onnxruntime threads per model session")
	searches := fs.Int("searches", 0, "photo and pairs searches run at once (default and maximum: CPUs / threads)")
	maxUpload := fs.Int64("max-upload", server.DefaultMaxUpload>>20, "largest upload in MiB")
	maxPixels := fs.Int64("max-pixels", server.DefaultMaxPixels, "largest uploaded image in pixels")
	timeout := fs.Duration("timeout", server.DefaultRequestTimeout, "time limit of one request")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"serve: takes no arguments"}
	}
	if *token == "" {
		*token = env.Getenv("FACESEARCH_TOKEN")
	}
	if *threads < 1 || *maxUpload < 1 || *maxPixels < 1 || *timeout <= 0 {
		return usageError{"serve: --threads, --max-upload, --max-pixels and --timeout must be positive"}
	}
	if err := server.CheckBind(*addr, *token, *insecure); err != nil {
		return usageError{"serve: " + err.Error()}
	}
	l, err := openLibrary(ctx, env, *lib, true)
	if err != nil {
		return err
	}
	defer l.Close()
	b, pipe, opt, err := newLibraryBackend(ctx, env, l, *threads)
	if err != nil {
		return err
	}
	defer func() {
		if pipe != nil {
			pipe.Close() // after the reloader's Close: no request uses it
		}
	}()
	cpus := runtime.NumCPU()
	if most := max(1, cpus / *threads); *searches <= 0 {
		*searches = most
	} else if *searches > most {
		env.Log.Warn("searches × threads exceeds the CPUs; reducing searches", "searches", *searches, "threads", *threads, "cpus", cpus, "now", most)
		*searches = most
	}
	var hosts []string
	for _, h := range strings.Split(*allowHost, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	limits := server.NewLimits(*searches) // one pool across reloads
	build := func(b *review.Backend) (http.Handler, error) {
		return server.New(server.Options{
			Detector: b, Searcher: b, Catalog: b, Cleanser: b, Threshold: b.Threshold(), Token: *token,
			Addr: *addr, Hosts: hosts,
			MaxUpload: *maxUpload << 20, MaxPixels: *maxPixels, RequestTimeout: *timeout, MaxSearches: *searches,
			Limits: limits, Log: env.Log,
		})
	}
	srv, err := review.NewReloader(ctx, l, b, review.ReloadOptions{Backend: opt, Build: build, Poll: env.reloadPoll})
	if err != nil {
		b.Close()
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return server.Serve(ctx, ln, logRequests(env, srv), server.ListenOptions{
		WriteTimeout: *timeout + 10*time.Second,
		Ready: func(a net.Addr) {
			fmt.Fprintf(env.Stdout, "serving %s (%d faces) on http://%s/\n", l.Dir(), b.NFaces(), a)
		},
	})
}

// logRequests logs each request at debug level.
func logRequests(env *cmdEnv, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		h.ServeHTTP(w, r)
		env.Log.Debug("http", "method", r.Method, "path", r.URL.Path, "ms", time.Since(t0).Milliseconds())
	})
}

// newLibraryBackend loads the face pipeline and a backend over l, and
// returns the pipeline (nil when there is none; the caller closes it after
// the backends) and the options every reload builds a backend with. A
// library imported from npz files is served without the photo model if its
// files are missing: people, cleansing and vector search need none.
func newLibraryBackend(ctx context.Context, env *cmdEnv, l *library.Library, threads int) (*review.Backend, *embed.Pipeline, review.Options, error) {
	m, err := l.ManifestOrDefault(ctx)
	if err != nil {
		return nil, nil, review.Options{}, err
	}
	src, err := l.Source(ctx)
	if err != nil {
		return nil, nil, review.Options{}, err
	}
	p, err := newPipeline(env, m, threads)
	if err != nil && src == library.SourceNPZ {
		env.Log.Warn("serving without photo search: the model that made the imported embeddings is not installed", "model", m.Name, "err", err)
		p = nil
	} else if err != nil {
		return nil, nil, review.Options{}, err
	}
	opt := serveOptions(env, p)
	b, err := review.New(ctx, l, opt)
	if err != nil {
		if p != nil {
			p.Close()
		}
		return nil, nil, opt, err
	}
	return b, p, opt, nil
}

// serveOptions wires the serve backend: the photo pipeline (nil: no photo
// search) and an exact faiss index for the audit.
func serveOptions(env *cmdEnv, p *embed.Pipeline) review.Options {
	opt := review.Options{Index: faissidx.Builder("Flat", 0), Log: env.Log}
	if p != nil {
		opt.Detector = servePhotoDetector{p}
	}
	return opt
}

// servePhotoDetector adapts embed.Pipeline to library.Detector for the
// server (its errors keep their cause, which the backend maps to API kinds).
type servePhotoDetector struct{ p *embed.Pipeline }

func (d servePhotoDetector) Detect(ctx context.Context, img image.Image) ([]library.DetectedFace, int, error) {
	fs, err := d.p.Faces(ctx, img)
	if err != nil {
		return nil, -1, err
	}
	out := make([]library.DetectedFace, len(fs))
	for i, f := range fs {
		out[i] = library.DetectedFace{Box: f.Box, Score: f.Score, Landmarks: f.Landmarks, Embedding: f.Embedding}
	}
	return out, embed.Primary(fs, img.Bounds()), nil
}

func (d servePhotoDetector) ModelID() string { return d.p.ModelID() }
