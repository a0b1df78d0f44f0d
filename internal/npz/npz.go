// Package npz reads and writes the per-person embedding files of the original
// FACE01 scripts: ROOT/<person>/npKnown.npz, a zip of .npy arrays holding the
// face embeddings (key "efficientnetv2_arcface" by default) and the image file
// names (key "name").
//
// Decoding of the array data is done by codeberg.org/sbinet/npyio, but only
// after this package has validated the .npy header itself (dtype, shape, data
// length): npyio panics or allocates without bound on some malformed inputs,
// and files handed to this package come from users.
package npz

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultKey is the array key the original FACE01 scripts store embeddings under.
const DefaultKey = "efficientnetv2_arcface"

// NamesKey is the array key holding the image file names, one per embedding row.
const NamesKey = "name"

// Sentinel errors, wrapped (with the file and the details) by ReadFile and Read.
var (
	ErrNotNPZ     = errors.New("not an npz (zip) archive")
	ErrBadNPY     = errors.New("malformed .npy array")
	ErrMissingKey = errors.New("missing array")
	ErrDType      = errors.New("unsupported dtype")
	ErrShape      = errors.New("unsupported shape")
	ErrCount      = errors.New("name count differs from embedding row count")
	ErrNonFinite  = errors.New("non-finite embedding value")
)

// Person is the content of one npz file: Len() faces with their file names and
// their embeddings.
type Person struct {
	// Names holds the image file names, one per row of Vectors.
	Names []string
	// Vectors holds len(Names)*Dim values, row-major: row i is
	// Vectors[i*Dim:(i+1)*Dim].
	Vectors []float32
	// Dim is the embedding dimension.
	Dim int
}

// Len returns the number of faces.
func (p *Person) Len() int { return len(p.Names) }

// Row returns the embedding of face i (a sub-slice of Vectors, not a copy).
func (p *Person) Row(i int) []float32 { return p.Vectors[i*p.Dim : (i+1)*p.Dim] }

// validate checks the invariants a writer relies on.
func (p *Person) validate() error {
	if p.Dim <= 0 {
		return fmt.Errorf("%w: dimension %d", ErrShape, p.Dim)
	}
	if len(p.Names) == 0 {
		return fmt.Errorf("%w: no faces to write", ErrShape)
	}
	if len(p.Vectors) != len(p.Names)*p.Dim {
		return fmt.Errorf("%w: %d names but %d values for dimension %d", ErrCount, len(p.Names), len(p.Vectors), p.Dim)
	}
	for _, n := range p.Names {
		if strings.ContainsRune(n, 0) {
			return fmt.Errorf("name %q contains a NUL character, which numpy strings cannot hold", n)
		}
	}
	return nil
}
