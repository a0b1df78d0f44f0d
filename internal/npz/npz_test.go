package npz

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// npyFile builds a .npy file by hand, so tests control every header field.
func npyFile(descr string, fortran bool, shape string, data []byte) []byte {
	order := "False"
	if fortran {
		order = "True"
	}
	return rawNPY(fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, order, shape), data)
}

// rawNPY wraps a header dict literal and data as a version 1.0 .npy file.
func rawNPY(dict string, data []byte) []byte {
	pad := (64 - (10+len(dict)+1)%64) % 64
	dict += strings.Repeat(" ", pad) + "\n"
	out := append([]byte("\x93NUMPY\x01\x00"), 0, 0)
	binary.LittleEndian.PutUint16(out[8:], uint16(len(dict)))
	out = append(out, dict...)
	return append(out, data...)
}

// entry is one member of a test archive.
type entry struct {
	name string
	data []byte
}

// zipOf builds an npz archive; deflate selects compression (np.savez_compressed).
func zipOf(tb testing.TB, deflate bool, entries ...entry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		m := zip.Store
		if deflate {
			m = zip.Deflate
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: m})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func f32le(vs ...float32) []byte {
	out := make([]byte, 0, 4*len(vs))
	for _, v := range vs {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
	}
	return out
}

func f64(bo binary.AppendByteOrder, vs ...float64) []byte {
	out := make([]byte, 0, 8*len(vs))
	for _, v := range vs {
		out = bo.AppendUint64(out, math.Float64bits(v))
	}
	return out
}

// unicode encodes names as numpy '<U<width>' data (UTF-32LE, NUL padded).
func unicode(width int, names ...string) []byte {
	var out []byte
	for _, n := range names {
		k := 0
		for _, r := range n {
			out = binary.LittleEndian.AppendUint32(out, uint32(r))
			k++
		}
		out = append(out, make([]byte, 4*(width-k))...)
	}
	return out
}

func uNames(names ...string) entry {
	w := 0
	for _, n := range names {
		w = max(w, utf8.RuneCountInString(n))
	}
	return entry{"name.npy", npyFile(fmt.Sprintf("<U%d", w), false, fmt.Sprintf("(%d,)", len(names)), unicode(w, names...))}
}

