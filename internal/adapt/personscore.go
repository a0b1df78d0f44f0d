package adapt

import (
	"fmt"
	"sort"
)

// PersonScore is how a search scores a person (a folder) from the
// similarities of the query to the folder's faces: the decision statistic
// of a verdict. The zero value is the best face's similarity (what a
// search ranks by).
//
//   - Top > 1: the mean of the folder's best Top similarities (all of them
//     when the folder has fewer faces). A stranger tends to match one photo
//     of a lookalike; a known person's query matches several of their
//     photos.
//   - Cohort > 0: minus CohortWeight times the mean best-face similarity of
//     the Cohort best other folders (score normalisation against the
//     library's cohort, in the manner of adaptive s-norm): a query that is
//     close to everyone — a population where different people's cosines run
//     high — is discounted by how close it is to the people it is not.
//
// Calibration samples (adapt.CrossFit, Select) and the library's judged
// search compute it with the same function, Rank.
type PersonScore struct {
	Top          int     `json:"top,omitempty"`
	Cohort       int     `json:"cohort,omitempty"`
	CohortWeight float64 `json:"cohort_weight,omitempty"`
}

// IsMax reports whether ps is the best face's similarity.
func (ps PersonScore) IsMax() bool { return ps.Top <= 1 && (ps.Cohort <= 0 || ps.CohortWeight == 0) }

// String names the statistic compactly ("max", "top3", "top3-c3w0.5").
func (ps PersonScore) String() string {
	if ps.IsMax() {
		return "max"
	}
	s := "max"
	if ps.Top > 1 {
		s = fmt.Sprintf("top%d", ps.Top)
	}
	if ps.Cohort > 0 && ps.CohortWeight != 0 {
		s += fmt.Sprintf("-c%dw%g", ps.Cohort, ps.CohortWeight)
	}
	return s
}

// Hit is one gallery face's similarity to a query.
type Hit struct {
	Folder int
	Score  float64
}

// Ranked is a search's best person under a PersonScore.
type Ranked struct {
	Folder int     // -1: no hit
	Score  float64 // the person score (the statistic judged)
	// Value is the folder's score before the cohort term; Second the
	// same of the best other folder (HasSecond false: none), for the
	// margin.
	Value     float64
	Second    float64
	HasSecond bool
	// Exact is false when the window of hits did not hold enough of the
	// best folder's faces (or of other folders for the cohort) to compute
	// its score exactly: Score is then an upper bound, and the caller
	// should look at more hits.
	Exact bool
}

type folderAgg struct {
	folder int
	scores []float64
	value  float64
	exact  bool
}

// Rank scores the folders of a window of hits (best first: the top hits
// of a search, the query's own excluded as the caller needs) and returns
// the best one. size gives each folder's number of faces in the gallery;
// bound is the lowest score of the search's window (no face outside the
// window scores above it); complete says the window holds every face
// (size and bound are then not used).
func (ps PersonScore) Rank(hits []Hit, size func(folder int) int, bound float64, complete bool) Ranked {
	if len(hits) == 0 {
		return Ranked{Folder: -1, Exact: complete}
	}
	idx := map[int]int{}
	var fs []folderAgg
	for _, h := range hits {
		i, ok := idx[h.Folder]
		if !ok {
			i = len(fs)
			idx[h.Folder] = i
			fs = append(fs, folderAgg{folder: h.Folder})
		}
		fs[i].scores = append(fs[i].scores, h.Score)
	}
	k := max(1, ps.Top)
	for i := range fs {
		f := &fs[i]
		sort.Sort(sort.Reverse(sort.Float64Slice(f.scores)))
		need := min(k, len(f.scores))
		if !complete {
			need = min(k, max(size(f.folder), len(f.scores)))
		}
		have := min(need, len(f.scores))
		sum := 0.0
		for _, v := range f.scores[:have] {
			sum += v
		}
		// Faces beyond the window score at most its bound.
		sum += float64(need-have) * bound
		f.value, f.exact = sum/float64(need), have == need
	}
	// Best by value; ties keep the window's order (best face first).
	order := make([]int, len(fs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return fs[order[a]].value > fs[order[b]].value })
	b := fs[order[0]]
	r := Ranked{Folder: b.folder, Value: b.value, Score: b.value, Exact: b.exact}
	if len(order) > 1 {
		r.Second, r.HasSecond = fs[order[1]].value, true
	}
	if ps.Cohort > 0 && ps.CohortWeight != 0 {
		// The cohort: the other folders' best faces, best first (fs is in
		// the order of each folder's first hit, i.e. its best face).
		var sum float64
		n := 0
		for _, f := range fs {
			if f.folder == b.folder {
				continue
			}
			if n == ps.Cohort {
				break
			}
			sum += f.scores[0]
			n++
		}
		if n < ps.Cohort && !complete {
			r.Exact = false // more folders may lie beyond the window
		}
		if n > 0 {
			r.Score -= ps.CohortWeight * sum / float64(n)
		}
	}
	return r
}

// windowFor is how many hits a calibration search looks at before falling
// back to a full scan: the library's judged search starts from 50 primary
// faces too.
const windowFor = 64

// rankAll scores each query of q against gallery g under ps, excluding for
// query i the gallery faces excl(i, j) reports (nil: none). It searches the
// top windowFor hits through knn and scans the whole gallery for a query
// whose window was not enough (Rank not exact).
func rankAll(q, g Set, ps PersonScore, knn KNN, excl func(i, j int) bool) ([]Ranked, error) {
	if knn == nil {
		knn = GoKNN
	}
	out := make([]Ranked, q.Len())
	if q.Len() == 0 {
		return out, nil
	}
	if g.Len() == 0 {
		return nil, fmt.Errorf("empty gallery")
	}
	sizes := map[int]int{}
	for _, f := range g.Folders {
		sizes[f]++
	}
	size := func(f int) int { return sizes[f] }
	k := min(g.Len(), windowFor)
	if !ps.IsMax() || excl != nil {
		k = min(g.Len(), max(k, 4*max(1, ps.Top)+ps.Cohort))
	}
	scores, rows, err := knn(q.Vecs, g.Vecs, q.Dim, k)
	if err != nil {
		return nil, fmt.Errorf("search %d queries in %d faces: %w", q.Len(), g.Len(), err)
	}
	var redo []int
	for i := range out {
		hits := make([]Hit, 0, k)
		for j := range k {
			r := rows[i*k+j]
			if r < 0 {
				continue
			}
			if excl != nil && excl(i, int(r)) {
				continue
			}
			hits = append(hits, Hit{Folder: g.Folders[r], Score: float64(scores[i*k+j])})
		}
		complete := k == g.Len()
		out[i] = ps.Rank(hits, size, float64(scores[i*k+k-1]), complete)
		if !out[i].Exact {
			redo = append(redo, i)
		}
	}
	if len(redo) > 0 {
		sub := make([]int, len(redo))
		copy(sub, redo)
		qs := q.Subset(sub)
		eachScoreRow(qs.Vecs, g.Vecs, q.Dim, func(r int, sc []float32) {
			i := sub[r]
			hits := make([]Hit, 0, len(sc))
			for j, v := range sc {
				if excl != nil && excl(i, j) {
					continue
				}
				hits = append(hits, Hit{Folder: g.Folders[j], Score: float64(v)})
			}
			sort.Slice(hits, func(a, b int) bool { return hits[a].Score > hits[b].Score })
			out[i] = ps.Rank(hits, nil, 0, true)
		})
	}
	return out, nil
}
