package server

import (
	"cmp"
	"slices"
)

// folderPairJSON summarises the face pairs of two folders in GET /api/pairs.
type folderPairJSON struct {
	PersonA string  `json:"person_a"`
	PersonB string  `json:"person_b"`
	Count   int     `json:"count"`
	Best    float32 `json:"best"`
	Median  float32 `json:"median"`
	// Pairs are the folder pair's best face pairs (at most groupEvidence),
	// as indexes into the response's "pairs".
	Pairs []int `json:"pairs"`
}

// groupEvidence is the number of face pairs each folder pair points at.
const groupEvidence = 3

// groupPairs groups face pairs (best first) by folder pair, most pairs
// first, so that one folder pair cannot fill the page.
func groupPairs(ps []FacePair) []folderPairJSON {
	idx := map[[2]string]int{}
	var out []folderPairJSON
	var sims [][]float32
	for i, p := range ps {
		a, b := p.A.Person, p.B.Person
		if b < a {
			a, b = b, a
		}
		k, ok := idx[[2]string{a, b}]
		if !ok {
			k = len(out)
			idx[[2]string{a, b}] = k
			out = append(out, folderPairJSON{PersonA: a, PersonB: b, Best: p.Similarity})
			sims = append(sims, nil)
		}
		g := &out[k]
		g.Count++
		g.Best = max(g.Best, p.Similarity)
		if len(g.Pairs) < groupEvidence {
			g.Pairs = append(g.Pairs, i)
		}
		sims[k] = append(sims[k], p.Similarity)
	}
	for k := range out {
		s := sims[k]
		slices.Sort(s)
		m := len(s) / 2
		out[k].Median = s[m]
		if len(s)%2 == 0 {
			out[k].Median = (s[m-1] + s[m]) / 2
		}
	}
	slices.SortStableFunc(out, func(x, y folderPairJSON) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(y.Best, x.Best))
	})
	return out
}
