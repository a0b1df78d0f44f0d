// Package detect finds faces with an RFB-320 style detector (faceplugin's
// fr_detect.onnx): every face with its score and a square box. Small faces
// in large photos are found by running the detector again on overlapping
// tiles at finer scales; all candidates are merged by IoU non-maximum
// suppression. By default tiling is bounded: it looks for faces down to a
// fraction of the photo's shorter side, and a portrait (one large face in
// the whole frame) is not tiled at all; Options.Exhaustive lifts both.
package detect

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"sort"

	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/tensor"
)

// Runner runs the detector model: one input tensor [1,3,H,W]; outputs
// scores [1,N,2] (column 1 = face) and boxes [1,N,4] (normalised x1,y1,x2,y2).
type Runner interface {
	Run(inputs []tensor.Tensor) ([]tensor.Tensor, error)
}

// Defaults; see docs/PIPELINE.md for how they were chosen.
const (
	DefaultMinScore    = 0.7
	DefaultMinFaceSize = 32
	DefaultNMSIoU      = 0.4
	// DefaultTileMinScore is the score a face found only in a tile needs:
	// at finer scales the detector sees hands, knees, prints and parts of
	// large faces as faces, usually with scores under 0.95.
	DefaultTileMinScore = 0.95
	// DefaultTileFraction: by default tiling looks for faces down to
	// 1/DefaultTileFraction of the image's shorter side (and not below
	// MinFaceSize). The smallest faces of the group photos in the tests
	// (a collage) are 1/29 of it; 32 still found them, 24 did not. Up to
	// 53, a 4:3 photo of any size gets one tiling level.
	DefaultTileFraction = 40
	// PortraitFraction: when the whole frame holds exactly one face and it
	// is at least 1/PortraitFraction of the shorter side, the photo is a
	// portrait and is not tiled.
	PortraitFraction = 5
	// containMax is how much of a face's box may lie inside a better face's
	// box before it counts as a part of that face (a mouth, an eye).
	containMax = 0.6
)

// detMin is the smallest face side, in detector input pixels, found
// reliably; it decides when a finer tiling level is worth running.
const detMin = 20

// Options tune detection. Zero values take the defaults.
type Options struct {
	MinScore    float32 // keep faces scoring at least this (default 0.7)
	MinFaceSize int     // drop faces whose box side is smaller, in image pixels (default 32)
	NMSIoU      float32 // suppress boxes overlapping a better one by more than this IoU (default 0.4)
	// TileMinScore is the score needed by faces found in tiles (default
	// max(MinScore, 0.95)).
	TileMinScore float32
	NoTiling     bool // run only on the whole frame, as the original JavaScript does
	// TileFraction bounds tiling: faces smaller than 1/TileFraction of the
	// image's shorter side are not searched for in tiles (default
	// DefaultTileFraction). Faces the whole frame finds are kept down to
	// MinFaceSize whatever their fraction.
	TileFraction int
	// Exhaustive tiles every photo down to MinFaceSize: no TileFraction
	// bound and no portrait shortcut (a 4000x3000 photo then takes 161
	// detector runs instead of 17, or 1 for a portrait).
	Exhaustive bool
	// MaxTiles bounds the detector runs per image (default DefaultMaxTiles,
	// or DefaultMaxTilesExhaustive): an image needing more is refused with
	// ErrTooMuchWork.
	MaxTiles int
}

// DefaultMaxTiles: a 4:3 photo takes at most 17 runs and a 12:1 panorama
// 158, where a 2,000,000x40 strip would take 10,775 (minutes of work).
// Exhaustive tiling takes 161 runs on a 4000x3000 photo and 856 on an
// 8000x8000 one.
const (
	DefaultMaxTiles           = 400
	DefaultMaxTilesExhaustive = 2000
)

// Errors wrapped by Detect for images it refuses.
var (
	ErrTooSmall    = errors.New("image too small to hold a face")
	ErrTooMuchWork = errors.New("image shape too extreme to search for faces")
)

func (o Options) withDefaults() Options {
	if o.MaxTiles <= 0 {
		o.MaxTiles = DefaultMaxTiles
		if o.Exhaustive {
			o.MaxTiles = DefaultMaxTilesExhaustive
		}
	}
	if o.MinScore <= 0 {
		o.MinScore = DefaultMinScore
	}
	if o.MinFaceSize <= 0 {
		o.MinFaceSize = DefaultMinFaceSize
	}
	if o.NMSIoU <= 0 {
		o.NMSIoU = DefaultNMSIoU
	}
	if o.TileMinScore <= 0 {
		o.TileMinScore = max(o.MinScore, DefaultTileMinScore)
	}
	if o.TileFraction <= 0 {
		o.TileFraction = DefaultTileFraction
	}
	return o
}

