package imgio

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"io"
	"strings"
	"testing"
)

// A test-only format whose decoder panics, standing in for a decoder bug.
func init() {
	image.RegisterFormat("panicky", "PANIC!", func(io.Reader) (image.Image, error) {
		var m map[string]int
		m["boom"]++ // nil map write: a runtime panic
		return nil, nil
	}, func(io.Reader) (image.Config, error) {
		return image.Config{ColorModel: color.RGBAModel, Width: 2, Height: 2}, nil
	})
}

func TestDecoderPanicBecomesError(t *testing.T) {
	img, _, err := Decode(bytes.NewReader([]byte("PANIC!...")), "bad.img", Options{})
	if img != nil || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, %v; want ErrCorrupt", img, err)
	}
	if !strings.Contains(err.Error(), `decode "bad.img": corrupt PANICKY: decoder panic: assignment to entry in nil map`) {
		t.Errorf("message %q", err)
	}
}
