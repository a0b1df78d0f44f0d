// Package align turns 68 facial landmarks into an aligned face crop: five
// reference points, a least-squares similarity transform (Umeyama) onto a
// template, and bilinear sampling. Pure Go.
package align

import (
	"fmt"
	"image"
	"image/draw"
	"math"
)

// ArcFace112 returns the standard ArcFace 112x112 template: left eye, right
// eye, nose tip, left and right mouth corner (image left/right, pixel
// coordinates with pixel centres at integers, as cv2.warpAffine uses them).
// The array is returned by value, so callers cannot change the template.
func ArcFace112() [5][2]float64 {
	return [5][2]float64{
		{38.2946, 51.6963},
		{73.5318, 51.5014},
		{56.0252, 71.7366},
		{41.5493, 92.3655},
		{70.7299, 92.2041},
	}
}

// Size is the side of the aligned crop in pixels.
const Size = 112

// FivePoints reduces 68 landmarks (the iBUG 300-W layout, 0-based) to the
// five template points: the mean of each eye's six contour points (36..41,
// 42..47), the nose tip (30) and the outer mouth corners (48, 54).
// See docs/PIPELINE.md for the measurement behind this choice.
func FivePoints(lm [][2]float32) ([5][2]float32, error) {
	var p [5][2]float32
	if len(lm) != 68 {
		return p, fmt.Errorf("align: %d landmarks, want 68", len(lm))
	}
	p[0] = mean(lm, 36, 37, 38, 39, 40, 41)
	p[1] = mean(lm, 42, 43, 44, 45, 46, 47)
	p[2] = lm[30]
	p[3] = lm[48]
	p[4] = lm[54]
	return p, nil
}

// FivePointsJS is FivePoints as faceplugin's JavaScript computes it: eyes
// from the eyelid points 37,38,40,41 and 43,44,46,47, mouth corners averaged
// with the inner-lip corners (48,60) and (54,64). Kept for comparison.
func FivePointsJS(lm [][2]float32) ([5][2]float32, error) {
	var p [5][2]float32
	if len(lm) != 68 {
		return p, fmt.Errorf("align: %d landmarks, want 68", len(lm))
	}
	p[0] = mean(lm, 37, 38, 40, 41)
	p[1] = mean(lm, 43, 44, 46, 47)
	p[2] = lm[30]
	p[3] = mean(lm, 48, 60)
	p[4] = mean(lm, 54, 64)
	return p, nil
}

func mean(lm [][2]float32, idx ...int) [2]float32 {
	var x, y float32
	for _, i := range idx {
		x += lm[i][0]
		y += lm[i][1]
	}
	n := float32(len(idx))
	return [2]float32{x / n, y / n}
}

// Transform is a similarity transform (rotation, uniform scale,
// translation): x' = A*x - B*y + TX, y' = B*x + A*y + TY.
type Transform struct{ A, B, TX, TY float64 }

// Apply maps a point.
func (t Transform) Apply(x, y float64) (float64, float64) {
	return t.A*x - t.B*y + t.TX, t.B*x + t.A*y + t.TY
}

// Scale is the transform's uniform scale factor.
func (t Transform) Scale() float64 { return math.Hypot(t.A, t.B) }

// Invert returns the inverse transform. It fails for a degenerate transform.
func (t Transform) Invert() (Transform, error) {
	d := t.A*t.A + t.B*t.B
	if d < 1e-18 || math.IsNaN(d) || math.IsInf(d, 0) {
		return Transform{}, fmt.Errorf("align: degenerate transform %+v", t)
	}
	a, b := t.A/d, -t.B/d
	// inverse: x = a*x' - b*y' + tx, with tx = -(a*TX - b*TY)
	return Transform{A: a, B: b, TX: -(a*t.TX - b*t.TY), TY: -(b*t.TX + a*t.TY)}, nil
}

// Similarity returns the least-squares similarity transform mapping src onto
// dst (Umeyama 1991, without reflection). For two-dimensional points the
// closed form is exact and needs no SVD.
func Similarity(src, dst [][2]float64) (Transform, error) {
	n := len(src)
	if n < 2 || n != len(dst) {
		return Transform{}, fmt.Errorf("align: need at least 2 matching point pairs, got %d and %d", len(src), len(dst))
	}
	var msx, msy, mdx, mdy float64
	for i := range src {
		msx += src[i][0]
		msy += src[i][1]
		mdx += dst[i][0]
		mdy += dst[i][1]
	}
	fn := float64(n)
	msx, msy, mdx, mdy = msx/fn, msy/fn, mdx/fn, mdy/fn
	// With complex numbers s, d (centred), the best d ≈ c·s has
	// c = Σ conj(s)·d / Σ |s|².
	var re, im, ss float64
	for i := range src {
		sx, sy := src[i][0]-msx, src[i][1]-msy
		dx, dy := dst[i][0]-mdx, dst[i][1]-mdy
		re += sx*dx + sy*dy
		im += sx*dy - sy*dx
		ss += sx*sx + sy*sy
	}
	if ss < 1e-12 {
		return Transform{}, fmt.Errorf("align: source points coincide")
	}
	a, b := re/ss, im/ss
	t := Transform{A: a, B: b}
	t.TX = mdx - (a*msx - b*msy)
	t.TY = mdy - (b*msx + a*msy)
	return t, nil
}

// Estimate returns the transform mapping five image points onto ArcFace112.
func Estimate(pts [5][2]float32) (Transform, error) {
	src := make([][2]float64, 5)
	dst := make([][2]float64, 5)
	tmpl := ArcFace112()
	for i := range pts {
		src[i] = [2]float64{float64(pts[i][0]), float64(pts[i][1])}
		dst[i] = tmpl[i]
	}
	return Similarity(src, dst)
}

