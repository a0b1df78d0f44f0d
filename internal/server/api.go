package server

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/facesearch/facesearch/internal/imgio"
	"github.com/facesearch/facesearch/internal/vecindex"
)

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]string{"status": "ok"})
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	st, err := s.opt.Catalog.Stats(r.Context())
	if err != nil {
		s.writeError(w, r, fmt.Errorf("stats: %w", err))
		return
	}
	if st.Threshold == 0 {
		st.Threshold = s.opt.Threshold
	}
	writeJSON(w, st)
}

// faceJSON is a library face with the URLs of its crop and image.
type faceJSON struct {
	FaceRecord
	CropURL  string `json:"crop_url"`
	ImageURL string `json:"image_url"`
}

func withURLs(f FaceRecord) faceJSON {
	return faceJSON{FaceRecord: f, CropURL: cropURL(f.ID), ImageURL: imageURL(f.ImageID)}
}

func cropURL(id int64) string  { return "/api/faces/" + strconv.FormatInt(id, 10) + "/crop" }
func imageURL(id int64) string { return "/api/images/" + strconv.FormatInt(id, 10) + "/file" }

func (s *Server) face(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.opt.Catalog.Face(r.Context(), id)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("face %d: %w", id, err))
		return
	}
	writeJSON(w, withURLs(f))
}

func (s *Server) faceCrop(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, typ, err := s.opt.Catalog.FaceCrop(r.Context(), id)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("crop of face %d: %w", id, err))
		return
	}
	if len(b) == 0 {
		s.writeError(w, r, &Error{Kind: KindNotFound, Msg: fmt.Sprintf("face %d has no stored crop", id)})
		return
	}
	if !strings.HasPrefix(typ, "image/") {
		typ = http.DetectContentType(b)
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

func (s *Server) image(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	im, err := s.opt.Catalog.Image(r.Context(), id)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("image %d: %w", id, err))
		return
	}
	faces := make([]faceJSON, len(im.Faces))
	for i, f := range im.Faces {
		faces[i] = withURLs(f)
	}
	writeJSON(w, struct {
		ImageRecord
		Faces   []faceJSON `json:"faces"`
		FileURL string     `json:"file_url"`
	}{im, faces, imageURL(im.ID)})
}

// imageFile serves the original image of a catalog id: the path comes from
// the catalog, never from the request; it is opened through an os.Root of
// the dataset root (no "..", no symbolic link leading outside), and served
// only while its size and modification time are those the catalog recorded.
func (s *Server) imageFile(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ref, err := s.opt.Catalog.ImageFile(r.Context(), id)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("image %d: %w", id, err))
		return
	}
	f, st, err := openRef(id, ref)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	typ := http.DetectContentType(head[:n])
	if !strings.HasPrefix(typ, "image/") {
		// Formats the browser sniffer does not know (TIFF); only files
		// that decoded as images (status ok) are served.
		typ = "application/octet-stream"
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// openRef opens the file of image id inside its dataset root and checks it
// against the catalog's record.
func openRef(id int64, ref FileRef) (*os.File, os.FileInfo, error) {
	rel := filepath.FromSlash(ref.Path)
	if ref.Root == "" || !filepath.IsLocal(rel) {
		return nil, nil, fmt.Errorf("image %d: catalog path %q is not inside the dataset root %q", id, ref.Path, ref.Root)
	}
	root, err := os.OpenRoot(ref.Root)
	if err != nil {
		return nil, nil, fmt.Errorf("image %d: dataset root: %w", id, err)
	}
	defer root.Close()
	// Stat first: opening a FIFO or device that replaced the photo would
	// block the handler for good, beyond any request timeout.
	if pre, err := root.Stat(rel); err == nil && !pre.Mode().IsRegular() {
		return nil, nil, &Error{Kind: KindNotFound, Msg: fmt.Sprintf("image %d: %s is not a regular file", id, ref.Path)}
	}
	f, err := root.Open(rel)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, &Error{Kind: KindGone, Msg: fmt.Sprintf("image %d: %s was removed from the dataset since it was indexed", id, ref.Path), Err: err}
		}
		if lst, lerr := os.Lstat(filepath.Join(ref.Root, rel)); lerr == nil && lst.Mode()&os.ModeSymlink != 0 {
			return nil, nil, &Error{Kind: KindNotFound, Msg: fmt.Sprintf("image %d: %s is a symbolic link leading outside the dataset root: not served", id, ref.Path), Err: err}
		}
		return nil, nil, &Error{Kind: KindNotFound, Msg: fmt.Sprintf("image %d: %s cannot be opened inside the dataset root: %v", id, ref.Path, err), Err: err}
	}
	st, err := f.Stat()
	switch {
	case err != nil || !st.Mode().IsRegular():
		f.Close()
		return nil, nil, &Error{Kind: KindNotFound, Msg: fmt.Sprintf("image %d: %s is not a regular file", id, ref.Path), Err: err}
	case st.Size() != ref.Size || !st.ModTime().Equal(ref.ModTime):
		f.Close()
		return nil, nil, &Error{Kind: KindGone, Msg: fmt.Sprintf("image %d: %s changed since it was indexed (size or modification time differ): run facesearch index and restart the server", id, ref.Path)}
	}
	return f, st, nil
}

