// Package tensor holds the dense float32 tensor that the face models take and
// return. It has no cgo: pure algorithms (detect) depend on it instead of on
// the onnxruntime binding in internal/ort, whose Session runs these tensors
// (ort.Tensor is an alias of this type).
package tensor

// Tensor is a dense float32 tensor in row-major order.
type Tensor struct {
	Shape []int64
	Data  []float32
}
