package cli

import (
	"context"
	"errors"
	"image"

	"github.com/facesearch/facesearch/internal/detect"
	"github.com/facesearch/facesearch/internal/embed"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/server"
)

// servePhotoDetector adapts embed.Pipeline to library.Detector for the
// server (its errors keep their cause, which SearchPhoto maps to API kinds).
type servePhotoDetector struct{ p *embed.Pipeline }

func (d servePhotoDetector) Detect(ctx context.Context, img image.Image) ([]library.DetectedFace, int, error) {
	fs, err := d.p.Faces(ctx, img)
	if err != nil {
		return nil, -1, err
	}
	out := make([]library.DetectedFace, len(fs))
	for i, f := range fs {
		out[i] = library.DetectedFace{Box: f.Box, Score: f.Score, Landmarks: f.Landmarks, Embedding: f.Embedding}
	}
	return out, embed.Primary(fs, img.Bounds()), nil
}

func (d servePhotoDetector) ModelID() string { return d.p.ModelID() }

// SearchPhoto implements server.PhotoSearcher: the library's photo search
// use case (library.Searcher.SearchPhoto), the same face choice, numbering
// and judged search as 'search' and 'check'.
func (b *libraryBackend) SearchPhoto(ctx context.Context, img *image.RGBA, face, k int) (*server.PhotoAnswer, error) {
	if b.pipe == nil {
		return nil, &server.Error{Kind: server.KindUnavailable, Msg: "photo search needs the model that made the imported embeddings, which is not installed (see 'facesearch models'); search by vector, People and Cleansing work"}
	}
	cal, err := b.search.Calibration(ctx)
	if err != nil {
		return nil, err
	}
	res, err := b.search.SearchPhoto(ctx, servePhotoDetector{b.pipe}, img, library.PhotoOptions{Face: face, Search: library.SearchOptions{K: k, Min: -1}, Calibration: cal})
	switch {
	case errors.Is(err, detect.ErrTooSmall), errors.Is(err, library.ErrNoFace):
		return nil, &server.Error{Kind: server.KindNoFace, Msg: err.Error(), Err: err}
	case errors.Is(err, detect.ErrTooMuchWork), errors.Is(err, library.ErrFaceNumber):
		return nil, &server.Error{Kind: server.KindBadRequest, Msg: err.Error(), Err: err}
	case err != nil:
		return nil, err
	}
	ans := &server.PhotoAnswer{Primary: res.Primary}
	for _, f := range res.Faces {
		ans.Faces = append(ans.Faces, server.QueryFace{Box: f.Box, Score: f.Score, Embedding: f.Embedding})
	}
	fr := res.Results[0]
	ans.Face = fr.Face.Number
	ans.Matches, ans.Verdict = b.judgedOut(fr.Judged, cal)
	return ans, nil
}
