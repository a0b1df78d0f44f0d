package cleanse

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Kind names a kind of audit finding.
type Kind string

// The kinds of audit findings.
const (
	// SamePerson: two folders whose faces match each other about as well as
	// they match themselves.
	SamePerson Kind = "same-person"
	// Misfiled: a face that matches another folder far better than its own.
	Misfiled Kind = "misfiled"
	// Duplicate: the same photo more than once (similarity >= DuplicateSim or
	// byte-identical files). Copies between two folders already found to be
	// one person are counted in that same-person finding instead.
	Duplicate Kind = "duplicate"
	// Outlier: a face far from the other faces of its own coherent folder.
	Outlier Kind = "outlier"
)

// Severity ranks findings: High findings need action, Medium ones a look,
// Low ones are for information.
type Severity int

// Severities, in increasing order.
const (
	Low Severity = iota + 1
	Medium
	High
)

// String returns "low", "medium" or "high".
func (s Severity) String() string {
	switch s {
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// MarshalText makes severities readable in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is one problem found by Audit, with its evidence.
type Finding struct {
	Kind     Kind
	Severity Severity
	// Score orders findings of one severity: 0..1, larger is surer.
	Score float64
	// Persons are the folders concerned: same-person [A, B]; misfiled
	// [own folder, probable folder]; duplicate and outlier: the folders of
	// the faces.
	Persons []string
	// Faces are the faces concerned (misfiled and outlier: the face;
	// duplicate: every copy; same-person: empty).
	Faces []int
	// Evidence are face pairs that show the problem, most telling first.
	Evidence []Pair
	// Similarity is the finding's key figure: the median cross-folder
	// similarity (same-person), the median similarity to the probable folder
	// (misfiled), the copies' similarity (duplicate), the median similarity
	// to the own folder (outlier).
	Similarity float32
	// Baseline is what Similarity is compared with: the folders' own median
	// (same-person, outlier) or the face's median to its own folder
	// (misfiled); 0 for duplicates.
	Baseline float32
	// Reason explains the finding in one sentence.
	Reason string
}

// AuditResult is the outcome of Audit.
type AuditResult struct {
	// Findings, most severe first.
	Findings []Finding
	// Threshold and DuplicateSim are the similarities used.
	Threshold, DuplicateSim float32
	// Faces and Persons count the audited dataset.
	Faces, Persons int
	// CrossPairs is the number of cross-folder face pairs >= Threshold.
	CrossPairs int
}

// Count returns the number of findings of severity s or above.
func (r *AuditResult) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity >= s {
			n++
		}
	}
	return n
}

// Tuning of Audit. Similarities are cosines; the values fit embedding models
// whose same-person pairs score well above Threshold (see docs/CLEANSING.md).
const (
	// maxCompare bounds the faces one face is compared with inside a folder
	// (an even sample of larger folders).
	maxCompare = 1000
	// maxCrossSide bounds each side of an exact folder-pair comparison.
	maxCrossSide = 500
	// sameCandidateFrac: folder pairs with at least this fraction of their
	// face pairs above Threshold are examined as possibly one person.
	sameCandidateFrac = 0.25
	// misfileCandidateFrac: a face is compared with every face of a folder
	// when it matches at least this fraction of them above Threshold.
	misfileCandidateFrac = 0.3
	// misfileMargin is the least gap between the median similarity to the
	// probable folder and to the own folder for a misfiled finding.
	misfileMargin = 0.2
	// coherentMargin: outliers are only looked for in folders whose median
	// self-similarity is at least Threshold + coherentMargin.
	coherentMargin = 0.1
)

// faceStat summarises a face's similarities to the other faces of its folder
// (duplicates of itself left out).
type faceStat struct {
	median, max float32
	n           int // number of faces compared
	best        int32
}

type auditor struct {
	d        *Dataset
	opt      Options
	own      []faceStat // per face
	self     []float32  // per person: median within-folder similarity
	selfOK   []bool     // self is defined (>= 2 faces)
	same     map[int64]bool
	res      *AuditResult
	misfiled map[int32]bool
	// sameCopies counts duplicate photos per same-person folder pair.
	sameCopies map[int64]int
}

