package npz

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// MaxArrayBytes bounds the size of one array this package reads: a .npy
// file given to ReadNPY, or one decompressed npz entry (a guard against zip
// bombs and absurd shapes; 57,637 float64 512-d rows are 236 MB).
const MaxArrayBytes = 1 << 30

// maxHeaderBytes bounds the header dict of a .npy file (numpy writes well
// under 1 KiB; its own reader refuses more than 10,000 bytes by default).
const maxHeaderBytes = 1 << 20

// Array is a float array read from a .npy file: Data holds the product of
// Shape values, converted to float32, in C (row-major) order.
type Array struct {
	Shape []int
	Data  []float32
}

// ReadNPYFile reads the float32 or float64 array in the .npy file at path
// (see ReadNPY). Errors name the file.
func ReadNPYFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	a, err := ReadNPY(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("npy %s: %w", path, err)
	}
	return a, nil
}

// ReadNPY reads a float32 or float64 .npy array (any byte order, C or
// Fortran order) of size bytes held in r. The header is validated before
// anything is allocated: the file must be exactly as long as its shape and
// dtype imply and at most MaxArrayBytes, and every value must be finite.
// Errors wrap ErrBadNPY, ErrDType, ErrShape or ErrNonFinite.
func ReadNPY(r io.ReaderAt, size int64) (a *Array, err error) {
	if size > MaxArrayBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d accepted", ErrBadNPY, size, MaxArrayBytes)
	}
	sr := io.NewSectionReader(r, 0, size)
	h, off, err := readHeader(sr)
	if err != nil {
		return nil, err
	}
	if h.kind != 'f' {
		return nil, fmt.Errorf("%w %q (want float32 or float64)", ErrDType, h.descr)
	}
	if want := uint64(off) + h.dataBytes(); want != uint64(size) {
		return nil, fmt.Errorf("%w: shape %s of %s needs %d data bytes, found %d", ErrBadNPY,
			shapeString(h.shape), h.descr, h.dataBytes(), size-off)
	}
	data := make([]byte, h.dataBytes())
	if _, err := io.ReadFull(sr, data); err != nil {
		return nil, fmt.Errorf("%w: reading data: %v", ErrBadNPY, err)
	}
	defer func() {
		if v := recover(); v != nil {
			a, err = nil, fmt.Errorf("%w: decoder failure: %v", ErrBadNPY, v)
		}
	}()
	vals, err := decodeFloats(&h, data)
	if err != nil {
		return nil, err
	}
	for i, v := range vals {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w (NaN, Inf or beyond float32 range) at element %d", ErrNonFinite, i)
		}
	}
	return &Array{Shape: append([]int(nil), h.shape...), Data: vals}, nil
}

// readHeader reads and validates the .npy header at the start of r and
// returns it with its length in bytes (the offset of the array data). It
// reads only the header, so a huge declared shape costs nothing.
func readHeader(r io.Reader) (npyHeader, int64, error) {
	var h npyHeader
	pre := make([]byte, 12)
	if _, err := io.ReadFull(r, pre[:10]); err != nil {
		return h, 0, fmt.Errorf("%w: no NUMPY magic (%v)", ErrBadNPY, err)
	}
	if !bytes.Equal(pre[:6], npyMagic) {
		return h, 0, fmt.Errorf("%w: no NUMPY magic", ErrBadNPY)
	}
	major := pre[6]
	var hlen, start int64
	switch major {
	case 1:
		hlen, start = int64(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		if _, err := io.ReadFull(r, pre[10:12]); err != nil {
			return h, 0, fmt.Errorf("%w: truncated header", ErrBadNPY)
		}
		hlen, start = int64(binary.LittleEndian.Uint32(pre[8:12])), 12
	default:
		return h, 0, fmt.Errorf("%w: unknown format version %d", ErrBadNPY, major)
	}
	if hlen > maxHeaderBytes {
		return h, 0, fmt.Errorf("%w: header of %d bytes, more than %d", ErrBadNPY, hlen, maxHeaderBytes)
	}
	text := make([]byte, hlen)
	if _, err := io.ReadFull(r, text); err != nil {
		return h, 0, fmt.Errorf("%w: header length %d beyond end of data", ErrBadNPY, hlen)
	}
	if major != 3 { // version 3 only differs by allowing UTF-8 in the header
		for _, c := range text {
			if c >= 0x80 {
				return h, 0, fmt.Errorf("%w: non-ASCII header", ErrBadNPY)
			}
		}
	}
	if err := h.parseDict(string(text)); err != nil {
		return h, 0, err
	}
	return h, start + hlen, nil
}

// dataBytes is the length of the array data the header implies (at most
// 2^40 items of at most 4 MiB: no overflow).
func (h *npyHeader) dataBytes() uint64 { return uint64(h.count) * uint64(h.size) }

// decodeFloats decodes float32 or float64 array data, in the order stored,
// into float32 and returns it in C order.
func decodeFloats(h *npyHeader, data []byte) ([]float32, error) {
	rd, err := decoder(h, data)
	if err != nil {
		return nil, err
	}
	out := make([]float32, h.count)
	if h.size == 4 {
		if err := rd.Read(&out); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadNPY, err)
		}
	} else {
		f64 := make([]float64, h.count)
		if err := rd.Read(&f64); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadNPY, err)
		}
		for i, v := range f64 {
			out[i] = float32(v)
		}
	}
	if h.fortran {
		out = fortranToC(out, h.shape)
	}
	return out, nil
}

// fortranToC reorders the values of a column-major array of the given shape
// into row-major order.
func fortranToC(v []float32, shape []int) []float32 {
	big := 0 // dimensions longer than 1: with at most one, the orders agree
	for _, d := range shape {
		if d > 1 {
			big++
		}
	}
	if big < 2 || len(v) == 0 {
		return v
	}
	// stride[k] is the column-major step of index k.
	stride := make([]int, len(shape))
	s := 1
	for k, d := range shape {
		stride[k] = s
		s *= d
	}
	out := make([]float32, len(v))
	idx := make([]int, len(shape))
	for i := range out {
		off := 0
		for k, x := range idx {
			off += x * stride[k]
		}
		out[i] = v[off]
		// Advance the row-major index: the last dimension fastest.
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out
}
