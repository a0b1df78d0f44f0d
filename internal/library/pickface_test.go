package library

import (
	"errors"
	"testing"
)

// TestPickFace: the one face choice of SearchPhoto and compare.
func TestPickFace(t *testing.T) {
	tests := []struct {
		name              string
		count, primary, n int
		want              int
		wantErr           error
	}{
		{"primary", 3, 2, FacePrimary, 2, nil},
		{"primary unmarked", 3, -1, FacePrimary, 0, nil},
		{"number", 3, 2, 1, 0, nil},
		{"last", 3, 0, 3, 2, nil},
		{"beyond", 3, 0, 4, -1, ErrFaceNumber},
		{"negative", 3, 0, -2, -1, ErrFaceNumber},
		{"no face", 0, -1, FacePrimary, -1, ErrNoFace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PickFace(tc.count, tc.primary, tc.n)
			if got != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("PickFace(%d, %d, %d) = %d, %v; want %d, %v", tc.count, tc.primary, tc.n, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
