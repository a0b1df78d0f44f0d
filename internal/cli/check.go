package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/sync/errgroup"
	"golang.org/x/term"

	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/report"
	"github.com/facesearch/facesearch/internal/verdict"
)

// CheckSchema names the JSON document printed by 'check --json'
// (docs/VERDICTS.md).
const CheckSchema = "facesearch.check/v1"

// Photo-level verdicts of check besides verdict's.
const (
	verdictNoFace = "no_face"
	verdictError  = "error"
)

type checkJSON struct {
	Schema      string          `json:"schema"`
	Library     string          `json:"library"`
	Model       string          `json:"model"`
	Calibration calibrationJSON `json:"calibration"`
	Counts      map[string]int  `json:"counts"`
	Photos      []checkPhoto    `json:"photos"`
	Elapsed     float64         `json:"elapsed_seconds"`
}

// checkPhoto is one photo; its verdict is its primary face's.
type checkPhoto struct {
	File         string      `json:"file"`
	Verdict      string      `json:"verdict"`
	Person       string      `json:"person"`
	PersonB64    string      `json:"person_b64,omitempty"`
	Similarity   float64     `json:"similarity"`
	StrangerRate *float64    `json:"stranger_rate"`
	StrangerText string      `json:"stranger_text,omitempty"`
	Margin       *float64    `json:"margin"`
	Face         int         `json:"face"` // number of the primary face (1-based; 0: none)
	Error        string      `json:"error,omitempty"`
	Faces        []checkFace `json:"faces"`
	risk         float64
	crops        map[int][]byte // query crops by face number (for --html)
}

type checkFace struct {
	Face    int        `json:"face"` // 1-based, detection order
	Primary bool       `json:"primary"`
	Box     [4]float64 `json:"box"`
	Score   float64    `json:"score"`
	VerdictJSON
	Matches []checkMatch `json:"matches"`
}

type checkMatch struct {
	FaceID     int64   `json:"face_id"`
	Person     string  `json:"person"`
	File       string  `json:"file"`
	Similarity float64 `json:"similarity"`
}

// exitStatus is an error with its own exit status (check --fail-on-match).
type exitStatus struct {
	code int
	msg  string
}

func (e exitStatus) Error() string { return e.msg }

const checkUsage = `[flags] PATH...

Screens photos against the library: is the person in each photo someone in
it? PATHs are photos or folders (searched recursively). Every face is
searched; a photo's verdict is its primary face's (the subject, nearest the
centre):
  match      the score is above what 1% of strangers reach (--fpir)
  possible   above what 10% of strangers reach
  no_match   no confident match
  no_face    no face found
  error      the photo could not be read
The stranger rate says how often a person who is not in the library scores
as high ("1 in 300"), measured on this library's own folders. Photos are
listed riskiest first. See docs/VERDICTS.md.`

func cmdCheck(ctx context.Context, env *cmdEnv, args []string) error {
	start := time.Now()
	fs := newFlagSet(env, "check", checkUsage)
	lib := fs.String("library", "", "library directory (default $FACESEARCH_LIBRARY or ./.facesearch)")
	asJSON := fs.Bool("json", false, "print JSON (schema "+CheckSchema+", docs/VERDICTS.md)")
	asCSV := fs.Bool("csv", false, "print CSV, one row per face")
	htmlOut := fs.String("html", "", "write an HTML report to `FILE`: each query face beside its closest library faces, riskiest first")
	failOnMatch := fs.Bool("fail-on-match", false, "exit with status 3 when any photo is a match (for screening pipelines)")
	fpir := fs.String("fpir", "", fpirUsage)
	k := fs.Int("k", 3, "closest library faces kept per face")
	threads := fs.Int("threads", 1, "onnxruntime threads per model session")
	workers := fs.Int("workers", 0, "photos processed at once (default: CPUs / threads)")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usageError{"check: give at least one photo or folder"}
	}
	if *asJSON && *asCSV {
		return usageError{"check: --json and --csv exclude each other"}
	}
	if *k < 1 {
		return usageError{"check: -k must be ≥ 1"}
	}
	fo, err := parseFPIR("check", *fpir)
	if err != nil {
		return err
	}
	*workers = budgetWorkers(env, *workers, *threads, runtime.NumCPU())
	photos, skipped, err := library.Photos(paths)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	for _, s := range skipped {
		env.Log.Warn("skipped", "path", show(s.Rel), "reason", s.Reason)
	}
	ls, err := openLibrarySearch(ctx, env, *lib)
	if err != nil {
		return err
	}
	defer ls.Close()
	l, m, s := ls.lib, ls.manifest, ls.searcher
	cal, err := searcherCalibration(ctx, s, fo)
	if err != nil {
		return err
	}
	p, err := newPipeline(env, m, *threads)
	if err != nil {
		return err
	}
	defer p.Close()
	det := pipelineDetector{p}
	out := checkJSON{Schema: CheckSchema, Library: l.Dir(), Model: m.Name, Calibration: calibrationOut(cal), Counts: map[string]int{}, Photos: []checkPhoto{}}
	bar := newCheckProgress(env.Stderr, len(photos))
	results := make([]checkPhoto, len(photos))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(*workers)
	for i, file := range photos {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			results[i] = checkOne(gctx, s, det, file, cal, *k, *htmlOut != "")
			bar.Add(1)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	bar.Finish()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("check: interrupted: %w", err)
	}
	for _, ph := range results {
		out.Photos = append(out.Photos, ph)
		out.Counts[ph.Verdict]++
	}
	sort.SliceStable(out.Photos, func(i, j int) bool { return out.Photos[i].risk > out.Photos[j].risk })
	out.Elapsed = float64(time.Since(start).Milliseconds()) / 1000
	switch {
	case *asJSON:
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	case *asCSV:
		if err := writeCheckCSV(env.Stdout, &out); err != nil {
			return err
		}
	default:
		printCheck(env.Stdout, &out)
	}
	if *htmlOut != "" {
		if err := writeCheckHTML(ctx, *htmlOut, l, &out); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "wrote %s\n", *htmlOut)
	}
	if n := out.Counts[verdict.Match]; *failOnMatch && n > 0 {
		return exitStatus{3, fmt.Sprintf("check: %d of %d photos match a person of the library", n, len(out.Photos))}
	}
	return nil
}

