package detect

import (
	"context"
	"image"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/ort"
)

var in = model.Input{Width: 320, Height: 240, Mean: 127, Std: 128, ColorOrder: "BGR"}

func TestIoU(t *testing.T) {
	tests := []struct {
		a, b [4]float32
		want float32
	}{
		{[4]float32{0, 0, 10, 10}, [4]float32{0, 0, 10, 10}, 1},
		{[4]float32{0, 0, 10, 10}, [4]float32{10, 0, 20, 10}, 0},
		{[4]float32{0, 0, 10, 10}, [4]float32{5, 0, 15, 10}, 50.0 / 150},
	}
	for _, tc := range tests {
		if got := IoU(tc.a, tc.b); got < tc.want-1e-6 || got > tc.want+1e-6 {
			t.Errorf("IoU(%v,%v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestNMS(t *testing.T) {
	faces := []Face{
		{Box: [4]float32{0, 0, 10, 10}, Score: 0.8},
		{Box: [4]float32{1, 1, 11, 11}, Score: 0.9},    // overlaps the first: wins
		{Box: [4]float32{50, 50, 60, 60}, Score: 0.7},  // separate face
		{Box: [4]float32{3, 3, 6, 6}, Score: 0.75},     // inside the best: a part
		{Box: [4]float32{100, 0, 140, 40}, Score: 0.6}, // separate face
	}
	got := NMS(faces, 0.4)
	want := []float32{0.9, 0.7, 0.6}
	if len(got) != len(want) {
		t.Fatalf("kept %v, want scores %v", got, want)
	}
	for i := range want {
		if got[i].Score != want[i] {
			t.Errorf("kept[%d] score %v, want %v", i, got[i].Score, want[i])
		}
	}
}

func TestTiles(t *testing.T) {
	d, err := New(nil, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    image.Rectangle
		want int
	}{
		{"LFW 250x250: whole frame only", image.Rect(0, 0, 250, 250), 1},
		{"640x480: the whole frame sees 40px faces", image.Rect(0, 0, 640, 480), 1},
		{"1920x1280: one finer level of 4x4", image.Rect(0, 0, 1920, 1280), 1 + 16},
		{"4000x3000: one finer level (faces down to 1/40 of 3000)", image.Rect(0, 0, 4000, 3000), 1 + 16},
		{"3000x4000: one finer level", image.Rect(0, 0, 3000, 4000), 1 + 12},
		{"4000x3000 exhaustive: two finer levels", image.Rect(0, 0, 4000, 3000), 1 + 16 + 144},
	}
	exh := mustNew(t, Options{Exhaustive: true})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tiles := d.Tiles(tc.b)
			if strings.Contains(tc.name, "exhaustive") {
				tiles = exh.Tiles(tc.b)
			}
			if len(tiles) != tc.want {
				t.Errorf("%d tiles, want %d", len(tiles), tc.want)
			}
			if !tiles[0].Whole || tiles[0].Rect != tc.b {
				t.Errorf("first tile %+v, want the whole frame", tiles[0])
			}
			for _, tl := range tiles[1:] {
				if !tl.Rect.In(tc.b) || tl.Rect.Empty() {
					t.Errorf("tile %v outside %v", tl.Rect, tc.b)
				}
				if tl.LevelSize != (image.Point{}) && (tl.LevelRect.Size() != image.Pt(in.Width, in.Height) || !tl.LevelRect.In(image.Rectangle{Max: tl.LevelSize})) {
					t.Errorf("tile %v of level %v is not an input-sized part of it", tl.LevelRect, tl.LevelSize)
				}
			}
		})
	}
	if n := len(mustNew(t, Options{NoTiling: true}).Tiles(image.Rect(0, 0, 4000, 3000))); n != 1 {
		t.Errorf("NoTiling: %d tiles", n)
	}
	if n := len(mustNew(t, Options{MinFaceSize: 200}).Tiles(image.Rect(0, 0, 1920, 1280))); n != 1 {
		t.Errorf("MinFaceSize 200 on 1920x1280: %d tiles, want 1 (the whole frame sees 120px faces)", n)
	}
}