// searchRequest is the JSON form of a search.
type searchRequest struct {
	Embedding []float32 `json:"embedding"`
	K         int       `json:"k"`
}

type queryFaceJSON struct {
	Index   int        `json:"index"`
	Box     [4]float32 `json:"box"`
	Score   float32    `json:"score"`
	Primary bool       `json:"primary"`
}

type matchJSON struct {
	Rank       int        `json:"rank"`
	FaceID     int64      `json:"face_id"`
	ImageID    int64      `json:"image_id"`
	Similarity float32    `json:"similarity"`
	File       string     `json:"file"`
	Person     string     `json:"person"`
	Box        [4]float32 `json:"box"`
	SamePerson bool       `json:"same_person"`
	Verdict    string     `json:"verdict,omitempty"`
	// AboveMatch: a person other than the verdict's, also above the match
	// level (verdict possible).
	AboveMatch bool   `json:"above_match,omitempty"`
	CropURL    string `json:"crop_url"`
	ImageURL   string `json:"image_url"`
}

type personJSON struct {
	Person     string  `json:"person"`
	Best       float32 `json:"best"`
	Count      int     `json:"count"`
	SamePerson bool    `json:"same_person"`
	Verdict    string  `json:"verdict,omitempty"`
	AboveMatch bool    `json:"above_match,omitempty"`
	FaceID     int64   `json:"face_id"`
}

type searchResponse struct {
	Image     *imageSize      `json:"image,omitempty"`
	Faces     []queryFaceJSON `json:"faces"`
	Face      int             `json:"face"`
	K         int             `json:"k"`
	Threshold float32         `json:"threshold"`
	// Similarity names the similarity of the scores ("raw",
	// "adapted:<id>").
	Similarity string             `json:"similarity"`
	Verdict    *Verdict           `json:"verdict,omitempty"`
	Matches    []matchJSON        `json:"matches"`
	Persons    []personJSON       `json:"persons"`
	TimingMS   map[string]float64 `json:"timing_ms"`
}

type imageSize struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// search answers POST /api/search: a multipart photo (field "photo", with
// optional fields or query parameters "k" and "face") or a JSON embedding.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.opt.MaxUpload)
	q := r.URL.Query()
	kStr, faceStr := q.Get("k"), q.Get("face")
	resp := searchResponse{Threshold: s.opt.Threshold, Similarity: s.searchSimilarity(), TimingMS: map[string]float64{}}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		s.searchEmbedding(w, r, kStr, &resp)
	case "multipart/form-data":
		s.searchUpload(w, r, kStr, faceStr, &resp)
	default:
		s.writeError(w, r, errorf(KindBadRequest, "send the photo as multipart/form-data (field \"photo\") or an embedding as application/json, not %q", r.Header.Get("Content-Type")))
	}
}

