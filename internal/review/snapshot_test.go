package review

import (
	"reflect"
	"testing"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/face"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/server"
)

// TestSnapshot: the snapshot counts every image of a person (with a face or
// not), its faces and primary faces, lists a person's faces in path then
// detection order, and keeps the loader's hashes (none for an imported
// library).
func TestSnapshot(t *testing.T) {
	v := &library.View{
		Images: []catalog.Image{
			{ID: 1, Path: "ann/1.jpg", Person: "ann", Status: catalog.StatusOK},
			{ID: 2, Path: "ann/2.jpg", Person: "ann", Status: catalog.StatusOK},
			{ID: 3, Path: "ann/broken.jpg", Person: "ann", Status: catalog.StatusCorrupt},
			{ID: 4, Path: "bob/1.jpg", Person: "bob", Status: catalog.StatusNoFace},
		},
		Faces: []face.Face{
			{ID: 10, ImageID: 1, Person: "ann", File: "ann/1.jpg", Hash: "aa", Primary: true, Vec: []float32{1, 0}},
			{ID: 12, ImageID: 2, Person: "ann", File: "ann/2.jpg", Hash: "bb", Primary: true, Vec: []float32{0.8, 0.6}},
			{ID: 11, ImageID: 2, Person: "ann", File: "ann/2.jpg", Hash: "bb", Vec: []float32{0, 1}},
		},
	}
	s := newSnapshot(v)
	want := []server.Person{{Name: "ann", Images: 3, Faces: 3, PrimaryFaces: 2, FaceID: s.thumbnail("ann")}, {Name: "bob", Images: 1}}
	if !reflect.DeepEqual(s.persons, want) {
		t.Errorf("persons %+v, want %+v", s.persons, want)
	}
	if s.nfaces != 3 || !reflect.DeepEqual(s.byName["ann"], []int64{10, 12, 11}) {
		t.Errorf("%d faces, ann's %v; want 3 and 10 12 11", s.nfaces, s.byName["ann"])
	}
	if f := s.faces[11]; f.ImageID != 2 || f.File != "ann/2.jpg" || f.Primary || s.hashes[11] != "bb" {
		t.Errorf("face 11: %+v hash %q", f, s.hashes[11])
	}
	if len(s.images) != 4 || s.images[3].Status != catalog.StatusCorrupt {
		t.Errorf("images %v", s.images)
	}
}
