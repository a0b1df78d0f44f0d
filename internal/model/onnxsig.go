package model

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of onnx.proto read by ReadSignature.
const (
	graphInput  = 11 // GraphProto.input
	graphOutput = 12 // GraphProto.output

	valueInfoName = 1 // ValueInfoProto.name
	valueInfoType = 2 // ValueInfoProto.type

	typeTensor       = 1 // TypeProto.tensor_type
	tensorTypeElem   = 1 // TypeProto.Tensor.elem_type
	tensorTypeShape  = 2 // TypeProto.Tensor.shape
	shapeDim         = 1 // TensorShapeProto.dim
	dimValue         = 1 // TensorShapeProto.Dimension.dim_value
	dimParam         = 2 // TensorShapeProto.Dimension.dim_param
	initializerName  = 8 // TensorProto.name (same as tensorName)
	elemTypeFloat    = 1 // TensorProto.DataType.FLOAT
	dynamicDimension = -1
)

// Tensor describes one graph input or output of an ONNX model.
type Tensor struct {
	Name string
	// ElemType is the onnx TensorProto.DataType (1 = float32).
	ElemType int
	// Shape holds the dimensions; -1 marks a dynamic one (dim_param or
	// unset).
	Shape []int64
}

func (t Tensor) String() string {
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		if d < 0 {
			dims[i] = "?"
		} else {
			dims[i] = fmt.Sprint(d)
		}
	}
	return fmt.Sprintf("%s [%s]", t.Name, strings.Join(dims, ","))
}

// Signature is the graph inputs (initializers excluded) and outputs of an
// ONNX model.
type Signature struct {
	Inputs  []Tensor
	Outputs []Tensor
}

// ReadSignature reads the inputs and outputs of the ONNX model file at path,
// from its protobuf, without onnxruntime.
func ReadSignature(path string) (*Signature, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseSignature(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseSignature is ReadSignature on the bytes of a model.
func ParseSignature(onnx []byte) (*Signature, error) {
	var graph []byte
	found := false
	err := fields(onnx, func(f field) error {
		if f.num != modelGraph {
			return nil
		}
		g, err := f.message("graph")
		if err != nil {
			return err
		}
		graph, found = g, true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("onnx model: %w", err)
	}
	if !found {
		return nil, errors.New("onnx model: no graph (not an ONNX ModelProto?)")
	}
	var s Signature
	inits := map[string]bool{}
	err = fields(graph, func(f field) error {
		switch f.num {
		case graphInput, graphOutput:
			b, err := f.message("value info")
			if err != nil {
				return err
			}
			t, err := valueInfo(b)
			if err != nil {
				return err
			}
			if f.num == graphInput {
				s.Inputs = append(s.Inputs, t)
			} else {
				s.Outputs = append(s.Outputs, t)
			}
		case graphInitializer:
			b, err := f.message("initializer")
			if err != nil {
				return err
			}
			return fields(b, func(f field) error {
				if f.num == initializerName && f.typ == protowire.BytesType {
					inits[string(f.data)] = true
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("onnx graph: %w", err)
	}
	// Models exported with old opsets list their weights among the inputs.
	in := s.Inputs[:0]
	for _, t := range s.Inputs {
		if !inits[t.Name] {
			in = append(in, t)
		}
	}
	s.Inputs = in
	return &s, nil
}

func valueInfo(b []byte) (Tensor, error) {
	var t Tensor
	err := fields(b, func(f field) error {
		switch f.num {
		case valueInfoName:
			if f.typ == protowire.BytesType {
				t.Name = string(f.data)
			}
		case valueInfoType:
			tb, err := f.message("type")
			if err != nil {
				return err
			}
			return fields(tb, func(f field) error {
				if f.num != typeTensor {
					return nil
				}
				tt, err := f.message("tensor type")
				if err != nil {
					return err
				}
				return fields(tt, func(f field) error {
					switch f.num {
					case tensorTypeElem:
						t.ElemType = int(f.v)
					case tensorTypeShape:
						sb, err := f.message("shape")
						if err != nil {
							return err
						}
						t.Shape = []int64{}
						return fields(sb, func(f field) error {
							if f.num != shapeDim {
								return nil
							}
							db, err := f.message("dim")
							if err != nil {
								return err
							}
							d := int64(dynamicDimension)
							err = fields(db, func(f field) error {
								if f.num == dimValue && f.typ == protowire.VarintType && int64(f.v) > 0 {
									d = int64(f.v)
								}
								return nil
							})
							t.Shape = append(t.Shape, d)
							return err
						})
					}
					return nil
				})
			})
		}
		return nil
	})
	return t, err
}

// CheckFeatureSignature checks that s fits the feature model of m: one
// float32 input of shape [1 or ?, 3, Height or ?, Width or ?], and a first
// output whose last dimension is m.EmbeddingDim with every other static
// dimension 1.
func CheckFeatureSignature(m *Manifest, s *Signature) error {
	in := m.Feature
	if len(s.Inputs) != 1 {
		return fmt.Errorf("the model has %d inputs, want 1 image input", len(s.Inputs))
	}
	t := s.Inputs[0]
	want := []int64{1, 3, int64(in.Height), int64(in.Width)}
	ok := len(t.Shape) == 4
	for i := 0; ok && i < 4; i++ {
		ok = t.Shape[i] == want[i] || (t.Shape[i] < 0 && i != 1)
	}
	if !ok {
		return fmt.Errorf("input %s, want [1,3,%d,%d] (profile %s takes %dx%d crops)", t, in.Height, in.Width, m.Name, in.Width, in.Height)
	}
	if t.ElemType != elemTypeFloat {
		return fmt.Errorf("input %s has element type %d, want float32 (1)", t.Name, t.ElemType)
	}
	if len(s.Outputs) == 0 {
		return errors.New("the model has no output")
	}
	o := s.Outputs[0]
	ok = len(o.Shape) >= 1 && o.Shape[len(o.Shape)-1] == int64(m.EmbeddingDim)
	for i := 0; ok && i < len(o.Shape)-1; i++ {
		ok = o.Shape[i] == 1 || o.Shape[i] < 0
	}
	if !ok {
		return fmt.Errorf("output %s, want [1,%d] (a %d-d embedding)", o, m.EmbeddingDim, m.EmbeddingDim)
	}
	if o.ElemType != elemTypeFloat {
		return fmt.Errorf("output %s has element type %d, want float32 (1)", o.Name, o.ElemType)
	}
	return nil
}