// Face is one detected face.
type Face struct {
	// Box is the square face box (side = detected height, centred on the
	// detection) in image pixels, x1,y1,x2,y2, not clipped to the image.
	Box   [4]float32
	Score float32
}

// Detector finds faces. It is safe for concurrent use if its Runner is.
type Detector struct {
	run  Runner
	in   model.Input
	opts Options
}

// New returns a Detector using run, with input geometry and normalisation in.
func New(run Runner, in model.Input, o Options) (*Detector, error) {
	if in.Width <= 0 || in.Height <= 0 || in.Std == 0 {
		return nil, fmt.Errorf("detect: bad input spec %+v", in)
	}
	switch in.ColorOrder {
	case "RGB", "BGR":
	default:
		return nil, fmt.Errorf("detect: colour order %q not supported (RGB or BGR)", in.ColorOrder)
	}
	return &Detector{run: run, in: in, opts: o.withDefaults()}, nil
}

// Tile is one region the detector is run on.
type Tile struct {
	Rect image.Rectangle
	// Whole is true for the full frame (squashed to the input size).
	Whole bool
	// MaxFace is the largest face side kept from this tile (0: no limit).
	MaxFace float32
	// LevelSize, when not zero, is the size the whole image is resized to
	// once for this tile's level; the tile is then LevelRect of it, at the
	// input size (no further resize). Rect is LevelRect in image pixels,
	// rounded. When zero, Rect is resized to the input on its own (the
	// whole frame, or a tile level where the image is narrower than a tile).
	LevelSize image.Point
	LevelRect image.Rectangle
}

// Tiles returns the regions Detect may run the model on for an image of
// the given bounds: the whole frame, then, while faces of the smallest size
// searched for would be under detMin input pixels, overlapping tiles of the
// input's aspect ratio at successively finer scales (3x per level, never
// finer than 1:1). The smallest size searched for is MinFaceSize, and, unless
// Exhaustive, at least 1/TileFraction of the shorter side: 4:3 photos get
// at most one level of 12 to 16 tiles. Tiles overlap by a third, so each face up
// to a third of the tile is wholly inside one. Detect skips the tiles of a
// portrait (see PortraitFraction).
func (d *Detector) Tiles(b image.Rectangle) []Tile {
	tiles := []Tile{{Rect: b, Whole: true}}
	if d.opts.NoTiling {
		return tiles
	}
	W, H := float64(b.Dx()), float64(b.Dy())
	iw, ih := float64(d.in.Width), float64(d.in.Height)
	f := math.Max(W/iw, H/ih)
	minFace := float64(d.opts.MinFaceSize)
	if !d.opts.Exhaustive {
		minFace = math.Max(minFace, math.Min(W, H)/float64(d.opts.TileFraction))
	}
	for {
		next := math.Max(math.Max(f/3, 1), minFace/detMin)
		if f/next < 1.5 {
			break
		}
		f = next
		maxFace := float32(ih * f / 3)
		if lw, lh := int(math.Round(W/f)), int(math.Round(H/f)); lw >= d.in.Width && lh >= d.in.Height {
			// Cut input-sized tiles from the image resized once.
			sx, sy := W/float64(lw), H/float64(lh)
			for _, y := range spread(float64(lh), ih) {
				for _, x := range spread(float64(lw), iw) {
					lr := image.Rect(int(x), int(y), int(x)+d.in.Width, int(y)+d.in.Height)
					r := image.Rect(int(math.Round(float64(lr.Min.X)*sx)), int(math.Round(float64(lr.Min.Y)*sy)),
						int(math.Round(float64(lr.Max.X)*sx)), int(math.Round(float64(lr.Max.Y)*sy))).Add(b.Min).Intersect(b)
					tiles = append(tiles, Tile{Rect: r, MaxFace: maxFace, LevelSize: image.Pt(lw, lh), LevelRect: lr})
				}
			}
			continue
		}
		tw, th := math.Min(iw*f, W), math.Min(ih*f, H)
		for _, y := range spread(H, th) {
			for _, x := range spread(W, tw) {
				r := image.Rect(int(x), int(y), int(math.Round(x+tw)), int(math.Round(y+th))).Add(b.Min).Intersect(b)
				tiles = append(tiles, Tile{Rect: r, MaxFace: maxFace})
			}
		}
	}
	return tiles
}

// spread places tiles of length t over length n with overlap of t/3 or more.
func spread(n, t float64) []float64 {
	if t >= n {
		return []float64{0}
	}
	stride := t * 2 / 3
	k := int(math.Ceil((n-t)/stride)) + 1
	out := make([]float64, k)
	for i := range out {
		out[i] = math.Round(float64(i) * (n - t) / float64(k-1))
	}
	return out
}

