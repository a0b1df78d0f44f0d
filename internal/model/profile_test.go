package model_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/model/onnxtest"
)

func TestParseSignature(t *testing.T) {
	tests := []struct {
		name     string
		onnx     []byte
		in, out  string
		inputs   int
		wantFail bool
	}{
		{name: "identity", onnx: onnxtest.Identity("data", "fc1", []int64{1, 3, 112, 112}), in: "data [1,3,112,112]", out: "fc1 [1,3,112,112]", inputs: 1},
		{name: "first values, dynamic batch", onnx: onnxtest.FirstValues("input.1", "683", 224, 224, 512, true), in: "input.1 [?,3,224,224]", out: "683 [?,512]", inputs: 1},
		{name: "not onnx", onnx: []byte("hello, world"), wantFail: true},
		{name: "empty", onnx: nil, wantFail: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := model.ParseSignature(tc.onnx)
			if tc.wantFail {
				if err == nil {
					t.Fatalf("ParseSignature succeeded: %+v", s)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Inputs) != tc.inputs || s.Inputs[0].String() != tc.in || s.Outputs[0].String() != tc.out {
				t.Errorf("signature %v -> %v, want %s -> %s (initializers must not count as inputs)", s.Inputs, s.Outputs, tc.in, tc.out)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	src := t.TempDir()
	jp224 := onnxtest.Write(t, src, "efficientnetv2_arcface.onnx", onnxtest.FirstValues("input", "output", 224, 224, 512, false))
	r112 := onnxtest.Write(t, src, "w600k_r50.onnx", onnxtest.FirstValues("input.1", "683", 112, 112, 512, true))
	dim128 := onnxtest.Write(t, src, "dim128.onnx", onnxtest.FirstValues("input", "output", 224, 224, 128, false))
	ident := onnxtest.Write(t, src, "identity.onnx", onnxtest.Identity("input", "output", []int64{1, 3, 224, 224}))
	garbage := onnxtest.Write(t, src, "garbage.onnx", []byte("not a model"))
	tests := []struct {
		profile, file string
		errText       string // "" = success
	}{
		{"japanese-face-v1", jp224, ""},
		{"arcface-112", r112, ""},
		{"japanese-face-v1", r112, "input input.1 [?,3,112,112], want [1,3,224,224]"},
		{"arcface-112", jp224, "want [1,3,112,112]"},
		{"japanese-face-v1", dim128, "output output [1,128], want [1,512]"},
		{"japanese-face-v1", ident, "want [1,512]"},
		{"japanese-face-v1", garbage, "does not fit profile japanese-face-v1"},
		{"japanese-face-v1", filepath.Join(src, "missing.onnx"), "no such file"},
		{"faceplugin-v1", jp224, "has no user-supplied file"},
		{"nope", jp224, "no such built-in manifest"},
	}
	for _, tc := range tests {
		t.Run(tc.profile+"/"+filepath.Base(tc.file), func(t *testing.T) {
			home := t.TempDir()
			r, err := model.Add(home, tc.profile, tc.file)
			if tc.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("Add error %v, want one containing %q", err, tc.errText)
				}
				if _, err := os.Stat(filepath.Join(home, model.ProfilesDir)); err == nil {
					t.Error("a refused file left a record")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m, err := model.Load(home, tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Files["feature"].SHA256; got != r.SHA256 || len(got) != 64 {
				t.Errorf("Load sha256 %q, record %q", got, r.SHA256)
			}
			st := model.Check(home, m)
			for _, s := range st {
				if s.Role == "feature" && s.Err != nil {
					t.Errorf("feature check after add: %v", s.Err)
				}
			}
			// Tampering with the copy is caught by Check.
			p, _ := m.Path(home, "feature")
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			var mm *model.MismatchError
			for _, s := range model.Check(home, m) {
				if s.Role == "feature" && !errors.As(s.Err, &mm) {
					t.Errorf("tampered feature file: check error %v, want a MismatchError", s.Err)
				}
			}
		})
	}
}

func TestUserFileNotAdded(t *testing.T) {
	home := t.TempDir()
	m, err := model.Load(home, "japanese-face-v1")
	if err != nil {
		t.Fatal(err)
	}
	err = model.Available(home, m)
	if !errors.Is(err, model.ErrNotAdded) || !strings.Contains(err.Error(), "facesearch models add japanese-face-v1 FILE.onnx") {
		t.Errorf("Available = %v, want ErrNotAdded with the add command", err)
	}
	// A file put there by hand, without a record, is not verified.
	p, _ := m.Path(home, "feature")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("x"), 0o644)
	for _, s := range model.Check(home, m) {
		if s.Role == "feature" && !errors.Is(s.Err, model.ErrNotAdded) {
			t.Errorf("unrecorded feature file: %v, want ErrNotAdded", s.Err)
		}
	}
}

func TestInputChannels(t *testing.T) {
	tests := []struct {
		in        model.Input
		mean, std [3]float32
		fail      bool
	}{
		{in: model.Input{Mean: 127.5, Std: 127.5}, mean: [3]float32{127.5, 127.5, 127.5}, std: [3]float32{127.5, 127.5, 127.5}},
		{in: model.Input{MeanRGB: []float32{1, 2, 3}, StdRGB: []float32{4, 5, 6}}, mean: [3]float32{1, 2, 3}, std: [3]float32{4, 5, 6}},
		{in: model.Input{MeanRGB: []float32{1, 2}, Std: 1}, fail: true},
		{in: model.Input{Mean: 1}, fail: true},
	}
	for i, tc := range tests {
		mean, std, err := tc.in.Channels()
		if (err != nil) != tc.fail {
			t.Errorf("%d: err %v, want failure %v", i, err, tc.fail)
			continue
		}
		if !tc.fail && (mean != tc.mean || std != tc.std) {
			t.Errorf("%d: %v %v, want %v %v", i, mean, std, tc.mean, tc.std)
		}
	}
}
