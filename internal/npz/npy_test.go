package npz

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadNPY(t *testing.T) {
	// A (2, 2, 2) array stored column-major: element (i, j, k) is at
	// i + 2j + 4k and holds that offset, so C order reads 0 4 2 6 1 5 3 7.
	fortran3 := f32le(0, 1, 2, 3, 4, 5, 6, 7)
	v2huge := append([]byte("\x93NUMPY\x02\x00"), 0xff, 0xff, 0xff, 0xff)
	tests := []struct {
		name      string
		file      []byte
		shape     []int
		data      []float32
		err       error
		errSubstr string
	}{
		{"f4 C order", npyFile("<f4", false, "(2, 3)", f32le(1, 2, 3, 4, 5, 6)), []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}, nil, ""},
		{"one vector", npyFile("<f4", false, "(3,)", f32le(1, 2, 3)), []int{3}, []float32{1, 2, 3}, nil, ""},
		{"f8 big-endian Fortran", npyFile(">f8", true, "(2, 3)", f64(binary.BigEndian, 1, 4, 2, 5, 3, 6)), []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}, nil, ""},
		{"3-d Fortran", npyFile("<f4", true, "(2, 2, 2)", fortran3), []int{2, 2, 2}, []float32{0, 4, 2, 6, 1, 5, 3, 7}, nil, ""},
		{"empty array", npyFile("<f4", false, "(0, 512)", nil), []int{0, 512}, []float32{}, nil, ""},
		{"huge shape, tiny file", npyFile("<f4", false, "(1000000000, 512)", f32le(1, 2)), nil, nil, ErrBadNPY, "needs 2048000000000 data bytes, found 8"},
		{"shape beyond 2^40 elements", npyFile("<f4", false, "(100000000000, 512)", f32le(1, 2)), nil, nil, ErrShape, "too large"},
		{"truncated data", npyFile("<f4", false, "(2, 3)", f32le(1, 2, 3)), nil, nil, ErrBadNPY, "needs 24 data bytes, found 12"},
		{"trailing bytes", npyFile("<f4", false, "(1, 2)", f32le(1, 2, 3)), nil, nil, ErrBadNPY, "needs 8 data bytes, found 12"},
		{"truncated header", npyFile("<f4", false, "(1, 2)", nil)[:30], nil, nil, ErrBadNPY, "beyond end of data"},
		{"header length beyond limit", v2huge, nil, nil, ErrBadNPY, "more than"},
		{"int dtype", npyFile("<i4", false, "(1, 2)", f32le(1, 2)), nil, nil, ErrDType, "<i4"},
		{"string dtype", npyFile("<U1", false, "(2,)", unicode(1, "a", "b")), nil, nil, ErrDType, "want float32 or float64"},
		{"NaN", npyFile("<f4", false, "(1, 2)", f32le(1, float32(math.NaN()))), nil, nil, ErrNonFinite, "element 1"},
		{"float64 beyond float32", npyFile("<f8", false, "(1,)", f64(binary.LittleEndian, 1e300)), nil, nil, ErrNonFinite, "element 0"},
		{"not npy", []byte("hello, world"), nil, nil, ErrBadNPY, "magic"},
		{"empty file", nil, nil, nil, ErrBadNPY, "magic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ReadNPY(bytes.NewReader(tc.file), int64(len(tc.file)))
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.errSubstr) {
					t.Fatalf("error %v, want %v containing %q", err, tc.err, tc.errSubstr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Shape, tc.shape) || !slices.Equal(a.Data, tc.data) {
				t.Errorf("got shape %v data %v, want %v %v", a.Shape, a.Data, tc.shape, tc.data)
			}
		})
	}
}

func TestReadNPYTooLarge(t *testing.T) {
	f := npyFile("<f4", false, "(1, 2)", f32le(1, 2))
	_, err := ReadNPY(bytes.NewReader(f), MaxArrayBytes+1)
	if !errors.Is(err, ErrBadNPY) || !strings.Contains(err.Error(), "more than") {
		t.Errorf("error %v, want ErrBadNPY for a size beyond MaxArrayBytes", err)
	}
}

func TestReadNPYFileNamesFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "q.npy")
	if err := os.WriteFile(bad, npyFile("<f4", false, "(100000000000, 512)", nil), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing.npy")} {
		if _, err := ReadNPYFile(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadNPYFile(%s) error %v, want one naming the file", path, err)
		}
	}
	good := filepath.Join(dir, "good.npy")
	if err := os.WriteFile(good, npyFile("<f4", false, "(2,)", f32le(3, 4)), 0o644); err != nil {
		t.Fatal(err)
	}
	if a, err := ReadNPYFile(good); err != nil || !slices.Equal(a.Data, []float32{3, 4}) {
		t.Errorf("ReadNPYFile(good) = %v, %v", a, err)
	}
}

// rawZip builds an archive with one stored entry whose declared size and
// CRC are given (CreateRaw writes them without checking the data).
func rawZip(tb testing.TB, name string, data []byte, declared uint64) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name: name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(data),
		CompressedSize64: uint64(len(data)), UncompressedSize64: declared,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		tb.Fatal(err)
	}
	names := uNames("a.jpg")
	w, err = zw.Create(names.name)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write(names.data); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// TestReadEntrySizes checks the bounds on one npz entry: its declared size
// against MaxArrayBytes and against the size its .npy header implies.
func TestReadEntrySizes(t *testing.T) {
	good := npyFile("<f4", false, "(1, 2)", f32le(1, 2))
	huge := npyFile("<f4", false, "(1000000000, 512)", f32le(1, 2))
	tests := []struct {
		name      string
		archive   []byte
		err       error
		errSubstr string
	}{
		{"as declared", rawZip(t, "efficientnetv2_arcface.npy", good, uint64(len(good))), nil, ""},
		{"declared beyond the cap", rawZip(t, "efficientnetv2_arcface.npy", good, MaxArrayBytes+1), ErrBadNPY, "more than the"},
		{"huge shape", rawZip(t, "efficientnetv2_arcface.npy", huge, uint64(len(huge))), ErrBadNPY, "needs 2048000000000 data bytes"},
		{"declared size disagrees with the header", rawZip(t, "efficientnetv2_arcface.npy", good, uint64(len(good))+4), ErrBadNPY, "needs 8 data bytes, found 12"},
		{"stream longer than declared", rawZip(t, "efficientnetv2_arcface.npy", append(slices.Clone(good), 0, 0, 0, 0), uint64(len(good))), ErrNotNPZ, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Read(bytes.NewReader(tc.archive), int64(len(tc.archive)), "")
			if tc.err == nil {
				if err != nil || p.Len() != 1 || !slices.Equal(p.Vectors, []float32{1, 2}) {
					t.Fatalf("Read = %+v, %v", p, err)
				}
				return
			}
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.errSubstr) {
				t.Errorf("error %v, want %v containing %q", err, tc.err, tc.errSubstr)
			}
		})
	}
}

// FuzzReadNPY checks that ReadNPY never panics and that what it accepts is
// consistent with its header, and agrees with splitNPY.
func FuzzReadNPY(f *testing.F) {
	f.Add(npyFile("<f4", false, "(2, 1, 2)", f32le(1, 2, 3, 4)))
	f.Add(npyFile(">f8", true, "(2, 2)", f64(binary.BigEndian, 1, 2, 3, 4)))
	f.Add(npyFile("<f4", false, "(100000000000, 512)", nil))
	f.Add([]byte("\x93NUMPY\x02\x00\x10\x00\x00\x00{'descr': '<f4'}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ReadNPY(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		n := 1
		for _, d := range a.Shape {
			n *= d
		}
		if len(a.Data) != n {
			t.Fatalf("%d values for shape %v", len(a.Data), a.Shape)
		}
		if _, _, err := splitNPY(b); err != nil {
			t.Fatalf("ReadNPY accepted what splitNPY rejects: %v", err)
		}
	})
}
