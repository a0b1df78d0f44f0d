// Package adapt learns a similarity adapted to a library's own people from
// its folders: a linear map applied to the raw L2-normalised embeddings,
// followed by L2 normalisation, so that the adapted similarity is again a
// cosine (an inner product of unit vectors) searched by the same exact scan.
//
// Kinds, from the weakest to the strongest change:
//   - centre: subtract the population mean (the library's folders' mean);
//   - wccn: centre, PCA to Dim dimensions, whiten the within-folder scatter
//     (shrunk by Shrink toward its mean eigenvalue);
//   - lda: wccn followed by the between-folder directions (at most
//     folders−1 of them).
//
// Which kind is kept, and whether any is kept at all, is decided by Select:
// cross-validation over people with the open-set (1:N) criterion. Package
// adapt is pure Go (gonum for the linear algebra); it knows nothing of the
// catalog or the library directory.
package adapt

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/facesearch/facesearch/internal/vecindex"
)

// Kind is a family of transforms.
type Kind string

// Kinds of transform. KindRaw is the identity (the raw cosine).
const (
	KindRaw    Kind = "raw"
	KindCentre Kind = "centre"
	KindWCCN   Kind = "wccn"
	KindLDA    Kind = "lda"
)

// Params chooses one transform of a kind.
type Params struct {
	Kind Kind `json:"kind"`
	// Dim is the PCA dimension before whitening (wccn, lda); 0 or more than
	// the data allows uses the largest useful one.
	Dim int `json:"dim,omitempty"`
	// Shrink in [0,1] pulls the within-folder scatter toward its mean
	// eigenvalue: 0 whitens fully, 1 does not whiten (wccn, lda).
	Shrink float64 `json:"shrink,omitempty"`
	// OutDim caps the LDA dimensions (0: folders−1).
	OutDim int `json:"out_dim,omitempty"`
	// Score is the person score searches judge with in this similarity
	// (the zero value: the best face's similarity).
	Score PersonScore `json:"score,omitzero"`
}

// String names the parameters compactly ("wccn d=128 s=0.5", with the
// person score when it is not the best face's: "wccn d=128 s=0.5 top3").
func (p Params) String() string {
	if !p.Score.IsMax() {
		return p.transformString() + " " + p.Score.String()
	}
	return p.transformString()
}

func (p Params) transformString() string {
	switch p.Kind {
	case KindWCCN:
		return fmt.Sprintf("wccn d=%d s=%.2g", p.Dim, p.Shrink)
	case KindLDA:
		s := fmt.Sprintf("lda d=%d s=%.2g", p.Dim, p.Shrink)
		if p.OutDim > 0 {
			s += fmt.Sprintf(" out=%d", p.OutDim)
		}
		return s
	}
	return string(p.Kind)
}

// Set is labelled training data: N vectors of dimension Dim (row-major in
// Vecs, unit length) and the folder (person) index of each.
type Set struct {
	Dim     int
	Vecs    []float32
	Folders []int
}

// Len returns the number of vectors.
func (s Set) Len() int { return len(s.Folders) }

// Row returns vector i.
func (s Set) Row(i int) []float32 { return s.Vecs[i*s.Dim : (i+1)*s.Dim] }

// Subset returns the rows idx (copied).
func (s Set) Subset(idx []int) Set {
	out := Set{Dim: s.Dim, Vecs: make([]float32, 0, len(idx)*s.Dim), Folders: make([]int, 0, len(idx))}
	for _, i := range idx {
		out.Vecs = append(out.Vecs, s.Row(i)...)
		out.Folders = append(out.Folders, s.Folders[i])
	}
	return out
}

// FitOptions tunes Fit.
type FitOptions struct {
	// KeepOutliers fits on every face; by default faces that look misfiled
	// (closer to another folder's centroid than to their own) or are
	// outliers of their folder are left out of the fit.
	KeepOutliers bool
	// MaxPerFolder caps the faces of one folder used in the fit (0: 200),
	// which bounds the fit's cost on huge libraries; the cap is taken
	// evenly over the folder's faces.
	MaxPerFolder int
	// KNN, if set, finds each face's nearest other-folder centroid (the
	// outlier test) through BLAS; nil uses GoKNN.
	KNN KNN
	// MaxFaces caps the faces of the whole fit (0: 10,000): beyond it
	// folders are taken evenly (the scatter of 512 dimensions is well
	// estimated long before).
	MaxFaces int
	// Weighting of the folders in the mean and the scatters: WeightCapped
	// (default), WeightFaces or WeightFolders.
	Weighting Weighting
}