// checkOne screens one photo.
func checkOne(ctx context.Context, s *library.Searcher, det library.Detector, file string, cal *verdict.Calibration, k int, crops bool) checkPhoto {
	ph := checkPhoto{File: show(file), Faces: []checkFace{}}
	fail := func(v, msg string, risk float64) checkPhoto {
		ph.Verdict, ph.Error, ph.risk = v, msg, risk
		return ph
	}
	img, err := decodeImage(file)
	if err != nil {
		return fail(verdictError, err.Error(), 0.5)
	}
	res, err := s.SearchPhoto(ctx, det, img, library.PhotoOptions{Face: library.FaceAll, Search: library.SearchOptions{K: k, Min: -1}, Calibration: cal})
	if errors.Is(err, library.ErrNoFace) {
		return fail(verdictNoFace, "no face found", 0.25)
	}
	if err != nil {
		return fail(verdictError, err.Error(), 0.5)
	}
	if crops {
		ph.crops = map[int][]byte{}
	}
	for _, fr := range res.Results {
		f := fr.Face
		cf := checkFace{Face: f.Number, Primary: f.Primary, Box: box1(f.Box), Score: r4(f.Score), VerdictJSON: judgementOut(fr.Judged), Matches: []checkMatch{}}
		for _, h := range fr.Hits {
			cf.Matches = append(cf.Matches, checkMatch{FaceID: h.FaceID, Person: show(h.Person), File: show(h.Path), Similarity: r4(h.Similarity)})
		}
		ph.Faces = append(ph.Faces, cf)
		if crops && f.Crop != nil {
			ph.crops[f.Number] = encodeJPEG(f.Crop)
		}
		if f.Primary {
			j := cf.VerdictJSON
			ph.Verdict, ph.Person, ph.PersonB64, ph.Similarity = j.Verdict, j.Person, j.PersonB64, j.Similarity
			ph.StrangerRate, ph.StrangerText, ph.Margin, ph.Face = j.StrangerRate, j.StrangerText, j.Margin, f.Number
			ph.risk = 1 + fr.Judgement.Risk() + float64(fr.Best.Best.Similarity+1)/1e3
		}
	}
	return ph
}

func encodeJPEG(img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil
	}
	return b.Bytes()
}

func rateText(p checkPhoto) string {
	if p.StrangerText == "" {
		return "-"
	}
	return p.StrangerText
}

func marginText(m *float64) string {
	if m == nil {
		return "-"
	}
	return fmt.Sprintf("%.4f", *m)
}

func printCheck(w io.Writer, out *checkJSON) {
	rows := [][]string{{"verdict", "similarity", "stranger rate", "margin", "person", "file"}}
	for _, p := range out.Photos {
		sim, person := fmt.Sprintf("%.4f", p.Similarity), p.Person
		if p.Error != "" {
			sim, person = "-", p.Error
		}
		rows = append(rows, []string{p.Verdict, sim, rateText(p), marginText(p.Margin), person, p.File})
	}
	printTable(w, rows)
	c := out.Calibration
	fmt.Fprintf(w, "\n%d photos: %d match, %d possible, %d no_match, %d no_face, %d error",
		len(out.Photos), out.Counts[verdict.Match], out.Counts[verdict.Possible], out.Counts[verdict.NoMatch], out.Counts[verdictNoFace], out.Counts[verdictError])
	if n := out.Counts[verdict.Uncalibrated]; n > 0 {
		fmt.Fprintf(w, ", %d uncalibrated", n)
	}
	fmt.Fprintln(w)
	if c.Status == verdict.StatusCalibrated {
		fmt.Fprintf(w, "match ≥ %.4f (FPIR %g), possible ≥ %.4f (FPIR %g): from %d non-mated and %d mated searches of the library\n",
			c.MatchThreshold, c.MatchFPIR, c.PossibleThreshold, c.PossibleFPIR, c.NonMatedSearches, c.MatedSearches)
	} else {
		fmt.Fprintf(w, "the library is uncalibrated (%s): similarities are shown without verdicts\n", c.Reason)
	}
}