func TestRead(t *testing.T) {
	vals := []float32{1, 2, 3, 4, 5, 6} // two rows of three
	names := []string{"img0001.jpg", "山田太郎_02.png"}
	vec := func(descr, shape string, data []byte) entry {
		return entry{"efficientnetv2_arcface.npy", npyFile(descr, false, shape, data)}
	}
	good := vec("<f4", "(2, 1, 3)", f32le(vals...))
	tests := []struct {
		name    string
		archive []byte
		key     string
		want    *Person
		wantErr error
		errText string // substring the message must contain
	}{
		{name: "float32 (n,1,D)", archive: zipOf(t, false, good, uNames(names...)),
			want: &Person{Names: names, Vectors: vals, Dim: 3}},
		{name: "float32 (n,D) compressed", archive: zipOf(t, true, vec("<f4", "(2, 3)", f32le(vals...)), uNames(names...)),
			want: &Person{Names: names, Vectors: vals, Dim: 3}},
		{name: "float64 little endian", archive: zipOf(t, false, vec("<f8", "(2, 3)", f64(binary.LittleEndian, 1, 2, 3, 4, 5, 6)), uNames(names...)),
			want: &Person{Names: names, Vectors: vals, Dim: 3}},
		{name: "float64 big endian (n,1,D)", archive: zipOf(t, false, vec(">f8", "(2, 1, 3)", f64(binary.BigEndian, 1, 2, 3, 4, 5, 6)), uNames(names...)),
			want: &Person{Names: names, Vectors: vals, Dim: 3}},
		{name: "fortran order", archive: zipOf(t, false,
			entry{"efficientnetv2_arcface.npy", npyFile("<f4", true, "(2, 3)", f32le(1, 4, 2, 5, 3, 6))}, uNames(names...)),
			want: &Person{Names: names, Vectors: vals, Dim: 3}},
		{name: "names (n,1) and extra dlib key", archive: zipOf(t, false, good,
			entry{"dlib.npy", npyFile("<f8", false, "(2, 128)", make([]byte, 2*128*8))},
			entry{"name.npy", npyFile("<U15", false, "(2, 1)", unicode(15, names...))}),
			want: &Person{Names: names, Vectors: vals, Dim: 3}},
		{name: "byte-string names", archive: zipOf(t, false, good,
			entry{"name.npy", npyFile("|S3", false, "(2,)", []byte("ab\x00xyz"))}),
			want: &Person{Names: []string{"ab", "xyz"}, Vectors: vals, Dim: 3}},
		{name: "custom key", key: "dlib", archive: zipOf(t, false, good,
			entry{"dlib.npy", npyFile("<f4", false, "(2, 2)", f32le(1, 0, 0, 1))}, uNames(names...)),
			want: &Person{Names: names, Vectors: []float32{1, 0, 0, 1}, Dim: 2}},
		{name: "no faces", archive: zipOf(t, false, vec("<f4", "(0, 1, 512)", nil), entry{"name.npy", npyFile("<U1", false, "(0,)", nil)}),
			want: &Person{Names: []string{}, Vectors: []float32{}, Dim: 512}},

		{name: "not a zip", archive: []byte("hello, this is not a zip file at all"), wantErr: ErrNotNPZ},
		{name: "missing key lists keys", archive: zipOf(t, false, uNames(names...), entry{"dlib.npy", nil}),
			wantErr: ErrMissingKey, errText: `"efficientnetv2_arcface" (arrays present: dlib, name)`},
		{name: "missing names", archive: zipOf(t, false, good), wantErr: ErrMissingKey, errText: `"name"`},
		{name: "int embeddings", archive: zipOf(t, false, vec("<i4", "(2, 3)", make([]byte, 24)), uNames(names...)),
			wantErr: ErrDType, errText: "<i4"},
		{name: "float16 embeddings", archive: zipOf(t, false, vec("<f2", "(2, 3)", make([]byte, 12)), uNames(names...)), wantErr: ErrDType},
		{name: "structured dtype", archive: zipOf(t, false,
			entry{"efficientnetv2_arcface.npy", rawNPY("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", make([]byte, 8))},
			uNames(names...)), wantErr: ErrDType},
		{name: "shape (n,2,D)", archive: zipOf(t, false, vec("<f4", "(1, 2, 3)", f32le(vals...)), uNames(names...)), wantErr: ErrShape},
		{name: "1-d embeddings", archive: zipOf(t, false, vec("<f4", "(6,)", f32le(vals...)), uNames(names...)), wantErr: ErrShape},
		{name: "zero dimension", archive: zipOf(t, false, vec("<f4", "(2, 0)", nil), uNames(names...)), wantErr: ErrShape},
		{name: "name count", archive: zipOf(t, false, good, uNames("a.jpg")), wantErr: ErrCount, errText: "1 names, 2 embeddings"},
		{name: "NaN", archive: zipOf(t, false, vec("<f4", "(2, 3)", f32le(1, 2, 3, 4, float32(math.NaN()), 6)), uNames(names...)),
			wantErr: ErrNonFinite, errText: `row 1 ("山田太郎_02.png"), column 1`},
		{name: "Inf", archive: zipOf(t, false, vec("<f4", "(2, 3)", f32le(float32(math.Inf(-1)), 2, 3, 4, 5, 6)), uNames(names...)), wantErr: ErrNonFinite},
		{name: "float64 beyond float32", archive: zipOf(t, false, vec("<f8", "(2, 3)", f64(binary.LittleEndian, 1e300, 2, 3, 4, 5, 6)), uNames(names...)), wantErr: ErrNonFinite},
		{name: "object names", archive: zipOf(t, false, good, entry{"name.npy", npyFile("|O", false, "(2,)", nil)}),
			wantErr: ErrDType, errText: "pickled"},
		{name: "float names", archive: zipOf(t, false, good, entry{"name.npy", npyFile("<f4", false, "(2,)", f32le(1, 2))}), wantErr: ErrDType},
		{name: "truncated data", archive: zipOf(t, false, vec("<f4", "(2, 3)", f32le(1, 2, 3)), uNames(names...)),
			wantErr: ErrBadNPY, errText: "needs 24 data bytes, found 12"},
		{name: "no magic", archive: zipOf(t, false, entry{"efficientnetv2_arcface.npy", []byte("just some bytes")}, uNames(names...)), wantErr: ErrBadNPY},
		{name: "header beyond end", archive: zipOf(t, false, entry{"efficientnetv2_arcface.npy", []byte("\x93NUMPY\x01\x00\xff\x7f{")}, uNames(names...)), wantErr: ErrBadNPY},
		{name: "huge shape", archive: zipOf(t, false, vec("<f4", "(99999999999, 99999999999)", nil), uNames(names...)), wantErr: ErrShape},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "npKnown.npz")
			if err := os.WriteFile(path, tt.archive, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(path, tt.key)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.errText) {
					t.Errorf("error %q should name the file and contain %q", err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Names, tt.want.Names) || !slices.Equal(got.Vectors, tt.want.Vectors) || got.Dim != tt.want.Dim {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestWriteRoundTrip(t *testing.T) {
	p := &Person{Names: []string{"img0001.jpg", "画像_ü.JPG", "x"}, Dim: 512}
	for i := range 3 * 512 {
		p.Vectors = append(p.Vectors, float32(i)/7-100)
	}
	path := filepath.Join(t.TempDir(), "npKnown.npz")
	if err := WriteFile(path, "", p); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Names, p.Names) || !slices.Equal(got.Vectors, p.Vectors) || got.Dim != 512 {
		t.Fatalf("round trip changed the data: names %q dim %d", got.Names, got.Dim)
	}
	if !slices.Equal(got.Row(1), p.Vectors[512:1024]) {
		t.Error("Row(1) is not the second row")
	}
}

func TestWriteRejects(t *testing.T) {
	tests := []struct {
		name string
		p    *Person
		key  string
	}{
		{"no faces", &Person{Dim: 2}, ""},
		{"zero dim", &Person{Names: []string{"a"}, Dim: 0}, ""},
		{"length mismatch", &Person{Names: []string{"a", "b"}, Vectors: []float32{1, 2, 3}, Dim: 2}, ""},
		{"NUL in name", &Person{Names: []string{"a\x00b"}, Vectors: []float32{1}, Dim: 1}, ""},
		{"key collides", &Person{Names: []string{"a"}, Vectors: []float32{1}, Dim: 1}, NamesKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.npz")
			if err := WriteFile(path, tt.key, tt.p); err == nil {
				t.Fatal("WriteFile accepted invalid input")
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed write left %s behind", path)
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	names := []string{"a.jpg", "日本.png"}
	f.Add(zipOf(f, false, entry{"efficientnetv2_arcface.npy", npyFile("<f4", false, "(2, 1, 2)", f32le(1, 2, 3, 4))}, uNames(names...)))
	f.Add(zipOf(f, true, entry{"efficientnetv2_arcface.npy", npyFile(">f8", true, "(2, 2)", f64(binary.BigEndian, 1, 2, 3, 4))}, uNames(names...)))
	f.Add(zipOf(f, false, entry{"efficientnetv2_arcface.npy", npyFile("<f4", false, "(2, 2)", nil)}, entry{"name.npy", npyFile("|S2", false, "(2, 1)", []byte("abcd"))}))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Read(bytes.NewReader(b), int64(len(b)), "")
		if err != nil {
			return
		}
		if p.Dim <= 0 || len(p.Vectors) != len(p.Names)*p.Dim {
			t.Fatalf("inconsistent result: %d names, %d values, dim %d", len(p.Names), len(p.Vectors), p.Dim)
		}
	})
}

// FuzzHeader exercises the .npy header validation directly (the zip layer
// makes it hard for FuzzRead to reach).
func FuzzHeader(f *testing.F) {
	f.Add(npyFile("<f4", false, "(2, 1, 2)", f32le(1, 2, 3, 4)))
	f.Add(npyFile("<U3", false, "(2,)", unicode(3, "ab", "日本")))
	f.Add([]byte("\x93NUMPY\x02\x00\x10\x00\x00\x00{'descr': '<f4'}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, data, err := splitNPY(b)
		if err != nil {
			return
		}
		if uint64(len(data)) != uint64(h.count)*uint64(h.size) {
			t.Fatalf("data length %d for %d items of %d bytes", len(data), h.count, h.size)
		}
		if _, _, err := splitNPY(append(h.canonical(), data...)); err != nil {
			t.Fatalf("canonical header rejected: %v", err)
		}
	})
}
