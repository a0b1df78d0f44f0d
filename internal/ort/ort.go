// Package ort runs ONNX models with onnxruntime. It is the only package that
// imports github.com/yalue/onnxruntime_go (and so the only cgo user besides
// internal/faiss).
//
// onnxruntime_go keeps one onnxruntime environment in package-level state of
// its own, so a process can hold only one. This package mirrors that with the
// only package-level mutable state it has: a mutex-guarded count of open
// Runtimes. The first Open loads the shared library and creates the
// environment; the last Close destroys it. Every Runtime must name the same
// library path.
package ort

import (
	"errors"
	"fmt"
	"os"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/facesearch/facesearch/internal/tensor"
)

// ErrNotOpen is returned by a nil or zero-value Runtime or Session (one not
// made by Open or NewSession).
var ErrNotOpen = errors.New("onnxruntime: not opened (use ort.Open and Runtime.NewSession)")

// env guards onnxruntime_go's global environment (forced by that package).
var env struct {
	mu   sync.Mutex
	refs int
	lib  string
}

// Runtime is a handle on the process-wide onnxruntime environment. Sessions
// are created from it. Close it when done; it closes its remaining sessions.
// Only Open makes a usable Runtime: a nil or zero-value one refuses
// NewSession with ErrNotOpen, and its Close does nothing.
type Runtime struct {
	mu       sync.Mutex
	closed   bool
	sessions map[*Session]struct{}
}

// Open loads the onnxruntime shared library at libPath (once per process)
// and returns a Runtime. Several Runtimes may be open at once; they share
// the environment.
func Open(libPath string) (*Runtime, error) {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.refs == 0 {
		if _, err := os.Stat(libPath); err != nil {
			return nil, fmt.Errorf("onnxruntime library %s: %w (run setup or set FACESEARCH_ORT_LIB)", libPath, err)
		}
		if onnx.IsInitialized() {
			return nil, errors.New("onnxruntime: environment initialised outside package ort")
		}
		onnx.SetSharedLibraryPath(libPath)
		var err error
		// On a stack sized to the command line: see bigstack.go.
		if serr := onBigStack(initStackSize(cmdlineLen()), func() {
			err = onnx.InitializeEnvironment(onnx.WithLogLevelError())
		}); serr != nil {
			return nil, serr
		}
		if err != nil {
			return nil, fmt.Errorf("onnxruntime library %s: %w", libPath, err)
		}
		env.lib = libPath
	} else if libPath != env.lib {
		return nil, fmt.Errorf("onnxruntime: library %s already loaded, cannot also load %s", env.lib, libPath)
	}
	env.refs++
	return &Runtime{sessions: map[*Session]struct{}{}}, nil
}