// Weighting says how much each folder counts in a fit.
type Weighting string

// Weightings.
const (
	// WeightCapped: a folder counts as its number of faces, capped at the
	// median folder size.
	WeightCapped Weighting = "capped"
	// WeightFaces: every face counts the same (huge folders dominate).
	WeightFaces Weighting = "faces"
	// WeightFolders: every folder counts the same.
	WeightFolders Weighting = "folders"
)

// Transform maps a raw embedding to an adapted unit vector:
// y = normalise((x − Mean)·Matrix). Matrix is In×Out row-major; nil means
// the identity (centring only).
type Transform struct {
	Params  Params `json:"params"`
	In      int    `json:"in"`
	Out     int    `json:"out"`
	Mean    Floats `json:"mean"`
	Matrix  Floats `json:"matrix,omitempty"`
	Folders int    `json:"folders"`       // folders fitted on
	Faces   int    `json:"faces"`         // faces fitted on
	Dropped int    `json:"faces_dropped"` // faces left out as misfiled or outliers
}

// ErrTooFew is returned when there are too few folders to fit a transform.
var ErrTooFew = errors.New("too few folders with at least two faces")

// Fit learns a transform of kind p.Kind from s.
func Fit(s Set, p Params, opt FitOptions) (*Transform, error) {
	if p.Kind == KindRaw {
		return nil, errors.New("adapt: the raw similarity has no transform")
	}
	pr, err := Prepare(s, opt)
	if err != nil {
		return nil, err
	}
	return pr.Fit(p)
}

// Prepared holds what every transform fitted on one set shares: the
// population mean, the within- and between-folder scatters and the PCA of
// the total scatter (the costly eigendecomposition, done once).
type Prepared struct {
	base    Transform
	sw, sb  *mat.SymDense
	pca     *mat.Dense // eigenvectors of the total scatter, largest first
	folders int
}

// Prepare computes the statistics of s that Prepared.Fit needs.
func Prepare(s Set, opt FitOptions) (*Prepared, error) {
	if s.Dim <= 0 || len(s.Vecs) != s.Len()*s.Dim {
		return nil, fmt.Errorf("adapt: %d floats for %d vectors of dimension %d", len(s.Vecs), s.Len(), s.Dim)
	}
	groups := capTotal(capGroups(groupByFolder(s.Folders), opt.MaxPerFolder), opt.MaxFaces)
	groups, dropped, err := inliers(s, groups, opt.KeepOutliers, opt.KNN)
	if err != nil {
		return nil, fmt.Errorf("adapt: outliers: %w", err)
	}
	multi := 0
	faces := 0
	for _, g := range groups {
		faces += len(g)
		if len(g) >= 2 {
			multi++
		}
	}
	if multi < 2 {
		return nil, fmt.Errorf("adapt: %w (%d)", ErrTooFew, multi)
	}
	d := s.Dim
	// Folder weights: min(size, median size). A few huge folders do not
	// define the population, and a folder of two photos counts less than a
	// typical one (its scatter is mostly noise).
	sizes := make([]int, 0, len(groups))
	for _, g := range groups {
		sizes = append(sizes, len(g))
	}
	sort.Ints(sizes)
	capW := float64(max(2, sizes[len(sizes)/2]))
	means := make([][]float64, len(groups))
	weights := make([]float64, len(groups))
	mu := make([]float64, d)
	var wsum float64
	for c, g := range groups {
		m := make([]float64, d)
		for _, i := range g {
			for j, v := range s.Row(i) {
				m[j] += float64(v)
			}
		}
		for j := range m {
			m[j] /= float64(len(g))
		}
		means[c] = m
		switch opt.Weighting {
		case WeightFaces:
			weights[c] = float64(len(g))
		case WeightFolders:
			weights[c] = 1
		case WeightCapped, "":
			weights[c] = math.Min(float64(len(g)), capW)
		default:
			return nil, fmt.Errorf("adapt: unknown weighting %q", opt.Weighting)
		}
		wsum += weights[c]
		for j := range m {
			mu[j] += weights[c] * m[j]
		}
	}
	for j := range mu {
		mu[j] /= wsum
	}
	base := Transform{In: d, Out: d, Mean: toF32(mu), Folders: len(groups), Faces: faces, Dropped: dropped}
	// Within-folder scatter Sw (folders with ≥ 2 faces) and between-folder
	// scatter Sb, both weighted per folder.
	sw := mat.NewSymDense(d, nil)
	sb := mat.NewSymDense(d, nil)
	var swW float64
	const chunk = 1024
	buf := make([]float64, 0, chunk*d)
	rows := 0
	flush := func() {
		if rows == 0 {
			return
		}
		sw.SymRankK(sw, 1, mat.NewDense(rows, d, buf[:rows*d]).T())
		buf, rows = buf[:0], 0
	}
	bm := make([]float64, 0, len(groups)*d)
	for c, g := range groups {
		w := weights[c] / wsum
		cw := math.Sqrt(w)
		for j := range d {
			bm = append(bm, cw*(means[c][j]-mu[j]))
		}
		if len(g) < 2 {
			continue
		}
		swW += w
		rw := math.Sqrt(w / float64(len(g)-1))
		for _, i := range g {
			for j, v := range s.Row(i) {
				buf = append(buf, rw*(float64(v)-means[c][j]))
			}
			rows++
			if rows == chunk {
				flush()
			}
		}
	}
	flush()
	sw.ScaleSym(1/swW, sw)
	sb.SymRankK(sb, 1, mat.NewDense(len(groups), d, bm).T())
	// PCA on the total scatter St = Sw + Sb.
	st := mat.NewSymDense(d, nil)
	st.AddSym(sw, sb)
	pca, err := topEigen(st, min(d, faces-1))
	if err != nil {
		return nil, fmt.Errorf("adapt: PCA: %w", err)
	}
	return &Prepared{base: base, sw: sw, sb: sb, pca: pca, folders: len(groups)}, nil
}

