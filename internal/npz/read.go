package npz

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
)

// ReadFile reads the embeddings stored under key (DefaultKey when key is
// empty) and the names (NamesKey) from the npz file at path. Accepted:
// embeddings of shape (n, D) or (n, 1, D), float32 or float64 (converted to
// float32), in C or Fortran order; names of dtype '<U..' (or bytes 'S..') and
// shape (n,) or (n, 1). Other arrays (e.g. "dlib") are ignored. Errors name
// the file and wrap one of the package's sentinel errors.
func ReadFile(path, key string) (*Person, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("npz: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("npz: %w", err)
	}
	p, err := Read(f, st.Size(), key)
	if err != nil {
		return nil, fmt.Errorf("npz %s: %w", path, err)
	}
	return p, nil
}

// Read is ReadFile on an archive of the given size held in r.
func Read(r io.ReaderAt, size int64, key string) (p *Person, err error) {
	if key == "" {
		key = DefaultKey
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotNPZ, err)
	}
	keys := make([]string, 0, len(zr.File))
	entry := map[string]*zip.File{}
	for _, f := range zr.File {
		k := strings.TrimSuffix(f.Name, ".npy")
		if _, dup := entry[k]; !dup {
			entry[k] = f
			keys = append(keys, k)
		}
	}
	find := func(k string) (*zip.File, error) {
		if f, ok := entry[k]; ok {
			return f, nil
		}
		return nil, fmt.Errorf("%w %q (arrays present: %s)", ErrMissingKey, k, listKeys(keys))
	}
	vf, err := find(key)
	if err != nil {
		return nil, err
	}
	nf, err := find(NamesKey)
	if err != nil {
		return nil, err
	}

	// npyio is only handed headers this package has validated and rewritten,
	// but it is third-party code running on user data: a panic there must
	// become an error naming the file, not a crash.
	defer func() {
		if v := recover(); v != nil {
			p, err = nil, fmt.Errorf("%w: decoder failure: %v", ErrBadNPY, v)
		}
	}()

	vecs, dim, err := readVectors(vf)
	if err != nil {
		return nil, fmt.Errorf("array %q: %w", key, err)
	}
	names, err := readNames(nf)
	if err != nil {
		return nil, fmt.Errorf("array %q: %w", NamesKey, err)
	}
	rows := len(vecs) / dim
	if len(names) != rows {
		return nil, fmt.Errorf("%w: %d names, %d embeddings", ErrCount, len(names), rows)
	}
	for i, v := range vecs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w (NaN, Inf or beyond float32 range) in row %d (%q), column %d",
				ErrNonFinite, i/dim, names[i/dim], i%dim)
		}
	}
	return &Person{Names: names, Vectors: vecs, Dim: dim}, nil
}

func listKeys(keys []string) string {
	if len(keys) == 0 {
		return "none"
	}
	s := slices.Clone(keys)
	slices.Sort(s)
	return strings.Join(s, ", ")
}

// readEntry decompresses one zip entry and validates its .npy header. The
// entry's declared size is checked against MaxArrayBytes before anything is
// read, and against the size the .npy header implies before the data is
// allocated; archive/zip fails a stream that differs from the declared size
// or CRC.
func readEntry(f *zip.File) (npyHeader, []byte, error) {
	var h npyHeader
	if f.UncompressedSize64 > MaxArrayBytes {
		return h, nil, fmt.Errorf("%w: entry of %d bytes, more than the %d accepted", ErrBadNPY, f.UncompressedSize64, MaxArrayBytes)
	}
	rc, err := f.Open()
	if err != nil {
		return h, nil, fmt.Errorf("%w: %v", ErrNotNPZ, err)
	}
	defer rc.Close()
	h, off, err := readHeader(rc)
	if err != nil {
		return h, nil, err
	}
	if want := uint64(off) + h.dataBytes(); want != f.UncompressedSize64 {
		return h, nil, fmt.Errorf("%w: shape %s of %s needs %d data bytes, found %d", ErrBadNPY,
			shapeString(h.shape), h.descr, h.dataBytes(), int64(f.UncompressedSize64)-off)
	}
	data := make([]byte, h.dataBytes())
	if _, err := io.ReadFull(rc, data); err != nil {
		return h, nil, fmt.Errorf("%w: %v", ErrNotNPZ, err)
	}
	// Reading to the end makes archive/zip verify the CRC.
	if _, err := io.ReadFull(rc, make([]byte, 1)); err != io.EOF {
		return h, nil, fmt.Errorf("%w: entry longer than declared or corrupt (%v)", ErrNotNPZ, err)
	}
	return h, data, nil
}

// decoder returns an npyio reader over the validated array.
func decoder(h *npyHeader, data []byte) (*npy.Reader, error) {
	rd, err := npy.NewReader(io.MultiReader(bytes.NewReader(h.canonical()), bytes.NewReader(data)))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadNPY, err)
	}
	return rd, nil
}

// readVectors decodes an (n, D) or (n, 1, D) float array into row-major float32.
func readVectors(f *zip.File) ([]float32, int, error) {
	h, data, err := readEntry(f)
	if err != nil {
		return nil, 0, err
	}
	if h.kind != 'f' {
		return nil, 0, fmt.Errorf("%w %q (want float32 or float64)", ErrDType, h.descr)
	}
	var dim int
	switch {
	case len(h.shape) == 2:
		dim = h.shape[1]
	case len(h.shape) == 3 && h.shape[1] == 1:
		dim = h.shape[2]
	default:
		return nil, 0, fmt.Errorf("%w %s (want (n, D) or (n, 1, D))", ErrShape, shapeString(h.shape))
	}
	if dim == 0 {
		return nil, 0, fmt.Errorf("%w %s: zero embedding dimension", ErrShape, shapeString(h.shape))
	}
	out, err := decodeFloats(&h, data)
	if err != nil {
		return nil, 0, err
	}
	return out, dim, nil
}

// readNames decodes an (n,) or (n, 1) string array.
func readNames(f *zip.File) ([]string, error) {
	h, data, err := readEntry(f)
	if err != nil {
		return nil, err
	}
	if h.kind != 'U' && h.kind != 'S' {
		return nil, fmt.Errorf("%w %q (want a numpy unicode array '<U..')", ErrDType, h.descr)
	}
	if !(len(h.shape) == 1 || (len(h.shape) == 2 && h.shape[1] == 1)) {
		return nil, fmt.Errorf("%w %s (want (n,))", ErrShape, shapeString(h.shape))
	}
	if h.count == 0 {
		return []string{}, nil
	}
	if h.size == 0 {
		return make([]string, h.count), nil // dtype '<U0': all names empty
	}
	rd, err := decoder(&h, data)
	if err != nil {
		return nil, err
	}
	out := make([]string, h.count)
	if err := rd.Read(&out); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadNPY, err)
	}
	return out, nil
}
