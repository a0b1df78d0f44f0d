package server

import (
	"reflect"
	"testing"
)

func TestGroupPairs(t *testing.T) {
	fp := func(a, b string, s float32) FacePair {
		return FacePair{A: FaceRecord{Person: a}, B: FaceRecord{Person: b}, Similarity: s}
	}
	tests := []struct {
		name string
		in   []FacePair
		want []folderPairJSON
	}{
		{"none", nil, nil},
		{"one folder pair in both orders, then a second", []FacePair{
			fp("b", "a", 0.9), fp("c", "d", 0.85), fp("a", "b", 0.8), fp("a", "b", 0.7), fp("b", "a", 0.6),
		}, []folderPairJSON{
			{PersonA: "a", PersonB: "b", Count: 4, Best: 0.9, Median: 0.75, Pairs: []int{0, 2, 3}},
			{PersonA: "c", PersonB: "d", Count: 1, Best: 0.85, Median: 0.85, Pairs: []int{1}},
		}},
		// Equal count and best similarity: by name (cleanse.GroupByFolder's
		// rule, the same in the pairs command and report).
		{"ties by name", []FacePair{fp("y", "z", 0.7), fp("b", "a", 0.7)}, []folderPairJSON{
			{PersonA: "a", PersonB: "b", Count: 1, Best: 0.7, Median: 0.7, Pairs: []int{1}},
			{PersonA: "y", PersonB: "z", Count: 1, Best: 0.7, Median: 0.7, Pairs: []int{0}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := groupPairs(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("groupPairs = %+v, want %+v", got, tt.want)
			}
		})
	}
}
