package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// ---- fakes ----

// fakeDetector finds no face in images 7 pixels wide, blocks until the
// deadline in images 9 pixels wide, and otherwise two faces: a small one
// (embedding e0) and a large primary one (embedding e1).
type fakeDetector struct{}

var e0, e1 = []float32{1, 0, 0}, []float32{0, 1, 0}

func (fakeDetector) Faces(ctx context.Context, img *image.RGBA) ([]QueryFace, int, error) {
	switch img.Bounds().Dx() {
	case 7:
		return nil, -1, nil
	case 9:
		<-ctx.Done()
		return nil, -1, fmt.Errorf("detect: %w", ctx.Err())
	}
	return []QueryFace{
		{Box: [4]float32{0, 0, 4, 4}, Score: 0.9, Embedding: e0},
		{Box: [4]float32{5, 5, 20, 20}, Score: 0.8, Embedding: e1},
	}, 1, nil
}

type fakeLib struct {
	faces  map[int64]FaceRecord
	vecs   map[int64][]float32
	images map[int64]ImageRecord
	files  map[int64]FileRef
}

func (l *fakeLib) Dim() int { return 3 }

func (l *fakeLib) Search(ctx context.Context, v []float32, k int) ([]Match, error) {
	var out []Match
	for id, w := range l.vecs {
		var s float32
		for i := range v {
			s += v[i] * w[i]
		}
		f := l.faces[id]
		out = append(out, Match{FaceID: id, ImageID: f.ImageID, Similarity: s, File: f.File, Person: f.Person, Box: f.Box})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Similarity != out[j].Similarity {
			return out[i].Similarity > out[j].Similarity
		}
		return out[i].FaceID < out[j].FaceID
	})
	if len(out) > k {
		out = out[:k]
	}
	return out, nil
}

