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

// FolderGroup is one folder pair's share of a list of face pairs (see
// GroupByFolder).
type FolderGroup struct {
	Persons      [2]string // the two folders, sorted
	Count        int       // face pairs
	Best, Median float32   // their highest and median similarity
	Index        []int     // their positions in the list, in list order
}

// GroupByFolder groups the n face pairs of a list by folder pair: pair(i)
// gives the i-th pair's two folders and similarity. Pairs within a folder
// are left out. The groups come most pairs first (ties: best similarity,
// then names). It is the one grouping of the pairs command, the pairs
// report and the API's folder pairs.
func GroupByFolder(n int, pair func(i int) (a, b string, sim float32)) []FolderGroup {
	byKey := map[[2]string]int{}
	var out []FolderGroup
	var sims [][]float32
	for i := range n {
		a, b, sim := pair(i)
		if a == b {
			continue
		}
		if b < a {
			a, b = b, a
		}
		k, ok := byKey[[2]string{a, b}]
		if !ok {
			k = len(out)
			byKey[[2]string{a, b}] = k
			out = append(out, FolderGroup{Persons: [2]string{a, b}, Best: sim})
			sims = append(sims, nil)
		}
		g := &out[k]
		g.Count++
		g.Best = max(g.Best, sim)
		g.Index = append(g.Index, i)
		sims[k] = append(sims[k], sim)
	}
	for k := range out {
		out[k].Median = median(sims[k])
	}
	slices.SortFunc(out, func(x, y FolderGroup) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(y.Best, x.Best),
			cmp.Compare(x.Persons[0], y.Persons[0]), cmp.Compare(x.Persons[1], y.Persons[1]))
	})
	return out
}

// GroupPairs groups face pairs by folder pair (GroupByFolder), each group's
// pairs best first.
func (d *Dataset) GroupPairs(pairs []Pair) []FolderPair {
	groups := GroupByFolder(len(pairs), func(i int) (string, string, float32) {
		p := pairs[i]
		return d.persons[d.person[p.A]], d.persons[d.person[p.B]], p.Similarity
	})
	out := make([]FolderPair, len(groups))
	for gi, g := range groups {
		ps := make([]Pair, len(g.Index))
		for j, i := range g.Index {
			ps[j] = pairs[i]
		}
		slices.SortFunc(ps, func(x, y Pair) int { return cmp.Compare(y.Similarity, x.Similarity) })
		out[gi] = FolderPair{Persons: g.Persons, Count: g.Count, Best: g.Best, Median: g.Median, Pairs: ps}
	}
	return out
}