// Detect returns every face in img, best score first. An image narrower or
// lower than MinFaceSize cannot hold a face that would be kept: it returns
// an error wrapping ErrTooSmall. An image whose shape would need more than
// MaxTiles detector runs (an extreme aspect ratio) returns one wrapping
// ErrTooMuchWork, before any run.
func (d *Detector) Detect(ctx context.Context, img *image.RGBA) ([]Face, error) {
	b := img.Bounds()
	if b.Dx() < d.opts.MinFaceSize || b.Dy() < d.opts.MinFaceSize {
		return nil, fmt.Errorf("detect: image %dx%d: %w (a face must be at least %d pixels)", b.Dx(), b.Dy(), ErrTooSmall, d.opts.MinFaceSize)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tiles := d.Tiles(b)
	if len(tiles) > d.opts.MaxTiles {
		return nil, fmt.Errorf("detect: image %dx%d: %w: it would take %d detector runs, more than %d (aspect ratio %.0f:1)",
			b.Dx(), b.Dy(), ErrTooMuchWork, len(tiles), d.opts.MaxTiles, float64(max(b.Dx(), b.Dy()))/float64(min(b.Dx(), b.Dy())))
	}
	cands, err := d.detectTile(img, nil, tiles[0])
	if err != nil {
		return nil, err
	}
	rest := tiles[1:]
	if len(rest) > 0 && !d.opts.Exhaustive && d.portrait(NMS(slices.Clone(cands), d.opts.NMSIoU), b) {
		rest = nil
	}
	var level *image.RGBA // img resized for the current tile level
	for _, t := range rest {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		level = levelFor(img, level, t)
		fs, err := d.detectTile(img, level, t)
		if err != nil {
			return nil, err
		}
		cands = append(cands, fs...)
	}
	faces := NMS(cands, d.opts.NMSIoU)
	out := faces[:0]
	for _, f := range faces {
		f.Box = square(f.Box)
		if f.Box[3]-f.Box[1] >= float32(d.opts.MinFaceSize) {
			out = append(out, f)
		}
	}
	return out, nil
}

// portrait reports whether the whole frame's faces are one face of at least
// 1/PortraitFraction of the shorter side of b: the photo of one person,
// where tiling would only look for small faces behind the subject.
func (d *Detector) portrait(faces []Face, b image.Rectangle) bool {
	if len(faces) != 1 {
		return false
	}
	side := faces[0].Box[3] - faces[0].Box[1]
	return side*PortraitFraction >= float32(min(b.Dx(), b.Dy()))
}

// Input returns the detector's input tensor for region r of img, squashed
// to the input size (bilinear when enlarging, area average when shrinking).
func (d *Detector) Input(img *image.RGBA, r image.Rectangle) tensor.Tensor {
	w, h := d.in.Width, d.in.Height
	data := resizePlanar(img, r, w, h, d.in.Mean, d.in.Std, d.in.ColorOrder == "BGR")
	return tensor.Tensor{Shape: []int64{1, 3, int64(h), int64(w)}, Data: data}
}

// Planar converts img to NCHW float32 (value-Mean)/Std in the colour order
// of in ("RGB" or "BGR").
func Planar(img *image.RGBA, in model.Input) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	n := w * h
	out := make([]float32, 3*n)
	var lut [256]float32
	for i := range lut {
		lut[i] = (float32(i) - in.Mean) / in.Std
	}
	c0, c2 := 0, 2
	if in.ColorOrder == "BGR" {
		c0, c2 = 2, 0
	}
	for y := 0; y < h; y++ {
		row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):]
		for x := 0; x < w; x++ {
			p := row[4*x : 4*x+3]
			i := y*w + x
			out[i] = lut[p[c0]]
			out[n+i] = lut[p[1]]
			out[2*n+i] = lut[p[c2]]
		}
	}
	return out
}

// levelFor returns img resized to t's level: level if it already is, img
// itself at 1:1, nil if t is resized on its own.
func levelFor(img, level *image.RGBA, t Tile) *image.RGBA {
	switch {
	case t.LevelSize == (image.Point{}):
		return nil
	case level != nil && level.Rect.Size() == t.LevelSize:
		return level
	case t.LevelSize == img.Rect.Size():
		return img
	}
	return resizeRGBA(img, img.Rect, t.LevelSize.X, t.LevelSize.Y)
}