// searchEmbedding answers a search with an embedding (application/json
// searchRequest).
func (s *Server) searchEmbedding(w http.ResponseWriter, r *http.Request, kStr string, resp *searchResponse) {
	var req searchRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			s.writeError(w, r, fmt.Errorf("search body: %w", err))
			return
		}
		s.writeError(w, r, &Error{Kind: KindBadRequest, Msg: "search body: " + err.Error(), Err: err})
		return
	}
	if req.K != 0 && kStr == "" {
		kStr = strconv.Itoa(req.K)
	}
	if err := checkVector(req.Embedding, s.opt.Searcher.Dim()); err != nil {
		s.writeError(w, r, err)
		return
	}
	resp.Faces = []queryFaceJSON{}
	s.searchVector(w, r, req.Embedding, kStr, resp)
}

// searchUpload answers a search with a photo (multipart/form-data, field
// "photo"; k and face as query or form fields) in a search slot: through the
// library's photo search use case when the searcher has one, else the
// detector's faces and the vector search.
func (s *Server) searchUpload(w http.ResponseWriter, r *http.Request, kStr, faceStr string, resp *searchResponse) {
	if err := s.bufferBody(w, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.acquire(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	defer s.release()
	img, name, form, dt, err := s.readPhoto(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp.TimingMS["decode"] = ms(dt)
	if kStr == "" {
		kStr = form["k"]
	}
	if faceStr == "" {
		faceStr = form["face"]
	}
	b := img.Bounds()
	resp.Image = &imageSize{b.Dx(), b.Dy()}
	if ps, ok := s.opt.Searcher.(PhotoSearcher); ok {
		s.searchPhoto(w, r, ps, img, name, kStr, faceStr, resp)
		return
	}
	t0 := time.Now()
	faces, primary, err := s.opt.Detector.Faces(r.Context(), img)
	resp.TimingMS["detect_embed"] = ms(time.Since(t0))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("faces of %s: %w", name, err))
		return
	}
	if len(faces) == 0 {
		s.writeError(w, r, errorf(KindNoFace, "no face found in %s", name))
		return
	}
	if primary < 0 || primary >= len(faces) {
		primary = largest(faces)
	}
	resp.Faces = make([]queryFaceJSON, len(faces))
	for i, f := range faces {
		resp.Faces[i] = queryFaceJSON{Index: i + 1, Box: f.Box, Score: f.Score, Primary: i == primary}
	}
	// Faces are numbered from 1, as in the CLI.
	pick, err := intParam(faceStr, "face", primary+1, 1, len(faces))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp.Face = pick
	s.searchVector(w, r, faces[pick-1].Embedding, kStr, resp)
}

// searchVector is the search both formats share: the judged search of vec
// (or the plain one, for a searcher without judgement) and the response.
func (s *Server) searchVector(w http.ResponseWriter, r *http.Request, vec []float32, kStr string, resp *searchResponse) {
	k, err := intParam(kStr, "k", s.opt.DefaultK, 1, s.opt.MaxK)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp.K = k
	t0 := time.Now()
	var ms0 []Match
	if js, ok := s.opt.Searcher.(JudgedSearcher); ok {
		ms0, resp.Verdict, err = js.SearchJudged(r.Context(), vec, k)
	} else {
		ms0, err = s.opt.Searcher.Search(r.Context(), vec, k)
	}
	resp.TimingMS["search"] = ms(time.Since(t0))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("search: %w", err))
		return
	}
	resp.Matches, resp.Persons = s.rank(ms0, resp.Verdict)
	writeJSON(w, resp)
}

