package ort_test

import (
	"sync"
	"testing"

	"github.com/facesearch/facesearch/internal/ort"
	"github.com/facesearch/facesearch/internal/ort/orttest"
)

func landmarkSession(t *testing.T, rt *ort.Runtime) *ort.Session {
	t.Helper()
	m, home := orttest.Manifest(t)
	path, err := m.Path(home, "landmark")
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(path, []string{"input"}, []string{"output"}, ort.SessionOptions{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func input(v float32) []ort.Tensor {
	d := make([]float32, 64*64)
	for i := range d {
		d[i] = v * float32(i%64) / 64
	}
	return []ort.Tensor{{Shape: []int64{1, 1, 64, 64}, Data: d}}
}

func TestConcurrentRunsMatchSerial(t *testing.T) {
	rt := orttest.Runtime(t)
	s := landmarkSession(t, rt)
	want, err := s.Run(input(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 1 || len(want[0].Data) != 136 || len(want[0].Shape) != 2 || want[0].Shape[1] != 136 {
		t.Fatalf("output %v", want)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				got, err := s.Run(input(1))
				if err != nil {
					t.Error(err)
					return
				}
				for j := range got[0].Data {
					if got[0].Data[j] != want[0].Data[j] {
						t.Errorf("concurrent run differs at %d", j)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestErrorsAndClose(t *testing.T) {
	rt := orttest.Runtime(t)
	if _, err := rt.NewSession("/nonexistent.onnx", []string{"input"}, []string{"output"}, ort.SessionOptions{}); err == nil {
		t.Error("missing model: want error")
	}
	s := landmarkSession(t, rt)
	if _, err := s.Run([]ort.Tensor{{Shape: []int64{1, 1, 64, 64}, Data: make([]float32, 10)}}); err == nil {
		t.Error("shape/data mismatch: want error")
	}
	if _, err := s.Run(nil); err == nil {
		t.Error("no inputs: want error")
	}
	// A second Runtime shares the environment; closing it leaves the first usable.
	rt2 := orttest.Runtime(t)
	if err := rt2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rt2.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Run(input(1)); err != nil {
		t.Errorf("run after other runtime closed: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second session Close: %v", err)
	}
	if _, err := s.Run(input(1)); err == nil {
		t.Error("run after Close: want error")
	}
	if _, err := ort.Open("/nonexistent/libonnxruntime.so"); err == nil {
		t.Error("other library while one is loaded: want error")
	}
}
