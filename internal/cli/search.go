package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/npz"
	"github.com/facesearch/facesearch/internal/verdict"
)

// SearchSchema names the JSON document printed by 'search --json'
// (documented in docs/LIBRARY.md).
// v2: file is the path relative to the dataset root (v1: the base name), as
// in every JSON document (docs/LIBRARY.md, JSON conventions); path stays, equal
// to file, for v1 readers.
const SearchSchema = "facesearch.search/v2"

type searchJSON struct {
	Schema          string          `json:"schema"`
	Model           string          `json:"model"`
	Threshold       float64         `json:"threshold"`
	ThresholdSource string          `json:"threshold_source"`
	Similarity      string          `json:"similarity"` // "raw" or "adapted:<transform id>" (docs/ADAPTATION.md)
	Index           indexJSON       `json:"index"`
	K               int             `json:"k"`
	Min             *float64        `json:"min"`
	AllFaces        bool            `json:"all_faces"`
	ByPerson        bool            `json:"by_person"`
	Calibration     calibrationJSON `json:"calibration"`
	Queries         []queryJSON     `json:"queries"`
	ElapsedSeconds  float64         `json:"elapsed_seconds"`
}

type indexJSON struct {
	Type     string `json:"type"`
	Faces    int64  `json:"faces"`
	Exact    bool   `json:"exact"`
	NProbe   int    `json:"nprobe,omitempty"`
	EfSearch int    `json:"ef_search,omitempty"`
}

type queryJSON struct {
	Source  string       `json:"source"`
	Face    *qfaceJSON   `json:"face"`
	Error   string       `json:"error,omitempty"`
	Results []resultJSON `json:"results"`
	Persons []personJSON `json:"persons,omitempty"`
	// The verdict on the query (absent on errors): see docs/VERDICTS.md.
	*VerdictJSON
}

type qfaceJSON struct {
	Index   int        `json:"index"` // 1-based, detection order
	Primary bool       `json:"primary"`
	Of      int        `json:"of"`
	Box     [4]float64 `json:"box"`
	Score   float64    `json:"score"`
}

type resultJSON struct {
	Rank       int     `json:"rank"`
	FaceID     int64   `json:"face_id"`
	Similarity float64 `json:"similarity"`
	SamePerson bool    `json:"same_person"`
	Verdict    string  `json:"verdict"`
	// AboveMatch: another person than the best, also above the match level
	// (verdict possible; only the best person is a match).
	AboveMatch bool       `json:"above_match,omitempty"`
	Person     string     `json:"person"`
	File       string     `json:"file"`
	Path       string     `json:"path"`
	PathB64    string     `json:"path_b64,omitempty"`
	PersonB64  string     `json:"person_b64,omitempty"`
	Primary    bool       `json:"primary"`
	Box        [4]float64 `json:"box"`
}

type personJSON struct {
	Rank           int     `json:"rank"`
	Person         string  `json:"person"`
	PersonB64      string  `json:"person_b64,omitempty"`
	BestSimilarity float64 `json:"best_similarity"`
	SamePerson     bool    `json:"same_person"`
	Count          int     `json:"count"`
	BestPath       string  `json:"best_path"`
}

func r4(x float32) float64 { return math.Round(float64(x)*1e4) / 1e4 }

func box1(b [4]float32) [4]float64 {
	var o [4]float64
	for i, v := range b {
		o[i] = math.Round(float64(v)*10) / 10
	}
	return o
}

func b64IfInvalid(s string) string {
	if utf8.ValidString(s) {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(s))
}

func cmdSearch(ctx context.Context, env *cmdEnv, args []string) error {
	start := time.Now()
	f, err := parseSearchFlags(env, args)
	if err != nil {
		return err
	}
	ls, err := openLibrarySearch(ctx, env, f.lib)
	if err != nil {
		return err
	}
	defer ls.Close()
	s, m := ls.searcher, ls.manifest
	r, err := newSearchRun(ctx, f, s, m)
	if err != nil {
		return err
	}
	msg := messagesFor(env.Getenv)
	if f.vector != "" {
		if err := r.searchVectors(ctx); err != nil {
			return err
		}
	}
	if len(f.photos) > 0 {
		if err := r.searchPhotos(ctx, env, m, msg); err != nil {
			return err
		}
	}
	for i := range r.out.Queries {
		if r.out.Queries[i].Results == nil {
			r.out.Queries[i].Results = []resultJSON{}
		}
	}
	r.out.ElapsedSeconds = math.Round(time.Since(start).Seconds()*1000) / 1000
	if err := writeSearch(env, &r.out, f, msg); err != nil {
		return err
	}
	for _, q := range r.out.Queries {
		if q.Error != "" {
			return fmt.Errorf("search: %d of %d queries failed", countFailed(r.out.Queries), len(r.out.Queries))
		}
	}
	return nil
}

