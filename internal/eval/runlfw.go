package eval

import (
	"context"
	"fmt"
	"time"

	"github.com/facesearch/facesearch/internal/face"
	"github.com/facesearch/facesearch/internal/vecindex"
)

// LFWOptions configures RunLFW.
type LFWOptions struct {
	Pairs []Pair // the pairs file (ReadPairs); every image must be among Faces
	// Faces are every image of the library, a face or not (face.Face.File is
	// the image's key, Image.Key; Vec nil: no face found).
	Faces []face.Face
	FAR   float64 // false-accept rate for TAR and the calibrated threshold
	// KNN is the identification's exact inner-product search (every face
	// with a vector among all of them, in one call).
	KNN vecindex.KNN
}

// LFWResult is what the LFW protocol measures; it is also written as JSON
// (eval-lfw.json, whose names these are). Dataset, Model, Library and When
// describe the run and are the caller's to fill.
type LFWResult struct {
	Dataset   string    `json:"dataset"`
	Model     string    `json:"model"`
	Library   string    `json:"library"`
	When      time.Time `json:"when"`
	Images    int       `json:"images"`
	NoFace    []string  `json:"images_without_face"`
	Pairs     int       `json:"pairs"`
	NoFacePrs int       `json:"pairs_without_face"`
	Accuracy  float64   `json:"accuracy_mean"`
	AccStd    float64   `json:"accuracy_std"`
	FoldAcc   []float64 `json:"fold_accuracies"`
	FoldThr   []float64 `json:"fold_thresholds"`
	AUC       float64   `json:"auc"`
	FAR       float64   `json:"far"`
	TAR       float64   `json:"tar_at_far"`
	TARThr    float64   `json:"tar_threshold"`
	BestThr   float64   `json:"best_threshold"`
	BestAcc   float64   `json:"best_threshold_accuracy"`
	Calib     struct {
		Threshold   float64 `json:"threshold"`
		MeasuredFAR float64 `json:"measured_far"`
		TAR         float64 `json:"tar"`
		SamePairs   int     `json:"same_pairs"`
		DiffPairs   int     `json:"diff_pairs"`
		Outliers    int     `json:"outliers"`
		Merged      int     `json:"merged_folder_pairs"`
		PairsFAR    float64 `json:"far_on_lfw_pairs"`
		PairsNeg    int     `json:"lfw_diff_pairs"`
		PairsAcc    float64 `json:"accuracy_on_lfw_pairs"`
	} `json:"calibration"`
	HeldOut []LFWHeldOut `json:"held_out_checks"`
	Ident   struct {
		Queries int     `json:"queries"`
		Gallery int     `json:"gallery"`
		Rank1   float64 `json:"rank1"`
		Rank5   float64 `json:"rank5"`
	} `json:"identification"`
	SamePairMean float64 `json:"same_pair_mean"`
	SamePairStd  float64 `json:"same_pair_std"`
	DiffPairMean float64 `json:"diff_pair_mean"`
	DiffPairStd  float64 `json:"diff_pair_std"`

	// What the figures were computed from, for plots and the calibration
	// listing (not in the JSON).
	Verification *Verification `json:"-"`
	Calibration  *Calibration  `json:"-"` // on every folder
	Groups       []Group       `json:"-"` // the folders with a face, in Faces order
	GroupPaths   [][]string    `json:"-"` // each group's image keys
	SameSims     []float64     `json:"-"` // pair similarities, no-face pairs left out
	DiffSims     []float64     `json:"-"`
}

// LFWHeldOut is one held-out calibration check of RunLFW.
type LFWHeldOut struct {
	Name      string  `json:"name"`
	Threshold float64 `json:"threshold"`
	FAR       float64 `json:"held_out_far"`
	TAR       float64 `json:"held_out_tar"`
	DiffPairs int     `json:"held_out_diff_pairs"`
	Within2   bool    `json:"within_factor_2"`
	Misfiled  int     `json:"misfiled_injected"`
	Outliers  int     `json:"outliers_found"`
}

// RunLFW runs the LFW protocol on a library's faces: 10-fold verification
// over the pairs (accuracy, ROC AUC, TAR at FAR), the threshold calibrated
// on the folders without the pairs file and measured on the pairs, two
// held-out checks (calibrate on half the people, measure on the other
// half; the second on the hardest half with 2% of the calibration images
// misfiled), and closed-set identification rank-1/rank-5 over every image
// with a face. An image without a face counts as a wrong decision in every
// pair it is part of and as a miss as a query.
func RunLFW(ctx context.Context, opt LFWOptions) (*LFWResult, error) {
	r := &LFWResult{Images: len(opt.Faces), FAR: opt.FAR}
	if err := r.verify(opt); err != nil {
		return nil, err
	}
	if err := r.calibrate(ctx, opt); err != nil {
		return nil, err
	}
	if err := r.heldOut(ctx, opt); err != nil {
		return nil, err
	}
	if err := r.identify(ctx, opt); err != nil {
		return nil, err
	}
	return r, nil
}

