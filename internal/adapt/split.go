package adapt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
)

// SplitOptions describes a library emulated from a labelled set: the first
// People folders (in the given order) keep the first Share of their faces
// as the library; their other faces are mated queries; the other folders'
// faces are strangers.
type SplitOptions struct {
	People   int     // default 20
	Share    float64 // default 0.6
	FPIR     float64 // default 0.01
	Select   SelectOptions
	CrossFit CrossFitOptions
	// AllCandidates also measures every candidate on the split.
	AllCandidates bool
	// Threshold reads the match threshold off non-mated samples (nil:
	// ThresholdAt at FPIR, the point estimate); the library passes the
	// verdict calibration's rule, so that the split runs what index and
	// check run.
	// folders names the folder of each sample (the library's raw
	// calibration and the cross-fitted one both bound the FPIR by
	// resampling folders).
	Threshold func(nonMated []float64, folders []int) (float64, error)
}

// Outcome is what searching the emulated library gives with one similarity
// and the threshold its calibration chose.
type Outcome struct {
	Similarity    string  `json:"similarity"`
	Calibration   string  `json:"calibration"`
	Threshold     float64 `json:"threshold"`
	CalibSamples  int     `json:"calibration_non_mated"`
	Mated         int     `json:"mated_queries"`
	MatedMatch    int     `json:"mated_match"`
	MatedRate     float64 `json:"mated_match_rate"`
	Rank1         float64 `json:"rank1"`
	Strangers     int     `json:"stranger_queries"`
	StrangerMatch int     `json:"stranger_match"`
	StrangerRate  float64 `json:"stranger_match_rate"`
	// OracleMated1 and OracleMated2 are the mated match rates at the
	// thresholds that let through 1× and 2× the target FPIR of these very
	// strangers: the comparison at equal stranger rates, which no
	// calibration can reach (it does not see the strangers).
	OracleMated1 float64 `json:"oracle_mated_at_fpir"`
	OracleMated2 float64 `json:"oracle_mated_at_2fpir"`
}

// SplitResult is the outcome of Split.
type SplitResult struct {
	LibraryFolders  int       `json:"library_folders"`
	LibraryFaces    int       `json:"library_faces"`
	MatedQueries    int       `json:"mated_queries"`
	StrangerFolders int       `json:"stranger_folders"`
	Strangers       int       `json:"stranger_queries"`
	Selection       Selection `json:"selection"`
	Raw             Outcome   `json:"raw"`
	// Adapted uses the best candidate of the selection (kept or not) with
	// a cross-fitted threshold; Leaky the same transform calibrated by
	// leave-one-folder-out on the folders it was fitted on (shown to
	// measure the leak, never used).
	Adapted *Outcome `json:"adapted,omitempty"`
	Leaky   *Outcome `json:"adapted_leaky_calibration,omitempty"`
	Chosen  string   `json:"chosen"`
	// Dropped is the faces the chosen transform's fit left out.
	Dropped int `json:"faces_dropped"`
	// Candidates: every candidate of the selection, cross-fitted (only
	// with SplitOptions.AllCandidates).
	Candidates []Outcome `json:"candidates,omitempty"`
}

// Split emulates a library from s and measures raw and adapted search on
// it. order lists the folder ids in the order that decides which are the
// library's; rows of one folder keep their order in s.
func Split(ctx context.Context, s Set, order []int, opt SplitOptions) (SplitResult, error) {
	if opt.People <= 0 {
		opt.People = 20
	}
	if !(opt.Share > 0 && opt.Share < 1) {
		opt.Share = 0.6
	}
	if !(opt.FPIR > 0 && opt.FPIR < 1) {
		opt.FPIR = DefaultFPIR
	}
	opt.Select.FPIR = opt.FPIR
	if opt.Threshold == nil {
		fpir := opt.FPIR
		opt.Threshold = func(s []float64, _ []int) (float64, error) { return ThresholdAt(s, fpir) }
	}
	if opt.Select.Candidates == nil {
		opt.Select.Candidates = DefaultCandidates()
	}
	var res SplitResult
	if len(order) <= opt.People {
		return res, fmt.Errorf("split: %d folders, need more than the %d library people", len(order), opt.People)
	}
	groups := map[int][]int{}
	for i, f := range s.Folders {
		groups[f] = append(groups[f], i)
	}
	var libIdx, matedIdx, strIdx []int
	for k, f := range order {
		g := groups[f]
		if k >= opt.People {
			strIdx = append(strIdx, g...)
			res.StrangerFolders++
			continue
		}
		n := int(math.Ceil(opt.Share * float64(len(g))))
		libIdx = append(libIdx, g[:n]...)
		matedIdx = append(matedIdx, g[n:]...)
		res.LibraryFolders++
	}
	lib, mated, str := s.Subset(libIdx), s.Subset(matedIdx), s.Subset(strIdx)
	res.LibraryFaces, res.MatedQueries, res.Strangers = lib.Len(), mated.Len(), str.Len()
	if lib.Len() == 0 || mated.Len() == 0 || str.Len() == 0 {
		return res, errors.New("split: empty library, mated or stranger set")
	}
	// Raw: leave-one-folder-out calibration (nothing fitted, nothing leaks).
	lofo, lofoFolders, err := leaveOneFolderOut(lib, opt.Select.KNN)
	if err != nil {
		return res, err
	}
	raw, err := outcome("raw", "leave-one-folder-out", nil, PersonScore{}, lib, mated, str, lofo, lofoFolders, opt)
	if err != nil {
		return res, err
	}
	res.Raw, res.Chosen = raw, "raw"
	sel, err := Select(ctx, lib, opt.Select)
	if err != nil {
		return res, err
	}
	res.Selection = sel
	if sel.Best.Params.Kind == "" {
		return res, nil
	}
	t, err := Fit(lib, sel.Best.Params, opt.Select.Fit)
	if err != nil {
		return res, err
	}
	res.Dropped = t.Dropped
	cf := opt.CrossFit
	cf.KNN, cf.Fit = opt.Select.KNN, opt.Select.Fit
	// As the library decides: the selection's lead must hold at the
	// certified thresholds on the whole (emulated) library.
	cert, samples, err := Certify(ctx, lib, sel.Best.Params, cf, opt.Threshold)
	if err != nil {
		return res, err
	}
	sel.Confirm(cert, opt.Select.MinGain)
	res.Selection = sel
	name := "adapted:" + sel.Best.Params.String()
	ad, err := outcome(name, "cross-fitted", t, sel.Best.Params.Score, lib, mated, str, samples.NonMated, samples.NonMatedFolder, opt)
	if err != nil {
		return res, err
	}
	res.Adapted = &ad
	tl, err := transformSet(t, lib)
	if err != nil {
		return res, err
	}
	leakS, leakFolders, err := leaveOneFolderOut(tl, opt.Select.KNN)
	if err != nil {
		return res, err
	}
	lk, err := outcome(name, "leave-one-folder-out on the fitted folders (leaks)", t, PersonScore{}, lib, mated, str, leakS, leakFolders, opt)
	if err != nil {
		return res, err
	}
	res.Leaky = &lk
	if sel.Keep {
		res.Chosen = name
	}
	if opt.AllCandidates {
		for _, p := range opt.Select.Candidates {
			t, err := Fit(lib, p, opt.Select.Fit)
			if err != nil {
				return res, err
			}
			samples, err := CrossFit(ctx, lib, p, cf)
			if err != nil {
				return res, err
			}
			o, err := outcome("adapted:"+p.String(), "cross-fitted", t, p.Score, lib, mated, str, samples.NonMated, samples.NonMatedFolder, opt)
			if err != nil {
				return res, err
			}
			res.Candidates = append(res.Candidates, o)
		}
	}
	return res, nil
}