// searchPhoto answers a photo search through the library's photo search
// use case (PhotoSearcher): its face choice and numbering, as the CLI.
func (s *Server) searchPhoto(w http.ResponseWriter, r *http.Request, ps PhotoSearcher, img *image.RGBA, name, kStr, faceStr string, resp *searchResponse) {
	k, err := intParam(kStr, "k", s.opt.DefaultK, 1, s.opt.MaxK)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	face, err := intParam(faceStr, "face", 0, 1, 1<<20)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp.K = k
	t0 := time.Now()
	ans, err := ps.SearchPhoto(r.Context(), img, face, k)
	// Detection, embedding and search are one use case here.
	resp.TimingMS["detect_embed"] = ms(time.Since(t0))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("photo %s: %w", name, err))
		return
	}
	resp.Faces = make([]queryFaceJSON, len(ans.Faces))
	for i, f := range ans.Faces {
		resp.Faces[i] = queryFaceJSON{Index: i + 1, Box: f.Box, Score: f.Score, Primary: i+1 == ans.Primary}
	}
	resp.Face, resp.Verdict = ans.Face, ans.Verdict
	resp.Matches, resp.Persons = s.rank(ans.Matches, resp.Verdict)
	writeJSON(w, resp)
}

// rank turns matches into the response's grid and per-person summary (each
// person ranked by its best match).
func (s *Server) rank(ms []Match, v *Verdict) ([]matchJSON, []personJSON) {
	out := make([]matchJSON, len(ms))
	byName := map[string]int{}
	persons := []personJSON{}
	for i, m := range ms {
		same := m.Similarity >= s.opt.Threshold
		rv, above := v.row(m.Similarity, m.Person)
		if rv != "" {
			same = rv == "match"
		}
		out[i] = matchJSON{Rank: i + 1, FaceID: m.FaceID, ImageID: m.ImageID, Similarity: m.Similarity,
			File: m.File, Person: m.Person, Box: m.Box, SamePerson: same, Verdict: rv, AboveMatch: above,
			CropURL: cropURL(m.FaceID), ImageURL: imageURL(m.ImageID)}
		j, ok := byName[m.Person]
		if !ok {
			byName[m.Person] = len(persons)
			persons = append(persons, personJSON{Person: m.Person, Best: m.Similarity, SamePerson: same, Verdict: rv, AboveMatch: above, FaceID: m.FaceID})
			j = len(persons) - 1
		}
		persons[j].Count++
		if m.Similarity > persons[j].Best {
			persons[j].Best, persons[j].SamePerson, persons[j].Verdict, persons[j].AboveMatch, persons[j].FaceID = m.Similarity, same, rv, above, m.FaceID
		}
	}
	sort.SliceStable(persons, func(a, b int) bool { return persons[a].Best > persons[b].Best })
	return out, persons
}

// readPhoto streams the multipart body: the "photo" part is decoded, small
// fields ("k", "face") are returned in form.
func (s *Server) readPhoto(r *http.Request) (img *image.RGBA, name string, form map[string]string, dt time.Duration, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", nil, 0, &Error{Kind: KindBadRequest, Msg: "multipart body: " + err.Error(), Err: err}
	}
	form = map[string]string{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, "", nil, 0, fmt.Errorf("upload over %d bytes: %w", s.opt.MaxUpload, err)
			}
			return nil, "", nil, 0, &Error{Kind: KindBadRequest, Msg: "multipart body: " + err.Error(), Err: err}
		}
		switch p.FormName() {
		case "photo":
			if img != nil {
				return nil, "", nil, 0, errorf(KindBadRequest, "send one photo per search")
			}
			name = p.FileName()
			if name == "" {
				name = "the upload"
			}
			t0 := time.Now()
			img, _, err = imgio.Decode(p, name, imgio.Options{MaxPixels: s.opt.MaxPixels})
			dt = time.Since(t0)
			if err != nil {
				var mb *http.MaxBytesError
				if errors.As(err, &mb) {
					return nil, "", nil, 0, fmt.Errorf("%s: upload over %d bytes: %w", name, s.opt.MaxUpload, err)
				}
				return nil, "", nil, 0, err
			}
		case "k", "face":
			b, err := io.ReadAll(io.LimitReader(p, 32))
			if err != nil {
				return nil, "", nil, 0, fmt.Errorf("field %s: %w", p.FormName(), err)
			}
			form[p.FormName()] = strings.TrimSpace(string(b))
		default:
			// Ignore unknown fields, but read them within the body limit.
			if _, err := io.Copy(io.Discard, p); err != nil {
				return nil, "", nil, 0, fmt.Errorf("field %s: %w", p.FormName(), err)
			}
		}
	}
	if img == nil {
		return nil, "", nil, 0, errorf(KindBadRequest, "no photo: send the image in the multipart field \"photo\"")
	}
	return img, name, form, dt, nil
}

