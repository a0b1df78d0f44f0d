package cleanse

import (
	"slices"
	"testing"
)

// TestMatchedLevels: the identity map keeps the raw threshold (up to the
// next sampled pair), a map that raises every similarity (all vectors
// squashed toward one direction) raises it, the duplicate level stays above
// the threshold, and faces that differ between the two sets are an error.
func TestMatchedLevels(t *testing.T) {
	s := newSynth(7)
	for p := range 30 {
		s.person(string(rune('a'+p%26))+string(rune('A'+p/26)), 12)
	}
	raw := s.prepare(t)
	common := s.unit()
	squashed := slices.Clone(raw.faces)
	for k := range squashed {
		squashed[k].Vec = mix(raw.row(k), common, 0.6, 0.8)
	}
	mapped, err := Prepare(squashed)
	if err != nil {
		t.Fatal(err)
	}
	const thr = 0.15 // a level some different-folder pairs reach (the synthetic faces are LFW-like)
	for _, tc := range []struct {
		name string
		m    *Dataset
	}{{"identity", raw}, {"squashed", mapped}} {
		lv, err := MatchedLevels(raw, tc.m, thr, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if lv.OtherPairs < 1000 || lv.SamePairs < 1000 {
			t.Fatalf("%s: matched on %d different- and %d same-folder pairs", tc.name, lv.OtherPairs, lv.SamePairs)
		}
		if lv.OtherShare < 0.001 || lv.OtherShare > 0.2 {
			t.Errorf("%s: %.4f of different-folder pairs reach the threshold", tc.name, lv.OtherShare)
		}
		if !(lv.DuplicateSim > lv.Threshold && lv.DuplicateSim <= 1) {
			t.Errorf("%s: duplicate level %v, threshold %v", tc.name, lv.DuplicateSim, lv.Threshold)
		}
		if tc.name == "identity" && (lv.Threshold < thr || lv.Threshold > thr+0.02) {
			t.Errorf("identity: threshold %v, want the raw %v (up to the next sampled pair)", lv.Threshold, thr)
		}
		if tc.name == "squashed" && lv.Threshold < 0.5 {
			t.Errorf("squashed: threshold %v, want it raised with the similarities", lv.Threshold)
		}
	}
	if _, err := MatchedLevels(raw, s.prepare(t), testThreshold, 0.95); err != nil {
		t.Errorf("same faces prepared twice: %v", err)
	}
	other := newSynth(8)
	other.person("x", 5)
	if _, err := MatchedLevels(raw, other.prepare(t), testThreshold, 0.95); err == nil {
		t.Error("different faces: no error")
	}
}
