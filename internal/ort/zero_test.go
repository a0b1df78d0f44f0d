package ort

import (
	"errors"
	"testing"
)

// TestZeroValues checks that Runtimes and Sessions not made by Open and
// NewSession fail with ErrNotOpen instead of panicking, and that closing one
// leaves the shared environment's reference count alone.
func TestZeroValues(t *testing.T) {
	tests := []struct {
		name string
		rt   *Runtime
	}{
		{"zero Runtime", &Runtime{}},
		{"nil Runtime", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env.mu.Lock()
			refs := env.refs
			env.mu.Unlock()
			s, err := tc.rt.NewSession("model.onnx", []string{"input"}, []string{"output"}, SessionOptions{})
			if !errors.Is(err, ErrNotOpen) || s != nil {
				t.Errorf("NewSession = %v, %v; want ErrNotOpen", s, err)
			}
			for range 2 {
				if err := tc.rt.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}
			env.mu.Lock()
			defer env.mu.Unlock()
			if env.refs != refs {
				t.Errorf("environment references %d after Close, want %d", env.refs, refs)
			}
		})
	}
	for _, s := range []*Session{{}, nil} {
		if _, err := s.Run([]Tensor{{Shape: []int64{1}, Data: []float32{1}}}); !errors.Is(err, ErrNotOpen) {
			t.Errorf("Run on %#v: %v, want ErrNotOpen", s, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close on %#v: %v", s, err)
		}
	}
}