func (l *fakeLib) Persons(ctx context.Context) ([]Person, error) {
	m := map[string]*Person{}
	for _, f := range l.faces {
		if m[f.Person] == nil {
			m[f.Person] = &Person{Name: f.Person}
		}
		m[f.Person].Faces++
		m[f.Person].Images++
	}
	var out []Person
	for _, p := range m {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (l *fakeLib) PersonFaces(ctx context.Context, name string) ([]FaceRecord, error) {
	var out []FaceRecord
	for _, f := range l.faces {
		if f.Person == name {
			out = append(out, f)
		}
	}
	if out == nil {
		return nil, fmt.Errorf("person %q: %w", name, ErrNotFound)
	}
	return out, nil
}

func (l *fakeLib) Face(ctx context.Context, id int64) (FaceRecord, error) {
	f, ok := l.faces[id]
	if !ok {
		return f, ErrNotFound
	}
	return f, nil
}

func (l *fakeLib) FaceCrop(ctx context.Context, id int64) ([]byte, string, error) {
	if _, ok := l.faces[id]; !ok {
		return nil, "", ErrNotFound
	}
	if id == 3 {
		return nil, "", nil // no stored crop
	}
	return pngBytes(4, 4), "image/png", nil
}

func (l *fakeLib) Image(ctx context.Context, id int64) (ImageRecord, error) {
	im, ok := l.images[id]
	if !ok {
		return im, ErrNotFound
	}
	return im, nil
}

func (l *fakeLib) ImageFile(ctx context.Context, id int64) (FileRef, error) {
	p, ok := l.files[id]
	if !ok {
		return FileRef{}, ErrNotFound
	}
	return p, nil
}

func (l *fakeLib) Stats(ctx context.Context) (Stats, error) {
	return Stats{Persons: 2, Images: 3, ImagesOK: 3, Faces: len(l.faces), Model: "fake"}, nil
}

type fakeCleanser struct {
	mu        sync.Mutex
	dismissed map[string]bool
	lib       *fakeLib
	err       error // returned by every call when set
	min       float32
	top       int
}

func (c *fakeCleanser) Findings(ctx context.Context) ([]Finding, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	fs := []Finding{
		{Key: "misfiled-2", Kind: "misfiled", Severity: "high", Persons: []string{"alice", "bob"}, Faces: []int64{2},
			Evidence: []FacePair{{A: c.lib.faces[2], B: c.lib.faces[3], Similarity: 0.9}}, Reason: "=cmd|' /C calc'!A0"},
		{Key: "outlier-1", Kind: "outlier", Severity: "low", Persons: []string{"alice"}, Faces: []int64{1}, Reason: "far from alice"},
	}
	for i := range fs {
		fs[i].Dismissed = c.dismissed[fs[i].Key]
	}
	return fs, nil
}

func (c *fakeCleanser) Pairs(ctx context.Context, min float32, top int) ([]FacePair, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	c.min, c.top = min, top
	return []FacePair{{A: c.lib.faces[2], B: c.lib.faces[3], Similarity: 0.9}}, nil
}

func (c *fakeCleanser) SetDismissed(ctx context.Context, key string, d bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if key != "misfiled-2" && key != "outlier-1" {
		return fmt.Errorf("finding %q: %w", key, ErrNotFound)
	}
	c.dismissed[key] = d
	return nil
}

func pngBytes(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	img.Set(0, 0, color.RGBA{1, 2, 3, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// newFakeLib makes a library over a temporary dataset root: image 1 is
// alice/a.png as indexed, 2 was removed, 4 changed since indexing, 5 is a
// symbolic link to a file outside the root.
func newFakeLib(t testing.TB) *fakeLib {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	ref := func(rel string, data []byte) FileRef {
		file := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		return FileRef{Root: root, Path: rel, Size: st.Size(), ModTime: st.ModTime()}
	}
	files := map[int64]FileRef{
		1: ref("alice/a.png", pngBytes(30, 30)),
		2: {Root: root, Path: "bob/gone.png", Size: 10, ModTime: time.Unix(1, 0)},
		4: ref("bob/changed.png", pngBytes(20, 20)),
	}
	if err := os.WriteFile(filepath.Join(root, "bob/changed.png"), pngBytes(21, 20), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(dir, "secret.png")
	if err := os.WriteFile(outside, pngBytes(30, 30), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "bob/link.png")); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(outside)
	files[5] = FileRef{Root: root, Path: "bob/link.png", Size: st.Size(), ModTime: st.ModTime()}
	faces := map[int64]FaceRecord{
		1: {ID: 1, ImageID: 1, File: "alice/a.png", Person: "alice", Box: [4]float32{1, 1, 9, 9}, Primary: true},
		2: {ID: 2, ImageID: 2, File: "bob/b.png", Person: "bob", Primary: true},
		3: {ID: 3, ImageID: 3, File: "bob/c.png", Person: "bob", Primary: true},
	}
	return &fakeLib{
		faces: faces,
		vecs:  map[int64][]float32{1: {0, 1, 0}, 2: {0.6, 0.8, 0}, 3: {1, 0, 0}},
		images: map[int64]ImageRecord{
			1: {ID: 1, File: "alice/a.png", Person: "alice", Width: 30, Height: 30, Status: "ok", Faces: []FaceRecord{faces[1]}},
		},
		files: files,
	}
}

type harness struct {
	srv *Server
	lib *fakeLib
	cl  *fakeCleanser
}

func newHarness(t testing.TB, mod func(*Options)) *harness {
	lib := newFakeLib(t)
	cl := &fakeCleanser{dismissed: map[string]bool{}, lib: lib}
	// httptest.NewRequest sends Host example.com.
	opt := Options{Detector: fakeDetector{}, Searcher: lib, Catalog: lib, Cleanser: cl, Threshold: 0.5,
		Addr: "127.0.0.1:8080", Hosts: []string{"example.com"}}
	if mod != nil {
		mod(&opt)
	}
	s, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{s, lib, cl}
}

func (h *harness) do(t testing.TB, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, req)
	return w
}

func multipartBody(t testing.TB, fields map[string]string, photo []byte, name string) (*bytes.Buffer, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if photo != nil {
		fw, err := mw.CreateFormFile("photo", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(photo)
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

func searchReq(t testing.TB, query string, fields map[string]string, photo []byte) *http.Request {
	body, ct := multipartBody(t, fields, photo, "q.png")
	r := httptest.NewRequest("POST", "/api/search"+query, body)
	r.Header.Set("Content-Type", ct)
	return r
}

// wantError checks a JSON error response.
func wantError(t testing.TB, w *httptest.ResponseRecorder, status int, code Kind) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
	var e errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, w.Body)
	}
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error %+v, want code %s with a message", e.Error, code)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
}

func decode[T any](t testing.TB, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
	return v
}

// ---- tests ----

func TestEveryKindHasAStatus(t *testing.T) {
	for _, k := range []Kind{KindBadRequest, KindNotImage, KindTooLarge, KindNoFace, KindNotFound, KindUnauthorized,
		KindForbidden, KindGone, KindMethod, KindUnavailable, KindTimeout, KindInternal} {
		if statusOf[k] < 400 {
			t.Errorf("kind %s has no error status", k)
		}
	}
}

func TestHealthStatsPage(t *testing.T) {
	h := newHarness(t, nil)
	if got := decode[map[string]string](t, h.do(t, httptest.NewRequest("GET", "/api/health", nil))); got["status"] != "ok" {
		t.Errorf("health %v", got)
	}
	st := decode[Stats](t, h.do(t, httptest.NewRequest("GET", "/api/stats", nil)))
	if st.Faces != 3 || st.Threshold != 0.5 || st.Model != "fake" {
		t.Errorf("stats %+v", st)
	}
	w := h.do(t, httptest.NewRequest("GET", "/", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "<title>facesearch</title>") || w.Header().Get("Content-Security-Policy") == "" {
		t.Errorf("page: %d %q", w.Code, w.Body.String()[:min(80, w.Body.Len())])
	}
	for _, p := range []string{"/assets/app.js", "/assets/app.css"} {
		if w := h.do(t, httptest.NewRequest("GET", p, nil)); w.Code != 200 || w.Body.Len() < 500 {
			t.Errorf("%s: %d, %d bytes", p, w.Code, w.Body.Len())
		}
	}
	wantError(t, h.do(t, httptest.NewRequest("GET", "/nope.html", nil)), 404, KindNotFound)
	wantError(t, h.do(t, httptest.NewRequest("GET", "/api/nope", nil)), 404, KindNotFound)
	wantError(t, h.do(t, httptest.NewRequest("POST", "/", nil)), 405, KindMethod)
}

func TestSearchPhoto(t *testing.T) {
	h := newHarness(t, nil)
	res := decode[searchResponse](t, h.do(t, searchReq(t, "", nil, pngBytes(30, 20))))
	if len(res.Faces) != 2 || res.Face != 2 || !res.Faces[1].Primary || res.Faces[1].Index != 2 || res.Image == nil || res.Image.Width != 30 {
		t.Fatalf("faces %+v face %d image %+v", res.Faces, res.Face, res.Image)
	}
	// Face 1 (e1) matches alice's face 1 (1.0), then bob's face 2 (0.8), bob's face 3 (0).
	if len(res.Matches) != 3 || res.Matches[0].FaceID != 1 || res.Matches[1].FaceID != 2 {
		t.Fatalf("matches %+v", res.Matches)
	}
	m := res.Matches[0]
	if !m.SamePerson || m.CropURL != "/api/faces/1/crop" || m.ImageURL != "/api/images/1/file" || m.Person != "alice" || m.Rank != 1 {
		t.Errorf("first match %+v", m)
	}
	if res.Matches[2].SamePerson {
		t.Errorf("similarity 0 has the same-person badge")
	}
	if len(res.Persons) != 2 || res.Persons[0].Person != "alice" || res.Persons[1].Count != 2 || res.Persons[1].Best < 0.79 {
		t.Errorf("persons %+v", res.Persons)
	}

	// Choosing the other face (numbered from 1), by form field or query, and k.
	res = decode[searchResponse](t, h.do(t, searchReq(t, "", map[string]string{"face": "1", "k": "1"}, pngBytes(30, 20))))
	if res.Face != 1 || len(res.Matches) != 1 || res.Matches[0].FaceID != 3 || res.K != 1 {
		t.Errorf("face 1: %+v", res)
	}
	res = decode[searchResponse](t, h.do(t, searchReq(t, "?face=1&k=2", nil, pngBytes(30, 20))))
	if res.Face != 1 || len(res.Matches) != 2 {
		t.Errorf("face 1 by query: %+v", res)
	}
}

func TestSearchVector(t *testing.T) {
	h := newHarness(t, nil)
	post := func(body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/api/search", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return h.do(t, r)
	}
	res := decode[searchResponse](t, post(`{"embedding":[2,0,0],"k":2}`))
	if len(res.Matches) != 2 || res.Matches[0].FaceID != 3 || res.Matches[0].Similarity < 0.99 {
		t.Fatalf("matches %+v", res.Matches)
	}
	for _, tc := range []struct{ name, body string }{
		{"wrong dim", `{"embedding":[1,0]}`},
		{"zero", `{"embedding":[0,0,0]}`},
		{"missing", `{"k":3}`},
		{"unknown field", `{"embedding":[1,0,0],"path":"/etc/passwd"}`},
		{"bad k", `{"embedding":[1,0,0],"k":100000}`},
		{"not json", `embedding=1`},
	} {
		t.Run(tc.name, func(t *testing.T) { wantError(t, post(tc.body), 400, KindBadRequest) })
	}
}

func TestSearchBadUploads(t *testing.T) {
	big := pngBytes(200, 200)
	for _, tc := range []struct {
		name   string
		opt    func(*Options)
		req    func(t testing.TB) *http.Request
		status int
		code   Kind
	}{
		{"not an image", nil, func(t testing.TB) *http.Request {
			return searchReq(t, "", nil, []byte("this is plain text, not a photo"))
		}, 415, KindNotImage},
		{"empty file", nil, func(t testing.TB) *http.Request { return searchReq(t, "", nil, []byte{}) }, 415, KindNotImage},
		{"truncated png", nil, func(t testing.TB) *http.Request { return searchReq(t, "", nil, big[:len(big)/2]) }, 415, KindNotImage},
		{"body too large", func(o *Options) { o.MaxUpload = 1000 }, func(t testing.TB) *http.Request {
			return searchReq(t, "", nil, big)
		}, 413, KindTooLarge},
		{"too many pixels", func(o *Options) { o.MaxPixels = 100 }, func(t testing.TB) *http.Request {
			return searchReq(t, "", nil, pngBytes(30, 20))
		}, 413, KindTooLarge},
		{"no face", nil, func(t testing.TB) *http.Request { return searchReq(t, "", nil, pngBytes(7, 7)) }, 422, KindNoFace},
		{"no photo field", nil, func(t testing.TB) *http.Request { return searchReq(t, "", map[string]string{"k": "3"}, nil) }, 400, KindBadRequest},
		{"face out of range", nil, func(t testing.TB) *http.Request { return searchReq(t, "?face=3", nil, pngBytes(30, 20)) }, 400, KindBadRequest},
		{"face 0 (faces count from 1)", nil, func(t testing.TB) *http.Request { return searchReq(t, "?face=0", nil, pngBytes(30, 20)) }, 400, KindBadRequest},
		{"face not a number", nil, func(t testing.TB) *http.Request { return searchReq(t, "?face=x", nil, pngBytes(30, 20)) }, 400, KindBadRequest},
		{"k zero", nil, func(t testing.TB) *http.Request { return searchReq(t, "?k=0", nil, pngBytes(30, 20)) }, 400, KindBadRequest},
		{"raw body", nil, func(t testing.TB) *http.Request {
			r := httptest.NewRequest("POST", "/api/search", bytes.NewReader(pngBytes(30, 20)))
			r.Header.Set("Content-Type", "image/png")
			return r
		}, 400, KindBadRequest},
		{"broken multipart", nil, func(t testing.TB) *http.Request {
			r := httptest.NewRequest("POST", "/api/search", strings.NewReader("--x\r\nnot a part"))
			r.Header.Set("Content-Type", "multipart/form-data; boundary=x")
			return r
		}, 400, KindBadRequest},
		{"timeout", func(o *Options) { o.RequestTimeout = 50 * time.Millisecond }, func(t testing.TB) *http.Request {
			return searchReq(t, "", nil, pngBytes(9, 9))
		}, 503, KindTimeout},
		{"GET", nil, func(t testing.TB) *http.Request { return httptest.NewRequest("GET", "/api/search", nil) }, 405, KindMethod},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opt)
			wantError(t, h.do(t, tc.req(t)), tc.status, tc.code)
		})
	}
}

func TestFacesPersonsImages(t *testing.T) {
	h := newHarness(t, nil)
	f := decode[faceJSON](t, h.do(t, httptest.NewRequest("GET", "/api/faces/2", nil)))
	if f.Person != "bob" || f.CropURL != "/api/faces/2/crop" || f.ImageURL != "/api/images/2/file" {
		t.Errorf("face %+v", f)
	}
	w := h.do(t, httptest.NewRequest("GET", "/api/faces/2/crop", nil))
	if w.Code != 200 || w.Header().Get("Content-Type") != "image/png" || !bytes.HasPrefix(w.Body.Bytes(), []byte("\x89PNG")) {
		t.Errorf("crop: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	wantError(t, h.do(t, httptest.NewRequest("GET", "/api/faces/3/crop", nil)), 404, KindNotFound)
	wantError(t, h.do(t, httptest.NewRequest("GET", "/api/faces/99", nil)), 404, KindNotFound)
	wantError(t, h.do(t, httptest.NewRequest("GET", "/api/faces/99/crop", nil)), 404, KindNotFound)

	ps := decode[struct {
		Persons []Person
		Total   int
	}](t, h.do(t, httptest.NewRequest("GET", "/api/persons", nil)))
	if len(ps.Persons) != 2 || ps.Total != 2 || ps.Persons[1].Name != "bob" || ps.Persons[1].Faces != 2 {
		t.Errorf("persons %+v", ps)
	}
	pf := decode[struct {
		Name  string
		Faces []faceJSON
	}](t, h.do(t, httptest.NewRequest("GET", "/api/persons/bob", nil)))
	if pf.Name != "bob" || len(pf.Faces) != 2 || pf.Faces[0].CropURL == "" {
		t.Errorf("person bob %+v", pf)
	}
	wantError(t, h.do(t, httptest.NewRequest("GET", "/api/persons/carol", nil)), 404, KindNotFound)

	im := decode[struct {
		ImageRecord
		FileURL string `json:"file_url"`
	}](t, h.do(t, httptest.NewRequest("GET", "/api/images/1", nil)))
	if im.File != "alice/a.png" || im.FileURL != "/api/images/1/file" || len(im.Faces) != 1 {
		t.Errorf("image %+v", im)
	}
	w = h.do(t, httptest.NewRequest("GET", "/api/images/1/file", nil))
	if w.Code != 200 || w.Header().Get("Content-Type") != "image/png" || !bytes.Equal(w.Body.Bytes(), pngBytes(30, 30)) {
		t.Errorf("image file: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	wantError(t, h.do(t, httptest.NewRequest("GET", "/api/images/2/file", nil)), 410, KindGone)     // file removed
	wantError(t, h.do(t, httptest.NewRequest("GET", "/api/images/4/file", nil)), 410, KindGone)     // file changed
	wantError(t, h.do(t, httptest.NewRequest("GET", "/api/images/5/file", nil)), 404, KindNotFound) // link out of the root
	wantError(t, h.do(t, httptest.NewRequest("GET", "/api/images/3/file", nil)), 404, KindNotFound) // no file (status, import)
	wantError(t, h.do(t, httptest.NewRequest("GET", "/api/images/5", nil)), 404, KindNotFound)
	wantError(t, h.do(t, httptest.NewRequest("DELETE", "/api/images/1", nil)), 405, KindMethod)
}

func TestIDsThatAreNotNumbers(t *testing.T) {
	h := newHarness(t, nil)
	for _, p := range []string{"/api/faces/abc", "/api/faces/-1", "/api/faces/0", "/api/faces/01", "/api/faces/1e3/crop",
		"/api/images/abc", "/api/images/1.5/file", "/api/images/%2e%2e/file", "/api/images/..%2fetc/file",
		"/api/images/99999999999999999999999/file"} {
		wantError(t, h.do(t, httptest.NewRequest("GET", p, nil)), 400, KindBadRequest)
	}
}

// TestPathTraversal sends raw request lines to a real listener (so neither
// the client nor httptest cleans them) and follows redirects: no response
// may carry a file from outside the catalog.
func TestPathTraversal(t *testing.T) {
	h := newHarness(t, nil)
	ts := httptest.NewServer(h.srv)
	defer ts.Close()
	paths := []string{
		"/api/images/../../etc/passwd",
		"/api/images/%2e%2e/%2e%2e/etc/passwd",
		"/api/images/%2e%2e%2f%2e%2e%2fetc%2fpasswd/file",
		"/api/images/1/../../../../etc/passwd",
		"/api/images/1/file/../../../../../etc/passwd",
		"/api/faces/..%2f..%2f..%2fetc%2fpasswd/crop",
		"/assets/../../../../etc/passwd",
		"/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
		"/assets/..%2f..%2f..%2fetc%2fpasswd",
		"/..%2f..%2f..%2fetc/passwd",
		"/api/images//etc/passwd",
		"/api/images/1/file%00",
		"/api/persons/..%2f..%2fetc%2fpasswd",
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			for hop := 0; hop < 5; hop++ {
				conn, err := net.Dial("tcp", ts.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", p)
				resp, err := http.ReadResponse(newReader(conn), nil)
				if err != nil {
					conn.Close()
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				conn.Close()
				if bytes.Contains(body, []byte("root:")) {
					t.Fatalf("%s served /etc/passwd", p)
				}
				if resp.StatusCode/100 == 3 {
					p = resp.Header.Get("Location")
					continue
				}
				if resp.StatusCode == 200 && !strings.HasPrefix(p, "/api/images/1/file") {
					t.Fatalf("%s: 200 %q", p, body)
				}
				if resp.StatusCode != 200 && resp.StatusCode < 400 {
					t.Fatalf("%s: status %d", p, resp.StatusCode)
				}
				return
			}
			t.Fatalf("redirect loop")
		})
	}
}

func TestToken(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Token = "s3cret" })
	wantError(t, h.do(t, httptest.NewRequest("GET", "/api/health", nil)), 401, KindUnauthorized)
	r := httptest.NewRequest("GET", "/api/health", nil)
	r.Header.Set("Authorization", "Bearer wrong")
	wantError(t, h.do(t, r), 401, KindUnauthorized)
	r = httptest.NewRequest("GET", "/api/health", nil)
	r.Header.Set("Authorization", "Bearer s3cret")
	if w := h.do(t, r); w.Code != 200 {
		t.Errorf("bearer: %d", w.Code)
	}
	r = httptest.NewRequest("GET", "/api/faces/1/crop", nil)
	r.AddCookie(&http.Cookie{Name: TokenCookie, Value: "s3cret"})
	if w := h.do(t, r); w.Code != 200 {
		t.Errorf("cookie: %d", w.Code)
	}
	// The page itself holds no data and loads without the token.
	if w := h.do(t, httptest.NewRequest("GET", "/", nil)); w.Code != 200 {
		t.Errorf("page: %d", w.Code)
	}
}

func TestCheckBind(t *testing.T) {
	for _, tc := range []struct {
		addr, token string
		insecure    bool
		ok          bool
	}{
		{"127.0.0.1:8080", "", false, true},
		{"localhost:0", "", false, true},
		{"[::1]:8080", "", false, true},
		{"127.3.4.5:80", "", false, true},
		{"0.0.0.0:8080", "", false, false},
		{":8080", "", false, false},
		{"[::]:8080", "", false, false},
		{"192.168.1.2:8080", "", false, false},
		{"0.0.0.0:8080", "t", false, true},
		{"0.0.0.0:8080", "", true, true},
		{"nonsense", "", false, false},
	} {
		err := CheckBind(tc.addr, tc.token, tc.insecure)
		if (err == nil) != tc.ok {
			t.Errorf("CheckBind(%q, %q, %v) = %v", tc.addr, tc.token, tc.insecure, err)
		}
	}
}

func TestFindings(t *testing.T) {
	h := newHarness(t, nil)
	type findings struct{ Findings []Finding }
	get := func(q string) findings {
		return decode[findings](t, h.do(t, httptest.NewRequest("GET", "/api/findings"+q, nil)))
	}
	if f := get(""); len(f.Findings) != 2 {
		t.Fatalf("findings %+v", f)
	}
	if f := get("?kind=outlier"); len(f.Findings) != 1 || f.Findings[0].Key != "outlier-1" {
		t.Errorf("kind filter %+v", f)
	}
	if f := get("?person=BO"); len(f.Findings) != 1 || f.Findings[0].Key != "misfiled-2" {
		t.Errorf("person filter %+v", f)
	}
	wantError(t, h.do(t, httptest.NewRequest("GET", "/api/findings?dismissed=maybe", nil)), 400, KindBadRequest)

	// Dismiss one: it leaves the open list and the CSV export.
	if w := h.do(t, httptest.NewRequest("PUT", "/api/findings/outlier-1/dismissed", nil)); w.Code != 200 {
		t.Fatalf("dismiss: %d %s", w.Code, w.Body)
	}
	if f := get("?dismissed=exclude"); len(f.Findings) != 1 || f.Findings[0].Key != "misfiled-2" {
		t.Errorf("open findings %+v", f)
	}
	if f := get("?dismissed=only"); len(f.Findings) != 1 || !f.Findings[0].Dismissed {
		t.Errorf("dismissed findings %+v", f)
	}
	w := h.do(t, httptest.NewRequest("GET", "/api/findings.csv", nil))
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil || w.Code != 200 || len(rows) != 2 || rows[1][0] != "misfiled-2" {
		t.Fatalf("csv %d %v %v", w.Code, rows, err)
	}
	if reason := rows[1][8]; !strings.HasPrefix(reason, "'=") {
		t.Errorf("formula not neutralised: %q", reason)
	}
	if files := rows[1][7]; files != "bob/b.png; bob/c.png" {
		t.Errorf("files %q", files)
	}
	if w := h.do(t, httptest.NewRequest("DELETE", "/api/findings/outlier-1/dismissed", nil)); w.Code != 200 {
		t.Fatalf("restore: %d", w.Code)
	}
	if f := get("?dismissed=exclude"); len(f.Findings) != 2 {
		t.Errorf("after restore %+v", f)
	}
	wantError(t, h.do(t, httptest.NewRequest("PUT", "/api/findings/nope/dismissed", nil)), 404, KindNotFound)
	wantError(t, h.do(t, httptest.NewRequest("POST", "/api/findings/outlier-1/dismissed", nil)), 405, KindMethod)

	p := decode[struct {
		Min   float32
		Pairs []struct{ A, B faceJSON }
	}](t, h.do(t, httptest.NewRequest("GET", "/api/pairs?min=0.7", nil)))
	if len(p.Pairs) != 1 || p.Min != 0.7 || p.Pairs[0].A.CropURL != "/api/faces/2/crop" {
		t.Errorf("pairs %+v", p)
	}
	if h.cl.min != 0.7 || h.cl.top != DefaultPairsTop {
		t.Errorf("pairs asked with min %v top %d", h.cl.min, h.cl.top)
	}
	for _, q := range []string{"min=2", "min=0.39", "min=0", "min=-1", "min=NaN", "top=0", "top=5001"} {
		wantError(t, h.do(t, httptest.NewRequest("GET", "/api/pairs?"+q, nil)), 400, KindBadRequest)
	}
	// The floor (threshold 0.5 - 0.1) and the cap are accepted; min=0 is
	// honoured where the threshold allows it.
	decode[map[string]any](t, h.do(t, httptest.NewRequest("GET", "/api/pairs?min=0.4&top=5000", nil)))
	if h.cl.min != 0.4 || h.cl.top != MaxPairs {
		t.Errorf("pairs asked with min %v top %d", h.cl.min, h.cl.top)
	}
	h0 := newHarness(t, func(o *Options) { o.Threshold = 0.05 })
	decode[map[string]any](t, h0.do(t, httptest.NewRequest("GET", "/api/pairs?min=0", nil)))
	if h0.cl.min != 0 {
		t.Errorf("min=0 reached the cleanser as %v", h0.cl.min)
	}

	// Without a cleanser the section says how to get one.
	h = newHarness(t, func(o *Options) { o.Cleanser = nil })
	for _, p := range []string{"/api/findings", "/api/findings.csv", "/api/pairs"} {
		wantError(t, h.do(t, httptest.NewRequest("GET", p, nil)), 503, KindUnavailable)
	}
}

func TestServeShutsDownOnCancel(t *testing.T) {
	h := newHarness(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h.srv, ListenOptions{}) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/api/health"); err == nil {
		t.Error("still serving after shutdown")
	}
}

func newReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

// TestHostAndOrigin: without a token only loopback, localhost, the listen
// host and the configured names are served (DNS rebinding), and state
// changes must not come from another origin.
func TestHostAndOrigin(t *testing.T) {
	for _, tc := range []struct {
		name, addr, token, method, path, host, origin string
		status                                        int
	}{
		{"loopback ip", "127.0.0.1:8080", "", "GET", "/api/health", "127.0.0.1:8080", "", 200},
		{"other loopback ip", "127.0.0.1:8080", "", "GET", "/api/health", "127.0.0.2", "", 200},
		{"localhost", "127.0.0.1:8080", "", "GET", "/api/health", "localhost:8080", "", 200},
		{"localhost upper case, dot", "127.0.0.1:8080", "", "GET", "/api/health", "LocalHost.:8080", "", 200},
		{"ipv6 loopback", "[::1]:8080", "", "GET", "/api/health", "[::1]:8080", "", 200},
		{"allowed name", "127.0.0.1:8080", "", "GET", "/api/health", "example.com", "", 200},
		{"rebound name", "127.0.0.1:8080", "", "GET", "/api/stats", "evil.test:8080", "", 403},
		{"rebound name on crops", "127.0.0.1:8080", "", "GET", "/api/faces/1/crop", "attacker.example:8080", "", 403},
		{"localhost lookalike", "127.0.0.1:8080", "", "GET", "/api/health", "localhost.evil.test", "", 403},
		{"no host", "127.0.0.1:8080", "", "GET", "/api/health", "", "", 403},
		{"lan ip on a loopback bind", "127.0.0.1:8080", "", "GET", "/api/health", "192.168.1.2:8080", "", 403},
		{"bound name", "facesearch.lan:8080", "", "GET", "/api/health", "facesearch.lan:8080", "", 200},
		{"bound ip", "192.168.1.2:8080", "", "GET", "/api/health", "192.168.1.2:8080", "", 200},
		{"any ip on a wildcard bind", "0.0.0.0:8080", "", "GET", "/api/health", "10.1.2.3:8080", "", 200},
		{"names not on a wildcard bind", ":8080", "", "GET", "/api/health", "evil.test:8080", "", 403},
		{"token: any host", "0.0.0.0:8080", "t", "GET", "/api/health", "evil.test:8080", "", 200},
		{"page needs no check", "127.0.0.1:8080", "", "GET", "/", "evil.test", "", 200},
		{"same-origin dismiss", "127.0.0.1:8080", "", "PUT", "/api/findings/outlier-1/dismissed", "127.0.0.1:8080", "http://127.0.0.1:8080", 200},
		{"dismiss without origin", "127.0.0.1:8080", "", "DELETE", "/api/findings/outlier-1/dismissed", "127.0.0.1:8080", "", 200},
		{"cross-origin dismiss", "127.0.0.1:8080", "", "PUT", "/api/findings/outlier-1/dismissed", "127.0.0.1:8080", "http://evil.test", 403},
		{"cross-port restore", "127.0.0.1:8080", "", "DELETE", "/api/findings/outlier-1/dismissed", "127.0.0.1:8080", "http://127.0.0.1:9999", 403},
		{"null-origin search", "127.0.0.1:8080", "", "POST", "/api/search", "127.0.0.1:8080", "null", 403},
		{"cross-origin search", "127.0.0.1:8080", "", "POST", "/api/search", "localhost:8080", "http://evil.test", 403},
		{"cross-origin read is the browser's business", "127.0.0.1:8080", "", "GET", "/api/health", "127.0.0.1:8080", "http://evil.test", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.Addr, o.Token = tc.addr, tc.token })
			var r *http.Request
			if tc.method == "POST" {
				r = searchReq(t, "", nil, pngBytes(30, 20))
			} else {
				r = httptest.NewRequest(tc.method, tc.path, nil)
			}
			r.Host = tc.host
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			w := h.do(t, r)
			if tc.status == 403 {
				wantError(t, w, 403, KindForbidden)
			} else if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
		})
	}
}

