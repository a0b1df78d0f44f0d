package library

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"

	"github.com/facesearch/facesearch/internal/verdict"
)

// calibrationOnce holds a Searcher's calibration once loaded (a failure,
// e.g. a cancelled request, is not kept: the next call tries again).
type calibrationOnce struct {
	mu sync.Mutex
	c  *verdict.Calibration
}

// Calibration returns the open-set calibration the searcher judges with:
// the stored one when fresh, else computed now (and stored when possible).
// It is loaded once per Searcher.
func (s *Searcher) Calibration(ctx context.Context) (*verdict.Calibration, error) {
	s.cal.mu.Lock()
	defer s.cal.mu.Unlock()
	if s.cal.c != nil {
		return s.cal.c, nil
	}
	c, err := s.l.freshCalibration(ctx)
	if err != nil {
		return nil, err
	}
	if c.Similarity != s.Similarity() {
		// The searcher fell back to the raw cosine (or the stored
		// calibration is of another similarity): judge in its own.
		if c, err = s.l.Calibrate(ctx, CalibrateOptions{DryRun: true, Raw: s.adapt == nil}); err != nil {
			return nil, err
		}
	}
	s.cal.c = c
	return c, nil
}

// judgeFetch is how many primary faces a judged search looks at, at least,
// to find the best other person for the margin.
const judgeFetch = 50

// judgeFetchMax bounds the faces looked at for the best other person.
const judgeFetchMax = 3200

// Judged is a search result with its verdict.
type Judged struct {
	Hits []Hit
	// Best is the best person (zero Person when no hit).
	Best PersonHit
	// Judgement is the verdict on Best's score.
	Judgement verdict.Judgement
}

// SearchJudged searches like Search and judges the result against the
// library's open-set calibration cal (nil: the searcher's): the verdict of
// the best person's score, its stranger rate and its margin over the best
// other person. It is the one judged search of the library, used by the
// CLI and the server.
func (s *Searcher) SearchJudged(ctx context.Context, q []float32, opt SearchOptions, cal *verdict.Calibration) (*Judged, error) {
	if cal == nil {
		var err error
		if cal, err = s.Calibration(ctx); err != nil {
			return nil, err
		}
	}
	want := opt.K
	if want <= 0 {
		want = 10
	}
	o := opt
	o.K = max(want, judgeFetch)
	o.Min = -1
	hits, err := s.Search(ctx, q, o)
	if err != nil {
		return nil, err
	}
	persons := ByPerson(hits)
	// One person fills the neighbours (a big folder): look further for the
	// best other person, whose score the margin needs.
	for len(persons) == 1 && len(hits) == o.K && o.K < judgeFetchMax {
		o.K = min(4*o.K, judgeFetchMax)
		if hits, err = s.Search(ctx, q, o); err != nil {
			return nil, err
		}
		persons = ByPerson(hits)
	}
	j := &Judged{}
	if len(persons) > 0 {
		j.Best = persons[0]
		var second float32
		if len(persons) > 1 {
			second = persons[1].Best.Similarity
		}
		j.Judgement = cal.Judge(persons[0].Best.Similarity, second, len(persons) > 1)
	} else {
		j.Judgement = cal.Judge(-1, 0, false)
		j.Judgement.Verdict = verdict.NoMatch
		if !cal.Calibrated() {
			j.Judgement.Verdict = verdict.Uncalibrated
		}
	}
	for _, h := range hits {
		if len(j.Hits) == want || h.Similarity < opt.Min {
			break
		}
		j.Hits = append(j.Hits, h)
	}
	return j, nil
}

// QueryFace is one face of a query photo. Faces are numbered from 1 in
// detection order, everywhere (CLI, JSON, API).
type QueryFace struct {
	Number    int
	Box       [4]float32
	Score     float32
	Primary   bool
	Embedding []float32
	Crop      image.Image // aligned crop, may be nil
}

// FacePrimary selects the photo's primary face in PhotoOptions.Face: the
// subject, nearest the centre, as index stores it.
const FacePrimary = 0

// FaceAll selects every face of the photo in PhotoOptions.Face.
const FaceAll = -1

// PhotoOptions configures SearchPhoto.
type PhotoOptions struct {
	// Face is FacePrimary, FaceAll or a face number (1-based).
	Face   int
	Search SearchOptions
	// Calibration judges the results (nil: the searcher's).
	Calibration *verdict.Calibration
}

// FaceResult is the judged search of one face of a photo.
type FaceResult struct {
	Face QueryFace
	*Judged
}

// PhotoResult is the judged search of a photo.
type PhotoResult struct {
	Faces   []QueryFace  // every face found, numbered from 1
	Primary int          // number of the primary face (0: none)
	Results []FaceResult // one per face searched
}

// ErrNoFace is returned by SearchPhoto for a photo without a face.
var ErrNoFace = errors.New("no face found")

// SearchPhoto finds the faces of img with det and searches the library with
// the chosen ones: the photo search use case of the CLI ('search', 'check')
// and the server.
func (s *Searcher) SearchPhoto(ctx context.Context, det Detector, img image.Image, opt PhotoOptions) (*PhotoResult, error) {
	if det.ModelID() != s.info.Model {
		return nil, fmt.Errorf("the library was built with model %s, not %s: re-run 'facesearch index'", s.info.Model, det.ModelID())
	}
	faces, primary, err := det.Detect(ctx, img)
	if err != nil {
		return nil, fmt.Errorf("face pipeline: %w", err)
	}
	res := &PhotoResult{}
	if primary < 0 && len(faces) > 0 {
		primary = 0
	}
	for i, f := range faces {
		res.Faces = append(res.Faces, QueryFace{Number: i + 1, Box: f.Box, Score: f.Score, Primary: i == primary, Embedding: f.Embedding, Crop: f.Crop})
	}
	if len(faces) == 0 {
		return res, ErrNoFace
	}
	res.Primary = primary + 1
	var pick []int
	switch {
	case opt.Face == FaceAll:
		for i := range faces {
			pick = append(pick, i)
		}
	case opt.Face == FacePrimary:
		pick = []int{primary}
	case opt.Face > len(faces):
		return res, fmt.Errorf("no face %d: the photo has %d", opt.Face, len(faces))
	case opt.Face < 0:
		return res, fmt.Errorf("face %d: want a face number from 1", opt.Face)
	default:
		pick = []int{opt.Face - 1}
	}
	for _, i := range pick {
		j, err := s.SearchJudged(ctx, faces[i].Embedding, opt.Search, opt.Calibration)
		if err != nil {
			return res, err
		}
		res.Results = append(res.Results, FaceResult{Face: res.Faces[i], Judged: j})
	}
	return res, nil
}
