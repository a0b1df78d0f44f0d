// Package embed is the face pipeline: detect every face, find 68 landmarks,
// align the face to 112x112 with a 5-point similarity transform and compute
// its L2-normalised embedding. Models and their pre-processing come from a
// model.Manifest; docs/PIPELINE.md records the measurements behind the
// choices made here.
package embed

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"

	"github.com/facesearch/facesearch/internal/align"
	"github.com/facesearch/facesearch/internal/detect"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/ort"
	"github.com/facesearch/facesearch/internal/vecindex"
)

// Options configure a Pipeline.
type Options struct {
	Home     string          // FACESEARCH_HOME: model paths are relative to it
	Manifest *model.Manifest // which models, and how their inputs are prepared
	// Runtime is a shared onnxruntime; if nil, New opens one from LibPath
	// and Close closes it.
	Runtime *ort.Runtime
	LibPath string
	// Threads is the onnxruntime intra-op thread count of each session
	// (default 1). Several goroutines may call Faces at once; budget
	// workers x Threads <= cores.
	Threads     int
	MinScore    float32 // detector score threshold (default detect.DefaultMinScore)
	MinFaceSize int     // smallest face side in pixels (default detect.DefaultMinFaceSize)
	NoTiling    bool    // detect on the whole frame only (faster, misses small faces)
	// ExhaustiveTiling searches every photo for faces down to MinFaceSize
	// (detect.Options.Exhaustive): by default tiling stops at 1/40 of the
	// shorter side and portraits are not tiled.
	ExhaustiveTiling bool
	// FlipAverage makes each embedding the L2-normalised sum of the
	// feature model's outputs for the aligned crop and for its horizontal
	// mirror (twice the embedding cost). The manifest's FlipAverage turns
	// it on too; either way ModelID gets model.FlipSuffix.
	FlipAverage bool
	Log         *slog.Logger
}

// Face is one face found in an image.
type Face struct {
	Box       [4]float32    // square box x1,y1,x2,y2 in image pixels (may extend past the edges)
	Score     float32       // detector score in [0,1]
	Landmarks [][2]float32  // 68 points (iBUG 300-W order), image pixels
	Points5   [5][2]float32 // eyes, nose tip, mouth corners, image pixels
	Crop      *image.RGBA   // 112x112 aligned face
	Embedding []float32     // unit length
}

// Pipeline runs the three models. Faces and Embed may be called from several
// goroutines at once.
type Pipeline struct {
	m       *model.Manifest
	rt      *ort.Runtime
	ownRT   bool
	det     *detect.Detector
	lmk     *ort.Session
	feat    *ort.Session
	flip    bool
	log     *slog.Logger
	closers []func() error
}