// TestCrossSiteFetch: without a token, requests a browser labels
// Sec-Fetch-Site: cross-site are refused, GETs included (another site's page
// must not start an audit or load faces); the page's own requests pass.
func TestCrossSiteFetch(t *testing.T) {
	for _, tc := range []struct {
		name, token, site, path string
		status                  int
	}{
		{"cross-site findings", "", "cross-site", "/api/findings", 403},
		{"cross-site crop", "", "cross-site", "/api/faces/1/crop", 403},
		{"same-origin stats", "", "same-origin", "/api/stats", 200},
		{"no header (curl)", "", "", "/api/stats", 200},
		{"user typed the address", "", "none", "/api/stats", 200},
		{"token: the token guards", "t", "cross-site", "/api/stats", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.Addr, o.Token = "127.0.0.1:8080", tc.token })
			r := httptest.NewRequest("GET", tc.path, nil)
			r.Host = "127.0.0.1:8080"
			if tc.site != "" {
				r.Header.Set("Sec-Fetch-Site", tc.site)
			}
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			w := h.do(t, r)
			if tc.status == 403 {
				wantError(t, w, 403, KindForbidden)
			} else if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
		})
	}
}

// TestTokenCookieEscaped: the page stores encodeURIComponent(token); a
// base64 token with + / = must still match.
func TestTokenCookieEscaped(t *testing.T) {
	const token = "q+7/Zx0a9w==" // base64
	h := newHarness(t, func(o *Options) { o.Token = token })
	for _, tc := range []struct {
		name, value string
		status      int
	}{
		{"encodeURIComponent", "q%2B7%2FZx0a9w%3D%3D", 200},
		{"raw", token, 200},
		{"wrong", "q%2B7%2FZx0a9w%3D", 401},
		{"plus read as space", "q 7/Zx0a9w==", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/health", nil)
			r.Header.Set("Cookie", TokenCookie+"="+tc.value)
			if w := h.do(t, r); w.Code != tc.status {
				t.Errorf("cookie %q: status %d, want %d", tc.value, w.Code, tc.status)
			}
		})
	}
}

