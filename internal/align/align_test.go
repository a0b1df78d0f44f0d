package align

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func TestSimilarityRecoversKnownTransform(t *testing.T) {
	tests := []struct {
		name string
		want Transform
	}{
		{"identity", Transform{A: 1}},
		{"scale+shift", Transform{A: 0.5, TX: -3, TY: 7}},
		{"rotate 30deg, scale 2", Transform{A: 2 * math.Cos(math.Pi/6), B: 2 * math.Sin(math.Pi/6), TX: 10, TY: -4}},
		{"rotate -100deg", Transform{A: 0.3 * math.Cos(-1.745), B: 0.3 * math.Sin(-1.745), TX: 56, TY: 60}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := [][2]float64{{10, 20}, {50, 22}, {31, 45}, {15, 70}, {48, 69}}
			dst := make([][2]float64, len(src))
			for i, p := range src {
				x, y := tc.want.Apply(p[0], p[1])
				dst[i] = [2]float64{x, y}
			}
			got, err := Similarity(src, dst)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range []float64{got.A - tc.want.A, got.B - tc.want.B, got.TX - tc.want.TX, got.TY - tc.want.TY} {
				if math.Abs(d) > 1e-9 {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
			}
			inv, err := got.Invert()
			if err != nil {
				t.Fatal(err)
			}
			x, y := inv.Apply(got.Apply(3, 4))
			if math.Abs(x-3) > 1e-9 || math.Abs(y-4) > 1e-9 {
				t.Fatalf("inverse round trip gave (%v,%v)", x, y)
			}
		})
	}
}

func TestSimilarityLeastSquares(t *testing.T) {
	// With noisy points, any perturbation of the fitted transform must have
	// a larger squared residual.
	src := [][2]float64{{0, 0}, {10, 0}, {0, 10}, {10, 10}, {5, 3}}
	dst := [][2]float64{{1, 0}, {11, 0.5}, {-1, 10}, {9, 10}, {4.7, 3.4}}
	resid := func(tr Transform) float64 {
		var r float64
		for i, p := range src {
			x, y := tr.Apply(p[0], p[1])
			r += (x-dst[i][0])*(x-dst[i][0]) + (y-dst[i][1])*(y-dst[i][1])
		}
		return r
	}
	got, err := Similarity(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	best := resid(got)
	const e = 1e-3
	for _, d := range []Transform{{A: e}, {A: -e}, {B: e}, {B: -e}, {TX: e}, {TX: -e}, {TY: e}, {TY: -e}} {
		p := Transform{A: got.A + d.A, B: got.B + d.B, TX: got.TX + d.TX, TY: got.TY + d.TY}
		if r := resid(p); r < best {
			t.Errorf("perturbed %+v has residual %g < fitted %g", d, r, best)
		}
	}
}

func TestSimilarityErrors(t *testing.T) {
	if _, err := Similarity([][2]float64{{1, 1}}, [][2]float64{{1, 1}}); err == nil {
		t.Error("one point: want error")
	}
	if _, err := Similarity([][2]float64{{1, 1}, {1, 1}}, [][2]float64{{0, 0}, {1, 1}}); err == nil {
		t.Error("coincident points: want error")
	}
	if _, err := FivePoints(make([][2]float32, 5)); err == nil {
		t.Error("5 landmarks: want error")
	}
}

// checker draws a 2-colour checkerboard with cells of the given size.
func checker(w, h, cell int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{200, 30, 10, 255}
			if (x/cell+y/cell)%2 == 1 {
				c = color.RGBA{10, 40, 220, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func TestWarpSynthetic(t *testing.T) {
	src := checker(200, 200, 20)
	tests := []struct {
		name string
		t    Transform
		// check maps an output pixel to the source pixel it must equal
		check func(x, y int) (int, int)
	}{
		{"translate", Transform{A: 1, TX: -40, TY: -60}, func(x, y int) (int, int) { return x + 40, y + 60 }},
		{"rotate 90", Transform{A: 0, B: 1, TX: 150, TY: 0}, func(x, y int) (int, int) { return y, 150 - x }},
		{"shrink 4x", Transform{A: 0.25}, func(x, y int) (int, int) { return 4*x + 2, 4*y + 2 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Warp(src, tc.t, 40, 40)
			if err != nil {
				t.Fatal(err)
			}
			bad := 0
			for y := 0; y < 40; y++ {
				for x := 0; x < 40; x++ {
					sx, sy := tc.check(x, y)
					// skip pixels next to a cell edge, where filtering blends
					if d := sx % 20; d < 3 || d > 16 {
						continue
					}
					if d := sy % 20; d < 3 || d > 16 {
						continue
					}
					if out.RGBAAt(x, y) != src.RGBAAt(sx, sy) {
						bad++
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d pixels differ from the source", bad)
			}
		})
	}
}

func TestWarpOutsideIsBlack(t *testing.T) {
	src := checker(50, 50, 10)
	out, err := Warp(src, Transform{A: 1, TX: 100}, 20, 20) // image lies right of the output
	if err != nil {
		t.Fatal(err)
	}
	if c := out.RGBAAt(5, 5); c != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("outside pixel = %v, want opaque black", c)
	}
}

func TestCropPutsPointsOnTemplate(t *testing.T) {
	// A bright dot at each of five points must land on the template position.
	img := image.NewRGBA(image.Rect(0, 0, 400, 400))
	pts := [5][2]float32{{150, 180}, {250, 170}, {205, 240}, {160, 300}, {245, 295}}
	for _, p := range pts {
		for dy := -3; dy <= 3; dy++ {
			for dx := -3; dx <= 3; dx++ {
				img.SetRGBA(int(p[0])+dx, int(p[1])+dy, color.RGBA{255, 255, 255, 255})
			}
		}
	}
	crop, tr, err := Crop(img, pts)
	if err != nil {
		t.Fatal(err)
	}
	if crop.Bounds().Dx() != Size || crop.Bounds().Dy() != Size {
		t.Fatalf("crop is %v", crop.Bounds())
	}
	tmpl := ArcFace112()
	for i, p := range pts {
		x, y := tr.Apply(float64(p[0]), float64(p[1]))
		if math.Hypot(x-tmpl[i][0], y-tmpl[i][1]) > 6 {
			t.Errorf("point %d maps to (%.1f,%.1f), template (%.1f,%.1f)", i, x, y, tmpl[i][0], tmpl[i][1])
		}
		if c := crop.RGBAAt(int(math.Round(x)), int(math.Round(y))); c.R < 100 {
			t.Errorf("point %d: crop pixel at (%.0f,%.0f) is %v, want the bright dot", i, x, y, c)
		}
	}
}
