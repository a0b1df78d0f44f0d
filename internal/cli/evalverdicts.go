package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/facesearch/facesearch/internal/eval"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
	"github.com/facesearch/facesearch/internal/verdict"
)

// verdictEval is what 'eval verdicts' measures (docs/VERDICTS.md), also
// written as JSON.
type verdictEval struct {
	Library string    `json:"library"`
	Model   string    `json:"model"`
	When    time.Time `json:"when"`
	Seed    uint64    `json:"seed"`
	// The gallery: every person with two or more faces; split by folder
	// into calibration people (A) and held-out people (B).
	GalleryPeople int `json:"gallery_people"`
	GalleryFaces  int `json:"gallery_faces"`
	CalPeople     int `json:"calibration_people"`
	HeldPeople    int `json:"held_out_people"`
	// Strangers: the people with a single face, never in the gallery.
	Strangers int `json:"strangers"`

	Points []verdictEvalPoint `json:"points"`
	// SampleSeconds is the open-set sampling time on the whole gallery
	// (what index runs).
	SampleSeconds   float64 `json:"sample_seconds_whole_gallery"`
	WholeMatch      float32 `json:"whole_gallery_match_threshold"`
	WholePossible   float32 `json:"whole_gallery_possible_threshold"`
	WholeNonMated   int     `json:"whole_gallery_non_mated_searches"`
	CalNonMated     int     `json:"calibration_non_mated_searches"`
	CalMated        int     `json:"calibration_mated_searches"`
	HeldMated       int     `json:"held_out_mated_searches"`
	HeldNonMatedLOO int     `json:"held_out_leave_one_folder_out_searches"`
	// Outliers counts the gallery faces the sampling set aside as
	// probably misfiled: neither query nor candidate of the held-out mated
	// FNIR, which is optimistic by as much (the rank-1 FNIR keeps every
	// face).
	Outliers int `json:"gallery_outliers_trimmed"`
}

// verdictEvalPoint is one operating point fitted on A and measured on B and
// on the strangers.
type verdictEvalPoint struct {
	Name      string  `json:"name"`
	FPIR      float64 `json:"target_fpir"`
	Threshold float32 `json:"threshold"`
	// Fitted: the rates on the calibration people themselves.
	CalFPIR float64 `json:"calibration_fpir"`
	CalFNIR float64 `json:"calibration_fnir"`
	// Held out: strangers (single-photo people) against the gallery, and
	// the held-out people's leave-one-folder-out searches.
	StrangerFPIR   rate    `json:"stranger_fpir"`
	HeldFPIRLOO    rate    `json:"held_out_fpir_leave_one_folder_out"`
	HeldFNIR       rate    `json:"held_out_fnir"`
	HeldFNIRRank1  rate    `json:"held_out_fnir_rank1"`
	WholeThreshold float32 `json:"whole_gallery_threshold"`
	WholeStrangerF rate    `json:"whole_gallery_stranger_fpir"`
}

// rate is a measured proportion with its count and 95% Wilson interval.
type rate struct {
	Rate  float64 `json:"rate"`
	Count int     `json:"count"`
	Of    int     `json:"of"`
	Lo    float64 `json:"ci95_lo"`
	Hi    float64 `json:"ci95_hi"`
}

func newRate(k, n int) rate {
	r := rate{Count: k, Of: n}
	if n == 0 {
		return r
	}
	p, z := float64(k)/float64(n), 1.96
	d := 1 + z*z/float64(n)
	c := (p + z*z/(2*float64(n))) / d
	h := z * math.Sqrt(p*(1-p)/float64(n)+z*z/(4*float64(n)*float64(n))) / d
	r.Rate, r.Lo, r.Hi = p, max(0, c-h), min(1, c+h)
	return r
}

func (r rate) String() string {
	return fmt.Sprintf("%.2f%% (%d/%d, 95%% CI %.2f–%.2f%%)", 100*r.Rate, r.Count, r.Of, 100*r.Lo, 100*r.Hi)
}

