package embed

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/align"
	"github.com/facesearch/facesearch/internal/detect"
	"github.com/facesearch/facesearch/internal/imgio"
	"github.com/facesearch/facesearch/internal/ort"
	"github.com/facesearch/facesearch/internal/ort/orttest"
	"github.com/facesearch/facesearch/internal/testenv"
)

// lfwSample returns n LFW image paths (the first image of the first n
// people, sorted by name).
func lfwSample(b *testing.B, n int) []string {
	lfw := filepath.Join(testenv.Faces(b), "lfw")
	dirs, _ := filepath.Glob(filepath.Join(lfw, "*", "*_0001.jpg"))
	sort.Strings(dirs)
	if len(dirs) < n {
		testenv.Missing(b, "LFW has %d images, want %d", len(dirs), n)
	}
	return dirs[:n]
}

// BenchmarkStages times each stage on one LFW image, 1 onnxruntime thread;
// embed-flip is the flip-averaged embedding (two model runs).
func BenchmarkStages(b *testing.B) {
	p := newPipeline(b, Options{Threads: 1})
	img, _, err := imgio.DecodeFile(lfwSample(b, 1)[0], imgio.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	dets, err := p.Detect(ctx, img)
	if err != nil || len(dets) == 0 {
		b.Fatalf("no face: %v", err)
	}
	lm, err := p.Landmarks(img, dets[0].Box)
	if err != nil {
		b.Fatal(err)
	}
	pts, _ := align.FivePoints(lm)
	crop, _, err := align.Crop(img, pts)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("detect", func(b *testing.B) {
		for b.Loop() {
			p.Detect(ctx, img)
		}
	})
	b.Run("landmark", func(b *testing.B) {
		for b.Loop() {
			p.Landmarks(img, dets[0].Box)
		}
	})
	b.Run("align", func(b *testing.B) {
		for b.Loop() {
			align.Crop(img, pts)
		}
	})
	b.Run("embed", func(b *testing.B) {
		for b.Loop() {
			p.Embed(ctx, crop)
		}
	})
	pf := newPipeline(b, Options{Threads: 1, FlipAverage: true})
	b.Run("embed-flip", func(b *testing.B) {
		for b.Loop() {
			pf.Embed(ctx, crop)
		}
	})
}

// BenchmarkPipeline decodes and runs Faces on LFW images with several
// workers sharing one Pipeline; reports images/s (flip: flip-averaged
// embeddings).
func BenchmarkPipeline(b *testing.B) {
	files := lfwSample(b, 64)
	for _, c := range []struct {
		workers, threads int
		flip             bool
	}{{1, 1, false}, {1, 2, false}, {2, 1, false}, {2, 1, true}} {
		name := fmt.Sprintf("workers=%d/threads=%d", c.workers, c.threads)
		if c.flip {
			name += "/flip"
		}
		b.Run(name, func(b *testing.B) {
			p := newPipeline(b, Options{Threads: c.threads, FlipAverage: c.flip})
			var n atomic.Int64
			start := time.Now()
			for b.Loop() {
				forEach(b, files, c.workers, func(path string) error {
					img, _, err := imgio.DecodeFile(path, imgio.Options{})
					if err != nil {
						return err
					}
					if _, err := p.Faces(context.Background(), img); err != nil {
						return err
					}
					n.Add(1)
					return nil
				})
			}
			b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "images/s")
		})
	}
}

// BenchmarkDetectLarge times detection (and reports detector runs) on a
// 1200x1200 portrait and a 1920x1280 group photo, bounded tiling (the
// default) against the exhaustive search, 1 onnxruntime thread.
func BenchmarkDetectLarge(b *testing.B) {
	faces := testenv.Faces(b)
	photos := []struct{ name, rel string }{
		{"portrait1200", "deepface/person_06/img18.jpg"},
		{"group1920", "_extras/registry_samples/unlabeled/vladmandic_face_api_demo/sample1.jpg"},
	}
	m, home := orttest.Manifest(b)
	path, err := m.Path(home, "detect")
	if err != nil {
		b.Fatal(err)
	}
	s, err := orttest.Runtime(b).NewSession(path, []string{"input"}, []string{"scores", "boxes"}, ort.SessionOptions{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, ph := range photos {
		img := load(b, faces, ph.rel)
		for _, v := range []struct {
			name string
			o    detect.Options
		}{{"default", detect.Options{}}, {"exhaustive", detect.Options{Exhaustive: true}}} {
			b.Run(ph.name+"/"+v.name, func(b *testing.B) {
				cr := &countingRunner{r: s}
				d, err := detect.New(cr, m.Detect, v.o)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := d.Detect(context.Background(), img); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cr.n.Load())/float64(b.N), "runs/op")
			})
		}
	}
}
