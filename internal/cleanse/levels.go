package cleanse

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// levelSample bounds the face pairs MatchedLevels compares: at most this
// many different-folder pairs (a fixed pseudo-random sample, like the
// audit's) and this many same-folder pairs (an even sample per folder).
const levelSample = 20000

// Levels are the similarity levels of Options in one similarity.
type Levels struct {
	// Threshold is the same-person threshold; DuplicateSim the level of a
	// copy of the photo.
	Threshold, DuplicateSim float32
	// OtherPairs and SamePairs are the different- and same-folder face
	// pairs the levels were rank-matched on (0 for the raw levels).
	OtherPairs, SamePairs int
	// OtherShare and SameShare are the shares of those pairs at or above
	// the raw Threshold and DuplicateSim (kept by the matched levels).
	OtherShare, SameShare float64
}

// MatchedLevels carries raw-cosine levels into another similarity of the
// same faces: raw and mapped hold the same faces in the same order (mapped's
// vectors are the faces under a learned transform). The threshold keeps the
// same share of the library's different-folder face pairs as the raw
// threshold does of theirs, and the duplicate level the same number of
// same-folder pairs as the raw duplicate level (copies of a photo are filed
// in one folder far more often than across), each on the same fixed sample of
// pairs. So a rule keyed to "as often as a stranger reaches the threshold"
// means the same in both similarities; absolute raw levels would not (an
// adapted similarity spreads scores differently).
func MatchedLevels(raw, mapped *Dataset, threshold, duplicate float32) (Levels, error) {
	if raw.Len() != mapped.Len() {
		return Levels{}, fmt.Errorf("cleanse: matched levels: %d raw faces, %d mapped", raw.Len(), mapped.Len())
	}
	for i := range raw.Len() {
		if raw.person[i] != mapped.person[i] || raw.faces[i].ID != mapped.faces[i].ID {
			return Levels{}, fmt.Errorf("cleanse: matched levels: face %d differs between the similarities", i)
		}
	}
	lv := Levels{}
	var oRaw, oMap []float32
	n := raw.Len()
	if len(raw.persons) > 1 {
		x := uint64(0x9e3779b97f4a7c15)
		for k := 0; k < 4*levelSample && len(oRaw) < levelSample; k++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			i, j := int(x%uint64(n)), int((x>>32)%uint64(n))
			if raw.person[i] != raw.person[j] {
				oRaw = append(oRaw, raw.Similarity(i, j))
				oMap = append(oMap, mapped.Similarity(i, j))
			}
		}
	}
	if len(oRaw) == 0 {
		return Levels{}, errors.New("cleanse: matched levels: the library needs faces in two folders")
	}
	var sRaw, sMap []float32
	per := max(2, int(math.Sqrt(2*levelSample/float64(max(1, len(raw.persons))))))
	for _, m := range raw.members {
		pick := sample(len(m), per)
		for a := range pick {
			for b := a + 1; b < len(pick); b++ {
				i, j := int(m[pick[a]]), int(m[pick[b]])
				if raw.sameFile(i, j) {
					continue
				}
				sRaw = append(sRaw, raw.Similarity(i, j))
				sMap = append(sMap, mapped.Similarity(i, j))
			}
		}
	}
	lv.OtherPairs, lv.SamePairs = len(oRaw), len(sRaw)
	var k int
	lv.Threshold, k = rankMatched(oRaw, oMap, threshold)
	lv.OtherShare = float64(k) / float64(len(oRaw))
	lv.DuplicateSim, k = rankMatched(sRaw, sMap, duplicate)
	if len(sRaw) > 0 {
		lv.SameShare = float64(k) / float64(len(sRaw))
	}
	// Options need threshold < duplicate level <= 1.
	if lv.DuplicateSim <= lv.Threshold {
		lv.DuplicateSim = min(1, lv.Threshold+0.01)
	}
	if !(lv.Threshold > -1 && lv.Threshold < 1) || lv.Threshold == 0 {
		return Levels{}, fmt.Errorf("cleanse: matched threshold %v is not a usable similarity", lv.Threshold)
	}
	return lv, nil
}

// rankMatched returns the mapped level that as many of the pairs reach as
// reach level in raw, and that number: the k-th highest mapped similarity
// when k raw pairs reach level, just above the highest when none does.
func rankMatched(raw, mapped []float32, level float32) (float32, int) {
	k := 0
	for _, s := range raw {
		if s >= level {
			k++
		}
	}
	if len(mapped) == 0 {
		return level, 0
	}
	m := slices.Clone(mapped)
	slices.Sort(m)
	slices.Reverse(m)
	if k == 0 {
		return min(1, m[0]+1e-4), 0
	}
	return m[k-1], k
}
