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
	// Level is the similarity from which a face pair counts as evidence:
	// the lower of Threshold and the library's own same-folder 25th
	// percentile (on populations where different people score high a
	// strict threshold would otherwise hide every misfiled face).
	Level float32
	// SameFolder and OtherFolder are the library's measured median
	// similarity of two faces in one folder and in two different folders
	// (a deterministic sample of OtherPairs pairs): the baselines the
	// rules judge against.
	SameFolder, OtherFolder float32
	OtherPairs              int
	// MinFaces is the least number of faces each folder of a same-person
	// finding, and the destination of a misfiled one, needs to be [high].
	MinFaces int
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
	// coherentMargin: outliers are only looked for in folders whose median
	// self-similarity is at least Level + coherentMargin.
	coherentMargin = 0.1
	// Gaps are measured in units of the library's spread: the folder's own
	// median self-similarity minus the library's median different-folder
	// similarity. 0 means "as close as the folder's own faces", 1 "as far
	// as two strangers".
	//
	// splitGapHigh, splitGapMedium: the largest gap between a folder pair's
	// cross median and the looser folder's own median for a [high] /
	// [medium] same-person finding; above splitGapMedium each folder is
	// tighter than the cross: two people who look alike (siblings),
	// reported [low].
	splitGapHigh   = 0.15
	splitGapMedium = 0.25
	// singleMargin: a one-photo folder's face must match the other folder
	// (best pair) at least this much better than any third folder for a
	// [medium] finding.
	singleMargin = 0.1
	// misfileMarginSpread: the least gap between the median to the probable
	// folder and to the own folder, in units of the library's spread, and
	// at least misfileMin.
	misfileMarginSpread = 0.35
	misfileMin          = 0.15
	// misfileHighSpread: the gap, in spread units, for a [high] misfiled
	// finding (the destination also needs MinFaces faces).
	misfileHighSpread = 0.5
	// levelQuantile: Level is at most this quantile of the library's
	// same-folder similarities.
	levelQuantile = 0.25
	// otherSample is the number of random different-folder face pairs that
	// measure OtherFolder.
	otherSample = 20000
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
	// level, sameMed, otherMed: see AuditResult.Level, SameFolder, OtherFolder.
	level, sameMed, otherMed float32
	// bestOther: for faces of one-photo folders, the best similarity to
	// each other folder among the cross pairs >= level.
	bestOther map[int32]map[int32]float32
}

// spread is the library's same-folder median minus its different-folder
// median (at least 0.05): the unit of the gap rules.
func (a *auditor) spread(self float32) float32 { return max(self-a.otherMed, 0.05) }

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
	if opt.MinFaces <= 0 {
		opt.MinFaces = 3
	}
	a.opt = opt
	a.res.MinFaces = opt.MinFaces
	if err := a.folderStats(ctx); err != nil {
		return nil, err
	}
	a.baselines()
	keep := func(i, j int32, s float32) bool {
		if d.person[i] != d.person[j] {
			return true
		}
		return !d.sameFile(int(i), int(j)) && (s >= opt.DuplicateSim || d.sameBytes(int(i), int(j)))
	}
	edges, err := d.rangePairs(ctx, opt, "search", idx, a.level, true, keep)
	if err != nil {
		return nil, err
	}
	var cross, dups []edge
	a.bestOther = map[int32]map[int32]float32{}
	for _, e := range edges {
		if d.person[e.a] != d.person[e.b] {
			cross = append(cross, e)
			if e.s >= opt.Threshold {
				a.res.CrossPairs++
			}
			for _, x := range [2][2]int32{{e.a, e.b}, {e.b, e.a}} {
				if len(d.members[d.person[x[0]]]) == 1 {
					m := a.bestOther[x[0]]
					if m == nil {
						m = map[int32]float32{}
						a.bestOther[x[0]] = m
					}
					m[d.person[x[1]]] = max(m[d.person[x[1]]], e.s)
				}
			}
		}
		if a.isDup(e) {
			dups = append(dups, e)
		}
	}
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