// Audit looks for folders that are one person, misfiled faces, duplicates
// and outliers, and returns them ranked by severity and score.
func (d *Dataset) Audit(ctx context.Context, opt Options) (*AuditResult, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &auditor{
		d: d, opt: opt, same: map[int64]bool{}, misfiled: map[int32]bool{}, sameCopies: map[int64]int{},
		res: &AuditResult{Threshold: opt.Threshold, DuplicateSim: opt.DuplicateSim, Faces: d.Len(), Persons: len(d.persons)},
	}
	idx, err := d.buildIndex(opt.Index)
	if err != nil {
		return nil, err
	}
	defer idx.Close()
	keep := func(i, j int32, s float32) bool {
		if d.person[i] != d.person[j] {
			return true
		}
		return !d.sameFile(int(i), int(j)) && (s >= opt.DuplicateSim || d.sameBytes(int(i), int(j)))
	}
	edges, err := d.rangePairs(ctx, opt, "search", idx, opt.Threshold, true, keep)
	if err != nil {
		return nil, err
	}
	if err := a.folderStats(ctx); err != nil {
		return nil, err
	}
	var cross, dups []edge
	for _, e := range edges {
		if d.person[e.a] != d.person[e.b] {
			cross = append(cross, e)
		}
		if a.isDup(e) {
			dups = append(dups, e)
		}
	}
	a.res.CrossPairs = len(cross)
	if err := a.samePersons(ctx, cross); err != nil {
		return nil, err
	}
	if err := a.misfiledFaces(ctx, cross); err != nil {
		return nil, err
	}
	a.duplicates(dups)
	a.outliers()
	for k := range a.res.Findings {
		f := &a.res.Findings[k]
		if f.Kind != SamePerson {
			continue
		}
		pa, pb := int32(sort.SearchStrings(d.persons, f.Persons[0])), int32(sort.SearchStrings(d.persons, f.Persons[1]))
		if n := a.sameCopies[pairKey(pa, pb)]; n > 0 {
			f.Reason += fmt.Sprintf("; %d photos are in both folders", n)
		}
	}
	rankFindings(a.res.Findings)
	return a.res, nil
}

// Housekeeping reports whether f is housekeeping rather than a filing
// problem: copies of one photo inside one folder (every file is where it
// belongs; only the collection is untidy).
func (f *Finding) Housekeeping() bool { return f.Kind == Duplicate && len(f.Persons) == 1 }

// kindOrder ranks kinds within one severity: filing problems first.
func kindOrder(f *Finding) int {
	switch {
	case f.Housekeeping():
		return 3
	case f.Kind == Outlier:
		return 2
	case f.Kind == Duplicate:
		return 1
	}
	return 0 // same-person, misfiled
}

