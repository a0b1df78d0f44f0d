package npz

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// numpyPython returns a Python interpreter that can import numpy, or skips.
// numpy is optional (CI installs it only for the benchmarks), so this skips
// even when CI=true.
func numpyPython(tb testing.TB) string {
	tb.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import numpy").Run() == nil {
			return py
		}
	}
	tb.Skip("no python3 with numpy (apt-get install python3-numpy): numpy cross-check skipped")
	return ""
}

func TestNumpyReadsWhatWeWrite(t *testing.T) {
	py := numpyPython(t)
	p := &Person{Names: []string{"img0001.jpg", "山田 花子.JPG", "ü"}, Dim: 4}
	for i := range 12 {
		p.Vectors = append(p.Vectors, float32(i)*0.25-1)
	}
	path := filepath.Join(t.TempDir(), "npKnown.npz")
	if err := WriteFile(path, "", p); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `
import json, sys, numpy as np
d = np.load(sys.argv[1])
v = d["efficientnetv2_arcface"]
print(json.dumps({"dtype": str(v.dtype), "shape": list(v.shape), "names_dtype": d["name"].dtype.kind,
                  "names": [str(x) for x in d["name"]], "values": [float(x) for x in v.ravel()]}))
`, path).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy could not read our file: %v\n%s", err, out)
	}
	var got struct {
		DType      string    `json:"dtype"`
		Shape      []int     `json:"shape"`
		NamesDType string    `json:"names_dtype"`
		Names      []string  `json:"names"`
		Values     []float32 `json:"values"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.DType != "float32" || !slices.Equal(got.Shape, []int{3, 1, 4}) || got.NamesDType != "U" {
		t.Errorf("numpy sees dtype %s shape %v names kind %s, want float32 (3, 1, 4) U", got.DType, got.Shape, got.NamesDType)
	}
	if !slices.Equal(got.Names, p.Names) || !slices.Equal(got.Values, p.Vectors) {
		t.Errorf("numpy read names %q values %v", got.Names, got.Values)
	}
}

func TestWeReadWhatNumpyWrites(t *testing.T) {
	py := numpyPython(t)
	dir := t.TempDir()
	// Each variant is written by numpy; all hold the same 3x4 values.
	script := `
import sys, os, numpy as np
d = sys.argv[1]
v = (np.arange(12, dtype=np.float64) * 0.25 - 1).reshape(3, 4)
names = np.array(["img0001.jpg", "山田 花子.JPG", "ü"])
np.savez(os.path.join(d, "f32_n1d.npz"), efficientnetv2_arcface=v.astype(np.float32).reshape(3, 1, 4), name=names)
np.savez_compressed(os.path.join(d, "f64_nd_compressed.npz"), efficientnetv2_arcface=v, name=names, dlib=np.zeros((3, 128)))
np.savez(os.path.join(d, "f32_fortran.npz"), efficientnetv2_arcface=np.asfortranarray(v.astype(np.float32)), name=names)
np.savez(os.path.join(d, "f64_bigendian.npz"), efficientnetv2_arcface=v.astype(">f8").reshape(3, 1, 4), name=names)
np.savez(os.path.join(d, "object_names.npz"), efficientnetv2_arcface=v, name=np.array(list(names), dtype=object))
`
	if out, err := exec.Command(py, "-c", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
	wantNames := []string{"img0001.jpg", "山田 花子.JPG", "ü"}
	var wantVals []float32
	for i := range 12 {
		wantVals = append(wantVals, float32(i)*0.25-1)
	}
	for _, name := range []string{"f32_n1d", "f64_nd_compressed", "f32_fortran", "f64_bigendian"} {
		t.Run(name, func(t *testing.T) {
			p, err := ReadFile(filepath.Join(dir, name+".npz"), "")
			if err != nil {
				t.Fatal(err)
			}
			if p.Dim != 4 || !slices.Equal(p.Names, wantNames) || !slices.Equal(p.Vectors, wantVals) {
				t.Errorf("got dim %d names %q values %v", p.Dim, p.Names, p.Vectors)
			}
		})
	}
	t.Run("object names rejected", func(t *testing.T) {
		if _, err := ReadFile(filepath.Join(dir, "object_names.npz"), ""); err == nil {
			t.Error("pickled object names were accepted")
		}
	})
}
