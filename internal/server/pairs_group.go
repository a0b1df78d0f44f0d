package server

import "github.com/facesearch/facesearch/internal/cleanse"

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
// first, so that one folder pair cannot fill the page: cleanse's one
// grouping (GroupByFolder; pure Go), as the pairs command and report do.
func groupPairs(ps []FacePair) []folderPairJSON {
	var out []folderPairJSON
	for _, g := range cleanse.GroupByFolder(len(ps), func(i int) (string, string, float32) {
		return ps[i].A.Person, ps[i].B.Person, ps[i].Similarity
	}) {
		out = append(out, folderPairJSON{PersonA: g.Persons[0], PersonB: g.Persons[1], Count: g.Count, Best: g.Best,
			Median: g.Median, Pairs: g.Index[:min(len(g.Index), groupEvidence)]})
	}
	return out
}
