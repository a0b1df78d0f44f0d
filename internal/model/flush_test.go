package model

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// Float32 bit patterns used by the tests.
const (
	denormPos  = 0x00000001 // smallest positive denormal
	denormNeg  = 0x807fffff // largest negative denormal
	smallest   = 0x00800000 // smallest normal: must stay
	negZero    = 0x80000000
	one        = 0x3f800000
	infinity   = 0x7f800000
	quietNaN   = 0x7fc00000
	posZeroBit = 0x00000000
)

func le32(vals ...uint32) []byte {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return b
}

func msg(num protowire.Number, payload []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, payload)
}

func varint(num protowire.Number, v uint64) []byte {
	b := protowire.AppendTag(nil, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func fixed32(num protowire.Number, v uint32) []byte {
	b := protowire.AppendTag(nil, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// tensorRaw builds a TensorProto with data_type after raw_data, as a writer
// is allowed to order it.
func tensorRaw(name string, dataType uint64, raw []byte) []byte {
	return cat(msg(tensorName, []byte(name)), msg(tensorRawData, raw), varint(tensorDataType, dataType))
}

// testModel returns a hand-built ModelProto holding denormals in every place
// FlushDenormals handles, and the number of them.
func testModel() ([]byte, int) {
	raw := tensorRaw("w_raw", tensorFloat, le32(one, denormPos, smallest, denormNeg, infinity, quietNaN, negZero))
	packed := cat(varint(tensorDataType, tensorFloat), msg(tensorFloatData, le32(denormPos, one, denormPos)))
	unpacked := cat(varint(tensorDataType, tensorFloat), fixed32(tensorFloatData, denormNeg), fixed32(tensorFloatData, one))
	// An INT32 (6) tensor whose bytes look like denormals must not change.
	ints := tensorRaw("ints", 6, le32(denormPos, 2, 3))
	constant := tensorRaw("const", tensorFloat, le32(denormPos))
	// A Constant node with a tensor attribute, and an If node with a subgraph
	// whose initializer holds a denormal.
	sub := msg(graphInitializer, tensorRaw("sub", tensorFloat, le32(denormNeg, one)))
	nodes := cat(
		msg(graphNode, cat(msg(4, []byte("Constant")), msg(nodeAttribute, cat(msg(1, []byte("value")), msg(attrT, constant))))),
		msg(graphNode, cat(msg(4, []byte("If")), msg(nodeAttribute, cat(msg(1, []byte("then_branch")), msg(attrG, sub))))),
	)
	graph := cat(nodes, msg(2, []byte("g")), msg(graphInitializer, raw), msg(graphInitializer, packed),
		msg(graphInitializer, unpacked), msg(graphInitializer, ints))
	model := cat(varint(1, 7), msg(2, []byte("test")), msg(modelGraph, graph), msg(8, varint(2, 9)))
	return model, 2 + 2 + 1 + 1 + 1
}

func TestFlushDenormals(t *testing.T) {
	in, want := testModel()
	orig := append([]byte(nil), in...)
	out, n, err := FlushDenormals(in)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("flushed %d values, want %d", n, want)
	}
	if !bytes.Equal(in, orig) {
		t.Error("input was modified")
	}
	if len(out) != len(in) {
		t.Fatalf("output is %d bytes, input %d", len(out), len(in))
	}
	// Exactly the denormal floats changed, to zeros of the same sign; the
	// INT32 tensor's look-alikes did not.
	expect := append([]byte(nil), in...)
	// replace rewrites the denormals of the first occurrence of tensor.
	replace := func(tensor []byte) {
		t.Helper()
		i := bytes.Index(expect, tensor)
		if i < 0 {
			t.Fatalf("tensor bytes %x not found", tensor)
		}
		for j := i; j+4 <= i+len(tensor); j += 4 {
			switch binary.LittleEndian.Uint32(expect[j:]) {
			case denormPos:
				binary.LittleEndian.PutUint32(expect[j:], posZeroBit)
			case denormNeg:
				binary.LittleEndian.PutUint32(expect[j:], negZero)
			}
		}
	}
	for _, tb := range [][]byte{
		le32(one, denormPos, smallest, denormNeg, infinity, quietNaN, negZero),
		le32(denormPos, one, denormPos),
		le32(denormPos), // the Constant's value
		le32(denormNeg, one),
	} {
		replace(tb)
	}
	// The unpacked value follows its fixed32 tag.
	tag := protowire.AppendTag(nil, tensorFloatData, protowire.Fixed32Type)
	i := bytes.Index(expect, cat(tag, le32(denormNeg)))
	if i < 0 {
		t.Fatal("unpacked float_data not found")
	}
	binary.LittleEndian.PutUint32(expect[i+len(tag):], negZero)
	if !bytes.Equal(out, expect) {
		t.Errorf("output differs from the expected rewrite:\n got %x\nwant %x", out, expect)
	}
	// Flushing is idempotent.
	if _, n2, err := FlushDenormals(out); err != nil || n2 != 0 {
		t.Errorf("second flush: n=%d err=%v, want 0, nil", n2, err)
	}
}

func TestFlushDenormalsErrors(t *testing.T) {
	good, _ := testModel()
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no graph"},
		{"no graph", varint(1, 7), "no graph"},
		{"truncated", good[:len(good)-5], "onnx model"},
		{"graph not a message", varint(modelGraph, 3), "graph (field 7): wire type 0"},
		{"odd raw_data", msg(modelGraph, msg(graphInitializer, tensorRaw("w", tensorFloat, []byte{1, 2, 3, 4, 5}))),
			`tensor "w": float data of 5 bytes`},
		{"external data", msg(modelGraph, msg(graphInitializer, cat(msg(tensorName, []byte("w")), varint(tensorDataType, tensorFloat), varint(tensorDataLocation, tensorLocExternal)))),
			`tensor "w": data stored in an external file`},
		{"data_type not varint", msg(modelGraph, msg(graphInitializer, msg(tensorDataType, nil))), "data_type: wire type 2"},
		{"bad tag", []byte{0x00}, "onnx model"},
		{"deep nesting", deepGraph(maxGraphNestingDepth + 2), "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, n, err := FlushDenormals(tt.in)
			if err == nil {
				t.Fatalf("no error (n=%d, %d bytes out), want one containing %q", n, len(out), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// deepGraph returns a model whose graph nests depth If-subgraphs.
func deepGraph(depth int) []byte {
	g := msg(graphInitializer, tensorRaw("leaf", tensorFloat, le32(denormPos)))
	for range depth {
		g = msg(graphNode, msg(nodeAttribute, msg(attrG, g)))
	}
	return msg(modelGraph, g)
}

func TestFlushFloats(t *testing.T) {
	for _, tt := range []struct {
		in, want uint32
	}{
		{denormPos, posZeroBit},
		{denormNeg, negZero},
		{0x80000001, negZero},
		{smallest, smallest},
		{0x80800000, 0x80800000},
		{one, one},
		{negZero, negZero},
		{posZeroBit, posZeroBit},
		{infinity, infinity},
		{quietNaN, quietNaN},
		{math.Float32bits(1e-40), posZeroBit},
		{math.Float32bits(-1e-39), negZero},
		{math.Float32bits(1e-37), math.Float32bits(1e-37)},
	} {
		b := le32(tt.in)
		flushFloats(b)
		if got := binary.LittleEndian.Uint32(b); got != tt.want {
			t.Errorf("flush %#08x = %#08x, want %#08x", tt.in, got, tt.want)
		}
	}
}

func FuzzFlushDenormals(f *testing.F) {
	good, _ := testModel()
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{})
	f.Add([]byte{0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add(deepGraph(3))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, n, err := FlushDenormals(in)
		if err != nil {
			return
		}
		if len(out) != len(in) {
			t.Fatalf("output %d bytes, input %d", len(out), len(in))
		}
		if n < 0 || 4*n > len(in) {
			t.Fatalf("n = %d for %d bytes", n, len(in))
		}
		if _, n2, err := FlushDenormals(out); err != nil || n2 != 0 {
			t.Fatalf("second flush: n=%d err=%v", n2, err)
		}
	})
}