// rankFindings orders findings for a person to act on: filing problems
// (split persons, misfiled images, one photo under two people, outliers) by
// severity and score, then housekeeping (copies inside one folder).
func rankFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(x, y Finding) int {
		return cmp.Or(cmp.Compare(b2i(x.Housekeeping()), b2i(y.Housekeeping())),
			cmp.Compare(y.Severity, x.Severity), cmp.Compare(kindOrder(&x), kindOrder(&y)), cmp.Compare(y.Score, x.Score),
			cmp.Compare(y.Similarity, x.Similarity), slices.Compare(x.Persons, y.Persons),
			slices.Compare(x.Faces, y.Faces))
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (a *auditor) isDup(e edge) bool {
	if a.d.sameFile(int(e.a), int(e.b)) {
		return false
	}
	return e.s >= a.opt.DuplicateSim || (a.d.sameBytes(int(e.a), int(e.b)) && e.s >= a.opt.Threshold)
}

// folderStats computes, per folder, each face's similarities to the other
// faces (an even sample of at most maxCompare) and the folder's median.
func (a *auditor) folderStats(ctx context.Context) error {
	d := a.d
	a.own = make([]faceStat, d.Len())
	a.self = make([]float32, len(d.persons))
	a.selfOK = make([]bool, len(d.persons))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(a.opt.Workers)
	var mu sync.Mutex
	done := 0
	for p := range d.persons {
		g.Go(func() error {
			if err := checkCtx(ctx); err != nil {
				return err
			}
			m := d.members[p]
			var all []float32
			sims := make([]float32, 0, min(len(m), maxCompare))
			for _, i := range m {
				sims = sims[:0]
				st := faceStat{best: -1, max: -1}
				for _, k := range sample(len(m), maxCompare) {
					j := m[k]
					if j == i || d.sameFile(int(i), int(j)) {
						continue
					}
					s := d.Similarity(int(i), int(j))
					if s >= a.opt.DuplicateSim || d.sameBytes(int(i), int(j)) {
						continue // a copy of itself says nothing about the folder
					}
					sims = append(sims, s)
					if s > st.max {
						st.max, st.best = s, j
					}
				}
				st.n = len(sims)
				all = append(all, sims...)
				if st.n > 0 {
					st.median = median(sims)
				}
				a.own[i] = st
			}
			if len(all) > 0 {
				a.self[p], a.selfOK[p] = median(all), true
			}
			mu.Lock()
			done++
			a.opt.progress("folders", done, len(d.persons))
			mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

// crossSims returns the similarities between faces of folders pa and pb (an
// even sample of at most maxCrossSide per side) and the best pairs with
// distinct faces, at most three.
func (a *auditor) crossSims(pa, pb int32) ([]float32, []Pair) {
	d := a.d
	ma, mb := d.members[pa], d.members[pb]
	var sims []float32
	var pairs []Pair
	for _, ka := range sample(len(ma), maxCrossSide) {
		for _, kb := range sample(len(mb), maxCrossSide) {
			i, j := int(ma[ka]), int(mb[kb])
			s := d.Similarity(i, j)
			sims = append(sims, s)
			pairs = append(pairs, Pair{A: i, B: j, Similarity: s})
		}
	}
	slices.SortFunc(pairs, func(x, y Pair) int { return cmp.Compare(y.Similarity, x.Similarity) })
	var best []Pair
	usedA, usedB := map[int]bool{}, map[int]bool{}
	for _, p := range pairs {
		if len(best) == 3 {
			break
		}
		if !usedA[p.A] && !usedB[p.B] {
			best = append(best, p)
			usedA[p.A], usedB[p.B] = true, true
		}
	}
	return sims, best
}

// samePersons examines folder pairs with many cross matches.
func (a *auditor) samePersons(ctx context.Context, cross []edge) error {
	d := a.d
	keys := make([]int64, len(cross))
	for k, e := range cross {
		pa, pb := d.person[e.a], d.person[e.b]
		keys[k] = pairKey(min(pa, pb), max(pa, pb))
	}
	slices.Sort(keys)
	t := a.opt.Threshold
	for lo := 0; lo < len(keys); {
		if err := checkCtx(ctx); err != nil {
			return err
		}
		hi := lo
		for hi < len(keys) && keys[hi] == keys[lo] {
			hi++
		}
		pa, pb := int32(keys[lo]>>32), int32(uint32(keys[lo]))
		na, nb := len(d.members[pa]), len(d.members[pb])
		count := hi - lo
		lo = hi
		if float64(count) < sameCandidateFrac*float64(na*nb) {
			continue
		}
		sims, best := a.crossSims(pa, pb)
		above := 0
		for _, s := range sims {
			if s >= t {
				above++
			}
		}
		frac := float64(above) / float64(len(sims))
		med := median(sims)
		if med < t {
			continue
		}
		f := Finding{
			Kind: SamePerson, Persons: []string{d.persons[pa], d.persons[pb]},
			Evidence: best, Similarity: med,
		}
		var ref float32
		var refOK bool
		for _, p := range []int32{pa, pb} {
			if a.selfOK[p] && (!refOK || a.self[p] < ref) {
				ref, refOK = a.self[p], true
			}
		}
		if refOK {
			ratio := float64(med) / float64(max(ref, 1e-3))
			f.Baseline, f.Score = ref, clamp01(ratio)
			switch {
			case ratio >= 0.8:
				f.Severity = High
			case ratio >= 0.6:
				f.Severity = Medium
			default:
				f.Severity = Low
			}
			verdict := "look like one person: their faces match each other at median %.2f (%.0f%% of %d pairs >= %.2f), about as well as the folders match themselves (median %.2f)"
			if f.Severity == Low {
				verdict = "look very alike: their faces match each other at median %.2f (%.0f%% of %d pairs >= %.2f), but less than the folders match themselves (median %.2f)"
			}
			f.Reason = fmt.Sprintf("%q and %q "+verdict, f.Persons[0], f.Persons[1], med, 100*frac, len(sims), t, ref)
		} else {
			// Two single-face folders: one similarity is all there is.
			f.Score = clamp01(float64(med-t) / float64(1-t))
			f.Severity = Low
			if med >= t+0.2 {
				f.Severity = Medium
			}
			f.Reason = fmt.Sprintf("the only faces of %q and %q match at %.2f (same-person threshold %.2f)", f.Persons[0], f.Persons[1], med, t)
		}
		a.same[pairKey(pa, pb)] = true
		a.res.Findings = append(a.res.Findings, f)
	}
	return nil
}

func (a *auditor) isSame(pa, pb int32) bool { return a.same[pairKey(min(pa, pb), max(pa, pb))] }

// misfiledFaces looks for faces that match another folder far better than
// their own.
func (a *auditor) misfiledFaces(ctx context.Context, cross []edge) error {
	d := a.d
	// keys: face<<32 | other person, for both ends of every cross pair.
	keys := make([]int64, 0, 2*len(cross))
	for _, e := range cross {
		keys = append(keys, pairKey(e.a, d.person[e.b]), pairKey(e.b, d.person[e.a]))
	}
	slices.Sort(keys)
	type cand struct {
		p    int32
		frac float64
	}
	t := a.opt.Threshold
	for lo := 0; lo < len(keys); {
		if err := checkCtx(ctx); err != nil {
			return err
		}
		i := int32(keys[lo] >> 32)
		var cands []cand
		for lo < len(keys) && int32(keys[lo]>>32) == i {
			hi := lo
			for hi < len(keys) && keys[hi] == keys[lo] {
				hi++
			}
			p := int32(uint32(keys[lo]))
			nb := len(d.members[p])
			frac := float64(hi-lo) / float64(nb)
			if frac >= misfileCandidateFrac && !a.isSame(d.person[i], p) {
				cands = append(cands, cand{p, frac})
			}
			lo = hi
		}
		own := a.own[i]
		if own.n == 0 || len(cands) == 0 {
			continue
		}
		slices.SortFunc(cands, func(x, y cand) int { return cmp.Compare(y.frac, x.frac) })
		var bestMed float32 = -2
		var bestP int32 = -1
		var bestPairs []Pair
		for _, c := range cands[:min(3, len(cands))] {
			var sims []float32
			var pairs []Pair
			for _, k := range sample(len(d.members[c.p]), maxCompare) {
				j := int(d.members[c.p][k])
				s := d.Similarity(int(i), j)
				sims = append(sims, s)
				pairs = append(pairs, Pair{A: int(i), B: j, Similarity: s})
			}
			if m := median(sims); m > bestMed {
				bestMed, bestP = m, c.p
				slices.SortFunc(pairs, func(x, y Pair) int { return cmp.Compare(y.Similarity, x.Similarity) })
				bestPairs = pairs[:min(2, len(pairs))]
			}
		}
		margin := bestMed - own.median
		if bestMed < t || margin < misfileMargin {
			continue
		}
		pa := d.person[i]
		f := Finding{
			Kind: Misfiled, Persons: []string{d.persons[pa], d.persons[bestP]}, Faces: []int{int(i)},
			Similarity: bestMed, Baseline: own.median, Score: clamp01(float64(margin) / 0.6),
			Severity: Medium,
		}
		if margin >= 0.3 && own.median < t {
			f.Severity = High
		}
		f.Evidence = append(f.Evidence, bestPairs...)
		if own.best >= 0 {
			f.Evidence = append(f.Evidence, Pair{A: int(i), B: int(own.best), Similarity: own.max})
		}
		f.Reason = fmt.Sprintf("%s probably belongs in %q: it matches that folder at median %.2f (%d faces) but its own folder %q at only %.2f (%d faces)",
			d.faces[i].File, d.persons[bestP], bestMed, len(d.members[bestP]), d.persons[pa], own.median, own.n)
		a.misfiled[i] = true
		a.res.Findings = append(a.res.Findings, f)
	}
	return nil
}

// duplicates groups duplicate pairs into sets of copies of one photo.
func (a *auditor) duplicates(dups []edge) {
	d := a.d
	parent := map[int32]int32{}
	var find func(x int32) int32
	find = func(x int32) int32 {
		p, ok := parent[x]
		if !ok || p == x {
			return x
		}
		r := find(p)
		parent[x] = r
		return r
	}
	for _, e := range dups {
		ra, rb := find(e.a), find(e.b)
		if ra != rb {
			parent[max(ra, rb)] = min(ra, rb)
		}
	}
	groups := map[int32][]edge{}
	for _, e := range dups {
		r := find(e.a)
		groups[r] = append(groups[r], e)
	}
	for _, es := range groups {
		sortEdges(es)
		faceSet := map[int]bool{}
		personSet := map[int32]bool{}
		identical := true
		lowest := float32(1)
		f := Finding{Kind: Duplicate}
		for _, e := range es {
			faceSet[int(e.a)], faceSet[int(e.b)] = true, true
			personSet[d.person[e.a]], personSet[d.person[e.b]] = true, true
			identical = identical && d.sameBytes(int(e.a), int(e.b))
			lowest = min(lowest, e.s)
			if len(f.Evidence) < 3 {
				f.Evidence = append(f.Evidence, Pair{A: int(e.a), B: int(e.b), Similarity: e.s})
			}
		}
		for i := range faceSet {
			f.Faces = append(f.Faces, i)
		}
		slices.Sort(f.Faces)
		var ps []int32
		for p := range personSet {
			ps = append(ps, p)
		}
		slices.Sort(ps)
		for _, p := range ps {
			f.Persons = append(f.Persons, d.persons[p])
		}
		f.Similarity, f.Score = lowest, 1
		if !identical {
			f.Score = clamp01(float64(lowest-a.opt.DuplicateSim)/float64(1-a.opt.DuplicateSim))*0.5 + 0.5
		}
		explained := true // every folder pair is already a same-person finding
		for x := range ps {
			for y := x + 1; y < len(ps); y++ {
				explained = explained && a.isSame(ps[x], ps[y])
			}
		}
		var files []string
		for _, i := range f.Faces {
			files = append(files, d.faces[i].File)
		}
		how := fmt.Sprintf("similarity >= %.3f", lowest)
		if identical {
			how = "byte-identical files"
		}
		switch {
		case len(ps) == 1:
			f.Severity = Medium
			f.Reason = fmt.Sprintf("the same photo %d times in %q (%s): %s", len(files), f.Persons[0], how, strings.Join(files, ", "))
		case explained:
			// Copies between folders already found to be one person add
			// to that finding instead of listing every copy.
			for x := range ps {
				for y := x + 1; y < len(ps); y++ {
					a.sameCopies[pairKey(ps[x], ps[y])]++
				}
			}
			continue
		default:
			f.Severity = High
			f.Reason = fmt.Sprintf("the same photo %d times under different people %s (%s): %s", len(files), quoteList(f.Persons), how, strings.Join(files, ", "))
		}
		a.res.Findings = append(a.res.Findings, f)
	}
}

// outliers flags faces that match their own coherent folder poorly and were
// not already explained as misfiled.
func (a *auditor) outliers() {
	d := a.d
	t := a.opt.Threshold
	for p, m := range d.members {
		if len(m) < 3 || !a.selfOK[p] || a.self[p] < t+coherentMargin {
			continue
		}
		for _, i := range m {
			st := a.own[i]
			if a.misfiled[i] || st.n < 2 || st.median >= t {
				continue
			}
			f := Finding{
				Kind: Outlier, Persons: []string{d.persons[p]}, Faces: []int{int(i)},
				Similarity: st.median, Baseline: a.self[p],
				Score:    clamp01(float64(a.self[p]-st.median) / 0.8),
				Severity: Low,
			}
			if st.max < t {
				f.Severity = Medium
			}
			if st.best >= 0 {
				f.Evidence = []Pair{{A: int(i), B: int(st.best), Similarity: st.max}}
			}
			f.Reason = fmt.Sprintf("%s matches the other faces of %q at median %.2f (best %.2f), while they match each other at median %.2f: another person, a wrong face or a poor photo",
				d.faces[i].File, d.persons[p], st.median, st.max, a.self[p])
			a.res.Findings = append(a.res.Findings, f)
		}
	}
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
