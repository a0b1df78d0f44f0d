package eval

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Curve is one labelled ROC curve for PlotROC.
type Curve struct {
	Label  string
	Points []ROCPoint
}

// PlotOptions gives a plot's title and size.
type PlotOptions struct {
	Title string
	// Width and Height of the image in points (default 6x4.5 inches; PNG at
	// 96 dpi).
	Width, Height vg.Length
}

func (o PlotOptions) size() (vg.Length, vg.Length) {
	w, h := o.Width, o.Height
	if w <= 0 {
		w = 6 * vg.Inch
	}
	if h <= 0 {
		h = 4.5 * vg.Inch
	}
	return w, h
}

var (
	colSame = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colDiff = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colMark = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}
)

var curveColors = []color.Color{
	colSame, colDiff,
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

// PlotROC draws ROC curves (TAR against FAR on a log scale) and writes them
// to w in format ("png", "svg", "pdf"). If markFAR > 0 a dashed vertical
// line marks that false-accept rate.
func PlotROC(w io.Writer, format string, curves []Curve, markFAR float64, o PlotOptions) error {
	if len(curves) == 0 {
		return errors.New("plot roc: no curves")
	}
	p := plot.New()
	p.Title.Text = o.Title
	p.X.Label.Text = "false-accept rate (different-person pairs accepted)"
	p.Y.Label.Text = "true-accept rate (same-person pairs accepted)"
	p.X.Scale = plot.LogScale{}
	p.Add(plotter.NewGrid())
	// The log axis cannot show FAR = 0: start one decade below the smallest
	// non-zero FAR of any curve (at most 1e-4).
	minFAR := 1e-4
	for _, c := range curves {
		for _, pt := range c.Points {
			if pt.FAR > 0 && pt.FAR < minFAR {
				minFAR = pt.FAR
			}
		}
	}
	minFAR = math.Pow(10, math.Floor(math.Log10(minFAR)))
	p.X.Min, p.X.Max = minFAR, 1
	p.X.Tick.Marker = decadeTicks{}
	// Good models keep TAR near 1: zoom the TAR axis to start 0.05 below
	// the lowest TAR of any curve at the marked FAR (1e-3 if none), rounded
	// down to a multiple of 0.05. Lower parts of the curves are clipped.
	at := markFAR
	if at <= 0 {
		at = 1e-3
	}
	minTAR := 1.0
	for _, c := range curves {
		if len(c.Points) > 0 {
			minTAR = math.Min(minTAR, ROCAt(c.Points, []float64{at})[0].TAR)
		}
	}
	yMin := math.Max(0, math.Floor((minTAR-0.05)*20+1e-9)/20)
	for i, c := range curves {
		var xy plotter.XYs
		for _, pt := range c.Points {
			if pt.FAR > 0 {
				xy = append(xy, plotter.XY{X: pt.FAR, Y: pt.TAR})
			}
		}
		if len(xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return fmt.Errorf("plot roc %q: %w", c.Label, err)
		}
		l.Color = curveColors[i%len(curveColors)]
		l.Width = vg.Points(1.5)
		p.Add(l)
		if c.Label != "" {
			p.Legend.Add(c.Label, l)
		}
	}
	if markFAR > 0 {
		m, err := plotter.NewLine(plotter.XYs{{X: markFAR, Y: yMin}, {X: markFAR, Y: 1}})
		if err != nil {
			return err
		}
		m.Color = colMark
		m.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(m)
		p.Legend.Add(fmt.Sprintf("FAR %g", markFAR), m)
	}
	// Adding plotters widens the axes to their data: set the range last.
	p.X.Min, p.X.Max = minFAR, 1
	p.Y.Min, p.Y.Max = yMin, 1
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Points(6)
	p.Legend.YOffs = vg.Points(6)
	legendInside(p)
	return write(p, w, format, o)
}

// PlotHistograms draws the same-person and different-person similarity
// distributions (each normalised to unit area, on common bins) and writes
// them to w in format. If threshold is finite, a dashed vertical line marks
// it.
func PlotHistograms(w io.Writer, format string, same, diff []float64, threshold float64, o PlotOptions) error {
	if len(same) == 0 && len(diff) == 0 {
		return errors.New("plot histograms: no similarities")
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range append(append([]float64(nil), same...), diff...) {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	lo, hi = math.Floor(lo*20)/20, math.Ceil(hi*20)/20
	if hi <= lo {
		hi = lo + 0.05
	}
	const nbins = 80
	p := plot.New()
	p.Title.Text = o.Title
	p.X.Label.Text = "cosine similarity"
	p.Y.Label.Text = "density"
	p.Add(plotter.NewGrid())
	// color.RGBA is alpha-premultiplied: a translucent fill needs NRGBA.
	fill := func(c color.RGBA) color.Color { return color.NRGBA{R: c.R, G: c.G, B: c.B, A: 0x60} }
	for _, s := range []struct {
		name string
		v    []float64
		c    color.RGBA
	}{{"same person", same, colSame}, {"different people", diff, colDiff}} {
		if len(s.v) == 0 {
			continue
		}
		h := &plotter.Histogram{
			Bins:      bins(s.v, lo, hi, nbins),
			Width:     (hi - lo) / nbins,
			FillColor: fill(s.c),
			LineStyle: draw.LineStyle{Color: s.c, Width: vg.Points(0.5)},
		}
		h.Normalize(1)
		p.Add(h)
		p.Legend.Add(fmt.Sprintf("%s (%d pairs)", s.name, len(s.v)), h)
	}
	if !math.IsInf(threshold, 0) && !math.IsNaN(threshold) {
		ymax := p.Y.Max // the histograms set the axis range when added
		m, err := plotter.NewLine(plotter.XYs{{X: threshold, Y: 0}, {X: threshold, Y: ymax}})
		if err != nil {
			return err
		}
		m.Color = colMark
		m.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(m)
		p.Legend.Add(fmt.Sprintf("threshold %.3f", threshold), m)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(6)
	p.Legend.YOffs = -vg.Points(10)
	legendInside(p)
	return write(p, w, format, o)
}

// legendInside moves p's legend into the data area: gonum places a legend
// against the canvas minus the axes, which on a padded axis (the log FAR
// axis) lets a right-aligned legend run past the data into the margin. The
// legend is drawn by a plotter added last, which gets the data area itself.
func legendInside(p *plot.Plot) {
	l := p.Legend
	p.Legend = plot.NewLegend()
	p.Add(insideLegend{l})
}

type insideLegend struct{ l plot.Legend }

func (il insideLegend) Plot(c draw.Canvas, _ *plot.Plot) {
	l := il.l
	l.Draw(c)
}

// decadeTicks labels the powers of ten of a log axis ("1e-04") and marks
// the values in between.
type decadeTicks struct{}

func (decadeTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		d := math.Pow(10, e)
		if d >= min*(1-1e-9) && d <= max*(1+1e-9) {
			label := strconv.FormatFloat(d, 'g', -1, 64)
			if e < -2 {
				label = fmt.Sprintf("1e%d", int(e))
			}
			ts = append(ts, plot.Tick{Value: d, Label: label})
		}
		for k := 2.0; k < 10; k++ {
			if v := k * d; v > min && v < max {
				ts = append(ts, plot.Tick{Value: v})
			}
		}
	}
	return ts
}

func bins(v []float64, lo, hi float64, n int) []plotter.HistogramBin {
	b := make([]plotter.HistogramBin, n)
	width := (hi - lo) / float64(n)
	for i := range b {
		b[i].Min = lo + float64(i)*width
		b[i].Max = lo + float64(i+1)*width
	}
	for _, x := range v {
		i := int((x - lo) / width)
		i = max(0, min(n-1, i))
		b[i].Weight++
	}
	return b
}

func write(p *plot.Plot, w io.Writer, format string, o PlotOptions) error {
	wd, ht := o.size()
	wt, err := p.WriterTo(wd, ht, format)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// SavePlot creates path and writes a plot into it with draw (PlotROC or
// PlotHistograms bound to their data); the format follows the extension
// (.png, .svg, .pdf).
func SavePlot(path string, draw func(w io.Writer, format string) error) (err error) {
	format := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	if format == "" {
		format = "png"
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("save plot: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("save plot %s: %w", path, cerr)
		}
	}()
	if err := draw(f, format); err != nil {
		return fmt.Errorf("save plot %s: %w", path, err)
	}
	return nil
}
