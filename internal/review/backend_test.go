package review

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/server"
)

// TestServeImageFileOnlyIndexedPhotos: the server gets a file to serve only
// for status-ok images indexed from photos, with the recorded size and
// modification time.
func TestServeImageFileOnlyIndexedPhotos(t *testing.T) {
	snap := &snapshot{images: map[int64]*catalog.Image{
		1: {ID: 1, Path: "alice/a.jpg", Status: catalog.StatusOK, Size: 1234, MtimeNS: 1_700_000_000_123_456_789},
		2: {ID: 2, Path: "alice/notes.jpg", Status: catalog.StatusNotImage},
		3: {ID: 3, Path: "bob/broken.jpg", Status: catalog.StatusCorrupt},
		4: {ID: 4, Path: "bob/b.jpg", Status: catalog.StatusNoFace},
	}}
	b := &Backend{root: "/data/faces", snap: snap}
	ctx := context.Background()
	ref, err := b.ImageFile(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := server.FileRef{Root: "/data/faces", Path: "alice/a.jpg", Size: 1234, ModTime: time.Unix(0, 1_700_000_000_123_456_789)}
	if ref != want {
		t.Errorf("ref %+v, want %+v", ref, want)
	}
	for _, id := range []int64{2, 3, 4, 99} {
		if _, err := b.ImageFile(ctx, id); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("image %d: error %v, want not found", id, err)
		}
	}
	b.imported = true
	if _, err := b.ImageFile(ctx, 1); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("imported library: error %v, want not found", err)
	}
}