// searchFlags are search's parsed and checked command line.
type searchFlags struct {
	lib, vector             string
	photos                  []string // DIRs expanded
	k, faceN, nprobe, ef    int
	threads                 int
	fpir                    verdict.FitOptions
	asJSON, asCSV, byPerson bool
	allFaces                bool
	minSim                  float64
}

func parseSearchFlags(env *cmdEnv, args []string) (*searchFlags, error) {
	fs := newFlagSet(env, "search", "[flags] PHOTO|DIR...\n\nFinds the library faces most similar to the face in each PHOTO (every photo\nunder a DIR; or to the embeddings of --vector FILE.npy), and says whether the\nperson is in the library: match, possible or no_match, with the stranger rate\nof the score (how often a person who is not in the library scores as high)\nand the margin to the next person (docs/VERDICTS.md). To screen many photos,\nuse 'check'.")
	lib := fs.String("library", "", "library directory (default $FACESEARCH_LIBRARY or ./.facesearch)")
	k := fs.Int("k", 10, "results per query (persons with --by-person)")
	faceSel := fs.String("face", "primary", "which face of each photo: primary (the subject, nearest the centre, as index stores it), all, or N (1-based, detection order)")
	fpir := fs.String("fpir", "", fpirUsage)
	asJSON := fs.Bool("json", false, "print JSON (schema "+SearchSchema+", docs/LIBRARY.md)")
	asCSV := fs.Bool("csv", false, "print CSV, one row per result (not with --by-person): "+strings.Join(searchCSVHeader, ","))
	byPerson := fs.Bool("by-person", false, "rank persons by their best face, with face counts")
	vector := fs.String("vector", "", "search the embedding(s) in this .npy file (float32/float64, shape (dim) or (n, dim))")
	minSim := fs.Float64("min", -1, "drop results below this cosine similarity")
	allFaces := fs.Bool("all-faces", false, "include non-primary faces (other faces of group photos)")
	nprobe := fs.Int("nprobe", 0, "IVF lists visited (default: the index's)")
	ef := fs.Int("ef-search", 0, "HNSW efSearch (default: the index's)")
	threads := fs.Int("threads", 1, "onnxruntime threads")
	photos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, err
	}
	if *asCSV && *byPerson { // the CSV has face rows: it would drop the by-person ranking
		return nil, usageError{"search: --csv writes face rows and cannot show the --by-person ranking; use --json or the text output"}
	}
	if photos, err = expandPhotos(photos); err != nil {
		return nil, err
	}
	if *asJSON && *asCSV {
		return nil, usageError{"search: --json and --csv exclude each other"}
	}
	if len(photos) == 0 && *vector == "" {
		return nil, usageError{"search: give at least one PHOTO or --vector FILE.npy"}
	}
	if *k < 1 {
		return nil, usageError{"search: -k must be ≥ 1"}
	}
	faceN, err := parseFaceSel("search", *faceSel)
	if err != nil {
		return nil, err
	}
	fo, err := parseFPIR("search", *fpir)
	if err != nil {
		return nil, err
	}
	return &searchFlags{lib: *lib, vector: *vector, photos: photos, k: *k, faceN: faceN, nprobe: *nprobe, ef: *ef,
		threads: *threads, fpir: fo, asJSON: *asJSON, asCSV: *asCSV, byPerson: *byPerson, allFaces: *allFaces, minSim: *minSim}, nil
}

// searchRun is one search command after the library is open: the searcher,
// its calibration and threshold, the search options, and the output being
// built.
type searchRun struct {
	f   *searchFlags
	s   *library.Searcher
	cal *verdict.Calibration
	thr float32
	opt library.SearchOptions
	out searchJSON
}

