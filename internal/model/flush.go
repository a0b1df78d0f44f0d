package model

import (
	"encoding/binary"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto)
// that FlushDenormals walks. Only the messages that can hold weight tensors
// are decoded; every other field is skipped unchanged.
const (
	modelGraph = 7 // ModelProto.graph

	graphNode        = 1 // GraphProto.node
	graphInitializer = 5 // GraphProto.initializer

	nodeAttribute = 5 // NodeProto.attribute

	attrT       = 5  // AttributeProto.t
	attrG       = 6  // AttributeProto.g
	attrTensors = 10 // AttributeProto.tensors
	attrGraphs  = 11 // AttributeProto.graphs

	tensorDataType     = 2  // TensorProto.data_type
	tensorFloatData    = 4  // TensorProto.float_data
	tensorName         = 8  // TensorProto.name
	tensorRawData      = 9  // TensorProto.raw_data
	tensorDataLocation = 14 // TensorProto.data_location

	tensorFloat          = 1 // TensorProto.DataType.FLOAT
	tensorLocExternal    = 1 // TensorProto.DataLocation.EXTERNAL
	maxGraphNestingDepth = 64
)

// FlushDenormals returns a copy of the ONNX model onnx in which every
// denormal (subnormal) float32 weight is replaced by a zero of the same sign,
// and the number of values replaced. Denormals make onnxruntime several times
// slower on x86 and contribute nothing measurable to the outputs.
//
// It rewrites FLOAT tensors stored in graph initializers and in node
// attributes (Constant values, and the subgraphs of If/Loop/Scan, recursively),
// whether their values are in raw_data or float_data (packed or not). Each
// value keeps its 4 bytes, so the output has the same length and layout as the
// input. Not handled, because the default models do not use them: sparse
// initializers, tensors with external data (an error), FunctionProto bodies,
// training_info, and other float types (float16, bfloat16, double).
func FlushDenormals(onnx []byte) (out []byte, n int, err error) {
	out = append([]byte(nil), onnx...)
	f := flusher{}
	found, err := f.model(out)
	if err != nil {
		return nil, 0, fmt.Errorf("onnx model: %w", err)
	}
	if !found {
		return nil, 0, errors.New("onnx model: no graph (not an ONNX ModelProto?)")
	}
	return out, f.n, nil
}

type flusher struct {
	n int // denormals replaced so far
}

// field is one decoded protobuf field: its number, wire type and, for
// length-delimited fields, its payload (aliasing the buffer being rewritten).
type field struct {
	num  protowire.Number
	typ  protowire.Type
	data []byte // payload of a BytesType field, or the 4 bytes of a Fixed32Type field
	v    uint64 // value of a VarintType field
}

// fields calls fn for every field of the message b, in order.
func fields(b []byte, fn func(field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return fmt.Errorf("field %d: %w", num, protowire.ParseError(m))
			}
			f.data, n = v, m
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return fmt.Errorf("field %d: %w", num, protowire.ParseError(m))
			}
			f.v, n = v, m
		case protowire.Fixed32Type:
			if len(b) < 4 {
				return fmt.Errorf("field %d: %w", num, protowire.ParseError(-1))
			}
			f.data, n = b[:4], 4
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
			}
		}
		if err := fn(f); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// message returns f's payload, or an error when f is not length-delimited
// (a message field must be).
func (f field) message(what string) ([]byte, error) {
	if f.typ != protowire.BytesType {
		return nil, fmt.Errorf("%s (field %d): wire type %d, want bytes", what, f.num, f.typ)
	}
	return f.data, nil
}

func (fl *flusher) model(b []byte) (found bool, err error) {
	err = fields(b, func(f field) error {
		if f.num != modelGraph {
			return nil
		}
		g, err := f.message("graph")
		if err != nil {
			return err
		}
		found = true
		return fl.graph(g, 0)
	})
	return found, err
}

func (fl *flusher) graph(b []byte, depth int) error {
	if depth > maxGraphNestingDepth {
		return fmt.Errorf("graphs nested deeper than %d", maxGraphNestingDepth)
	}
	i := 0
	return fields(b, func(f field) error {
		switch f.num {
		case graphInitializer:
			t, err := f.message("initializer")
			if err != nil {
				return err
			}
			i++
			if err := fl.tensor(t); err != nil {
				return fmt.Errorf("initializer %d: %w", i, err)
			}
		case graphNode:
			nb, err := f.message("node")
			if err != nil {
				return err
			}
			return fl.node(nb, depth)
		}
		return nil
	})
}

func (fl *flusher) node(b []byte, depth int) error {
	return fields(b, func(f field) error {
		if f.num != nodeAttribute {
			return nil
		}
		a, err := f.message("attribute")
		if err != nil {
			return err
		}
		return fields(a, func(f field) error {
			switch f.num {
			case attrT, attrTensors:
				t, err := f.message("attribute tensor")
				if err != nil {
					return err
				}
				return fl.tensor(t)
			case attrG, attrGraphs:
				g, err := f.message("attribute graph")
				if err != nil {
					return err
				}
				return fl.graph(g, depth+1)
			}
			return nil
		})
	})
}

// tensor flushes the denormals of one TensorProto if its type is FLOAT. The
// data type may come after the data on the wire, so the data is collected
// first.
func (fl *flusher) tensor(b []byte) error {
	var (
		dataType uint64
		name     string
		external bool
		chunks   [][]byte // raw_data, packed float_data, or single fixed32 values
	)
	err := fields(b, func(f field) error {
		switch f.num {
		case tensorDataType:
			if f.typ != protowire.VarintType {
				return fmt.Errorf("data_type: wire type %d, want varint", f.typ)
			}
			dataType = f.v
		case tensorName:
			if f.typ == protowire.BytesType {
				name = string(f.data)
			}
		case tensorDataLocation:
			external = f.typ == protowire.VarintType && f.v == tensorLocExternal
		case tensorRawData:
			d, err := f.message("raw_data")
			if err != nil {
				return err
			}
			chunks = append(chunks, d)
		case tensorFloatData:
			switch f.typ {
			case protowire.BytesType, protowire.Fixed32Type: // packed, or one value
				chunks = append(chunks, f.data)
			default:
				return fmt.Errorf("float_data: wire type %d, want fixed32 or bytes", f.typ)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("tensor %q: %w", name, err)
	}
	if dataType != tensorFloat {
		return nil
	}
	if external {
		return fmt.Errorf("tensor %q: data stored in an external file is not supported", name)
	}
	for _, c := range chunks {
		if len(c)%4 != 0 {
			return fmt.Errorf("tensor %q: float data of %d bytes is not a multiple of 4", name, len(c))
		}
	}
	for _, c := range chunks {
		fl.n += flushFloats(c)
	}
	return nil
}

// flushFloats replaces every denormal little-endian float32 in b by a zero of
// the same sign and returns how many it replaced. len(b) must be a multiple of 4.
func flushFloats(b []byte) int {
	n := 0
	for i := 0; i+4 <= len(b); i += 4 {
		u := binary.LittleEndian.Uint32(b[i:])
		if u&0x7f800000 == 0 && u&0x007fffff != 0 {
			binary.LittleEndian.PutUint32(b[i:], u&0x80000000)
			n++
		}
	}
	return n
}