// Crop returns the 112x112 face aligned by the five points, and the
// transform from image to crop coordinates.
func Crop(img image.Image, pts [5][2]float32) (*image.RGBA, Transform, error) {
	t, err := Estimate(pts)
	if err != nil {
		return nil, t, err
	}
	out, err := Warp(img, t, Size, Size)
	return out, t, err
}

// Warp samples img through the transform t (image -> output coordinates)
// into a w x h image, bilinearly; pixels mapping outside img are black.
// When t shrinks by more than 2x, img is first reduced by box filtering so
// that the output does not alias.
func Warp(img image.Image, t Transform, w, h int) (*image.RGBA, error) {
	inv, err := t.Invert()
	if err != nil {
		return nil, err
	}
	src := ToRGBA(img)
	// Reduce large faces first: bilinear sampling of a face 10x bigger than
	// the crop would skip most pixels.
	if f := int(1 / t.Scale()); f >= 2 {
		// reduced pixel i covers source pixels min+f*i .. min+f*i+f-1,
		// centred on min + f*i + (f-1)/2
		// Only the part of the image that lands in the output is reduced.
		region := image.Rectangle{}
		for _, c := range [][2]float64{{0, 0}, {float64(w), 0}, {0, float64(h)}, {float64(w), float64(h)}} {
			x, y := inv.Apply(c[0], c[1])
			region = region.Union(image.Rect(int(math.Floor(x))-2*f, int(math.Floor(y))-2*f, int(math.Ceil(x))+2*f, int(math.Ceil(y))+2*f))
		}
		region = region.Intersect(src.Rect)
		if region.Empty() {
			return image.NewRGBA(image.Rect(0, 0, w, h)), nil
		}
		src = src.SubImage(region).(*image.RGBA)
		min0 := src.Rect.Min
		src = boxReduce(src, f)
		k := float64(f)
		off := (k - 1) / 2
		t2 := Transform{A: t.A * k, B: t.B * k}
		t2.TX, t2.TY = t.Apply(float64(min0.X)+off, float64(min0.Y)+off)
		if inv, err = t2.Invert(); err != nil {
			return nil, err
		}
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	b := src.Bounds()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := inv.Apply(float64(x), float64(y))
			c := bilinear(src, b, sx, sy)
			i := out.PixOffset(x, y)
			out.Pix[i+0] = c[0]
			out.Pix[i+1] = c[1]
			out.Pix[i+2] = c[2]
			out.Pix[i+3] = 255
		}
	}
	return out, nil
}

// bilinear samples src at (x, y) in absolute image coordinates; outside
// pixels count as black.
func bilinear(src *image.RGBA, b image.Rectangle, x, y float64) [3]uint8 {
	x0f, y0f := math.Floor(x), math.Floor(y)
	fx, fy := x-x0f, y-y0f
	x0, y0 := int(x0f), int(y0f)
	if x0 < b.Min.X-1 || y0 < b.Min.Y-1 || x0 >= b.Max.X || y0 >= b.Max.Y {
		return [3]uint8{}
	}
	var acc [3]float64
	for dy := 0; dy < 2; dy++ {
		yy := y0 + dy
		wy := fy
		if dy == 0 {
			wy = 1 - fy
		}
		if yy < b.Min.Y || yy >= b.Max.Y || wy == 0 {
			continue
		}
		for dx := 0; dx < 2; dx++ {
			xx := x0 + dx
			wx := fx
			if dx == 0 {
				wx = 1 - fx
			}
			if xx < b.Min.X || xx >= b.Max.X || wx == 0 {
				continue
			}
			i := src.PixOffset(xx, yy)
			w := wx * wy
			acc[0] += w * float64(src.Pix[i])
			acc[1] += w * float64(src.Pix[i+1])
			acc[2] += w * float64(src.Pix[i+2])
		}
	}
	return [3]uint8{clamp8(acc[0]), clamp8(acc[1]), clamp8(acc[2])}
}

func clamp8(v float64) uint8 {
	v = math.Round(v)
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// boxReduce shrinks src by an integer factor f, averaging f x f blocks.
// The result's origin is (0,0) and its pixel (i,j) covers source pixels
// min+(f*i .. f*i+f-1).
func boxReduce(src *image.RGBA, f int) *image.RGBA {
	b := src.Bounds()
	w, h := b.Dx()/f, b.Dy()/f
	if w < 1 || h < 1 {
		w, h = max(w, 1), max(h, 1)
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var r, g, bl, n int
			for yy := b.Min.Y + y*f; yy < b.Min.Y+y*f+f && yy < b.Max.Y; yy++ {
				i := src.PixOffset(b.Min.X+x*f, yy)
				for xx := 0; xx < f && b.Min.X+x*f+xx < b.Max.X; xx++ {
					r += int(src.Pix[i])
					g += int(src.Pix[i+1])
					bl += int(src.Pix[i+2])
					i += 4
					n++
				}
			}
			o := out.PixOffset(x, y)
			out.Pix[o] = uint8((r + n/2) / n)
			out.Pix[o+1] = uint8((g + n/2) / n)
			out.Pix[o+2] = uint8((bl + n/2) / n)
			out.Pix[o+3] = 255
		}
	}
	return out
}

// ToRGBA returns img as *image.RGBA, converting when needed (transparent
// pixels become black: RGBA is alpha-premultiplied).
func ToRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok {
		return r
	}
	b := img.Bounds()
	out := image.NewRGBA(b)
	draw.Draw(out, b, img, b.Min, draw.Src)
	return out
}
