package cli

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// npyBytes builds a version 1.0 .npy file by hand, so a test controls every
// header field.
func npyBytes(descr string, fortran bool, shape string, data []byte) []byte {
	order := "False"
	if fortran {
		order = "True"
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, order, shape)
	dict += strings.Repeat(" ", (64-(10+len(dict)+1)%64)%64) + "\n"
	out := append([]byte("\x93NUMPY\x01\x00"), 0, 0)
	binary.LittleEndian.PutUint16(out[8:], uint16(len(dict)))
	return append(append(out, dict...), data...)
}

func le32(vs ...float32) []byte {
	var out []byte
	for _, v := range vs {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
	}
	return out
}

// TestSearchVectorFile checks readNpy (search --vector) on good and
// malformed .npy files: a malformed one is an error naming the file, never a
// crash or a huge allocation.
func TestSearchVectorFile(t *testing.T) {
	const dim = 2
	tests := []struct {
		name string
		file []byte
		want [][]float32 // nil: an error containing errSubstr
		err  string
	}{
		{"one vector", npyBytes("<f4", false, "(2,)", le32(3, 4)), [][]float32{{0.6, 0.8}}, ""},
		{"two rows", npyBytes("<f4", false, "(2, 2)", le32(3, 4, 0, 2)), [][]float32{{0.6, 0.8}, {0, 1}}, ""},
		{"Fortran rows", npyBytes("<f4", true, "(2, 2)", le32(3, 0, 4, 2)), [][]float32{{0.6, 0.8}, {0, 1}}, ""},
		{"float64", npyBytes("<f8", false, "(2,)", binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, math.Float64bits(3)), math.Float64bits(4))), [][]float32{{0.6, 0.8}}, ""},
		{"huge shape", npyBytes("<f4", false, "(100000000000, 512)", le32(1, 2)), nil, "too large"},
		{"huge shape within the element bound", npyBytes("<f4", false, "(1000000000, 2)", le32(1, 2)), nil, "needs 8000000000 data bytes, found 8"},
		{"truncated", npyBytes("<f4", false, "(2, 2)", le32(1, 2, 3)), nil, "needs 16 data bytes, found 12"},
		{"wrong dtype", npyBytes("<i4", false, "(2,)", le32(1, 2)), nil, "unsupported dtype"},
		{"wrong dimension", npyBytes("<f4", false, "(3,)", le32(1, 2, 3)), nil, "want (2) or (n, 2)"},
		{"no rows", npyBytes("<f4", false, "(0, 2)", nil), nil, "want (2) or (n, 2)"},
		{"NaN", npyBytes("<f4", false, "(2,)", le32(1, float32(math.NaN()))), nil, "non-finite"},
		{"zero vector", npyBytes("<f4", false, "(2,)", le32(0, 0)), nil, "row 0"},
		{"not npy", []byte("PK\x03\x04 an npz, not an npy"), nil, "magic"},
	}
	dir := t.TempDir()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, fmt.Sprintf("q%d.npy", i))
			if err := os.WriteFile(file, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := readNpy(file, dim)
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), file) {
					t.Fatalf("error %v, want one naming %s and containing %q", err, file, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for r := range got {
				for c := range got[r] {
					if math.Abs(float64(got[r][c]-tc.want[r][c])) > 1e-6 {
						t.Fatalf("got %v, want %v", got, tc.want)
					}
				}
			}
		})
	}
}