// acquire waits for a search slot until the request's deadline.
func (s *Server) acquire(r *http.Request) error {
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-r.Context().Done():
		return &Error{Kind: KindTimeout, Msg: "the server is busy: no search slot before the deadline", Err: r.Context().Err()}
	}
}

func (s *Server) release() { <-s.slots }

// checkVector validates a query embedding and scales it to unit length.
func checkVector(v []float32, dim int) error {
	if len(v) == 0 {
		return errorf(KindBadRequest, "embedding: missing (want %d numbers)", dim)
	}
	if dim > 0 && len(v) != dim {
		return errorf(KindBadRequest, "embedding: %d numbers, the library's have %d", len(v), dim)
	}
	switch err := vecindex.Normalize(v); {
	case errors.Is(err, vecindex.ErrZero):
		return errorf(KindBadRequest, "embedding: zero vector")
	case err != nil:
		return errorf(KindBadRequest, "embedding: not finite")
	}
	return nil
}

// largest returns the index of the largest face box.
func largest(faces []QueryFace) int {
	best, area := 0, float32(-1)
	for i, f := range faces {
		if a := (f.Box[2] - f.Box[0]) * (f.Box[3] - f.Box[1]); a > area {
			best, area = i, a
		}
	}
	return best
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

// findingFilter selects findings by query parameters: kind, severity,
// person (substring) and dismissed ("include" default, "only", "exclude").
func findingFilter(r *http.Request, defDismissed string) (func(Finding) bool, error) {
	q := r.URL.Query()
	kind, sev, person := q.Get("kind"), q.Get("severity"), strings.ToLower(q.Get("person"))
	dis := q.Get("dismissed")
	if dis == "" {
		dis = defDismissed
	}
	if dis != "include" && dis != "only" && dis != "exclude" {
		return nil, errorf(KindBadRequest, "dismissed=%q: want include, only or exclude", dis)
	}
	return func(f Finding) bool {
		if kind != "" && f.Kind != kind || sev != "" && f.Severity != sev {
			return false
		}
		if dis == "only" && !f.Dismissed || dis == "exclude" && f.Dismissed {
			return false
		}
		if person != "" {
			hit := false
			for _, p := range f.Persons {
				hit = hit || strings.Contains(strings.ToLower(p), person)
			}
			if !hit {
				return false
			}
		}
		return true
	}, nil
}

func (s *Server) cleanser(w http.ResponseWriter, r *http.Request) Cleanser {
	if s.opt.Cleanser == nil {
		s.writeError(w, r, errorf(KindUnavailable, "cleansing is not available in this server: run `facesearch audit`"))
	}
	return s.opt.Cleanser
}

func (s *Server) selectFindings(w http.ResponseWriter, r *http.Request, defDismissed string) ([]Finding, bool) {
	c := s.cleanser(w, r)
	if c == nil {
		return nil, false
	}
	keep, err := findingFilter(r, defDismissed)
	if err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	all, err := c.Findings(r.Context())
	if err != nil {
		s.writeError(w, r, fmt.Errorf("findings: %w", err))
		return nil, false
	}
	out := []Finding{}
	for _, f := range all {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out, true
}

func (s *Server) findings(w http.ResponseWriter, r *http.Request) {
	fs, ok := s.selectFindings(w, r, "include")
	if !ok {
		return
	}
	writeJSON(w, map[string]any{"similarity": cleanseSimilarity(s.opt.Cleanser), "findings": fs})
}

// findingsCSV exports the selected findings (not dismissed ones by default).
func (s *Server) findingsCSV(w http.ResponseWriter, r *http.Request) {
	fs, ok := s.selectFindings(w, r, "exclude")
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="findings.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"key", "kind", "severity", "score", "similarity", "baseline", "persons", "files", "reason", "dismissed"})
	for _, f := range fs {
		files := []string{}
		seen := map[string]bool{}
		for _, e := range f.Evidence {
			for _, x := range []string{e.A.File, e.B.File} {
				if x != "" && !seen[x] {
					seen[x] = true
					files = append(files, x)
				}
			}
		}
		_ = cw.Write([]string{f.Key, f.Kind, f.Severity,
			strconv.FormatFloat(f.Score, 'f', 4, 64),
			strconv.FormatFloat(float64(f.Similarity), 'f', 4, 32),
			strconv.FormatFloat(float64(f.Baseline), 'f', 4, 32),
			csvText(strings.Join(f.Persons, "; ")), csvText(strings.Join(files, "; ")),
			csvText(f.Reason), strconv.FormatBool(f.Dismissed)})
	}
	cw.Flush()
}

// csvText keeps a spreadsheet from reading a text cell as a formula.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (s *Server) dismiss(w http.ResponseWriter, r *http.Request) {
	c := s.cleanser(w, r)
	if c == nil {
		return
	}
	key := r.PathValue("key")
	if key == "" || len(key) > 200 {
		s.writeError(w, r, errorf(KindBadRequest, "finding key %q is not valid", key))
		return
	}
	dismissed := r.Method == http.MethodPut
	if err := c.SetDismissed(r.Context(), key, dismissed); err != nil {
		s.writeError(w, r, fmt.Errorf("finding %q: %w", key, err))
		return
	}
	writeJSON(w, map[string]any{"key": key, "dismissed": dismissed})
}

// Bounds of GET /api/pairs: min may go down to the threshold minus
// PairsMargin (lower bounds make every range search return a large share of
// the library), top up to MaxPairs.
const (
	PairsMargin     = 0.1
	DefaultPairsTop = 200
	MaxPairs        = 5000
)

func (s *Server) pairs(w http.ResponseWriter, r *http.Request) {
	c := s.cleanser(w, r)
	if c == nil {
		return
	}
	q := r.URL.Query()
	min := s.opt.Threshold
	floor := s.opt.Threshold - PairsMargin
	if v := q.Get("min"); v != "" {
		f, err := strconv.ParseFloat(v, 32)
		if err != nil || math.IsNaN(f) || float32(f) < floor-1e-6 || f > 1 {
			s.writeError(w, r, errorf(KindBadRequest, "min=%q: want a similarity in [%.2f, 1] (the threshold %.2f minus %.1f)", v, floor, s.opt.Threshold, PairsMargin))
			return
		}
		min = float32(f)
	}
	top, err := intParam(q.Get("top"), "top", DefaultPairsTop, 1, MaxPairs)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A pairs search range-searches the whole library: it takes a search
	// slot like a photo search.
	if err := s.acquire(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	defer s.release()
	ps, err := c.Pairs(r.Context(), min, top)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("pairs: %w", err))
		return
	}
	type pairJSON struct {
		A          faceJSON `json:"a"`
		B          faceJSON `json:"b"`
		Similarity float32  `json:"similarity"`
	}
	out := make([]pairJSON, len(ps))
	for i, p := range ps {
		out[i] = pairJSON{withURLs(p.A), withURLs(p.B), p.Similarity}
	}
	writeJSON(w, map[string]any{"similarity": cleanseSimilarity(c), "min": min, "pairs": out, "folder_pairs": groupPairs(ps)})
}
