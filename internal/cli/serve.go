package cli

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"net"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/cleanse"
	"github.com/facesearch/facesearch/internal/detect"
	"github.com/facesearch/facesearch/internal/embed"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/server"
	"github.com/facesearch/facesearch/internal/vecindex"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
	"github.com/facesearch/facesearch/internal/verdict"
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
	b, err := newLibraryBackend(ctx, env, l, *threads)
	if err != nil {
		return err
	}
	if most := max(1, b.cpus / *threads); *searches <= 0 {
		*searches = most
	} else if *searches > most {
		env.Log.Warn("searches × threads exceeds the CPUs; reducing searches", "searches", *searches, "threads", *threads, "cpus", b.cpus, "now", most)
		*searches = most
	}
	var hosts []string
	for _, h := range strings.Split(*allowHost, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	limits := server.NewLimits(*searches) // one pool across reloads
	build := func(b *libraryBackend) (http.Handler, error) {
		return server.New(server.Options{
			Detector: b, Searcher: b, Catalog: b, Cleanser: b, Threshold: b.threshold, Token: *token,
			Addr: *addr, Hosts: hosts,
			MaxUpload: *maxUpload << 20, MaxPixels: *maxPixels, RequestTimeout: *timeout, MaxSearches: *searches,
			Limits: limits, Log: env.Log,
		})
	}
	srv, err := newReloader(ctx, env, l, b, build)
	if err != nil {
		b.Close()
		if b.pipe != nil {
			b.pipe.Close()
		}
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
			fmt.Fprintf(env.Stdout, "serving %s (%d faces) on http://%s/\n", l.Dir(), b.snap.nfaces, a)
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

// libraryBackend implements the server's interfaces over a library, the
// face pipeline and the cleansing audit.
type libraryBackend struct {
	lib       *library.Library
	cat       *catalog.Catalog
	pipe      *embed.Pipeline
	search    *library.Searcher
	root      string
	imported  bool // the faces come from import-npz: there are no image files
	threshold float32
	cpus      int
	snap      *snapshot
	stats     server.Stats // of the library at start, like snap
	log       func(msg string, args ...any)

	ctx       context.Context // the server's lifetime, for the background audit
	auditMu   sync.Mutex      // guards auditDone; serialises dismissals
	auditDone chan struct{}   // closed when audit and auditErr are set
	audit     *auditState
	auditErr  error

	looks lookalikeCache // the look-alikes view, computed once
}

// auditWait is how long a cleansing request waits for a running audit
// before it answers "unavailable" with auditRetry as Retry-After.
const (
	auditWait  = time.Second
	auditRetry = 3 * time.Second
)

func (b *libraryBackend) cleanseOptions() cleanse.Options {
	return cleanse.Options{Threshold: b.threshold, Index: faissidx.Builder("Flat", 0)}
}

// snapshot is the catalog's images and faces in memory, as they were when
// the server started: a later 'facesearch index' is seen after a restart.
type snapshot struct {
	images  map[int64]*catalog.Image
	faces   map[int64]server.FaceRecord
	vecs    map[int64][]float32
	hashes  map[int64]string // face id -> image content hash
	persons []server.Person
	byName  map[string][]int64 // person -> face ids, by file
	nfaces  int
}

// newLibraryBackend loads the face pipeline and a backend over l. A library
// imported from npz files is served without the photo model if its files
// are missing: people, cleansing and vector search need none.
func newLibraryBackend(ctx context.Context, env *cmdEnv, l *library.Library, threads int) (*libraryBackend, error) {
	m, err := libraryManifest(ctx, l)
	if err != nil {
		return nil, err
	}
	src, err := l.Source(ctx)
	if err != nil {
		return nil, err
	}
	p, err := newPipeline(env, m, threads)
	if err != nil && src == library.SourceNPZ {
		env.Log.Warn("serving without photo search: the model that made the imported embeddings is not installed", "model", m.Name, "err", err)
		p = nil
	} else if err != nil {
		return nil, err
	}
	b, err := newLibraryBackendPipe(ctx, env, l, p)
	if err != nil && p != nil {
		p.Close()
	}
	return b, err
}

// libraryManifest is the library's model manifest, or the built-in default
// for a library that has none yet.
func libraryManifest(ctx context.Context, l *library.Library) (*model.Manifest, error) {
	m, err := l.Manifest(ctx)
	if err != nil || m != nil {
		return m, err
	}
	return model.Builtin(model.DefaultName)
}

// newLibraryBackendPipe is a backend over the library as it is now, using
// pipe (nil: no photo search). Its Close does not close pipe.
func newLibraryBackendPipe(ctx context.Context, env *cmdEnv, l *library.Library, p *embed.Pipeline) (*libraryBackend, error) {
	root, err := l.Root(ctx)
	if err != nil {
		return nil, err
	}
	snap, err := loadSnapshot(ctx, l.Catalog())
	if err != nil {
		return nil, err
	}
	if snap.nfaces == 0 {
		return nil, library.ErrEmpty
	}
	m, err := libraryManifest(ctx, l)
	if err != nil {
		return nil, err
	}
	th, _, err := l.Threshold(ctx, m)
	if err != nil {
		return nil, err
	}
	src, err := l.Source(ctx)
	if err != nil {
		return nil, err
	}
	rep, err := l.Stats(ctx)
	if err != nil {
		return nil, err
	}
	c := rep.Catalog
	stats := server.Stats{Persons: c.Persons, Images: c.Images, ImagesOK: c.ImagesOK, Faces: c.Faces,
		PrimaryFaces: c.PrimaryFaces, ByStatus: c.ByStatus, Model: rep.ModelID, Index: rep.Index.Resolved,
		IndexState: rep.IndexState, Threshold: th}
	// The page and API search in the library's similarity (adapted when an
	// adaptation is kept), like search and check: the stored calibration is
	// for that similarity, so a raw searcher would find none and give no
	// verdicts. The pairs still compare raw vectors with the pairwise
	// threshold th.
	s, err := l.Searcher(ctx)
	if err != nil {
		return nil, err
	}
	// The verdicts' calibration: the stored one, read, never computed here
	// (a reload per catalog generation must stay cheap).
	if c, err := s.Calibration(ctx); err != nil {
		env.Log.Warn("no open-set calibration; searches will try again", "err", err)
	} else if !c.Calibrated() {
		env.Log.Info("library uncalibrated: results carry no verdict", "reason", c.Reason)
	} else if c.Stale != "" {
		env.Log.Info("open-set calibration is stale", "note", c.Stale)
	}
	return &libraryBackend{lib: l, cat: l.Catalog(), pipe: p, search: s, root: root, imported: src == library.SourceNPZ,
		threshold: th, cpus: runtime.NumCPU(), snap: snap, stats: stats, log: env.Log.Info, ctx: ctx}, nil
}

// byShownName finds a person by the name /api/persons showed: JSON carries
// a folder name that is not UTF-8 with U+FFFD in place of its bad bytes, and
// a client asks for it by that name. Only an unambiguous match counts.
func (s *snapshot) byShownName(name string) ([]int64, bool) {
	var found []int64
	n := 0
	for raw, ids := range s.byName {
		if !utf8.ValidString(raw) && (show(raw) == name || perByteValid(raw) == name) {
			found, n = ids, n+1
		}
	}
	return found, n == 1
}

// perByteValid replaces each byte that is not UTF-8 with U+FFFD, as
// encoding/json does (strings.ToValidUTF8 replaces each run with one).
func perByteValid(s string) string {
	var b strings.Builder
	for _, r := range s { // ranging a string yields U+FFFD per bad byte
		b.WriteRune(r)
	}
	return b.String()
}

func loadSnapshot(ctx context.Context, cat *catalog.Catalog) (*snapshot, error) {
	imgs, err := cat.Images(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	s := &snapshot{images: map[int64]*catalog.Image{}, faces: map[int64]server.FaceRecord{},
		vecs: map[int64][]float32{}, hashes: map[int64]string{}, byName: map[string][]int64{}}
	count := map[string]*server.Person{}
	for i := range imgs {
		im := &imgs[i]
		s.images[im.ID] = im
		p := count[im.Person]
		if p == nil {
			p = &server.Person{Name: im.Person}
			count[im.Person] = p
		}
		p.Images++
		for _, f := range im.Faces {
			s.faces[f.ID] = server.FaceRecord{ID: f.ID, ImageID: im.ID, File: im.Path, Person: im.Person,
				Box: f.Box, Score: f.Score, Primary: f.Primary}
			s.vecs[f.ID] = f.Embedding
			s.hashes[f.ID] = hex.EncodeToString(im.SHA256)
			s.byName[im.Person] = append(s.byName[im.Person], f.ID)
			p.Faces++
			if f.Primary {
				p.PrimaryFaces++
			}
			s.nfaces++
		}
		im.Faces = nil // kept in s.faces; drop the embeddings
	}
	for _, p := range count {
		p.FaceID = s.thumbnail(p.Name)
		s.persons = append(s.persons, *p)
	}
	sort.Slice(s.persons, func(i, j int) bool { return s.persons[i].Name < s.persons[j].Name })
	return s, nil
}

// Close releases the indexes (not the pipeline, which the reloader shares), after the background audit
// (cancelled with the server's context) has returned.
func (b *libraryBackend) Close() error {
	b.auditMu.Lock()
	done := b.auditDone
	b.auditMu.Unlock()
	var err error
	if done != nil {
		<-done
		b.looks.wait()
		if b.audit != nil && b.audit.index != nil {
			err = b.audit.index.Close()
		}
	}
	return errors.Join(err, b.search.Close())
}

// Faces implements server.Detector.
func (b *libraryBackend) Faces(ctx context.Context, img *image.RGBA) ([]server.QueryFace, int, error) {
	if b.pipe == nil {
		return nil, -1, &server.Error{Kind: server.KindUnavailable, Msg: "photo search needs the model that made the imported embeddings, which is not installed (see 'facesearch models'); search by vector, People and Cleansing work"}
	}
	fs, err := b.pipe.Faces(ctx, img)
	switch {
	case errors.Is(err, detect.ErrTooSmall):
		return nil, -1, &server.Error{Kind: server.KindNoFace, Msg: err.Error(), Err: err}
	case errors.Is(err, detect.ErrTooMuchWork):
		return nil, -1, &server.Error{Kind: server.KindBadRequest, Msg: err.Error(), Err: err}
	case err != nil:
		return nil, -1, err
	}
	out := make([]server.QueryFace, len(fs))
	for i, f := range fs {
		out[i] = server.QueryFace{Box: f.Box, Score: f.Score, Embedding: f.Embedding}
	}
	return out, embed.Primary(fs, img.Bounds()), nil
}

// Dim implements server.Searcher.
func (b *libraryBackend) Dim() int { return b.search.Info().Dim }

// Search implements server.Searcher.
func (b *libraryBackend) Search(ctx context.Context, vec []float32, k int) ([]server.Match, error) {
	hits, err := b.search.Search(ctx, vec, library.SearchOptions{K: k, Min: -1})
	if err != nil {
		return nil, err
	}
	out := make([]server.Match, len(hits))
	for i, h := range hits {
		out[i] = server.Match{FaceID: h.FaceID, ImageID: b.snap.faces[h.FaceID].ImageID, Similarity: h.Similarity,
			File: h.Path, Person: h.Person, Box: h.Box}
	}
	return out, nil
}

// Persons implements server.Catalog.
func (b *libraryBackend) Persons(ctx context.Context) ([]server.Person, error) {
	return b.snap.persons, nil
}

// PersonFaces implements server.Catalog.
func (b *libraryBackend) PersonFaces(ctx context.Context, name string) ([]server.FaceRecord, error) {
	ids, ok := b.snap.byName[name]
	if !ok {
		ids, ok = b.snap.byShownName(name)
	}
	if !ok {
		return nil, server.ErrNotFound
	}
	out := make([]server.FaceRecord, len(ids))
	for i, id := range ids {
		out[i] = b.snap.faces[id]
	}
	return out, nil
}

// Face implements server.Catalog.
func (b *libraryBackend) Face(ctx context.Context, id int64) (server.FaceRecord, error) {
	f, ok := b.snap.faces[id]
	if !ok {
		return f, server.ErrNotFound
	}
	return f, nil
}

// FaceCrop implements server.Catalog.
func (b *libraryBackend) FaceCrop(ctx context.Context, id int64) ([]byte, string, error) {
	if _, ok := b.snap.faces[id]; !ok {
		return nil, "", server.ErrNotFound
	}
	// Crops are read from the catalog: face ids are never reused, so this
	// is the crop of the snapshot's face, or none if it was removed since.
	c, err := b.cat.Crop(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", fmt.Errorf("face %d was removed from the library after the server started: %w", id, server.ErrNotFound)
	}
	if err != nil {
		return nil, "", err
	}
	return c, http.DetectContentType(c), nil
}

// Image implements server.Catalog.
func (b *libraryBackend) Image(ctx context.Context, id int64) (server.ImageRecord, error) {
	im, ok := b.snap.images[id]
	if !ok {
		return server.ImageRecord{}, server.ErrNotFound
	}
	r := server.ImageRecord{ID: im.ID, File: im.Path, Person: im.Person, Width: im.Width, Height: im.Height,
		Status: im.Status, Error: im.Error, Faces: []server.FaceRecord{}}
	for _, fid := range b.snap.byName[im.Person] {
		if f := b.snap.faces[fid]; f.ImageID == id {
			r.Faces = append(r.Faces, f)
		}
	}
	return r, nil
}

// ImageFile implements server.Catalog: the catalog's relative path under the
// library's root, for images indexed from photos with status ok.
func (b *libraryBackend) ImageFile(ctx context.Context, id int64) (server.FileRef, error) {
	im, ok := b.snap.images[id]
	switch {
	case !ok:
		return server.FileRef{}, server.ErrNotFound
	case b.imported:
		return server.FileRef{}, fmt.Errorf("%s was imported from %s: the library has no image files: %w", im.Path, library.NPZFile, server.ErrNotFound)
	case im.Status != catalog.StatusOK:
		return server.FileRef{}, fmt.Errorf("%s has status %s: only images indexed with faces are served: %w", im.Path, im.Status, server.ErrNotFound)
	}
	return server.FileRef{Root: b.root, Path: im.Path, Size: im.Size, ModTime: time.Unix(0, im.MtimeNS)}, nil
}

// Stats implements server.Catalog: the library as it was at start.
func (b *libraryBackend) Stats(ctx context.Context) (server.Stats, error) {
	return b.stats, nil
}

// ---- cleansing ----

type auditState struct {
	data     *cleanse.Dataset
	ids      []int64 // dataset index -> face id
	findings []server.Finding
	index    vecindex.RangeIndex // exact index of data, shared by pairs requests
	result   *cleanse.AuditResult
}

// audited returns the audit, starting it on first use in the background (it
// may take longer than one request on a large library); while it runs,
// requests get "unavailable" with a Retry-After after waiting auditWait.
func (b *libraryBackend) audited(ctx context.Context) (*auditState, error) {
	b.auditMu.Lock()
	if b.auditDone == nil {
		b.auditDone = make(chan struct{})
		go func() {
			defer close(b.auditDone)
			b.audit, b.auditErr = b.runAudit(b.ctx)
			if b.auditErr == nil { // the look-alikes follow the audit, in the background
				b.looks.log = b.log
				b.looks.start(b.ctx, b.lookalikesOf(b.audit))
			}
		}()
	}
	done := b.auditDone
	b.auditMu.Unlock()
	t := time.NewTimer(auditWait)
	defer t.Stop()
	select {
	case <-done:
		return b.audit, b.auditErr
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, &server.Error{Kind: server.KindUnavailable, Msg: "the audit of the library is still running; try again in a moment", RetryAfter: auditRetry}
}

// runAudit audits the primary faces with an exact faiss index.
func (b *libraryBackend) runAudit(ctx context.Context) (*auditState, error) {
	var faces []cleanse.Face
	var ids []int64
	for id, f := range b.snap.faces {
		if f.Primary {
			hash := b.snap.hashes[id]
			if b.imported {
				hash = "" // an npz row's identity is not a hash of image bytes
			}
			faces = append(faces, cleanse.Face{ID: id, Person: f.Person, File: f.File, Hash: hash, Vec: b.snap.vecs[id]})
		}
	}
	sort.Slice(faces, func(i, j int) bool { return faces[i].ID < faces[j].ID })
	for _, f := range faces {
		ids = append(ids, f.ID)
	}
	d, err := cleanse.Prepare(faces)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	t0 := time.Now()
	res, err := d.Audit(ctx, b.cleanseOptions())
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	b.log("audit done", "faces", len(faces), "findings", len(res.Findings), "seconds", time.Since(t0).Seconds())
	idx, err := d.BuildIndex(b.cleanseOptions().Index)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	st := &auditState{data: d, ids: ids, index: idx, result: res}
	for _, f := range res.Findings {
		sev, _ := f.Severity.MarshalText()
		out := server.Finding{Kind: string(f.Kind), Severity: string(sev), Score: f.Score, Persons: f.Persons,
			Similarity: f.Similarity, Baseline: f.Baseline, Reason: f.Reason, Faces: []int64{}, Evidence: []server.FacePair{}}
		for _, i := range f.Faces {
			out.Faces = append(out.Faces, ids[i])
		}
		for _, p := range f.Evidence {
			out.Evidence = append(out.Evidence, server.FacePair{A: b.snap.faces[ids[p.A]], B: b.snap.faces[ids[p.B]], Similarity: p.Similarity})
		}
		out.Key = findingKey(out)
		st.findings = append(st.findings, out)
	}
	return st, nil
}

// findingKey names a finding as the CLI's audit does (cleanse.FindingKey).
func findingKey(f server.Finding) string { return cleanse.FindingKey(f.Kind, f.Persons, f.Faces) }

// dismissed returns the finding keys marked "not a problem" (the catalog's
// review table, shared with 'facesearch audit').
func (b *libraryBackend) dismissed(ctx context.Context) (map[string]bool, error) {
	rs, err := b.cat.Reviews(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(rs))
	for k, r := range rs {
		m[k] = r.Decision == catalog.Dismissed
	}
	return m, nil
}

// Findings implements server.Cleanser.
func (b *libraryBackend) Findings(ctx context.Context) ([]server.Finding, error) {
	st, err := b.audited(ctx)
	if err != nil {
		return nil, err
	}
	dis, err := b.dismissed(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]server.Finding, len(st.findings))
	for i, f := range st.findings {
		f.Dismissed = dis[f.Key]
		out[i] = f
	}
	return out, nil
}

// Pairs implements server.Cleanser.
func (b *libraryBackend) Pairs(ctx context.Context, min float32, top int) ([]server.FacePair, error) {
	st, err := b.audited(ctx)
	if err != nil {
		return nil, err
	}
	res, err := st.data.Pairs(ctx, b.cleanseOptions(), cleanse.PairsOptions{Min: min, MinSet: true, Top: top, Index: st.index})
	if err != nil {
		return nil, err
	}
	out := make([]server.FacePair, len(res.Pairs))
	for i, p := range res.Pairs {
		out[i] = server.FacePair{A: b.snap.faces[st.ids[p.A]], B: b.snap.faces[st.ids[p.B]], Similarity: p.Similarity}
	}
	return out, nil
}

// SetDismissed implements server.Cleanser; the decision goes to the
// catalog's review table (shared with the CLI), the dataset is not touched.
func (b *libraryBackend) SetDismissed(ctx context.Context, key string, d bool) error {
	st, err := b.audited(ctx)
	if err != nil {
		return err
	}
	known := false
	for _, f := range st.findings {
		known = known || f.Key == key
	}
	if !known {
		return server.ErrNotFound
	}
	decision := ""
	if d {
		decision = catalog.Dismissed
	}
	return b.cat.SetReview(ctx, key, decision)
}

// SearchJudged implements server.JudgedSearcher: the library's judged
// search, the same as 'search' and 'check' run.
func (b *libraryBackend) SearchJudged(ctx context.Context, vec []float32, k int) ([]server.Match, *server.Verdict, error) {
	j, err := b.search.SearchJudged(ctx, vec, library.SearchOptions{K: k, Min: -1}, nil)
	if err != nil {
		return nil, nil, err
	}
	cal, err := b.search.Calibration(ctx)
	if err != nil {
		return nil, nil, err
	}
	ms, v := b.judgedOut(j, cal)
	return ms, v, nil
}

// judgedOut turns a judged search into the server's matches and verdict.
func (b *libraryBackend) judgedOut(j *library.Judged, cal *verdict.Calibration) ([]server.Match, *server.Verdict) {
	out := make([]server.Match, len(j.Hits))
	for i, h := range j.Hits {
		out[i] = server.Match{FaceID: h.FaceID, ImageID: b.snap.faces[h.FaceID].ImageID, Similarity: h.Similarity,
			File: h.Path, Person: h.Person, Box: h.Box}
	}
	jo := judgementOut(j)
	v := &server.Verdict{Verdict: jo.Verdict, Person: j.Best.Person, Similarity: j.Best.Best.Similarity, StrangerRate: jo.StrangerRate,
		StrangersAtOrAbove: jo.StrangersAtOrAbove, StrangerSearches: jo.StrangerSearches, StrangerText: jo.StrangerText, Margin: jo.Margin,
		Calibration: cal.Status, Reason: cal.Reason, MatchThreshold: cal.Match.Threshold, MatchFPIR: cal.Match.FPIR,
		PossibleThreshold: cal.Possible.Threshold, PossibleFPIR: cal.Possible.FPIR, Stale: cal.Stale}
	return out, v
}