func newSearchRun(ctx context.Context, f *searchFlags, s *library.Searcher, m *model.Manifest) (*searchRun, error) {
	thr, thrSrc, err := s.Threshold(ctx, m)
	if err != nil {
		return nil, err
	}
	cal, err := searcherCalibration(ctx, s, f.fpir)
	if err != nil {
		return nil, err
	}
	info := s.Info()
	r := &searchRun{f: f, s: s, cal: cal, thr: thr}
	r.out = searchJSON{
		Schema: SearchSchema, Model: m.Name, Threshold: r4(thr), ThresholdSource: thrSrc, Similarity: s.Similarity(),
		Index: indexJSON{Type: info.Resolved, Faces: info.Count, Exact: info.Exact(), NProbe: info.NProbe, EfSearch: info.EfSearch},
		K:     f.k, AllFaces: f.allFaces, ByPerson: f.byPerson, Queries: []queryJSON{}, Calibration: calibrationOut(cal),
	}
	if f.minSim > -1 {
		v := f.minSim
		r.out.Min = &v
	}
	r.opt = library.SearchOptions{K: f.k, Min: float32(f.minSim), AllFaces: f.allFaces,
		Params: library.SearchParams{NProbe: f.nprobe, EfSearch: f.ef}}
	if f.byPerson {
		r.opt.K = max(10*f.k, 100)
	}
	return r, nil
}

// render fills q with the judged search j: the verdict, the result rows and,
// with --by-person, the person ranking.
func (r *searchRun) render(q queryJSON, j *library.Judged) queryJSON {
	cal, k := r.cal, r.f.k
	// Only the best person can be the same person (a match).
	same := func(sim float32, person string) bool {
		if cal.Calibrated() {
			return person == j.Best.Person && sim >= cal.Match.Threshold
		}
		return sim >= r.thr
	}
	hits := j.Hits
	jo := judgementOut(j)
	q.VerdictJSON = &jo
	q.Results = []resultJSON{}
	if r.f.byPerson {
		for i, p := range library.ByPerson(hits) {
			if i == k {
				break
			}
			q.Persons = append(q.Persons, personJSON{Rank: i + 1, Person: show(p.Person), PersonB64: b64IfInvalid(p.Person),
				BestSimilarity: r4(p.Best.Similarity), SamePerson: same(p.Best.Similarity, p.Person), Count: p.Count, BestPath: show(p.Best.Path)})
		}
		hits = hits[:min(len(hits), k)]
	}
	for i, h := range hits {
		rv, above := rowVerdict(cal, h.Similarity, h.Person == j.Best.Person)
		if j.ScoreName != "" && h.Person == j.Best.Person {
			rv, above = j.Judgement.Verdict, false // judged by the person score, not one face's
		}
		q.Results = append(q.Results, resultJSON{Rank: i + 1, FaceID: h.FaceID, Similarity: r4(h.Similarity),
			SamePerson: same(h.Similarity, h.Person), Verdict: rv, AboveMatch: above, Person: show(h.Person), File: show(h.Path), Path: show(h.Path),
			PathB64: b64IfInvalid(h.Path), PersonB64: b64IfInvalid(h.Person), Primary: h.Primary, Box: box1(h.Box)})
	}
	return q
}

// searchVectors adds a query for each embedding of --vector.
func (r *searchRun) searchVectors(ctx context.Context) error {
	file := r.f.vector
	vecs, err := readNpy(file, r.s.Info().Dim)
	if err != nil {
		return err
	}
	for i, v := range vecs {
		q := queryJSON{Source: file}
		if len(vecs) > 1 {
			q.Source = fmt.Sprintf("%s[%d]", file, i)
		}
		j, err := r.s.SearchJudged(ctx, v, r.opt, r.cal)
		if err != nil {
			q.Error = err.Error()
		} else {
			q = r.render(q, j)
		}
		r.out.Queries = append(r.out.Queries, q)
	}
	return nil
}