func writeCheckCSV(w io.Writer, out *checkJSON) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"file", "photo_verdict", "face", "primary", "verdict", "person", "similarity", "stranger_rate", "margin", "error"})
	f4 := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'g', 6, 64)
	}
	for _, p := range out.Photos {
		if len(p.Faces) == 0 {
			cw.Write([]string{csvText(p.File), p.Verdict, "", "", "", "", "", "", "", csvText(p.Error)})
			continue
		}
		for _, f := range p.Faces {
			cw.Write([]string{csvText(p.File), p.Verdict, strconv.Itoa(f.Face), strconv.FormatBool(f.Primary), f.Verdict, csvText(f.Person),
				strconv.FormatFloat(f.Similarity, 'f', 4, 64), f4(f.StrangerRate), f4(f.Margin), ""})
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvText guards a cell against spreadsheet formula injection.
func csvText(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}

func writeCheckHTML(ctx context.Context, file string, l *library.Library, out *checkJSON) error {
	sev := map[string]string{verdict.Match: "high", verdict.Possible: "medium", verdict.NoMatch: "low"}
	r := &report.Report{Title: "facesearch check", Summary: []report.Item{
		{Label: "Library", Value: l.Dir()},
		{Label: "Photos", Value: strconv.Itoa(len(out.Photos))},
		{Label: "Verdicts", Value: fmt.Sprintf("%d match, %d possible, %d no_match, %d no_face, %d error",
			out.Counts[verdict.Match], out.Counts[verdict.Possible], out.Counts[verdict.NoMatch], out.Counts[verdictNoFace], out.Counts[verdictError])},
	}}
	if c := out.Calibration; c.Status == verdict.StatusCalibrated {
		r.Summary = append(r.Summary, report.Item{Label: "Operating points", Value: fmt.Sprintf("match ≥ %.4f (FPIR %g), possible ≥ %.4f (FPIR %g), %d non-mated searches",
			c.MatchThreshold, c.MatchFPIR, c.PossibleThreshold, c.PossibleFPIR, c.NonMatedSearches)})
	} else {
		r.Summary = append(r.Summary, report.Item{Label: "Calibration", Value: "uncalibrated: " + c.Reason})
	}
	sec := report.Section{Title: "Photos, riskiest first", Intro: "Each face of a photo beside the closest faces of the library."}
	for _, p := range out.Photos {
		f := report.Finding{Title: p.File + " — " + p.Verdict, Severity: sev[p.Verdict], Reason: p.Error}
		if p.Error == "" {
			f.Metrics = []report.Item{{Label: "similarity", Value: fmt.Sprintf("%.4f", p.Similarity)}, {Label: "stranger rate", Value: rateText(p)}, {Label: "margin", Value: marginText(p.Margin)}}
		}
		for _, cf := range p.Faces {
			row := report.Match{Note: fmt.Sprintf("face %d: %s", cf.Face, cf.Verdict), Faces: []report.Face{{Crop: p.crops[cf.Face], Person: "query", File: path.Base(p.File)}}}
			for _, m := range cf.Matches {
				crop, _ := l.Crop(ctx, m.FaceID)
				row.Faces = append(row.Faces, report.Face{Crop: crop, Person: m.Person, File: path.Base(m.File)})
				if len(row.Faces) == 2 {
					row.Similarity = float32(m.Similarity)
				}
			}
			f.Matches = append(f.Matches, row)
		}
		sec.Findings = append(sec.Findings, f)
	}
	r.Sections = []report.Section{sec}
	var b bytes.Buffer
	if err := report.Write(&b, r); err != nil {
		return fmt.Errorf("check --html: %w", err)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("check --html: %w", err)
	}
	return nil
}

// checkProgress shows a progress bar on a terminal, nothing otherwise.
type checkProgress struct{ bar *progressbar.ProgressBar }

func newCheckProgress(w io.Writer, total int) *checkProgress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || total < 2 {
		return &checkProgress{}
	}
	return &checkProgress{progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("checking"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("photo"),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())}
}

func (p *checkProgress) Add(n int) {
	if p.bar != nil {
		p.bar.Add(n)
	}
}

func (p *checkProgress) Finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
