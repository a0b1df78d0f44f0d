package review

import (
	"context"
	"errors"
	"image"

	"github.com/facesearch/facesearch/internal/detect"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/server"
	"github.com/facesearch/facesearch/internal/verdict"
)

// SearchPhoto implements server.PhotoSearcher: the library's photo search
// use case (library.Searcher.SearchPhoto), the same face choice, numbering
// and judged search as 'search' and 'check'.
func (b *Backend) SearchPhoto(ctx context.Context, img *image.RGBA, face, k int) (*server.PhotoAnswer, error) {
	if b.detector == nil {
		return nil, errNoPhotoSearch
	}
	cal, err := b.search.Calibration(ctx)
	if err != nil {
		return nil, err
	}
	res, err := b.search.SearchPhoto(ctx, b.detector, img, library.PhotoOptions{Face: face, Search: library.SearchOptions{K: k, Min: -1}, Calibration: cal})
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

// SearchJudged implements server.JudgedSearcher: the library's judged
// search, the same as 'search' and 'check' run.
func (b *Backend) SearchJudged(ctx context.Context, vec []float32, k int) ([]server.Match, *server.Verdict, error) {
	j, err := b.search.SearchJudged(ctx, vec, library.SearchOptions{K: k, Min: -1}, nil)
	if err != nil {
		return nil, nil, err
	}
	cal, err := b.search.Calibration(ctx)
	if err != nil {
		return nil, nil, err
	}
	ms, v := b.judgedOut(j, cal)
	return ms, v, nil
}

// judgedOut turns a judged search into the server's matches and verdict.
func (b *Backend) judgedOut(j *library.Judged, cal *verdict.Calibration) ([]server.Match, *server.Verdict) {
	out := make([]server.Match, len(j.Hits))
	for i, h := range j.Hits {
		out[i] = server.Match{FaceID: h.FaceID, ImageID: b.snap.faces[h.FaceID].ImageID, Similarity: h.Similarity,
			File: h.Path, Person: h.Person, Box: h.Box}
	}
	jd := j.Judgement
	v := &server.Verdict{Verdict: jd.Verdict, Person: j.Best.Person, Similarity: j.Best.Best.Similarity,
		StrangersAtOrAbove: jd.StrangersAtOrAbove, StrangerSearches: jd.StrangerSearches, StrangerText: jd.StrangerText(), Margin: jd.Margin,
		Calibration: cal.Status, Reason: cal.Reason, MatchThreshold: cal.Match.Threshold, MatchFPIR: cal.Match.FPIR,
		PossibleThreshold: cal.Possible.Threshold, PossibleFPIR: cal.Possible.FPIR, Stale: cal.Stale}
	if jd.StrangerSearches > 0 { // the rate is null while uncalibrated
		r := jd.StrangerRate
		v.StrangerRate = &r
	}
	return out, v
}