// searchPhotos adds a query for each chosen face of each photo; a photo
// that cannot be read or has no face is a failed query, not an error.
func (r *searchRun) searchPhotos(ctx context.Context, env *cmdEnv, m *model.Manifest, msg messages) error {
	p, err := newPipeline(env, m, r.f.threads)
	if err != nil {
		return err
	}
	defer p.Close()
	det := pipelineDetector{p}
	for _, photo := range r.f.photos {
		img, err := decodeImage(photo)
		if err != nil {
			r.out.Queries = append(r.out.Queries, queryJSON{Source: photo, Error: err.Error()})
			continue
		}
		res, err := r.s.SearchPhoto(ctx, det, img, library.PhotoOptions{Face: r.f.faceN, Search: r.opt, Calibration: r.cal})
		switch {
		case errors.Is(err, library.ErrNoFace):
			r.out.Queries = append(r.out.Queries, queryJSON{Source: photo, Error: msg.noFace})
			continue
		case err != nil && res == nil:
			return fmt.Errorf("search %s: %w", photo, err)
		case err != nil:
			r.out.Queries = append(r.out.Queries, queryJSON{Source: photo, Error: err.Error()})
			continue
		}
		for _, fr := range res.Results {
			f := fr.Face
			q := queryJSON{Source: photo, Face: &qfaceJSON{Index: f.Number, Primary: f.Primary, Of: len(res.Faces), Box: box1(f.Box), Score: r4(f.Score)}}
			r.out.Queries = append(r.out.Queries, r.render(q, fr.Judged))
		}
	}
	return nil
}

