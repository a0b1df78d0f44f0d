package cleanse

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// FindingKey names a finding by its kind, folders and face ids, so that a
// reviewer's decision survives a rerun of the same audit and is shared by
// every front end (CLI, API, page). faceIDs are the caller's face ids
// (Face.ID) of the finding's faces.
func FindingKey(kind string, persons []string, faceIDs []int64) string {
	ps := slices.Clone(persons)
	slices.Sort(ps)
	ids := make([]string, len(faceIDs))
	for i, id := range faceIDs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	slices.Sort(ids)
	h := sha256.Sum256([]byte(kind + "\x00" + strings.Join(ps, "\x00") + "\x00" + strings.Join(ids, ",")))
	return kind + "-" + hex.EncodeToString(h[:6])
}

// Key returns the FindingKey of f, a finding of d.
func (d *Dataset) Key(f *Finding) string {
	ids := make([]int64, len(f.Faces))
	for i, x := range f.Faces {
		ids[i] = d.faces[x].ID
	}
	return FindingKey(string(f.Kind), f.Persons, ids)
}
