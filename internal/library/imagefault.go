package library

import (
	"errors"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/imgio"
)

// imageStatus is the catalog status of each imgio error kind.
var imageStatus = []struct {
	kind   error
	status string
}{
	{imgio.ErrEmpty, catalog.StatusEmpty}, {imgio.ErrTruncated, catalog.StatusTruncated},
	{imgio.ErrTooLarge, catalog.StatusTooLarge}, {imgio.ErrNotImage, catalog.StatusNotImage},
	{imgio.ErrCorrupt, catalog.StatusCorrupt}, {imgio.ErrUnsupported, catalog.StatusUnsupported},
}

// ImageFault returns a decode error that is the image file's own fault (an
// *imgio.Error) as a *DecodeError with the catalog status of its kind and
// its reason (the catalog shows the path beside it); any other error (an I/O
// error, retried by the next run) is returned unchanged.
func ImageFault(err error) error {
	var ie *imgio.Error
	if !errors.As(err, &ie) {
		return err
	}
	for _, c := range imageStatus {
		if errors.Is(ie.Kind, c.kind) {
			return &DecodeError{Status: c.status, Reason: ie.Reason, Err: err}
		}
	}
	return err
}
