package detect

import (
	"image"
	"math"
)

// tap is one source sample of an output pixel along one axis.
type tap struct {
	i int     // source index
	w float32 // weight
}

// taps returns, for each of n outputs covering source [0,m), its samples:
// bilinear when enlarging; when shrinking by s, a tent filter s source
// pixels wide each side (what x/image/draw's BiLinear does), so that large
// photos do not alias.
func taps(m, n int) [][]tap {
	out := make([][]tap, n)
	s := float64(m) / float64(n)
	for o := range out {
		c := (float64(o)+0.5)*s - 0.5
		if s <= 1 {
			c = math.Max(0, math.Min(c, float64(m-1)))
			i0 := int(c)
			f := float32(c - float64(i0))
			if i0+1 < m && f > 0 {
				out[o] = []tap{{i0, 1 - f}, {i0 + 1, f}}
			} else {
				out[o] = []tap{{i0, 1}}
			}
			continue
		}
		var sum float64
		for i := int(math.Ceil(c - s)); float64(i) <= c+s; i++ {
			w := 1 - math.Abs(float64(i)-c)/s
			if w <= 0 {
				continue
			}
			j := min(max(i, 0), m-1)
			out[o] = append(out[o], tap{j, float32(w)})
			sum += w
		}
		for k := range out[o] {
			out[o][k].w = float32(float64(out[o][k].w) / sum)
		}
	}
	return out
}

// hpass resamples the rows of region r of img needed by ty to width w with
// the taps tx: tmp[y][x][c] for source row y (rows not needed stay zero).
func hpass(img *image.RGBA, r image.Rectangle, tx, ty [][]tap) []float32 {
	sh := r.Dy()
	w := len(tx)
	need := make([]bool, sh)
	for _, ts := range ty {
		for _, t := range ts {
			need[t.i] = true
		}
	}
	tmp := make([]float32, sh*w*3)
	for y := 0; y < sh; y++ {
		if !need[y] {
			continue
		}
		row := img.Pix[img.PixOffset(r.Min.X, r.Min.Y+y):]
		o := tmp[y*w*3:]
		for x, ts := range tx {
			var c0, c1, c2 float32
			for _, t := range ts {
				p := row[4*t.i:]
				c0 += t.w * float32(p[0])
				c1 += t.w * float32(p[1])
				c2 += t.w * float32(p[2])
			}
			o[3*x], o[3*x+1], o[3*x+2] = c0, c1, c2
		}
	}
	return tmp
}

// resizePlanar resamples region r of img to w x h and returns NCHW float32
// planes (value-mean)/std, channel 0 being red or, with bgr, blue.
func resizePlanar(img *image.RGBA, r image.Rectangle, w, h int, mean, std float32, bgr bool) []float32 {
	r = r.Intersect(img.Rect)
	tx, ty := taps(r.Dx(), w), taps(r.Dy(), h)
	tmp := hpass(img, r, tx, ty)
	n := w * h
	out := make([]float32, 3*n)
	p0, p2 := 0, 2*n
	if bgr {
		p0, p2 = 2*n, 0
	}
	inv := 1 / std
	for y, ts := range ty {
		for x := 0; x < w; x++ {
			var c0, c1, c2 float32
			for _, t := range ts {
				q := tmp[(t.i*w+x)*3:]
				c0 += t.w * q[0]
				c1 += t.w * q[1]
				c2 += t.w * q[2]
			}
			i := y*w + x
			out[p0+i] = (c0 - mean) * inv
			out[n+i] = (c1 - mean) * inv
			out[p2+i] = (c2 - mean) * inv
		}
	}
	return out
}

// resizeRGBA resamples region r of img to a w x h image, as resizePlanar.
func resizeRGBA(img *image.RGBA, r image.Rectangle, w, h int) *image.RGBA {
	r = r.Intersect(img.Rect)
	tx, ty := taps(r.Dx(), w), taps(r.Dy(), h)
	tmp := hpass(img, r, tx, ty)
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y, ts := range ty {
		row := out.Pix[y*out.Stride:]
		for x := 0; x < w; x++ {
			var c0, c1, c2 float32
			for _, t := range ts {
				q := tmp[(t.i*w+x)*3:]
				c0 += t.w * q[0]
				c1 += t.w * q[1]
				c2 += t.w * q[2]
			}
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = clamp8(c0), clamp8(c1), clamp8(c2), 255
		}
	}
	return out
}

// clamp8 rounds v to the nearest uint8.
func clamp8(v float32) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}
