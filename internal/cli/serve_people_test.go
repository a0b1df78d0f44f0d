package cli

import (
	"testing"

	"github.com/facesearch/facesearch/internal/server"
)

func TestThumbnail(t *testing.T) {
	s := &snapshot{faces: map[int64]server.FaceRecord{}, vecs: map[int64][]float32{}, byName: map[string][]int64{}}
	add := func(id int64, person string, primary bool, v ...float32) {
		s.faces[id] = server.FaceRecord{ID: id, Person: person, Primary: primary}
		s.vecs[id] = v
		s.byName[person] = append(s.byName[person], id)
	}
	// ann: three alike faces and a misfiled one; the background face
	// (not primary) is ignored.
	add(1, "ann", true, 0, 1)
	add(2, "ann", true, 0.6, 0.8)
	add(3, "ann", true, 0.1, 0.995)
	add(4, "ann", true, 1, 0)
	add(5, "ann", false, 0.35, 0.94)
	add(6, "bob", false, 1, 0)
	tests := []struct {
		person string
		want   int64
	}{{"ann", 2}, {"bob", 0}, {"nobody", 0}}
	for _, tc := range tests {
		if got := s.thumbnail(tc.person); got != tc.want {
			t.Errorf("thumbnail(%s) = %d, want %d", tc.person, got, tc.want)
		}
	}
}