// Fit builds the transform p from the prepared statistics.
func (pr *Prepared) Fit(p Params) (*Transform, error) {
	t := pr.base
	t.Params = p
	t.Mean = append([]float32(nil), pr.base.Mean...)
	switch p.Kind {
	case KindCentre:
		return &t, nil
	case KindWCCN, KindLDA:
	case KindRaw:
		return nil, errors.New("adapt: the raw similarity has no transform")
	default:
		return nil, fmt.Errorf("adapt: unknown kind %q", p.Kind)
	}
	d, avail := pr.pca.Dims()
	sw, sb := pr.sw, pr.sb
	k := p.Dim
	if k <= 0 || k > avail {
		k = avail
	}
	pca := pr.pca.Slice(0, d, 0, k)
	// Sw in the PCA space, shrunk toward its mean eigenvalue, then S^-1/2.
	var swp mat.Dense
	swp.Product(pca.T(), sw, pca)
	sws := mat.NewSymDense(k, nil)
	tr := 0.0
	for i := range k {
		tr += swp.At(i, i)
	}
	lam := math.Max(0, math.Min(1, p.Shrink))
	for i := range k {
		for j := i; j < k; j++ {
			v := (1 - lam) * (swp.At(i, j) + swp.At(j, i)) / 2
			if i == j {
				v += lam * tr / float64(k)
			}
			sws.SetSym(i, j, v)
		}
	}
	isqrt, err := invSqrt(sws)
	if err != nil {
		return nil, fmt.Errorf("adapt: within-folder scatter: %w", err)
	}
	var m mat.Dense
	m.Mul(pca, isqrt) // d×k
	if p.Kind == KindLDA {
		// Between-folder scatter in the whitened space; its top directions.
		var sbw mat.Dense
		sbw.Product(isqrt.T(), pca.T(), sb, pca, isqrt)
		sbs := mat.NewSymDense(k, nil)
		for i := range k {
			for j := i; j < k; j++ {
				sbs.SetSym(i, j, (sbw.At(i, j)+sbw.At(j, i))/2)
			}
		}
		out := pr.folders - 1
		if p.OutDim > 0 && p.OutDim < out {
			out = p.OutDim
		}
		out = min(out, k)
		v, err := topEigen(sbs, out)
		if err != nil {
			return nil, fmt.Errorf("adapt: LDA: %w", err)
		}
		var lm mat.Dense
		lm.Mul(&m, v)
		m = lm
	}
	_, t.Out = m.Dims()
	t.Matrix = make([]float32, d*t.Out)
	for i := range d {
		for j := range t.Out {
			t.Matrix[i*t.Out+j] = float32(m.At(i, j))
		}
	}
	return &t, nil
}

