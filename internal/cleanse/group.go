package cleanse

import (
	"cmp"
	"slices"
)

// FolderPair summarises the cross-folder face pairs of two folders.
type FolderPair struct {
	// Persons are the two folders, sorted.
	Persons [2]string
	// Count is the number of face pairs; Best and Median their highest and
	// median similarity.
	Count        int
	Best, Median float32
	// Pairs are the face pairs, best first.
	Pairs []Pair
}

// GroupPairs groups face pairs by folder pair, most pairs first (ties: best
// similarity, then names). Pairs within a folder are left out.
func (d *Dataset) GroupPairs(pairs []Pair) []FolderPair {
	byKey := map[int64]*FolderPair{}
	var order []int64
	for _, p := range pairs {
		pa, pb := d.person[p.A], d.person[p.B]
		if pa == pb {
			continue
		}
		k := pairKey(min(pa, pb), max(pa, pb))
		g := byKey[k]
		if g == nil {
			g = &FolderPair{Persons: [2]string{d.persons[min(pa, pb)], d.persons[max(pa, pb)]}}
			byKey[k] = g
			order = append(order, k)
		}
		g.Pairs = append(g.Pairs, p)
	}
	out := make([]FolderPair, 0, len(order))
	for _, k := range order {
		g := byKey[k]
		slices.SortFunc(g.Pairs, func(x, y Pair) int { return cmp.Compare(y.Similarity, x.Similarity) })
		sims := make([]float32, len(g.Pairs))
		for i, p := range g.Pairs {
			sims[i] = p.Similarity
		}
		g.Count, g.Best, g.Median = len(g.Pairs), g.Pairs[0].Similarity, median(sims)
		out = append(out, *g)
	}
	slices.SortFunc(out, func(x, y FolderPair) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(y.Best, x.Best),
			cmp.Compare(x.Persons[0], y.Persons[0]), cmp.Compare(x.Persons[1], y.Persons[1]))
	})
	return out
}