// New loads the manifest's models.
func New(opts Options) (p *Pipeline, err error) {
	m := opts.Manifest
	if m == nil {
		return nil, errors.New("embed: no model manifest")
	}
	if m.Alignment != "arcface112" {
		return nil, fmt.Errorf("embed: model %s: alignment %q not supported (arcface112)", m.Name, m.Alignment)
	}
	if m.Feature.Width <= 0 || m.Feature.Height <= 0 {
		return nil, fmt.Errorf("embed: model %s: feature input %dx%d", m.Name, m.Feature.Width, m.Feature.Height)
	}
	if _, _, err := m.Feature.Channels(); err != nil {
		return nil, fmt.Errorf("embed: model %s: feature input: %w", m.Name, err)
	}
	if err := model.Available(opts.Home, m); err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	if m.Landmark.Width <= 0 || m.Landmark.Height <= 0 || m.Landmark.Std == 0 {
		return nil, fmt.Errorf("embed: model %s: bad landmark input %+v", m.Name, m.Landmark)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p = &Pipeline{m: m, rt: opts.Runtime, flip: opts.FlipAverage || m.FlipAverage, log: log}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.rt == nil {
		if p.rt, err = ort.Open(opts.LibPath); err != nil {
			return nil, fmt.Errorf("embed: %w", err)
		}
		p.ownRT = true
	}
	so := ort.SessionOptions{IntraOpThreads: max(opts.Threads, 1), InterOpThreads: 1}
	open := func(role string, in, out []string) (*ort.Session, error) {
		path, err := m.Path(opts.Home, role)
		if err != nil {
			return nil, fmt.Errorf("embed: %w", err)
		}
		s, err := p.rt.NewSession(path, in, out, so)
		if err != nil {
			return nil, fmt.Errorf("embed: %s model: %w", role, err)
		}
		p.closers = append(p.closers, s.Close)
		return s, nil
	}
	ds, err := open("detect", []string{"input"}, []string{"scores", "boxes"})
	if err != nil {
		return nil, err
	}
	if p.lmk, err = open("landmark", []string{"input"}, []string{"output"}); err != nil {
		return nil, err
	}
	// User-supplied feature models name their tensors as they like
	// ("input.1", "683", ...): take the graph's own names.
	featPath, err := m.Path(opts.Home, "feature")
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	sig, err := model.ReadSignature(featPath)
	if err != nil {
		return nil, fmt.Errorf("embed: feature model: %w", err)
	}
	if len(sig.Inputs) != 1 || len(sig.Outputs) == 0 {
		return nil, fmt.Errorf("embed: feature model %s: %d inputs and %d outputs, want 1 and at least 1", featPath, len(sig.Inputs), len(sig.Outputs))
	}
	if p.feat, err = open("feature", []string{sig.Inputs[0].Name}, []string{sig.Outputs[0].Name}); err != nil {
		return nil, err
	}
	p.det, err = detect.New(ds, m.Detect, detect.Options{
		MinScore: opts.MinScore, MinFaceSize: opts.MinFaceSize, NoTiling: opts.NoTiling, Exhaustive: opts.ExhaustiveTiling,
	})
	if err != nil {
		return nil, fmt.Errorf("embed: model %s: %w", m.Name, err)
	}
	log.Debug("face pipeline ready", "model", p.ModelID(), "threads", so.IntraOpThreads, "flip_average", p.flip)
	return p, nil
}

// ModelID names the model that produced the embeddings: the manifest's
// name, plus model.FlipSuffix when embeddings are flip-averaged (they
// differ from single-pass ones and must not be mixed with them).
func (p *Pipeline) ModelID() string {
	if p.flip {
		return p.m.Name + model.FlipSuffix
	}
	return p.m.Name
}

// FlipAverage reports whether embeddings are averaged with the mirrored
// crop's.
func (p *Pipeline) FlipAverage() bool { return p.flip }

// Threshold is the manifest's same-person cosine threshold.
func (p *Pipeline) Threshold() float32 { return p.m.Threshold }

// Close frees the sessions (and the runtime if New opened it). Calling it
// again is a no-op.
func (p *Pipeline) Close() error {
	var errs []error
	for _, c := range p.closers {
		errs = append(errs, c())
	}
	p.closers = nil
	if p.ownRT && p.rt != nil {
		errs = append(errs, p.rt.Close())
		p.rt = nil
	}
	return errors.Join(errs...)
}

// Detect returns the detector's faces only (box and score), best first.
func (p *Pipeline) Detect(ctx context.Context, img *image.RGBA) ([]detect.Face, error) {
	return p.det.Detect(ctx, img)
}

// Faces finds every face in img, best detector score first, each with
// landmarks, aligned crop and embedding.
func (p *Pipeline) Faces(ctx context.Context, img image.Image) ([]Face, error) {
	rgba := align.ToRGBA(img)
	dets, err := p.det.Detect(ctx, rgba)
	if err != nil {
		return nil, err
	}
	faces := make([]Face, 0, len(dets))
	for _, d := range dets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f := Face{Box: d.Box, Score: d.Score}
		if f.Landmarks, err = p.Landmarks(rgba, d.Box); err != nil {
			return nil, err
		}
		if f.Points5, err = align.FivePoints(f.Landmarks); err != nil {
			return nil, err
		}
		var t align.Transform
		if f.Crop, t, err = align.Crop(rgba, f.Points5); err != nil {
			return nil, fmt.Errorf("embed: align: %w", err)
		}
		in := f.Crop
		if w, h := p.m.Feature.Width, p.m.Feature.Height; w != align.Size || h != align.Size {
			// Align straight to the template scaled to the input size (as
			// insightface's estimate_norm does for 224), not by resizing
			// the 112 crop: the model sees the image's own detail.
			sx, sy := float64(w)/align.Size, float64(h)/align.Size
			ts := align.Transform{A: t.A * sx, B: t.B * sx, TX: t.TX * sx, TY: t.TY * sy}
			if sx != sy {
				return nil, fmt.Errorf("embed: model %s: non-square feature input %dx%d not supported", p.m.Name, w, h)
			}
			if in, err = align.Warp(rgba, ts, w, h); err != nil {
				return nil, fmt.Errorf("embed: align: %w", err)
			}
		}
		if f.Embedding, err = p.Embed(ctx, in); err != nil {
			return nil, err
		}
		faces = append(faces, f)
	}
	return faces, nil
}

