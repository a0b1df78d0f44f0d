package detect

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func TestResizePlanar(t *testing.T) {
	// A uniform image stays uniform at any scale; a left/right split keeps
	// its halves.
	tests := []struct {
		name     string
		w, h     int
		ow, oh   int
		wantLeft float32
	}{
		{"enlarge", 100, 80, 320, 240, 200},
		{"shrink 5x (area)", 1600, 1200, 320, 240, 200},
		{"shrink 1.5x", 480, 360, 320, 240, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := image.NewRGBA(image.Rect(0, 0, tc.w, tc.h))
			for y := 0; y < tc.h; y++ {
				for x := 0; x < tc.w; x++ {
					c := color.RGBA{200, 100, 50, 255}
					if x >= tc.w/2 {
						c = color.RGBA{0, 100, 50, 255}
					}
					img.SetRGBA(x, y, c)
				}
			}
			rgba := resizeRGBA(img, img.Bounds(), tc.ow, tc.oh)
			if l, r := rgba.RGBAAt(2, tc.oh/2), rgba.RGBAAt(tc.ow-3, tc.oh/2); float32(l.R) != tc.wantLeft || r.R != 0 || l.G != 100 || l.A != 255 {
				t.Errorf("resizeRGBA: left %v, right %v", l, r)
			}
			out := resizePlanar(img, img.Bounds(), tc.ow, tc.oh, 0, 1, false)
			n := tc.ow * tc.oh
			for y := 0; y < tc.oh; y++ {
				if v := out[y*tc.ow+2]; math.Abs(float64(v-tc.wantLeft)) > 0.01 {
					t.Fatalf("red at (2,%d) = %v, want %v", y, v, tc.wantLeft)
				}
				if v := out[y*tc.ow+tc.ow-3]; math.Abs(float64(v)) > 0.01 {
					t.Fatalf("red at right = %v, want 0", v)
				}
				if v := out[n+y*tc.ow+5]; math.Abs(float64(v-100)) > 0.01 {
					t.Fatalf("green = %v, want 100", v)
				}
			}
		})
	}
}