// verify scores the pairs: k-fold accuracy, ROC, TAR at FAR, and the
// similarity distributions.
func (r *LFWResult) verify(opt LFWOptions) error {
	byKey := make(map[string][]float32, len(opt.Faces))
	for _, f := range opt.Faces {
		byKey[f.File] = f.Vec
		if f.Vec == nil {
			r.NoFace = append(r.NoFace, f.File)
		}
	}
	v, err := Verify(opt.Pairs, func(im Image) []float32 { return byKey[im.Key()] }, opt.FAR)
	if err != nil {
		return err
	}
	r.Verification = v
	r.Pairs, r.NoFacePrs = v.Pairs, v.MissingPairs
	r.Accuracy, r.AccStd, r.FoldAcc, r.FoldThr = v.KFold.Mean, v.KFold.Std, v.KFold.Accuracies, v.KFold.Thresholds
	r.AUC, r.TAR, r.TARThr = v.AUC, v.TAR, v.TARThreshold
	r.BestThr, r.BestAcc = v.BestThreshold, v.BestAccuracy
	for _, sc := range v.Scores {
		switch {
		case sc.Sim == MissingSame || sc.Sim == MissingDiff:
		case sc.Same:
			r.SameSims = append(r.SameSims, sc.Sim)
		default:
			r.DiffSims = append(r.DiffSims, sc.Sim)
		}
	}
	r.SamePairMean, r.SamePairStd = MeanStd(r.SameSims)
	r.DiffPairMean, r.DiffPairStd = MeanStd(r.DiffSims)
	return nil
}

// calibrate fits the threshold on the folders (every image, no pairs file)
// and measures it on the pairs.
func (r *LFWResult) calibrate(ctx context.Context, opt LFWOptions) error {
	r.Groups, r.GroupPaths = FolderGroups(opt.Faces)
	c, err := Calibrate(ctx, r.Groups, CalibrateOptions{FAR: opt.FAR, Seed: 1})
	if err != nil {
		return err
	}
	r.Calibration = c
	r.Calib.Threshold, r.Calib.MeasuredFAR, r.Calib.TAR = c.Threshold, c.MeasuredFAR, c.TAR
	r.Calib.SamePairs, r.Calib.DiffPairs, r.Calib.Outliers, r.Calib.Merged = len(c.Same), len(c.Diff), len(c.Outliers), c.MergedGroupPairs
	scores := r.Verification.Scores
	r.Calib.PairsAcc = Accuracy(scores, c.Threshold)
	neg, acc := 0, 0
	for _, sc := range scores {
		if !sc.Same {
			neg++
			if sc.Sim >= c.Threshold {
				acc++
			}
		}
	}
	r.Calib.PairsFAR, r.Calib.PairsNeg = float64(acc)/float64(max(neg, 1)), neg
	return nil
}

// heldOut calibrates on half the people and measures on the other half.
func (r *LFWResult) heldOut(ctx context.Context, opt LFWOptions) error {
	for _, chk := range []struct {
		name    string
		groups  []Group
		misfile float64
	}{
		{"all folders", r.Groups, 0},
		{"hardest half of the folders (most varied photos), 2% of calibration images misfiled", Hardest(r.Groups, 0.5), 0.02},
	} {
		moved := 0
		prep := func(g []Group) []Group {
			if chk.misfile == 0 {
				return g
			}
			var out []Group
			out, moved = Misfile(g, chk.misfile, 7)
			return out
		}
		h, err := CheckCalibration(ctx, chk.groups, CalibrateOptions{FAR: opt.FAR, Seed: 1}, prep)
		if err != nil {
			return fmt.Errorf("%s: %w", chk.name, err)
		}
		r.HeldOut = append(r.HeldOut, LFWHeldOut{Name: chk.name, Threshold: h.Calibration.Threshold, FAR: h.FAR, TAR: h.TAR,
			DiffPairs: h.DiffPairs, Within2: h.Within(2), Misfiled: moved, Outliers: len(h.Calibration.Outliers)})
	}
	return nil
}

// identify runs closed-set identification over every image with a face: one
// exact search of all of them at once (opt.KNN).
func (r *LFWResult) identify(ctx context.Context, opt LFWOptions) error {
	faces := opt.Faces
	labels := make([]string, len(faces))
	var vecs []float32
	var ids []int // the face of each searched vector
	dim := 0
	for i, f := range faces {
		labels[i] = f.Person
		if f.Vec != nil {
			dim = len(f.Vec)
			vecs = append(vecs, f.Vec...)
			ids = append(ids, i)
		}
	}
	if len(ids) == 0 {
		return fmt.Errorf("identification: no image has a face")
	}
	const k = 6 // rank 5 plus the query itself
	_, res, err := opt.KNN(vecs, vecs, dim, k)
	if err != nil {
		return err
	}
	if len(res) != k*len(ids) {
		return fmt.Errorf("identification: %d neighbours for %d queries of k=%d", len(res), len(ids), k)
	}
	row := make(map[int][]int, len(ids))
	for qi, id := range ids {
		nn := make([]int, 0, k)
		for _, j := range res[qi*k : (qi+1)*k] {
			if j >= 0 {
				nn = append(nn, ids[j])
			}
		}
		row[id] = nn
	}
	search := func(_ context.Context, q, _ int) ([]int, error) { return row[q], nil } // nil (no face): a miss
	id, err := Identify(ctx, labels, search, IdentifyOptions{MaxRank: 5})
	if err != nil {
		return err
	}
	r.Ident.Queries, r.Ident.Gallery, r.Ident.Rank1, r.Ident.Rank5 = id.Queries, len(ids), id.Rank(1), id.Rank(5)
	return nil
}

// FolderGroups groups the faces with a vector by person (folder), in the
// order of faces, with each group's files: the folders calibration and the
// LFW protocol measure.
func FolderGroups(faces []face.Face) ([]Group, [][]string) {
	idx := map[string]int{}
	var gs []Group
	var paths [][]string
	for _, f := range faces {
		if f.Vec == nil {
			continue
		}
		i, ok := idx[f.Person]
		if !ok {
			i = len(gs)
			idx[f.Person] = i
			gs = append(gs, Group{Name: f.Person})
			paths = append(paths, nil)
		}
		gs[i].Vectors = append(gs[i].Vectors, f.Vec)
		paths[i] = append(paths[i], f.File)
	}
	return gs, paths
}
