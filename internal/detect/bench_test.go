package detect

import (
	"image"
	"testing"
)

// BenchmarkInput times resizing a 250x250 (LFW) frame to the detector input
// and converting it to a tensor.
func BenchmarkInput(b *testing.B) {
	d, err := New(nil, in, Options{})
	if err != nil {
		b.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 250, 250))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	for b.Loop() {
		d.Input(img, img.Bounds())
	}
}

// BenchmarkInputLarge times the detector inputs of a 1920x1280 photo: the
// whole frame and the 16 tiles of its finer level.
func BenchmarkInputLarge(b *testing.B) {
	d, err := New(nil, in, Options{})
	if err != nil {
		b.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 1920, 1280))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	b.Run("whole", func(b *testing.B) {
		for b.Loop() {
			d.Input(img, img.Bounds())
		}
	})
	// The tiles as Detect prepares them (cut from the image resized once
	// per level) and, for comparison, each resized on its own.
	b.Run("tiles", func(b *testing.B) {
		for b.Loop() {
			var level *image.RGBA
			for _, t := range d.Tiles(img.Bounds())[1:] {
				level = levelFor(img, level, t)
				Planar(level.SubImage(t.LevelRect).(*image.RGBA), in)
			}
		}
	})
	b.Run("tiles-each-resized", func(b *testing.B) {
		for b.Loop() {
			for _, t := range d.Tiles(img.Bounds())[1:] {
				d.Input(img, t.Rect)
			}
		}
	})
}
