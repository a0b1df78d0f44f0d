package cli

import (
	"errors"
	"fmt"
	"testing"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/detect"
	"github.com/facesearch/facesearch/internal/library"
)

// TestShapeError: the detector's shape refusals become the file's own
// fault (recorded once, not retried); other errors pass through unchanged.
func TestShapeError(t *testing.T) {
	other := errors.New("onnxruntime: out of memory")
	for _, c := range []struct {
		name   string
		err    error
		status string // "" : not a DecodeError
	}{
		{"too small", fmt.Errorf("detect 20x20: %w", detect.ErrTooSmall), catalog.StatusNoFace},
		{"too much work", fmt.Errorf("detect 2000000x40: %w", detect.ErrTooMuchWork), catalog.StatusUnsupported},
		{"other", other, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := shapeError(c.err)
			var de *library.DecodeError
			switch {
			case c.status == "" && got != c.err:
				t.Errorf("shapeError(%v) = %v, want it unchanged", c.err, got)
			case c.status != "" && !errors.As(got, &de):
				t.Errorf("shapeError(%v) = %v, want a DecodeError", c.err, got)
			case c.status != "" && (de.Status != c.status || de.Reason != c.err.Error() || !errors.Is(got, c.err)):
				t.Errorf("shapeError(%v) = %+v, want status %s with the reason", c.err, de, c.status)
			}
		})
	}
}
