package embed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/detect"
	"github.com/facesearch/facesearch/internal/ort"
	"github.com/facesearch/facesearch/internal/ort/orttest"
	"github.com/facesearch/facesearch/internal/testenv"
)

// countingRunner counts detector runs.
type countingRunner struct {
	r detect.Runner
	n atomic.Int64
}

func (c *countingRunner) Run(in []ort.Tensor) ([]ort.Tensor, error) {
	c.n.Add(1)
	return c.r.Run(in)
}

// photoFiles lists the image files below dir (recursively, no .csv/.txt).
func photoFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".csv", ".txt", ".md":
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestExploreTiling measures detector runs, detection time and faces per
// image for tiling variants on deepface (61 photos) and _extras (28), one
// worker, one onnxruntime thread. EXPLORE=1; TILING_VERBOSE=1 lists every
// photo.
func TestExploreTiling(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip("EXPLORE not set")
	}
	faces := testenv.Faces(t)
	m, home := orttest.Manifest(t)
	rt := orttest.Runtime(t)
	path, err := m.Path(home, "detect")
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(path, []string{"input"}, []string{"scores", "boxes"}, ort.SessionOptions{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	variants := []struct {
		name string
		o    detect.Options
	}{
		{"exhaustive (old default)", detect.Options{Exhaustive: true}},
		{"default", detect.Options{}},
		{"fraction 24", detect.Options{TileFraction: 24}},
		{"fraction 32", detect.Options{TileFraction: 32}},
		{"whole frame only", detect.Options{NoTiling: true}},
	}
	verbose := os.Getenv("TILING_VERBOSE") != ""
	for _, set := range []string{"deepface", "_extras"} {
		dir := filepath.Join(faces, set)
		files := photoFiles(t, dir)
		for _, v := range variants {
			cr := &countingRunner{r: s}
			d, err := detect.New(cr, m.Detect, v.o)
			if err != nil {
				t.Fatal(err)
			}
			var total time.Duration
			var nFaces, maxRuns, planned int
			var lines []string
			for _, rel := range files {
				img, err := decode(dir, rel)
				if err != nil {
					t.Fatalf("%s: %v", rel, err)
				}
				planned += len(d.Tiles(img.Bounds()))
				before := cr.n.Load()
				start := time.Now()
				dets, err := d.Detect(context.Background(), img)
				el := time.Since(start)
				if err != nil {
					t.Fatal(err)
				}
				runs := int(cr.n.Load() - before)
				total += el
				nFaces += len(dets)
				maxRuns = max(maxRuns, runs)
				if verbose {
					b := img.Bounds()
					short := float32(min(b.Dx(), b.Dy()))
					var fs []string
					for _, f := range dets {
						side := f.Box[3] - f.Box[1]
						fs = append(fs, fmt.Sprintf("%.0f(1/%.1f,%.2f)", side, short/side, f.Score))
					}
					lines = append(lines, fmt.Sprintf("  %-60s %4dx%-4d runs %3d %6.1f ms faces %d %v", rel, b.Dx(), b.Dy(), runs, float64(el.Microseconds())/1000, len(dets), fs))
				}
			}
			runs := cr.n.Load()
			t.Logf("%s / %s: %d photos, %d detector runs (%.1f per photo, max %d; %d without the portrait shortcut), %.1f ms per photo, %d faces",
				set, v.name, len(files), runs, float64(runs)/float64(len(files)), maxRuns, planned,
				float64(total.Microseconds())/1000/float64(len(files)), nFaces)
			for _, l := range lines {
				t.Log(l)
			}
		}
	}
}
