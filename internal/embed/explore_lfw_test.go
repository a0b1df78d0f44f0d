package embed

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/facesearch/facesearch/internal/align"
	"github.com/facesearch/facesearch/internal/ort/orttest"
	"github.com/facesearch/facesearch/internal/testenv"
)

type exFace struct {
	box [4]float32
	emb map[string][]float32 // variant "BGR/six" etc.
}

// TestExploreLFW compares colour orders, five-point definitions and
// primary-face rules on one LFW fold. EXPLORE=1 (fold: LFW_FOLD, default 0).
func TestExploreLFW(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip("EXPLORE not set")
	}
	fold, _ := strconv.Atoi(os.Getenv("LFW_FOLD"))
	lfw := filepath.Join(testenv.Faces(t), "lfw")
	pairs := lfwFold(t, lfw, fold)
	m, home := orttest.Manifest(t)
	rt := orttest.Runtime(t)
	pipes := map[string]*Pipeline{}
	for _, c := range []string{"BGR", "RGB"} {
		mm := *m
		mm.Feature.ColorOrder = c
		p, err := New(Options{Home: home, Manifest: &mm, Runtime: rt})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		pipes[c] = p
	}
	var mu sync.Mutex
	all := map[string][]exFace{}
	bounds := map[string]image.Rectangle{}
	forEach(t, images(pairs), 2, func(rel string) error {
		img, err := decode(lfw, rel)
		if err != nil {
			return err
		}
		p := pipes["BGR"]
		dets, err := p.Detect(context.Background(), img)
		if err != nil {
			return err
		}
		var fs []exFace
		for _, d := range dets {
			lm, err := p.Landmarks(img, d.Box)
			if err != nil {
				return err
			}
			f := exFace{box: d.Box, emb: map[string][]float32{}}
			six, _ := align.FivePoints(lm)
			js, _ := align.FivePointsJS(lm)
			for pn, pts := range map[string][5][2]float32{"six": six, "js": js} {
				crop, _, err := align.Crop(img, pts)
				if err != nil {
					return err
				}
				for c, pp := range pipes {
					e, err := pp.Embed(context.Background(), crop)
					if err != nil {
						return err
					}
					f.emb[c+"/"+pn] = e
				}
			}
			fs = append(fs, f)
		}
		mu.Lock()
		all[rel] = fs
		bounds[rel] = img.Bounds()
		mu.Unlock()
		return nil
	})
	multi, none := 0, 0
	for _, fs := range all {
		if len(fs) > 1 {
			multi++
		}
		if len(fs) == 0 {
			none++
		}
	}
	t.Logf("fold %d: %d images, %d with several faces, %d with none", fold, len(all), multi, none)
	rules := map[string]func(fs []exFace, b image.Rectangle) int{
		"centre":      func(fs []exFace, b image.Rectangle) int { return pick(fs, b, 0) },
		"largest":     func(fs []exFace, b image.Rectangle) int { return pick(fs, b, 1) },
		"centre/size": func(fs []exFace, b image.Rectangle) int { return pick(fs, b, 2) },
		"first(score)": func(fs []exFace, b image.Rectangle) int {
			if len(fs) == 0 {
				return -1
			}
			return 0
		},
	}
	for _, v := range []string{"BGR/six", "RGB/six", "BGR/js", "RGB/js"} {
		for rn, rule := range rules {
			emb := map[string][]float32{}
			for rel, fs := range all {
				if i := rule(fs, bounds[rel]); i >= 0 {
					emb[rel] = fs[i].emb[v]
				}
			}
			s := scores(pairs, emb)
			bt, ba := bestThreshold(pairs, s)
			t.Logf("%-8s %-13s acc@%.2f %.4f  best %.4f @%.3f  AUC %.5f", v, rn, m.Threshold, accuracy(pairs, s, m.Threshold), ba, bt, auc(pairs, s))
		}
	}
	fmt.Println()
}

// pick: mode 0 nearest centre, 1 largest, 2 nearest centre in units of face size.
func pick(fs []exFace, b image.Rectangle, mode int) int {
	best, bv := -1, math.Inf(1)
	cx, cy := float64(b.Min.X+b.Max.X)/2, float64(b.Min.Y+b.Max.Y)/2
	for i, f := range fs {
		side := float64(f.box[3] - f.box[1])
		d := math.Hypot(float64(f.box[0]+f.box[2])/2-cx, float64(f.box[1]+f.box[3])/2-cy)
		var v float64
		switch mode {
		case 0:
			v = d
		case 1:
			v = -side
		case 2:
			v = d / side
		}
		if v < bv {
			best, bv = i, v
		}
	}
	return best
}
