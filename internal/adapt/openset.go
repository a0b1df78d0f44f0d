package adapt

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/facesearch/facesearch/internal/vecindex"
)

// KNN is an exact inner-product k-nearest-neighbour search (vecindex.KNN):
// for each of the len(queries)/dim queries, k scores and row positions in
// base, best first (row −1 past the base's end). The library passes
// faiss's BLAS search; nil uses GoKNN.
type KNN = vecindex.KNN

// GoKNN is KNN through gonum's float32 matrix product (pure Go).
func GoKNN(queries, base []float32, dim, k int) ([]float32, []int64, error) {
	nq, nb := len(queries)/dim, len(base)/dim
	scores := make([]float32, nq*k)
	rows := make([]int64, nq*k)
	for i := range scores {
		scores[i], rows[i] = -math.MaxFloat32, -1
	}
	if nq == 0 || nb == 0 {
		return scores, rows, nil
	}
	eachScoreRow(queries, base, dim, func(q int, s []float32) {
		top := topK(s, k)
		for j, r := range top {
			scores[q*k+j], rows[q*k+j] = s[r], int64(r)
		}
	})
	return scores, rows, nil
}

// eachScoreRow calls fn with the inner products of each query with every
// base row (the slice is reused between calls).
func eachScoreRow(queries, base []float32, dim int, fn func(q int, scores []float32)) {
	nq, nb := len(queries)/dim, len(base)/dim
	const chunk = 128
	c := make([]float32, chunk*nb)
	for start := 0; start < nq; start += chunk {
		rows := min(chunk, nq-start)
		a := blas32.General{Rows: rows, Cols: dim, Stride: dim, Data: queries[start*dim : (start+rows)*dim]}
		b := blas32.General{Rows: nb, Cols: dim, Stride: dim, Data: base}
		cm := blas32.General{Rows: rows, Cols: nb, Stride: nb, Data: c[:rows*nb]}
		blas32.Gemm(blas.NoTrans, blas.Trans, 1, a, b, 0, cm)
		for r := range rows {
			fn(start+r, c[r*nb:(r+1)*nb])
		}
	}
}

// topK returns the positions of the k largest values, largest first.
func topK(s []float32, k int) []int {
	k = min(k, len(s))
	if k == 1 {
		best := 0
		for i, v := range s {
			if v > s[best] {
				best = i
			}
		}
		return []int{best}
	}
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s[idx[a]] > s[idx[b]] })
	return idx[:k]
}

// ThresholdAt returns the lowest score threshold t such that at most a
// share fpir of the non-mated scores are ≥ t (a score equal to t counts as a
// match).
func ThresholdAt(nonMated []float64, fpir float64) (float64, error) {
	if len(nonMated) == 0 {
		return 0, errors.New("no non-mated scores")
	}
	s := append([]float64(nil), nonMated...)
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	allowed := int(math.Floor(fpir * float64(len(s))))
	if allowed >= len(s) {
		return s[len(s)-1], nil
	}
	return math.Nextafter(s[allowed], math.Inf(1)), nil
}

// RateAt returns the share of scores ≥ t.
func RateAt(scores []float64, t float64) float64 {
	if len(scores) == 0 {
		return 0
	}
	n := 0
	for _, s := range scores {
		if s >= t {
			n++
		}
	}
	return float64(n) / float64(len(scores))
}

// Top1 is the best gallery hit of a query.
type Top1 struct {
	Score  float64
	Folder int
}

// top1 searches gallery g with queries q (both transformed) and returns the
// best hit of each query.
func top1(q, g Set, knn KNN) ([]Top1, error) {
	if knn == nil {
		knn = GoKNN
	}
	out := make([]Top1, q.Len())
	if q.Len() == 0 {
		return out, nil
	}
	if g.Len() == 0 {
		return nil, errors.New("empty gallery")
	}
	scores, rows, err := knn(q.Vecs, g.Vecs, q.Dim, 1)
	if err != nil {
		return nil, fmt.Errorf("search %d queries in %d faces: %w", q.Len(), g.Len(), err)
	}
	for i := range out {
		if rows[i] < 0 {
			return nil, fmt.Errorf("search: query %d has no hit", i)
		}
		out[i] = Top1{Score: float64(scores[i]), Folder: g.Folders[rows[i]]}
	}
	return out, nil
}

// PairRates are verification figures over all pairs of a set of faces.
type PairRates struct {
	Same, Diff int     // pairs
	AUC        float64 `json:"auc"`
	TAR2       float64 `json:"tar_at_far_1e-2"`
	TAR3       float64 `json:"tar_at_far_1e-3"`
}

func pairFigures(same, diff []float64) PairRates {
	r := PairRates{Same: len(same), Diff: len(diff)}
	if len(same) == 0 || len(diff) == 0 {
		return r
	}
	t2, _ := ThresholdAt(diff, 1e-2)
	t3, _ := ThresholdAt(diff, 1e-3)
	r.TAR2, r.TAR3 = RateAt(same, t2), RateAt(same, t3)
	r.AUC = auc(same, diff)
	return r
}

// auc is the probability that a mated score exceeds a non-mated one (ties
// count half).
func auc(pos, neg []float64) float64 {
	type v struct {
		s   float64
		pos bool
	}
	all := make([]v, 0, len(pos)+len(neg))
	for _, s := range pos {
		all = append(all, v{s, true})
	}
	for _, s := range neg {
		all = append(all, v{s, false})
	}
	sort.Slice(all, func(a, b int) bool { return all[a].s < all[b].s })
	var rankSum float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].s == all[i].s {
			j++
		}
		r := float64(i+j+1) / 2 // mean 1-based rank
		for k := i; k < j; k++ {
			if all[k].pos {
				rankSum += r
			}
		}
		i = j
	}
	np, nn := float64(len(pos)), float64(len(neg))
	return (rankSum - np*(np+1)/2) / (np * nn)
}

// transformSet applies t (nil: identity) to s.
func transformSet(t *Transform, s Set) (Set, error) {
	if t == nil {
		return s, nil
	}
	v, err := t.ApplyAll(s.Vecs)
	if err != nil {
		return Set{}, err
	}
	return Set{Dim: t.Out, Vecs: v, Folders: s.Folders}, nil
}