func mustNew(t *testing.T, o Options) *Detector {
	d, err := New(nil, in, o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// fakeRunner reports one face at a fixed normalised box in every frame.
type fakeRunner struct{ box [4]float32 }

func (f fakeRunner) Run(inputs []ort.Tensor) ([]ort.Tensor, error) {
	n := 4420
	scores := make([]float32, 2*n)
	boxes := make([]float32, 4*n)
	scores[1] = 0.99
	copy(boxes, f.box[:])
	return []ort.Tensor{{Shape: []int64{1, int64(n), 2}, Data: scores}, {Shape: []int64{1, int64(n), 4}, Data: boxes}}, nil
}

// countRunner is fakeRunner counting its runs.
type countRunner struct {
	fakeRunner
	n atomic.Int64
}

func (c *countRunner) Run(inputs []ort.Tensor) ([]ort.Tensor, error) {
	c.n.Add(1)
	return c.fakeRunner.Run(inputs)
}

// TestPortraitSkipsTiles: one large face in the whole frame means no tiles
// (unless Exhaustive); a small face means every tile is searched.
func TestPortraitSkipsTiles(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 1920, 1280))
	tests := []struct {
		name string
		box  [4]float32 // normalised, in every frame
		o    Options
		runs int64
	}{
		{"portrait: face 1/2 of the height", [4]float32{0.4, 0.25, 0.6, 0.75}, Options{}, 1},
		{"portrait, exhaustive", [4]float32{0.4, 0.25, 0.6, 0.75}, Options{Exhaustive: true}, 17},
		{"face 1/10 of the height: tiled", [4]float32{0.45, 0.45, 0.5, 0.55}, Options{}, 17},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &countRunner{fakeRunner: fakeRunner{tc.box}}
			d, err := New(r, in, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Detect(context.Background(), img); err != nil {
				t.Fatal(err)
			}
			if got := r.n.Load(); got != tc.runs {
				t.Errorf("%d detector runs, want %d", got, tc.runs)
			}
		})
	}
}

// TestTileFacesMapToImage: a face in the middle of each tile's input comes
// back in the middle of the tile's Rect, for tiles cut from a resized
// level and for tiles resized on their own.
func TestTileFacesMapToImage(t *testing.T) {
	tests := []struct {
		name    string
		b       image.Rectangle
		minFace int
	}{
		{"levels 4000x3000", image.Rect(0, 0, 4000, 3000), 32},
		{"offset bounds", image.Rect(100, 50, 2020, 1330), 32},
		{"offset bounds, 1:1 level", image.Rect(100, 50, 1060, 770), 20},
		{"panorama: tiles resized alone", image.Rect(0, 0, 3000, 600), 32},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := mustNew(t, Options{Exhaustive: true, MinFaceSize: tc.minFace})
			d.run = fakeRunner{[4]float32{0.45, 0.45, 0.55, 0.55}}
			img := image.NewRGBA(tc.b)
			var level *image.RGBA
			kinds := map[string]int{}
			for _, tl := range d.Tiles(tc.b)[1:] {
				level = levelFor(img, level, tl)
				switch {
				case level == nil:
					kinds["resized alone"]++
				case level == img:
					kinds["1:1"]++
				default:
					kinds["level"]++
				}
				fs, err := d.detectTile(img, level, tl)
				if err != nil {
					t.Fatal(err)
				}
				cx, cy := float32(tl.Rect.Min.X+tl.Rect.Max.X)/2, float32(tl.Rect.Min.Y+tl.Rect.Max.Y)/2
				if len(fs) != 1 || abs(fs[0].Box[0]+fs[0].Box[2]-2*cx) > 2 || abs(fs[0].Box[1]+fs[0].Box[3]-2*cy) > 2 {
					t.Fatalf("tile %+v: faces %+v, want one centred at (%v,%v)", tl, fs, cx, cy)
				}
			}
			t.Logf("tiles: %v", kinds)
		})
	}
}

func abs(x float32) float32 { return max(x, -x) }

func TestDetectScalesAndSquares(t *testing.T) {
	d, err := New(fakeRunner{[4]float32{0.25, 0.25, 0.5, 0.75}}, in, Options{NoTiling: true})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 400, 200))
	fs, err := d.Detect(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	// box in pixels: x 100..200, y 50..150 -> square of side 100 centred (150,100)
	want := [4]float32{100, 50, 200, 150}
	if len(fs) != 1 || fs[0].Box != want {
		t.Fatalf("got %+v, want one face at %v", fs, want)
	}
}

func TestPlanarColourOrder(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 2, 1))
	copy(img.Pix, []uint8{255, 127, 0, 255, 0, 0, 0, 255})
	rgb := Planar(img, model.Input{Mean: 127, Std: 128, ColorOrder: "RGB"})
	bgr := Planar(img, model.Input{Mean: 127, Std: 128, ColorOrder: "BGR"})
	if rgb[0] != 1 || rgb[2] != 0 || rgb[4] != -127.0/128 {
		t.Errorf("RGB planes %v", rgb)
	}
	if bgr[0] != -127.0/128 || bgr[4] != 1 {
		t.Errorf("BGR planes %v", bgr)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	if _, err := New(nil, model.Input{Width: 320, Height: 240, Std: 128, ColorOrder: "GRAY"}, Options{}); err == nil {
		t.Error("GRAY detector input: want error")
	}
	if _, err := New(nil, model.Input{}, Options{}); err == nil {
		t.Error("zero input: want error")
	}
}
