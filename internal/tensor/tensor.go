// Package tensor holds the dense float32 tensor that the face models take and
// return, and the Runner interface a model session satisfies. It has no cgo:
// pure algorithms (detect, embed's landmark and feature steps) depend on it
// instead of on the onnxruntime binding in internal/ort.
package tensor

// Tensor is a dense float32 tensor in row-major order.
type Tensor struct {
	Shape []int64
	Data  []float32
}

// Runner runs one model: the inputs in the model's input order, the outputs
// in its output order. internal/ort's Session implements it.
type Runner interface {
	Run(inputs []Tensor) ([]Tensor, error)
}