// baselines measures the library's same-folder and different-folder
// medians and sets the evidence level.
func (a *auditor) baselines() {
	d := a.d
	var same []float32
	for p, m := range d.members {
		if !a.selfOK[p] {
			continue
		}
		for _, i := range sample(len(m), 50) {
			if st := a.own[m[i]]; st.n > 0 {
				same = append(same, st.median)
			}
		}
	}
	// Different folders: a fixed pseudo-random sample (same input, same
	// result).
	var other []float32
	n := d.Len()
	if len(d.persons) > 1 {
		x := uint64(0x9e3779b97f4a7c15)
		for k := 0; k < 4*otherSample && len(other) < otherSample; k++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			i, j := int(x%uint64(n)), int((x>>32)%uint64(n))
			if d.person[i] != d.person[j] {
				other = append(other, d.Similarity(i, j))
			}
		}
	}
	a.res.OtherPairs = len(other)
	a.otherMed = median(other)
	a.level = a.opt.Threshold
	if len(same) > 0 {
		q := quantile(same, 0.5)
		a.sameMed = q
		// The level: the lower of the threshold and the same-folder 25th
		// percentile of face medians, but never below the strangers' median.
		if l := quantile(same, levelQuantile); l < a.level {
			a.level = max(l, a.otherMed+0.05)
		}
	} else {
		a.sameMed = a.opt.Threshold
	}
	a.level = min(a.level, a.opt.Threshold)
	a.res.Level, a.res.SameFolder, a.res.OtherFolder = a.level, a.sameMed, a.otherMed
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
	t := a.level
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
		switch {
		case a.selfOK[pa] && a.selfOK[pb]:
			a.judgeSplit(&f, pa, pb, med, frac, len(sims))
		case a.selfOK[pa] || a.selfOK[pb]:
			single, other := pa, pb
			if a.selfOK[pa] {
				single, other = pb, pa
			}
			a.judgeSingle(&f, single, other, med, best)
		default:
			// Two one-photo folders: one similarity is all there is. It
			// is worth a look ([medium]) only when it is as high as a
			// typical same-folder match of this library and both faces
			// match each other clearly better than any third folder.
			f.Score = clamp01(float64(med-t)/float64(1-t)) * 0.8
			margin := min(med-a.secondBest(d.members[pa][0], pb), med-a.secondBest(d.members[pb][0], pa))
			f.Severity = Low
			verdict := "one photo each is too little to call them one person"
			if med >= a.sameMed && margin >= singleMargin {
				f.Severity = Medium
				verdict = "as close as two photos of one person in this library; one photo each is too little for [high]"
			}
			f.Reason = fmt.Sprintf("the only faces of %q and %q match at %.2f (the library's same-folder median %.2f, %.2f above any other folder): %s",
				f.Persons[0], f.Persons[1], med, a.sameMed, margin, verdict)
		}
		if f.Severity >= Medium {
			a.same[pairKey(pa, pb)] = true
		}
		a.res.Findings = append(a.res.Findings, f)
	}
	return nil
}

// judgeSplit rates two folders of at least two faces each: one person split
// in two when their faces match across about as well as within the looser
// folder; two people who look alike (siblings) when each folder is clearly
// tighter than the cross.
func (a *auditor) judgeSplit(f *Finding, pa, pb int32, med float32, frac float64, pairs int) {
	ref := min(a.self[pa], a.self[pb])
	gap := float64(ref-med) / float64(a.spread(ref))
	f.Baseline, f.Score = ref, clamp01(1-gap)
	na, nb := len(a.d.members[pa]), len(a.d.members[pb])
	evidence := fmt.Sprintf("their faces match each other at median %.2f (%.0f%% of %d pairs >= %.2f); the folders match themselves at median %.2f and %.2f, strangers in this library at %.2f",
		med, 100*frac, pairs, a.level, a.self[pa], a.self[pb], a.otherMed)
	switch {
	case gap <= splitGapHigh && min(na, nb) >= a.opt.MinFaces:
		f.Severity = High
		f.Reason = fmt.Sprintf("%q and %q look like one person: %s", f.Persons[0], f.Persons[1], evidence)
	case gap <= splitGapMedium:
		f.Severity = Medium
		f.Reason = fmt.Sprintf("%q and %q look like one person: %s", f.Persons[0], f.Persons[1], evidence)
		if min(na, nb) < a.opt.MinFaces {
			f.Reason += fmt.Sprintf(" (only %d and %d faces: too few for [high])", na, nb)
		}
	default:
		f.Severity = Low
		f.Reason = fmt.Sprintf("%q and %q look alike but are probably two people (siblings or look-alikes): each folder is tighter than the cross: %s",
			f.Persons[0], f.Persons[1], evidence)
	}
}

// secondBest is the best similarity of face i (of a one-photo folder) to
// any folder but its own and other; the level when none reaches it.
func (a *auditor) secondBest(i, other int32) float32 {
	second := a.level
	for p, s := range a.bestOther[i] {
		if p != other && p != a.d.person[i] && s > second {
			second = s
		}
	}
	return second
}