// detectTile runs the detector on tile t of img; level is img resized to
// t.LevelSize when that is set.
func (d *Detector) detectTile(img, level *image.RGBA, t Tile) ([]Face, error) {
	// The tile's origin and size in image pixels, and whether each edge is
	// inside the image (a face touching it is cut off).
	b := img.Bounds()
	r := t.Rect
	ox, oy := float32(r.Min.X), float32(r.Min.Y)
	sx, sy := float32(r.Dx()), float32(r.Dy())
	inL, inT, inR, inB := r.Min.X > b.Min.X, r.Min.Y > b.Min.Y, r.Max.X < b.Max.X, r.Max.Y < b.Max.Y
	var in tensor.Tensor
	if t.LevelSize != (image.Point{}) {
		lr := t.LevelRect
		kx := float32(b.Dx()) / float32(t.LevelSize.X)
		ky := float32(b.Dy()) / float32(t.LevelSize.Y)
		ox, oy = float32(b.Min.X)+float32(lr.Min.X)*kx, float32(b.Min.Y)+float32(lr.Min.Y)*ky
		sx, sy = float32(lr.Dx())*kx, float32(lr.Dy())*ky
		inL, inT, inR, inB = lr.Min.X > 0, lr.Min.Y > 0, lr.Max.X < t.LevelSize.X, lr.Max.Y < t.LevelSize.Y
		sub := level.SubImage(lr.Add(level.Rect.Min)).(*image.RGBA)
		in = tensor.Tensor{Shape: []int64{1, 3, int64(d.in.Height), int64(d.in.Width)}, Data: Planar(sub, d.in)}
	} else {
		in = d.Input(img, r)
	}
	out, err := d.run.Run([]tensor.Tensor{in})
	if err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	if len(out) != 2 {
		return nil, fmt.Errorf("detect: model gave %d outputs, want 2 (scores, boxes)", len(out))
	}
	scores, boxes := out[0].Data, out[1].Data
	n := len(scores) / 2
	if len(boxes) != 4*n {
		return nil, fmt.Errorf("detect: %d scores but %d box values", n, len(boxes))
	}
	// A tile's faces touching an inner tile edge are cut off: the
	// neighbouring tile (or a coarser level) has them whole.
	const edge = 0.01
	var fs []Face
	minScore := d.opts.MinScore
	if !t.Whole {
		minScore = d.opts.TileMinScore
	}
	for i := 0; i < n; i++ {
		s := scores[2*i+1]
		if s < minScore {
			continue
		}
		bx := boxes[4*i : 4*i+4]
		if bx[2] <= bx[0] || bx[3] <= bx[1] {
			continue
		}
		if !t.Whole {
			if (bx[0] < edge && inL) || (bx[1] < edge && inT) || (bx[2] > 1-edge && inR) || (bx[3] > 1-edge && inB) {
				continue
			}
			if t.MaxFace > 0 && (bx[3]-bx[1])*sy > t.MaxFace {
				continue
			}
		}
		fs = append(fs, Face{
			Box:   [4]float32{ox + bx[0]*sx, oy + bx[1]*sy, ox + bx[2]*sx, oy + bx[3]*sy},
			Score: s,
		})
	}
	return fs, nil
}

// square makes a box square: side = its height, same centre (as the
// original JavaScript does before landmarking).
func square(b [4]float32) [4]float32 {
	s := b[3] - b[1]
	cx, cy := (b[0]+b[2])/2, (b[1]+b[3])/2
	return [4]float32{cx - s/2, cy - s/2, cx + s/2, cy + s/2}
}

// IoU is the intersection over union of two x1,y1,x2,y2 boxes.
func IoU(a, b [4]float32) float32 {
	iw := min(a[2], b[2]) - max(a[0], b[0])
	ih := min(a[3], b[3]) - max(a[1], b[1])
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	u := (a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter
	if u <= 0 {
		return 0
	}
	return inter / u
}

// NMS keeps the best-scoring faces, dropping any whose IoU with a kept face
// exceeds iou, or that lies mostly (60%) inside a kept face's box. The
// result is ordered by score, best first.
func NMS(faces []Face, iou float32) []Face {
	sort.SliceStable(faces, func(i, j int) bool { return faces[i].Score > faces[j].Score })
	var keep []Face
	for _, f := range faces {
		ok := true
		for _, k := range keep {
			if IoU(f.Box, k.Box) > iou || inside(f.Box, k.Box) > containMax {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, f)
		}
	}
	return keep
}

// inside is the fraction of box a's area that lies within box b.
func inside(a, b [4]float32) float32 {
	iw := min(a[2], b[2]) - max(a[0], b[0])
	ih := min(a[3], b[3]) - max(a[1], b[1])
	area := (a[2] - a[0]) * (a[3] - a[1])
	if iw <= 0 || ih <= 0 || area <= 0 {
		return 0
	}
	return iw * ih / area
}