// Landmarks returns the 68 landmarks of the face in the square box, in
// image pixels.
func (p *Pipeline) Landmarks(img *image.RGBA, box [4]float32) ([][2]float32, error) {
	in := p.m.Landmark
	side := float64(box[2] - box[0])
	if side <= 1 {
		return nil, fmt.Errorf("embed: landmarks: empty face box %v", box)
	}
	// Map the box onto the w x h input, pixel centres to pixel centres.
	s := float64(in.Width) / side
	t := align.Transform{A: s, TX: (0.5-float64(box[0]))*s - 0.5, TY: (0.5-float64(box[1]))*s - 0.5}
	if in.Width != in.Height {
		return nil, fmt.Errorf("embed: landmarks: non-square input %dx%d not supported", in.Width, in.Height)
	}
	crop, err := align.Warp(img, t, in.Width, in.Height)
	if err != nil {
		return nil, fmt.Errorf("embed: landmarks: %w", err)
	}
	out, err := p.lmk.Run([]ort.Tensor{{Shape: []int64{1, 1, int64(in.Height), int64(in.Width)}, Data: Grey(crop, in)}})
	if err != nil {
		return nil, fmt.Errorf("embed: landmarks: %w", err)
	}
	v := out[0].Data
	if len(v) != 136 {
		return nil, fmt.Errorf("embed: landmark model gave %d values, want 136", len(v))
	}
	lm := make([][2]float32, 68)
	for i := range lm {
		lm[i] = [2]float32{box[0] + v[2*i]*float32(side), box[1] + v[2*i+1]*float32(side)}
	}
	return lm, nil
}

// Grey converts img to one plane of luma (ITU-R BT.601), (v-Mean)/Std.
func Grey(img *image.RGBA, in model.Input) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float32, w*h)
	for y := 0; y < h; y++ {
		row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):]
		for x := 0; x < w; x++ {
			r, g, bl := float32(row[4*x]), float32(row[4*x+1]), float32(row[4*x+2])
			l := 0.299*r + 0.587*g + 0.114*bl
			out[y*w+x] = (l - in.Mean) / in.Std
		}
	}
	return out
}

// Embed returns the unit-length embedding of an aligned crop of the
// feature model's input size; a 112x112 crop is resized to it (bilinear).
// With FlipAverage it is normalise(f(crop) + f(mirror(crop))), f being the
// feature model's raw output.
func (p *Pipeline) Embed(ctx context.Context, crop *image.RGBA) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in := p.m.Feature
	if crop != nil && crop.Bounds().Dx() == align.Size && crop.Bounds().Dy() == align.Size && (in.Width != align.Size || in.Height != align.Size) {
		crop = resize(crop, in.Width, in.Height)
	}
	data, err := FeatureInput(crop, in)
	if err != nil {
		return nil, fmt.Errorf("embed: model %s: %w", p.m.Name, err)
	}
	v, err := p.features(data)
	if err != nil {
		return nil, err
	}
	if p.flip {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		mirrorRows(data, in.Width)
		w, err := p.features(data)
		if err != nil {
			return nil, err
		}
		if len(w) != len(v) {
			return nil, fmt.Errorf("embed: model %s gave %d values for the mirrored crop, %d for the crop", p.m.Name, len(w), len(v))
		}
		for i := range v {
			v[i] += w[i]
		}
	}
	if err := Normalize(v); err != nil {
		return nil, fmt.Errorf("embed: model %s: %w", p.m.Name, err)
	}
	return v, nil
}

// features runs the feature model on one input tensor and returns its raw
// (not normalised) output.
func (p *Pipeline) features(data []float32) ([]float32, error) {
	in := p.m.Feature
	out, err := p.feat.Run([]ort.Tensor{{Shape: []int64{1, 3, int64(in.Height), int64(in.Width)}, Data: data}})
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	v := out[0].Data
	if p.m.EmbeddingDim > 0 && len(v) != p.m.EmbeddingDim {
		return nil, fmt.Errorf("embed: model %s gave %d values, want %d", p.m.Name, len(v), p.m.EmbeddingDim)
	}
	return v, nil
}