// topEigen returns the eigenvectors of the k largest eigenvalues of a, as
// the columns of an n×k matrix.
func topEigen(a *mat.SymDense, k int) (*mat.Dense, error) {
	var e mat.EigenSym
	if !e.Factorize(a, true) {
		return nil, errors.New("eigendecomposition did not converge")
	}
	n := a.SymmetricDim()
	var vecs mat.Dense
	e.VectorsTo(&vecs)
	// Eigenvalues come in ascending order: take the last k columns, largest first.
	out := mat.NewDense(n, k, nil)
	for j := range k {
		col := n - 1 - j
		for i := range n {
			out.Set(i, j, vecs.At(i, col))
		}
	}
	return out, nil
}

// invSqrt returns a^-1/2 of a symmetric positive definite matrix.
func invSqrt(a *mat.SymDense) (*mat.Dense, error) {
	var e mat.EigenSym
	if !e.Factorize(a, true) {
		return nil, errors.New("eigendecomposition did not converge")
	}
	vals := e.Values(nil)
	var vecs mat.Dense
	e.VectorsTo(&vecs)
	n := len(vals)
	top := vals[n-1]
	if !(top > 0) {
		return nil, errors.New("scatter is zero")
	}
	scaled := mat.DenseCopyOf(&vecs)
	for j, v := range vals {
		v = math.Max(v, top*1e-6) // numerically singular directions: do not blow up
		f := 1 / math.Sqrt(v)
		for i := range n {
			scaled.Set(i, j, scaled.At(i, j)*f)
		}
	}
	var out mat.Dense
	out.Mul(scaled, vecs.T())
	return &out, nil
}