// judgeSingle rates a one-photo folder against a larger one by the photo's
// best match there and its margin over every third folder: a median of one
// face's similarities says little, and one photo is never enough for [high].
func (a *auditor) judgeSingle(f *Finding, single, other int32, med float32, best []Pair) {
	d := a.d
	i := d.members[single][0]
	top := float32(-1)
	if len(best) > 0 {
		top = best[0].Similarity
	}
	margin := top - a.secondBest(i, other)
	gap := float64(a.self[other]-med) / float64(a.spread(a.self[other]))
	f.Baseline, f.Score = a.self[other], clamp01(1-gap)*0.8
	f.Severity = Low
	if gap <= splitGapMedium && margin >= singleMargin {
		f.Severity = Medium
	}
	f.Reason = fmt.Sprintf("the only face of %q matches %q at best %.2f, median %.2f (that folder matches itself at median %.2f), %.2f above any other folder; one photo is too little for [high]",
		d.persons[single], d.persons[other], top, med, a.self[other], margin)
}

func (a *auditor) isSame(pa, pb int32) bool { return a.same[pairKey(min(pa, pb), max(pa, pb))] }

// maxMisfileCands bounds the folders a face is measured against as its
// probable folder.
const maxMisfileCands = 10

// fitGap: a face fits a folder like a member when its median there is at
// most this many spreads below the folder's own cohesion.
const fitGap = 0.5

// cohesion is folder p's median self-similarity, or the library's
// same-folder median for a one-photo folder.
func (a *auditor) cohesion(p int32) float32 {
	if a.selfOK[p] {
		return a.self[p]
	}
	return a.sameMed
}

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
	t := a.level
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
		// Every candidate is measured; the destination is the folder the
		// face matches best among those it fits like a member (its median
		// there no further below the folder's own cohesion than
		// fitGap spreads; a one-photo folder has no cohesion: the
		// library's same-folder median stands in). Only when it fits none
		// does the best median alone decide.
		slices.SortFunc(cands, func(x, y cand) int { return cmp.Compare(y.frac, x.frac) })
		var bestMed float32 = -2
		var bestFit float32 = -3
		var bestP int32 = -1
		var bestPairs []Pair
		for _, c := range cands[:min(maxMisfileCands, len(cands))] {
			var sims []float32
			var pairs []Pair
			for _, k := range sample(len(d.members[c.p]), maxCompare) {
				j := int(d.members[c.p][k])
				s := d.Similarity(int(i), j)
				sims = append(sims, s)
				pairs = append(pairs, Pair{A: int(i), B: j, Similarity: s})
			}
			m := median(sims)
			coh := a.cohesion(c.p)
			fit := float32(0) // 1: fits like a member, 0: does not
			if float64(coh-m) <= fitGap*float64(a.spread(coh)) {
				fit = 1
			}
			if fit > bestFit || fit == bestFit && m > bestMed {
				bestFit, bestMed, bestP = fit, m, c.p
				slices.SortFunc(pairs, func(x, y Pair) int { return cmp.Compare(y.Similarity, x.Similarity) })
				bestPairs = pairs[:min(2, len(pairs))]
			}
		}
		margin := bestMed - own.median
		spread := a.spread(a.sameMed)
		if bestMed < t || margin < max(misfileMin, misfileMarginSpread*spread) {
			continue
		}
		pa := d.person[i]
		nDest := len(d.members[bestP])
		f := Finding{
			Kind: Misfiled, Persons: []string{d.persons[pa], d.persons[bestP]}, Faces: []int{int(i)},
			Similarity: bestMed, Baseline: own.median, Score: clamp01(float64(margin) / float64(2*spread)),
			Severity: Medium,
		}
		if float64(margin) >= misfileHighSpread*float64(spread) && own.median < t && nDest >= a.opt.MinFaces && bestFit == 1 {
			f.Severity = High
		}
		f.Evidence = append(f.Evidence, bestPairs...)
		if own.best >= 0 {
			f.Evidence = append(f.Evidence, Pair{A: int(i), B: int(own.best), Similarity: own.max})
		}
		f.Reason = fmt.Sprintf("%s probably belongs in %q: it matches that folder at median %.2f (%d faces; they match each other at %.2f) but its own folder %q at only %.2f (%d faces)",
			d.faces[i].File, d.persons[bestP], bestMed, nDest, a.cohesion(bestP), d.persons[pa], own.median, own.n)
		if nDest < a.opt.MinFaces {
			f.Reason += fmt.Sprintf("; %q has too few faces for [high]", d.persons[bestP])
		}
		if bestFit == 0 {
			f.Reason += "; it fits no folder as closely as that folder's own faces match each other: another person, or a poor photo"
		}
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
	t := a.level
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