// leaveOneFolderOut returns, for every face of s, its best score against
// the faces of the other folders, and the face's folder.
func leaveOneFolderOut(s Set, knn KNN) ([]float64, []int, error) {
	var out []float64
	var folders []int
	groups := groupByFolder(s.Folders)
	for gi, g := range groups {
		var rest []int
		for gj, h := range groups {
			if gj != gi {
				rest = append(rest, h...)
			}
		}
		tops, err := top1(s.Subset(g), s.Subset(rest), knn)
		if err != nil {
			return nil, nil, err
		}
		for _, h := range tops {
			out = append(out, h.Score)
			folders = append(folders, s.Folders[g[0]])
		}
	}
	return out, folders, nil
}

func outcome(name, calib string, t *Transform, ps PersonScore, lib, mated, str Set, nonMated []float64, folders []int, opt SplitOptions) (Outcome, error) {
	o := Outcome{Similarity: name, Calibration: calib, CalibSamples: len(nonMated)}
	thr, err := opt.Threshold(nonMated, folders) // Split sets it
	if err != nil {
		return o, err
	}
	o.Threshold = thr
	g, err := transformSet(t, lib)
	if err != nil {
		return o, err
	}
	mq, err := transformSet(t, mated)
	if err != nil {
		return o, err
	}
	sq, err := transformSet(t, str)
	if err != nil {
		return o, err
	}
	mt, err := rankAll(mq, g, ps, opt.Select.KNN, nil)
	if err != nil {
		return o, err
	}
	st, err := rankAll(sq, g, ps, opt.Select.KNN, nil)
	if err != nil {
		return o, err
	}
	o.Mated, o.Strangers = len(mt), len(st)
	r1 := 0
	for i, h := range mt {
		if h.Folder == mated.Folders[i] {
			r1++
			if h.Score >= thr {
				o.MatedMatch++
			}
		}
	}
	for _, h := range st {
		if h.Score >= thr {
			o.StrangerMatch++
		}
	}
	var strS []float64
	for _, h := range st {
		strS = append(strS, h.Score)
	}
	for k, f := range []float64{opt.FPIR, 2 * opt.FPIR} {
		ot, _ := ThresholdAt(strS, f)
		n := 0
		for i, h := range mt {
			if h.Folder == mated.Folders[i] && h.Score >= ot {
				n++
			}
		}
		if k == 0 {
			o.OracleMated1 = float64(n) / float64(len(mt))
		} else {
			o.OracleMated2 = float64(n) / float64(len(mt))
		}
	}
	o.MatedRate = float64(o.MatedMatch) / float64(o.Mated)
	o.Rank1 = float64(r1) / float64(o.Mated)
	o.StrangerRate = float64(o.StrangerMatch) / float64(o.Strangers)
	return o, nil
}

// NonMatedPair is a face and its most similar face in another folder.
type NonMatedPair struct {
	Score float64
	A, B  int // rows
}

// WorstNonMated returns the n faces of s (raw) whose best score against
// another folder is highest: what sets the open-set threshold.
func WorstNonMated(s Set, n int) []NonMatedPair {
	out := make([]NonMatedPair, s.Len())
	eachScoreRow(s.Vecs, s.Vecs, s.Dim, func(i int, sc []float32) {
		out[i] = NonMatedPair{Score: math.Inf(-1), A: i, B: -1}
		for j, v := range sc {
			if s.Folders[j] != s.Folders[i] && float64(v) > out[i].Score {
				out[i].Score, out[i].B = float64(v), j
			}
		}
	})
	sort.Slice(out, func(a, b int) bool { return out[a].Score > out[b].Score })
	return out[:min(n, len(out))]
}