// Close closes the Runtime's open sessions and, if it is the last open
// Runtime, destroys the onnxruntime environment. Calling it again is a no-op.
func (r *Runtime) Close() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	if r.closed || r.sessions == nil {
		// Closed already, or a zero value that never took a reference on
		// the environment.
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	open := make([]*Session, 0, len(r.sessions))
	for s := range r.sessions {
		open = append(open, s)
	}
	r.mu.Unlock()
	var errs []error
	for _, s := range open {
		errs = append(errs, s.Close())
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	env.refs--
	if env.refs == 0 {
		if err := onnx.DestroyEnvironment(); err != nil {
			errs = append(errs, fmt.Errorf("onnxruntime: destroy environment: %w", err))
		}
		env.lib = ""
	}
	return errors.Join(errs...)
}

// SessionOptions sets a session's thread pools. Zero means 1 (never
// onnxruntime's default of one thread per core: callers run several sessions
// in parallel and budget the cores themselves).
type SessionOptions struct {
	IntraOpThreads int // threads used inside one operator
	InterOpThreads int // threads running independent operators in parallel
}

// Tensor is a dense float32 tensor in row-major order (internal/tensor's,
// so that the pure algorithms need not import this cgo package).
type Tensor = tensor.Tensor

// Session is one loaded model. Run may be called from several goroutines at
// once. Only NewSession makes a usable Session: a nil or zero-value one
// fails Run with ErrNotOpen, and its Close does nothing.
type Session struct {
	rt      *Runtime
	path    string
	inputs  []string
	outputs []string

	mu     sync.RWMutex // Run holds it shared, Close exclusively
	closed bool
	s      *onnx.DynamicAdvancedSession
}

// NewSession loads the ONNX model at modelPath with the named inputs and
// outputs.
func (r *Runtime) NewSession(modelPath string, inputs, outputs []string, o SessionOptions) (*Session, error) {
	if r == nil {
		return nil, fmt.Errorf("model %s: %w", modelPath, ErrNotOpen)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sessions == nil {
		return nil, fmt.Errorf("model %s: %w", modelPath, ErrNotOpen)
	}
	if r.closed {
		return nil, fmt.Errorf("model %s: onnxruntime already closed", modelPath)
	}
	if _, err := os.Stat(modelPath); err != nil {
		return nil, fmt.Errorf("model %s: %w", modelPath, err)
	}
	so, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("model %s: session options: %w", modelPath, err)
	}
	defer so.Destroy()
	intra, inter := max(o.IntraOpThreads, 1), max(o.InterOpThreads, 1)
	if err := so.SetIntraOpNumThreads(intra); err != nil {
		return nil, fmt.Errorf("model %s: intra-op threads: %w", modelPath, err)
	}
	if err := so.SetInterOpNumThreads(inter); err != nil {
		return nil, fmt.Errorf("model %s: inter-op threads: %w", modelPath, err)
	}
	ds, err := onnx.NewDynamicAdvancedSession(modelPath, inputs, outputs, so)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", modelPath, err)
	}
	s := &Session{rt: r, path: modelPath, inputs: inputs, outputs: outputs, s: ds}
	r.sessions[s] = struct{}{}
	return s, nil
}

// Run feeds one tensor per input name and returns one tensor per output name.
func (s *Session) Run(inputs []Tensor) ([]Tensor, error) {
	if s == nil || s.s == nil {
		return nil, ErrNotOpen
	}
	if len(inputs) != len(s.inputs) {
		return nil, fmt.Errorf("model %s: %d inputs given, want %d", s.path, len(inputs), len(s.inputs))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("model %s: session closed", s.path)
	}
	in := make([]onnx.Value, len(inputs))
	defer func() {
		for _, v := range in {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, t := range inputs {
		var n int64 = 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != int64(len(t.Data)) || n == 0 {
			return nil, fmt.Errorf("model %s: input %s: shape %v does not match %d values", s.path, s.inputs[i], t.Shape, len(t.Data))
		}
		v, err := onnx.NewTensor(onnx.NewShape(t.Shape...), t.Data)
		if err != nil {
			return nil, fmt.Errorf("model %s: input %s: %w", s.path, s.inputs[i], err)
		}
		in[i] = v
	}
	out := make([]onnx.Value, len(s.outputs))
	if err := s.s.Run(in, out); err != nil {
		return nil, fmt.Errorf("model %s: run: %w", s.path, err)
	}
	res := make([]Tensor, len(out))
	var err error
	for i, v := range out {
		if v == nil {
			continue
		}
		if t, ok := v.(*onnx.Tensor[float32]); ok {
			res[i] = Tensor{Shape: []int64(t.GetShape()), Data: t.GetData()}
		} else if err == nil {
			err = fmt.Errorf("model %s: output %s is not a float32 tensor", s.path, s.outputs[i])
		}
		v.Destroy()
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Close frees the session after in-flight Runs finish. Calling it again is a
// no-op.
func (s *Session) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.s == nil {
		return nil
	}
	s.closed = true
	s.rt.mu.Lock()
	delete(s.rt.sessions, s)
	s.rt.mu.Unlock()
	if err := s.s.Destroy(); err != nil {
		return fmt.Errorf("model %s: close: %w", s.path, err)
	}
	return nil
}
