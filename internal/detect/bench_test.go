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
	b.Run("tiles", func(b *testing.B) {
		for b.Loop() {
			for _, t := range d.Tiles(img.Bounds())[1:] {
				d.Input(img, t.Rect)
			}
		}
	})
}
