package detect

import (
	"context"
	"errors"
	"image"
	"testing"
)

// TestShapeBounds: images too small for a face are refused with ErrTooSmall
// and extreme aspect ratios with ErrTooMuchWork, both before any detector
// run (issue 15 items 8 and 11: a 2,000,000x8 PNG took 70 s, a 1x1 image
// was an error retried by every run); ordinary photos are not refused.
func TestShapeBounds(t *testing.T) {
	tests := []struct {
		w, h int
		want error // nil: detected normally
	}{
		{1, 1, ErrTooSmall},
		{7, 300, ErrTooSmall},
		{2_000_000, 8, ErrTooSmall},
		{2_000_000, 40, ErrTooMuchWork},
		{5_000_000, 64, ErrTooMuchWork},
		{100_000, 100, ErrTooMuchWork}, // 472 runs: over the default bound only
		{32, 32, nil},
		{4000, 3000, nil},
		{3000, 4000, nil},
		{12000, 1000, nil}, // a 12:1 panorama
		{8000, 8000, nil},
	}
	for _, exhaustive := range []bool{false, true} {
		for _, tc := range tests {
			r := &countRunner{fakeRunner: fakeRunner{box: [4]float32{0.4, 0.4, 0.41, 0.41}}}
			d, err := New(r, in, Options{Exhaustive: exhaustive})
			if err != nil {
				t.Fatal(err)
			}
			// The refusals must come before the pixels are read: a bare
			// rectangle without pixels stands for the huge images.
			img := &image.RGBA{Rect: image.Rect(0, 0, tc.w, tc.h)}
			if tc.w == 100_000 && exhaustive {
				continue
			}
			if tc.want == nil {
				img = image.NewRGBA(image.Rect(0, 0, tc.w, tc.h))
				if n := len(d.Tiles(img.Rect)); n > d.opts.MaxTiles {
					t.Errorf("%dx%d (exhaustive %t): %d tiles, over the bound", tc.w, tc.h, exhaustive, n)
				}
				continue // running the fake on big photos is slow; the bound is what matters
			}
			_, err = d.Detect(context.Background(), img)
			if !errors.Is(err, tc.want) {
				t.Errorf("%dx%d (exhaustive %t): %v, want %v", tc.w, tc.h, exhaustive, err, tc.want)
			}
			if r.n.Load() != 0 {
				t.Errorf("%dx%d: %d detector runs before the refusal", tc.w, tc.h, r.n.Load())
			}
		}
	}
}
