package cli

import (
	"errors"
	"fmt"
	"testing"

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
		{"too small", fmt.Errorf("detect 20x20: %w", detect.ErrTooSmall), library.StatusNoFace},
		{"too much work", fmt.Errorf("detect 2000000x40: %w", detect.ErrTooMuchWork), library.StatusUnsupported},
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

// TestRunVerb: the report's first line says truly how the run ended; a run
// whose deletions the prune guard refused was not interrupted (review
// finding 7).
func TestRunVerb(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, "indexed"},
		{fmt.Errorf("index R: %w: alice", library.ErrUnreadable), "indexed"},
		{fmt.Errorf("index R: %w: would delete 3 of 4", library.ErrWouldPrune), "indexed (deletions refused)"},
		{fmt.Errorf("index R: %w (signal)", library.ErrInterrupted), "partly indexed (interrupted)"},
		{errors.New("disk I/O error"), "partly indexed (stopped by an error)"},
	} {
		if got := runVerb("indexed", c.err); got != c.want {
			t.Errorf("runVerb(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