// groupByFolder returns the row indices of each folder, in folder order of
// first appearance.
func groupByFolder(folders []int) [][]int {
	idx := map[int]int{}
	var groups [][]int
	for i, f := range folders {
		g, ok := idx[f]
		if !ok {
			g = len(groups)
			idx[f] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

// capGroups keeps at most maxPer rows of each group, evenly spaced.
func capGroups(groups [][]int, maxPer int) [][]int {
	if maxPer <= 0 {
		maxPer = 200
	}
	out := make([][]int, len(groups))
	for c, g := range groups {
		if len(g) <= maxPer {
			out[c] = g
			continue
		}
		for j := range maxPer {
			out[c] = append(out[c], g[j*len(g)/maxPer])
		}
	}
	return out
}

// capTotal keeps evenly spaced groups until at most maxFaces rows remain.
func capTotal(groups [][]int, maxFaces int) [][]int {
	if maxFaces <= 0 {
		maxFaces = 10000
	}
	total := 0
	for _, g := range groups {
		total += len(g)
	}
	if total <= maxFaces {
		return groups
	}
	keep := int(float64(len(groups)) * float64(maxFaces) / float64(total))
	keep = max(keep, 2)
	out := make([][]int, 0, keep)
	for j := range keep {
		out = append(out, groups[j*len(groups)/keep])
	}
	return out
}

// inliers drops, from folders of at least 3 faces, the faces closer to
// another folder's centroid than to their own folder's (the face excluded)
// while also below their folder's typical similarity to its centroid
// (median − 2·MAD, the MAD at least 0.03), and those far below it
// (median − 4·MAD). It returns the kept groups and
// how many faces were dropped.
func inliers(s Set, groups [][]int, keepAll bool, knn KNN) ([][]int, int, error) {
	if keepAll || len(groups) < 2 {
		return groups, 0, nil
	}
	d := s.Dim
	sums := make([][]float64, len(groups))
	cents := make([][]float32, len(groups))
	for c, g := range groups {
		sum := make([]float64, d)
		for _, i := range g {
			for j, v := range s.Row(i) {
				sum[j] += float64(v)
			}
		}
		sums[c] = sum
		cents[c] = unit64(sum)
	}
	// Best other-folder centroid of every face, by one matrix product.
	var rows []int
	for _, g := range groups {
		rows = append(rows, g...)
	}
	cm := make([]float32, 0, len(groups)*d)
	for _, c := range cents {
		cm = append(cm, c...)
	}
	folderOf := make(map[int]int, len(rows))
	for c, g := range groups {
		for _, i := range g {
			folderOf[i] = c
		}
	}
	q := s.Subset(rows)
	if knn == nil {
		knn = GoKNN
	}
	k := min(2, len(groups))
	scores, hits, err := knn(q.Vecs, cm, d, k)
	if err != nil {
		return nil, 0, err
	}
	bestOther := make(map[int]float64, len(rows))
	for r, i := range rows {
		bestOther[i] = math.Inf(-1)
		for j := range k {
			if c := hits[r*k+j]; c >= 0 && int(c) != folderOf[i] {
				bestOther[i] = float64(scores[r*k+j])
				break
			}
		}
	}
	out := make([][]int, len(groups))
	dropped := 0
	for c, g := range groups {
		if len(g) < 3 {
			out[c] = g
			continue
		}
		own := make([]float64, len(g))
		misfiled := make([]bool, len(g))
		loo := make([]float64, d)
		for k, i := range g {
			x := s.Row(i)
			for j := range d {
				loo[j] = sums[c][j] - float64(x[j])
			}
			own[k] = float64(dot(x, unit64(loo)))
			misfiled[k] = bestOther[i] > own[k]
		}
		med := median(own)
		dev := make([]float64, len(own))
		for k, v := range own {
			dev[k] = math.Abs(v - med)
		}
		mad := math.Max(median(dev), 0.03)
		for k, i := range g {
			if (misfiled[k] && own[k] < med-2*mad) || own[k] < med-4*mad {
				dropped++
				continue
			}
			out[c] = append(out[c], i)
		}
		if len(out[c]) < 2 { // never empty a folder: keep it as it was
			dropped -= len(g) - len(out[c])
			out[c] = g
		}
	}
	return out, dropped, nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func unit64(v []float64) []float32 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	out := make([]float32, len(v))
	if s == 0 {
		return out
	}
	f := 1 / math.Sqrt(s)
	for i, x := range v {
		out[i] = float32(x * f)
	}
	return out
}

func toF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func dot(a, b []float32) float32 { return vecindex.Dot(a, b) }

// Apply maps one raw embedding to its adapted unit vector.
func (t *Transform) Apply(x []float32) ([]float32, error) {
	out, err := t.ApplyAll(x)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ApplyAll maps len(xs)/In raw embeddings (row-major) to adapted unit
// vectors (row-major, Out dimensions each).
func (t *Transform) ApplyAll(xs []float32) ([]float32, error) {
	if t == nil {
		return nil, errors.New("adapt: nil transform")
	}
	if len(xs)%t.In != 0 {
		return nil, fmt.Errorf("adapt: %d floats is not a multiple of the transform's input dimension %d", len(xs), t.In)
	}
	n := len(xs) / t.In
	out := make([]float32, n*t.Out)
	const chunk = 2048
	var mm *mat.Dense
	if t.Matrix != nil {
		mm = mat.NewDense(t.In, t.Out, f64(t.Matrix))
	}
	for start := 0; start < n; start += chunk {
		end := min(n, start+chunk)
		rows := end - start
		c := make([]float64, rows*t.In)
		for r := range rows {
			x := xs[(start+r)*t.In : (start+r+1)*t.In]
			for j, v := range x {
				c[r*t.In+j] = float64(v) - float64(t.Mean[j])
			}
		}
		var y []float64
		if mm == nil {
			y = c
		} else {
			var p mat.Dense
			p.Mul(mat.NewDense(rows, t.In, c), mm)
			y = p.RawMatrix().Data
		}
		for r := range rows {
			row := y[r*t.Out : (r+1)*t.Out]
			var s float64
			for _, v := range row {
				s += v * v
			}
			if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
				return nil, fmt.Errorf("adapt: vector %d maps to zero or a non-finite vector", start+r)
			}
			f := 1 / math.Sqrt(s)
			dst := out[(start+r)*t.Out : (start+r+1)*t.Out]
			for j, v := range row {
				dst[j] = float32(v * f)
			}
		}
	}
	return out, nil
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// Floats is a float32 vector stored in JSON as base64 of its little-endian
// bytes: a 512×256 matrix parses in a millisecond instead of a tenth of a
// second as numbers.
type Floats []float32

// MarshalJSON encodes f as a base64 string.
func (f Floats) MarshalJSON() ([]byte, error) {
	b := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

// UnmarshalJSON decodes a base64 string (or a JSON array of numbers).
func (f *Floats) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '[' {
		var v []float32
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		*f = v
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("float vector: %w", err)
	}
	if len(b)%4 != 0 {
		return fmt.Errorf("float vector: %d bytes is not a multiple of 4", len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	*f = out
	return nil
}
