package embed

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/facesearch/facesearch/internal/detect"
	"github.com/facesearch/facesearch/internal/testenv"
)

func drawBoxes(img *image.RGBA, dets []detect.Face) {
	for _, d := range dets {
		c := color.RGBA{255, 0, 0, 255}
		if d.Score < 0.9 {
			c = color.RGBA{255, 255, 0, 255}
		}
		if d.Score < 0.7 {
			c = color.RGBA{0, 255, 255, 255}
		}
		x1, y1, x2, y2 := int(d.Box[0]), int(d.Box[1]), int(d.Box[2]), int(d.Box[3])
		for w := 0; w < 4; w++ {
			for x := x1; x <= x2; x++ {
				img.Set(x, y1+w, c)
				img.Set(x, y2-w, c)
			}
			for y := y1; y <= y2; y++ {
				img.Set(x1+w, y, c)
				img.Set(x2-w, y, c)
			}
		}
	}
}

func TestExploreExtras(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip("EXPLORE not set")
	}
	faces := testenv.Faces(t)
	p := newPipeline(t, Options{MinScore: 0.5, NoTiling: os.Getenv("NOTILE") != ""})
	files, _ := filepath.Glob(filepath.Join(faces, "_extras", "*", "*", "*.*"))
	more, _ := filepath.Glob(filepath.Join(faces, "_extras", "*", "*", "*", "*.*"))
	files = append(files, more...)
	for _, f := range files {
		rel, _ := filepath.Rel(faces, f)
		img := load(t, faces, rel)
		dets, err := p.Detect(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		var s []any
		n7, n8 := 0, 0
		for _, d := range dets {
			if d.Score >= 0.7 {
				n7++
			}
			if d.Score >= 0.8 {
				n8++
			}
			s = append(s, int(d.Box[3]-d.Box[1]), d.Score)
		}
		drawBoxes(img, dets)
		out, _ := os.Create(filepath.Join("/tmp/det", filepath.Base(f)+".png"))
		png.Encode(out, img)
		out.Close()
		t.Logf("%s %v: %d / %d / %d  %v", filepath.Base(f), img.Bounds().Size(), len(dets), n7, n8, s)
	}
}