// TestAuditRunningRetryAfter: a cleanser still at work answers 503
// unavailable at once, with Retry-After.
func TestAuditRunningRetryAfter(t *testing.T) {
	h := newHarness(t, nil)
	h.cl.err = &Error{Kind: KindUnavailable, Msg: "the audit is still running", RetryAfter: 2500 * time.Millisecond}
	for _, p := range []string{"/api/findings", "/api/pairs"} {
		w := h.do(t, httptest.NewRequest("GET", p, nil))
		wantError(t, w, 503, KindUnavailable)
		if got := w.Header().Get("Retry-After"); got != "3" {
			t.Errorf("%s: Retry-After %q, want 3", p, got)
		}
	}
	h = newHarness(t, func(o *Options) { o.Cleanser = nil })
	if w := h.do(t, httptest.NewRequest("GET", "/api/findings", nil)); w.Header().Get("Retry-After") != "" {
		t.Errorf("no cleanser: Retry-After %q", w.Header().Get("Retry-After"))
	}
}

// TestPairsTakesASearchSlot: with every slot busy a pairs request waits
// until its deadline, like a photo search.
func TestPairsTakesASearchSlot(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxSearches = 1; o.RequestTimeout = 50 * time.Millisecond })
	h.srv.slots <- struct{}{}
	wantError(t, h.do(t, httptest.NewRequest("GET", "/api/pairs", nil)), 503, KindTimeout)
	<-h.srv.slots
	decode[map[string]any](t, h.do(t, httptest.NewRequest("GET", "/api/pairs", nil)))
	if len(h.srv.slots) != 0 {
		t.Errorf("pairs kept its slot")
	}
}
