// Package cleanse finds problems in a face dataset laid out as one folder per
// person: pairs of similar faces across folders, folders that hold the same
// person, misfiled images, near-duplicate photos and outliers, and pairs of
// different people who look alike.
//
// It works on plain embeddings (Face) and asks a caller-provided vector index
// (a vecindex.Builder) for neighbours, so it depends on neither the catalog
// nor faiss; vecindex.NewBruteForce is a pure-Go exact one for tests and
// small sets.
// Nothing here reads, moves or deletes files.
package cleanse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"

	"github.com/facesearch/facesearch/internal/face"
	"github.com/facesearch/facesearch/internal/vecindex"
)

// Face is one face of the dataset: the library's face type. Cleanse reads
// ID (carried through), Person (the folder it is filed under), File (the
// image's path as the caller wants it shown and moved), Hash (the image's
// content hash, "" when unknown: faces of different files with equal
// hashes are byte-identical copies) and Vec (the embedding; it need not be
// unit length, it is normalised on Prepare, but all faces share one
// dimension).
type Face = face.Face

// Options are the settings shared by Pairs, Audit and Lookalikes.
type Options struct {
	// Threshold is the model's same-person cosine similarity (required).
	Threshold float32
	// DuplicateSim is the similarity at or above which two faces of different
	// files are the same photo (default 0.95).
	DuplicateSim float32
	// MinFaces is the least number of faces each folder of a same-person
	// finding, and the destination of a misfiled one, needs before the
	// finding can be [high] (default 3, as immich asks of a person).
	MinFaces int
	// Index builds the exact index used for neighbour searches (default
	// vecindex.NewBruteForce). The CLI passes faissidx.Builder("Flat", 0).
	Index vecindex.Builder
	// BlockSize is the number of queries per RangeSearch call (default
	// 2048): it bounds memory and sets the progress granularity.
	BlockSize int
	// Workers bounds the goroutines of the pure-Go statistics (default
	// GOMAXPROCS).
	Workers int
	// Progress, when set, is called as work advances: stage names the step
	// ("search", "folders", ...), done of total units are finished.
	Progress func(stage string, done, total int)
	// Log receives debug messages; nil discards them.
	Log *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if !(o.Threshold > -1 && o.Threshold < 1) || o.Threshold == 0 {
		return o, fmt.Errorf("cleanse: threshold %v must be a cosine similarity in (-1, 1), not 0", o.Threshold)
	}
	if o.DuplicateSim == 0 {
		o.DuplicateSim = 0.95
	}
	if o.DuplicateSim <= o.Threshold || o.DuplicateSim > 1 {
		return o, fmt.Errorf("cleanse: duplicate similarity %v must lie in (threshold %v, 1]", o.DuplicateSim, o.Threshold)
	}
	if o.Index == nil {
		o.Index = vecindex.NewBruteForce
	}
	if o.BlockSize <= 0 {
		o.BlockSize = 2048
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

func (o Options) progress(stage string, done, total int) {
	if o.Progress != nil {
		o.Progress(stage, done, total)
	}
}

// Dataset is a validated set of faces with unit-length embeddings, grouped by
// person. It is read-only after Prepare and safe for concurrent use.
type Dataset struct {
	faces   []Face
	dim     int
	vecs    []float32 // n*dim, unit rows
	persons []string  // sorted folder names
	person  []int32   // face -> index into persons
	members [][]int32 // person -> faces, in input order
}

// ErrEmpty is returned by Prepare for a dataset without faces.
var ErrEmpty = errors.New("cleanse: no faces")

// Prepare validates faces (one dimension, finite non-zero vectors, a person
// name) and returns the dataset. The faces are kept as given; the vectors are
// copied and normalised.
func Prepare(faces []Face) (*Dataset, error) {
	if len(faces) == 0 {
		return nil, ErrEmpty
	}
	dim := len(faces[0].Vec)
	if dim == 0 {
		return nil, fmt.Errorf("cleanse: face %d (%s): empty embedding", faces[0].ID, faces[0].File)
	}
	d := &Dataset{
		faces:  faces,
		dim:    dim,
		vecs:   make([]float32, len(faces)*dim),
		person: make([]int32, len(faces)),
	}
	idx := map[string]int32{}
	for i := range faces {
		f := &faces[i]
		if f.Person == "" {
			return nil, fmt.Errorf("cleanse: face %d (%s): no person folder", f.ID, f.File)
		}
		if len(f.Vec) != dim {
			return nil, fmt.Errorf("cleanse: face %d (%s): embedding has %d values, want %d", f.ID, f.File, len(f.Vec), dim)
		}
		row := d.vecs[i*dim : (i+1)*dim]
		copy(row, f.Vec)
		if err := vecindex.Normalize(row); err != nil {
			return nil, fmt.Errorf("cleanse: face %d (%s): embedding is zero or not finite", f.ID, f.File)
		}
		if _, ok := idx[f.Person]; !ok {
			idx[f.Person] = 0
			d.persons = append(d.persons, f.Person)
		}
	}
	sort.Strings(d.persons)
	for i, p := range d.persons {
		idx[p] = int32(i)
	}
	d.members = make([][]int32, len(d.persons))
	for i := range faces {
		p := idx[faces[i].Person]
		d.person[i] = p
		d.members[p] = append(d.members[p], int32(i))
	}
	return d, nil
}

// Len returns the number of faces.
func (d *Dataset) Len() int { return len(d.faces) }

// Dim returns the embedding dimension.
func (d *Dataset) Dim() int { return d.dim }

// Face returns face i (an index used in results, not Face.ID).
func (d *Dataset) Face(i int) Face { return d.faces[i] }

// Persons returns the sorted folder names.
func (d *Dataset) Persons() []string { return append([]string(nil), d.persons...) }

// Members returns the indexes of the faces filed under person, in input order.
func (d *Dataset) Members(person string) []int {
	i := sort.SearchStrings(d.persons, person)
	if i == len(d.persons) || d.persons[i] != person {
		return nil
	}
	out := make([]int, len(d.members[i]))
	for k, m := range d.members[i] {
		out[k] = int(m)
	}
	return out
}

// Similarity returns the cosine similarity of faces i and j.
func (d *Dataset) Similarity(i, j int) float32 { return vecindex.Dot(d.row(i), d.row(j)) }

func (d *Dataset) row(i int) []float32 { return d.vecs[i*d.dim : (i+1)*d.dim] }

// sameFile reports whether faces i and j come from one image file.
func (d *Dataset) sameFile(i, j int) bool { return d.faces[i].File == d.faces[j].File }

// sameBytes reports whether faces i and j come from byte-identical files.
func (d *Dataset) sameBytes(i, j int) bool {
	return d.faces[i].Hash != "" && d.faces[i].Hash == d.faces[j].Hash
}

func checkCtx(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cleanse: %w", err)
	}
	return nil
}
