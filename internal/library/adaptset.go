package library

import (
	"context"
	"sort"

	"github.com/facesearch/facesearch/internal/adapt"
	"github.com/facesearch/facesearch/internal/catalog"
)

// FolderSet is the library's primary faces labelled by folder: what a
// similarity adaptation is learned from and evaluated on.
type FolderSet struct {
	Set     adapt.Set
	Names   []string // folder names, sorted; Set.Folders index them
	FaceIDs []int64  // catalog face id of each row
	Paths   []string // image path of each row
}

// FolderSet loads the primary face of every indexed image, grouped by
// folder (person): rows sorted by path, so a folder's rows are contiguous
// and in path order.
func (l *Library) FolderSet(ctx context.Context) (*FolderSet, error) {
	ims, err := l.cat.Images(ctx, false)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, im := range ims {
		names[im.Person] = true
	}
	fs := &FolderSet{}
	for n := range names {
		fs.Names = append(fs.Names, n)
	}
	sort.Strings(fs.Names)
	idx := make(map[string]int, len(fs.Names))
	for i, n := range fs.Names {
		idx[n] = i
	}
	for _, im := range ims { // sorted by path
		if im.Status != catalog.StatusOK {
			continue
		}
		for _, f := range im.Faces {
			if !f.Primary {
				continue
			}
			if fs.Set.Dim == 0 {
				fs.Set.Dim = len(f.Embedding)
			} else if len(f.Embedding) != fs.Set.Dim {
				continue // another model's face; the next index run re-embeds it
			}
			fs.Set.Vecs = append(fs.Set.Vecs, f.Embedding...)
			fs.Set.Folders = append(fs.Set.Folders, idx[im.Person])
			fs.FaceIDs = append(fs.FaceIDs, f.ID)
			fs.Paths = append(fs.Paths, im.Path)
			break
		}
	}
	return fs, nil
}
