// Package onnxtest builds tiny ONNX models for tests, as protobuf bytes
// written with protowire (no onnx tooling needed): an Identity graph, and a
// Flatten+Slice graph that turns an image tensor into a fake "embedding"
// made of its first values.
package onnxtest

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func bytesField(num protowire.Number, b []byte) []byte {
	out := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(out, b)
}

func varintField(num protowire.Number, v uint64) []byte {
	out := protowire.AppendTag(nil, num, protowire.VarintType)
	return protowire.AppendVarint(out, v)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// valueInfo is a float32 tensor ValueInfoProto; a dimension < 0 is dynamic
// (dim_param "N").
func valueInfo(name string, elem uint64, shape []int64) []byte {
	var dims []byte
	for _, d := range shape {
		var dim []byte
		if d < 0 {
			dim = bytesField(2, []byte("N"))
		} else {
			dim = varintField(1, uint64(d))
		}
		dims = append(dims, bytesField(1, dim)...)
	}
	tensorType := cat(varintField(1, elem), bytesField(2, dims))
	return cat(bytesField(1, []byte(name)), bytesField(2, bytesField(1, tensorType)))
}

func node(op string, in, out []string, attrs ...[]byte) []byte {
	var b []byte
	for _, s := range in {
		b = append(b, bytesField(1, []byte(s))...)
	}
	for _, s := range out {
		b = append(b, bytesField(2, []byte(s))...)
	}
	b = append(b, bytesField(3, []byte(op+"_0"))...)
	b = append(b, bytesField(4, []byte(op))...)
	for _, a := range attrs {
		b = append(b, bytesField(5, a)...)
	}
	return b
}

// int64Tensor is an INT64 TensorProto of shape [len(v)] in raw_data.
func int64Tensor(name string, v ...int64) []byte {
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	return cat(varintField(1, uint64(len(v))), varintField(2, 7), bytesField(8, []byte(name)), bytesField(9, raw))
}

func model(graph []byte, opset uint64) []byte {
	opsetID := cat(bytesField(1, nil), varintField(2, opset))
	return cat(varintField(1, 7), bytesField(2, []byte("onnxtest")), bytesField(8, opsetID), bytesField(7, graph))
}

// Identity returns a model (opset 13) whose output outName equals its float32
// input inName of the given shape.
func Identity(inName, outName string, shape []int64) []byte {
	g := cat(
		bytesField(1, node("Identity", []string{inName}, []string{outName})),
		bytesField(2, []byte("identity")),
		bytesField(11, valueInfo(inName, 1, shape)),
		bytesField(12, valueInfo(outName, 1, shape)),
	)
	return model(g, 13)
}

// FirstValues returns a model (opset 13) taking a float32 input inName of
// shape [1,3,h,w] (batch dynamic if dynamicBatch) and giving outName of shape
// [1,dim]: the first dim values of the flattened input (its first plane).
func FirstValues(inName, outName string, h, w, dim int64, dynamicBatch bool) []byte {
	b := int64(1)
	if dynamicBatch {
		b = -1
	}
	axis := cat(bytesField(1, []byte("axis")), varintField(3, 1), varintField(20, 2)) // AttributeProto: name, i, type INT
	g := cat(
		bytesField(1, node("Flatten", []string{inName}, []string{"flat"}, axis)),
		bytesField(1, node("Slice", []string{"flat", "starts", "ends", "axes"}, []string{outName})),
		bytesField(2, []byte("first_values")),
		bytesField(5, int64Tensor("starts", 0)),
		bytesField(5, int64Tensor("ends", dim)),
		bytesField(5, int64Tensor("axes", 1)),
		bytesField(11, valueInfo(inName, 1, []int64{b, 3, h, w})),
		bytesField(12, valueInfo(outName, 1, []int64{b, dim})),
	)
	return model(g, 13)
}

// Write writes model bytes to dir/name and returns the path.
func Write(tb testing.TB, dir, name string, b []byte) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}