// writeSearch prints out as CSV, JSON or text.
func writeSearch(env *cmdEnv, out *searchJSON, f *searchFlags, msg messages) error {
	switch {
	case f.asCSV:
		return writeSearchCSV(env.Stdout, out)
	case f.asJSON:
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printSearch(env.Stdout, out, msg)
	return nil
}

func countFailed(qs []queryJSON) int {
	n := 0
	for _, q := range qs {
		if q.Error != "" {
			n++
		}
	}
	return n
}

// parseFaceSel parses --face: primary, all or a 1-based face number.
func parseFaceSel(cmd, v string) (int, error) {
	switch strings.ToLower(v) {
	case "primary", "":
		return library.FacePrimary, nil
	case "all":
		return library.FaceAll, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, usageError{fmt.Sprintf("%s: --face %q: want primary, all or a face number ≥ 1 (faces are numbered from 1 in detection order)", cmd, v)}
	}
	return n, nil
}

// readNpy reads float32 or float64 vectors of dimension dim from a .npy file
// of shape (dim,) or (n, dim) and normalises them. npz.ReadNPYFile validates
// the header before allocating, so a malformed file is an error naming it,
// never a crash.
func readNpy(file string, dim int) ([][]float32, error) {
	a, err := npz.ReadNPYFile(file)
	if err != nil {
		return nil, fmt.Errorf("--vector: %w", err)
	}
	rows := 1
	switch {
	case len(a.Shape) == 1 && a.Shape[0] == dim:
	case len(a.Shape) == 2 && a.Shape[1] == dim && a.Shape[0] > 0:
		rows = a.Shape[0]
	default:
		return nil, fmt.Errorf("--vector %s: shape %v, want (%d) or (n, %d)", file, a.Shape, dim, dim)
	}
	out := make([][]float32, rows)
	for i := range out {
		out[i] = a.Data[i*dim : (i+1)*dim]
		if err := library.Normalize(out[i]); err != nil {
			return nil, fmt.Errorf("--vector %s row %d: %w", file, i, err)
		}
	}
	return out, nil
}

// messages is the small table of labels printed by search.
type messages struct {
	rank, similarity, same, person, file, count, yes, no, noFace, threshold, time, face, of, score, manifest, calibrated string
	verdict                                                                                                              string
}

// messagesFor picks the labels of the locale (LC_ALL, LC_MESSAGES, LANG)
// from the catalogue (messages_ja.go).
func messagesFor(getenv func(string) string) messages {
	p := printer(&cmdEnv{Getenv: getenv})
	return messages{p.Sprintf("rank"), p.Sprintf("similarity"), p.Sprintf("same person"), p.Sprintf("person"), p.Sprintf("file"),
		p.Sprintf("faces"), p.Sprintf("yes"), p.Sprintf("no"), p.Sprintf("no face found"), p.Sprintf("threshold"),
		p.Sprintf("processing time"), p.Sprintf("face"), p.Sprintf("of"), p.Sprintf("score"), p.Sprintf("model manifest"),
		p.Sprintf("calibrated for this library"), p.Sprintf("verdict")}
}

func printSearch(w io.Writer, out *searchJSON, msg messages) {
	for qi, q := range out.Queries {
		if qi > 0 {
			fmt.Fprintln(w)
		}
		head := termText(q.Source)
		if q.Face != nil {
			head += fmt.Sprintf(" — %s %d %s %d, box (%.0f,%.0f)-(%.0f,%.0f), %s %.2f", msg.face, q.Face.Index, msg.of, q.Face.Of,
				q.Face.Box[0], q.Face.Box[1], q.Face.Box[2], q.Face.Box[3], msg.score, q.Face.Score)
		}
		fmt.Fprintln(w, head)
		if q.Error != "" {
			fmt.Fprintf(w, "  %s\n", termText(q.Error))
			continue
		}
		yn := func(b bool) string {
			if b {
				return msg.yes
			}
			return msg.no
		}
		var rows [][]string
		if out.ByPerson {
			rows = append(rows, []string{msg.rank, msg.similarity, msg.same, msg.person, msg.count, msg.file})
			for _, p := range q.Persons {
				rows = append(rows, []string{strconv.Itoa(p.Rank), fmt.Sprintf("%.4f", p.BestSimilarity), yn(p.SamePerson), p.Person, strconv.Itoa(p.Count), path.Base(p.BestPath)})
			}
		} else {
			head := msg.same
			if out.Calibration.Status == verdict.StatusCalibrated {
				head = msg.verdict
			}
			rows = append(rows, []string{msg.rank, msg.similarity, head, msg.file, msg.person})
			for _, r := range q.Results {
				same := yn(r.SamePerson)
				if out.Calibration.Status == verdict.StatusCalibrated {
					same = r.Verdict
					if r.AboveMatch {
						same += " (also above the match level)"
					}
				}
				rows = append(rows, []string{strconv.Itoa(r.Rank), fmt.Sprintf("%.4f", r.Similarity), same, path.Base(r.File), r.Person})
			}
		}
		printTable(w, rows)
		if q.VerdictJSON != nil {
			fmt.Fprintf(w, "  %s\n", verdictLine(*q.VerdictJSON, out.Calibration))
		}
	}
	src := msg.manifest
	switch out.ThresholdSource {
	case library.ThresholdCalibrated:
		src = msg.calibrated
	case library.ThresholdAdapted:
		src = "adapted similarity, cross-fitted calibration"
	}
	if c := out.Calibration; c.Status == verdict.StatusCalibrated {
		fmt.Fprintf(w, "\nverdicts: match ≥ %.4f (FPIR %g), possible ≥ %.4f (FPIR %g), from %d non-mated and %d mated searches of this library\n",
			c.MatchThreshold, c.MatchFPIR, c.PossibleThreshold, c.PossibleFPIR, c.NonMatedSearches, c.MatedSearches)
	} else {
		fmt.Fprintf(w, "\n%s %.4f (%s, %s); library uncalibrated: %s\n", msg.threshold, out.Threshold, out.Model, src, out.Calibration.Reason)
	}
	fmt.Fprintf(w, "similarity: %s\n", out.Similarity)
	fmt.Fprintf(w, "%s %.3f s\n", msg.time, out.ElapsedSeconds)
}

// parseInterspersed parses flags that may appear after positional arguments
// ("search photo.jpg --json") and returns the positional arguments. "--"
// ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// librarySearch is what search and check open: the library read-only, its
// model manifest (or the built-in default for a library that has none yet)
// and its searcher.
type librarySearch struct {
	lib      *library.Library
	manifest *model.Manifest
	searcher *library.Searcher
}

func openLibrarySearch(ctx context.Context, env *cmdEnv, dir string) (*librarySearch, error) {
	l, err := openLibrary(ctx, env, dir, true)
	if err != nil {
		return nil, err
	}
	m, err := l.ManifestOrDefault(ctx)
	if err != nil {
		l.Close()
		return nil, err
	}
	s, err := l.Searcher(ctx)
	if err != nil {
		l.Close()
		return nil, err
	}
	return &librarySearch{lib: l, manifest: m, searcher: s}, nil
}

// Close closes the searcher, then the library.
func (ls *librarySearch) Close() error {
	return errors.Join(ls.searcher.Close(), ls.lib.Close())
}