func evalVerdicts(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "eval verdicts", "[flags]\n\nMeasures the open-set verdicts on LFW, on the library 'eval lfw' caches:\nthe gallery is every person with two or more faces; its folders are split in\ntwo halves; the operating points are fitted on the first half's searches and\nmeasured on people not used for the fit: the second half (mated searches:\nFNIR; leave-one-folder-out: FPIR) and the single-photo people, who are not\nin the gallery (FPIR). See docs/VERDICTS.md.")
	lib := fs.String("library", "", "library of embedded LFW (default $FACESEARCH_HOME/eval/lfw-MODEL, made by 'eval lfw')")
	out := fs.String("out", "docs", "directory for eval-verdicts.json ('' writes nothing)")
	fpir := fs.String("fpir", "", fpirUsage)
	seed := fs.Uint64("seed", 1, "seed of the split and the sampling")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"eval verdicts: takes no arguments"}
	}
	fo, err := parseFPIR("eval verdicts", *fpir)
	if err != nil {
		return err
	}
	if *lib == "" {
		*lib = filepath.Join(model.Home(env.Getenv), "eval", "lfw-"+model.DefaultName)
	}
	l, err := openLibrary(ctx, env, *lib, true)
	if err != nil {
		return fmt.Errorf("eval verdicts: %w (run 'facesearch eval lfw DIR' first)", err)
	}
	defer l.Close()
	modelID, err := l.ModelID(ctx)
	if err != nil {
		return err
	}
	faces, err := libraryFaces(ctx, l)
	if err != nil {
		return err
	}
	all := folderGroups(faces)
	var gallery []eval.Group
	var strangers [][]float32
	for _, g := range all {
		switch len(g.Vectors) {
		case 1:
			strangers = append(strangers, g.Vectors[0])
		default:
			gallery = append(gallery, g)
		}
	}
	if len(gallery) < 2*verdict.MinFolders || len(strangers) == 0 {
		return fmt.Errorf("eval verdicts: library %s has %d people with two faces or more and %d with one: not LFW?", l.Dir(), len(gallery), len(strangers))
	}
	rng := rand.New(rand.NewPCG(*seed, 0xa11))
	inA := make([]bool, len(gallery))
	for i, j := range rng.Perm(len(gallery)) {
		inA[j] = i < len(gallery)/2
	}
	knn := faissidx.KNN
	res := verdictEval{Library: l.Dir(), Model: modelID, When: time.Now().UTC(), Seed: *seed,
		GalleryPeople: len(gallery), GalleryFaces: countVecs(gallery), Strangers: len(strangers)}
	for _, a := range inA {
		if a {
			res.CalPeople++
		}
	}
	res.HeldPeople = len(gallery) - res.CalPeople

	// Fit on A.
	so := verdict.SampleOptions{Seed: *seed, KNN: knn, MaxQueries: 1 << 30, Queries: func(g int) bool { return inA[g] }}
	sa, _, err := verdict.Sample(ctx, gallery, so)
	if err != nil {
		return err
	}
	ca, err := verdict.Fit(sa, fo)
	if err != nil {
		return err
	}
	res.CalNonMated, res.CalMated = len(sa.NonMated), len(sa.Mated)
	// Held-out people: their own leave-one-folder-out and mated searches.
	so.Queries = func(g int) bool { return !inA[g] }
	sb, sbRep, err := verdict.Sample(ctx, gallery, so)
	if err != nil {
		return fmt.Errorf("eval verdicts: %w", err)
	}
	res.HeldNonMatedLOO, res.HeldMated, res.Outliers = len(sb.NonMated), len(sb.Mated), sbRep.Outliers
	// The whole gallery, as index calibrates it (default sample size).
	cw, err := verdict.Calibrate(ctx, gallery, verdict.SampleOptions{KNN: knn}, fo)
	if err != nil {
		return err
	}
	res.SampleSeconds, res.WholeMatch, res.WholePossible, res.WholeNonMated = cw.SampleSeconds, cw.Match.Threshold, cw.Possible.Threshold, cw.NonMatedSearches

	// Strangers against the gallery: best score of each.
	var base []float32
	var owner []int
	for g, gr := range gallery {
		for _, v := range gr.Vectors {
			base = append(base, v...)
			owner = append(owner, g)
		}
	}
	dim := len(gallery[0].Vectors[0])
	var q []float32
	for _, v := range strangers {
		q = append(q, v...)
	}
	ss, _, err := faissidx.KNN(q, base, dim, 1)
	if err != nil {
		return err
	}
	// Held-out rank-1: the best other face of the gallery (self and
	// near-duplicates skipped) must be the person's, at the threshold.
	type probe struct {
		score float32
		right bool
	}
	var rank1 []probe
	var bq []float32
	var bOwner []int
	for g, gr := range gallery {
		if inA[g] {
			continue
		}
		for _, v := range gr.Vectors {
			bq = append(bq, v...)
			bOwner = append(bOwner, g)
		}
	}
	const kk = 8
	bs, br, err := faissidx.KNN(bq, base, dim, kk)
	if err != nil {
		return err
	}
	for i := range bOwner {
		for j := i * kk; j < (i+1)*kk; j++ {
			if br[j] < 0 || bs[j] >= 0.95 { // itself or a near-duplicate
				continue
			}
			rank1 = append(rank1, probe{bs[j], owner[br[j]] == bOwner[i]})
			break
		}
	}
	for _, p := range []struct {
		name string
		a, w verdict.Point
	}{{"match", ca.Match, cw.Match}, {"possible", ca.Possible, cw.Possible}} {
		t := p.a.Threshold
		pt := verdictEvalPoint{Name: p.name, FPIR: p.a.FPIR, Threshold: t, CalFPIR: p.a.MeasuredFPIR, CalFNIR: p.a.FNIR, WholeThreshold: p.w.Threshold}
		pt.StrangerFPIR = newRate(countAbove32(ss, t), len(ss))
		pt.WholeStrangerF = newRate(countAbove32(ss, p.w.Threshold), len(ss))
		pt.HeldFPIRLOO = newRate(countAbove64(sb.NonMated, t), len(sb.NonMated))
		pt.HeldFNIR = newRate(len(sb.Mated)-countAbove64(sb.Mated, t), len(sb.Mated))
		miss := 0
		for _, r := range rank1 {
			if !r.right || r.score < t {
				miss++
			}
		}
		pt.HeldFNIRRank1 = newRate(miss, len(rank1))
		res.Points = append(res.Points, pt)
	}

	w := env.Stdout
	fmt.Fprintf(w, "gallery: %d LFW people with two faces or more (%d faces); fitted on %d of them (%d non-mated, %d mated searches), held out %d; %d single-photo people as strangers\n",
		res.GalleryPeople, res.GalleryFaces, res.CalPeople, res.CalNonMated, res.CalMated, res.HeldPeople, res.Strangers)
	for _, p := range res.Points {
		fmt.Fprintf(w, "%s at FPIR %g: threshold %.4f (fitted FPIR %.2f%%, FNIR %.2f%%)\n", p.Name, p.FPIR, p.Threshold, 100*p.CalFPIR, 100*p.CalFNIR)
		fmt.Fprintf(w, "  strangers' FPIR         %s\n", p.StrangerFPIR)
		fmt.Fprintf(w, "  held-out FPIR (LOFO)    %s\n", p.HeldFPIRLOO)
		fmt.Fprintf(w, "  held-out FNIR           %s (%d gallery faces trimmed as outliers)\n", p.HeldFNIR, res.Outliers)
		fmt.Fprintf(w, "  held-out FNIR (rank 1)  %s\n", p.HeldFNIRRank1)
		fmt.Fprintf(w, "  whole-gallery threshold %.4f: strangers' FPIR %s\n", p.WholeThreshold, p.WholeStrangerF)
	}
	fmt.Fprintf(w, "sampling the whole gallery as index does (%d non-mated searches): %.2f s\n", res.WholeNonMated, res.SampleSeconds)
	if *out != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		f := filepath.Join(*out, "eval-verdicts.json")
		if err := os.WriteFile(f, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("eval verdicts: %w", err)
		}
		fmt.Fprintf(w, "wrote %s\n", f)
	}
	return nil
}

func countAbove32(v []float32, t float32) int {
	n := 0
	for _, x := range v {
		if x >= t {
			n++
		}
	}
	return n
}

func countAbove64(v []float64, t float32) int {
	n := 0
	for _, x := range v {
		if float32(x) >= t {
			n++
		}
	}
	return n
}
