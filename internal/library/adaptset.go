package library

import (
	"context"
	"sort"

	"github.com/facesearch/facesearch/internal/adapt"
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
	rows, err := l.Faces(ctx, FacesOptions{Placeholders: true, OKOnly: true})
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, r := range rows {
		names[r.Person] = true
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
	for _, f := range rows { // sorted by path; one row per image
		if f.ID == 0 {
			continue // no face, or the image failed
		}
		if fs.Set.Dim == 0 {
			fs.Set.Dim = len(f.Vec)
		} else if len(f.Vec) != fs.Set.Dim {
			continue // another model's face; the next index run re-embeds it
		}
		fs.Set.Vecs = append(fs.Set.Vecs, f.Vec...)
		fs.Set.Folders = append(fs.Set.Folders, idx[f.Person])
		fs.FaceIDs = append(fs.FaceIDs, f.ID)
		fs.Paths = append(fs.Paths, f.File)
	}
	return fs, nil
}