// mirrorRows mirrors an NCHW tensor of rows w values wide left to right, in
// place: the input of the horizontally mirrored crop.
func mirrorRows(data []float32, w int) {
	for r := 0; r+w <= len(data); r += w {
		row := data[r : r+w]
		for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
			row[i], row[j] = row[j], row[i]
		}
	}
}

// resize scales src to w x h bilinearly, pixel centres to pixel centres,
// clamping at the edges (as PIL and torchvision resize).
func resize(src *image.RGBA, w, h int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	coord := func(o, n, sn int) (int, int, float64) {
		f := (float64(o)+0.5)*float64(sn)/float64(n) - 0.5
		f = min(max(f, 0), float64(sn-1))
		i := int(f)
		j := min(i+1, sn-1)
		return i, j, f - float64(i)
	}
	for y := range h {
		y0, y1, fy := coord(y, h, sh)
		for x := range w {
			x0, x1, fx := coord(x, w, sw)
			o := out.PixOffset(x, y)
			for c := range 3 {
				p := func(xx, yy int) float64 { return float64(src.Pix[src.PixOffset(b.Min.X+xx, b.Min.Y+yy)+c]) }
				v := (p(x0, y0)*(1-fx)+p(x1, y0)*fx)*(1-fy) + (p(x0, y1)*(1-fx)+p(x1, y1)*fx)*fy
				out.Pix[o+c] = uint8(math.Round(v))
			}
			out.Pix[o+3] = 255
		}
	}
	return out
}

// FeatureInput returns the feature model's input tensor (NCHW, 1x3xHxW) for
// a crop of the input's size: channels in in.ColorOrder ("RGB" or "BGR"),
// each (pixel - mean) / std with the per-channel values of in.Channels.
func FeatureInput(crop *image.RGBA, in model.Input) ([]float32, error) {
	if crop == nil || crop.Bounds().Dx() != in.Width || crop.Bounds().Dy() != in.Height {
		return nil, fmt.Errorf("crop must be %dx%d", in.Width, in.Height)
	}
	mean, std, err := in.Channels()
	if err != nil {
		return nil, err
	}
	// order[k] is the RGBA byte offset of the k-th input plane.
	order := [3]int{0, 1, 2}
	switch in.ColorOrder {
	case "RGB", "":
	case "BGR":
		order = [3]int{2, 1, 0}
	default:
		return nil, fmt.Errorf("colour order %q not supported (RGB or BGR)", in.ColorOrder)
	}
	var lut [3][256]float32
	for k, c := range order {
		for v := range 256 {
			lut[k][v] = (float32(v) - mean[c]) / std[c]
		}
	}
	b := crop.Bounds()
	w, h := b.Dx(), b.Dy()
	n := w * h
	out := make([]float32, 3*n)
	for y := 0; y < h; y++ {
		row := crop.Pix[crop.PixOffset(b.Min.X, b.Min.Y+y):]
		for x := 0; x < w; x++ {
			px := row[4*x : 4*x+3]
			i := y*w + x
			out[i] = lut[0][px[order[0]]]
			out[n+i] = lut[1][px[order[1]]]
			out[2*n+i] = lut[2][px[order[2]]]
		}
	}
	return out, nil
}

// Normalize scales v to unit length in place (vecindex.Normalize); it
// fails on a zero or non-finite embedding.
func Normalize(v []float32) error {
	if err := vecindex.Normalize(v); err != nil {
		return fmt.Errorf("embedding: %w", err)
	}
	return nil
}

// Cosine is the dot product of two unit vectors (vecindex.Dot).
func Cosine(a, b []float32) float32 { return vecindex.Dot(a, b) }

// Primary returns the index of the photo's subject among faces, or -1 if
// there are none: the face whose box centre is nearest the image centre.
// On an LFW fold this beat the largest face (99.33% against 97.17%) and the
// best-scoring one (99.00%); dividing the distance by the face size changed
// nothing. See docs/PIPELINE.md.
func Primary(faces []Face, bounds image.Rectangle) int {
	best, bestD := -1, math.Inf(1)
	cx, cy := float64(bounds.Min.X+bounds.Max.X)/2, float64(bounds.Min.Y+bounds.Max.Y)/2
	for i, f := range faces {
		fx, fy := float64(f.Box[0]+f.Box[2])/2, float64(f.Box[1]+f.Box[3])/2
		d := math.Hypot(fx-cx, fy-cy)
		if d < bestD {
			best, bestD = i, d
		}
	}
	return best
}
