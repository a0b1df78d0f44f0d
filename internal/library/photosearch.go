package library

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"

	"github.com/facesearch/facesearch/internal/adapt"
	"github.com/facesearch/facesearch/internal/verdict"
)

// calibrationOnce holds a Searcher's calibration once loaded (a failure,
// e.g. a cancelled request, is not kept: the next call tries again).
type calibrationOnce struct {
	mu sync.Mutex
	c  *verdict.Calibration
}

// Calibration returns the open-set calibration the searcher judges with:
// the stored one, even when stale (then its Stale says so), never computed
// here; uncalibrated when none is stored. It is loaded once per Searcher.
func (s *Searcher) Calibration(ctx context.Context) (*verdict.Calibration, error) {
	s.cal.mu.Lock()
	defer s.cal.mu.Unlock()
	if s.cal.c != nil {
		return s.cal.c, nil
	}
	// A calibration of another similarity (e.g. a searcher that fell back
	// to the raw cosine) is not computed here either: uncalibrated, with
	// the reason.
	c, err := s.l.judgingCalibration(ctx, s.Similarity())
	if err != nil {
		return nil, err
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
	// Score is the person score judged: Best's best face similarity, or in
	// an adapted similarity with another person score (adapt.PersonScore,
	// named by ScoreName) that statistic of Best's faces.
	Score     float32
	ScoreName string
}

// personScore is the person score the searcher judges with.
func (s *Searcher) personScore() adapt.PersonScore {
	if s.adapt == nil || s.adapt.Transform == nil {
		return adapt.PersonScore{}
	}
	return s.adapt.Transform.Params.Score
}

// personSizes returns the number of primary faces of each person, loaded
// once per searcher (the person score of a folder whose faces are not all
// among the hits needs it).
func (s *Searcher) personSizes(ctx context.Context) (map[string]int, error) {
	s.sizes.mu.Lock()
	defer s.sizes.mu.Unlock()
	if s.sizes.m != nil {
		return s.sizes.m, nil
	}
	m, err := s.l.cat.PrimaryFacesPerPerson(ctx)
	if err != nil {
		return nil, fmt.Errorf("library %s: person sizes: %w", s.l.dir, err)
	}
	s.sizes.m = m
	return m, nil
}

// rankPersons scores the persons of hits (best first; complete: every
// primary face of the library) under ps; names maps the folder numbers of
// the result to persons.
func rankPersons(hits []Hit, ps adapt.PersonScore, sizes map[string]int, complete bool) (adapt.Ranked, []string) {
	idx := map[string]int{}
	var names []string
	ah := make([]adapt.Hit, 0, len(hits))
	for _, h := range hits {
		i, ok := idx[h.Person]
		if !ok {
			i = len(names)
			idx[h.Person] = i
			names = append(names, h.Person)
		}
		ah = append(ah, adapt.Hit{Folder: i, Score: float64(h.Similarity)})
	}
	var bound float64
	if len(hits) > 0 {
		bound = float64(hits[len(hits)-1].Similarity)
	}
	r := ps.Rank(ah, func(f int) int { return sizes[names[f]] }, bound, complete)
	return r, names
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
	if ps := s.personScore(); !ps.IsMax() && len(persons) > 0 {
		// The adapted similarity judges a person by its person score
		// (adapt.PersonScore), computed from enough hits to be exact.
		sizes, err := s.personSizes(ctx)
		if err != nil {
			return nil, err
		}
		for {
			r, names := rankPersons(hits, ps, sizes, len(hits) < o.K)
			if r.Exact || o.K >= judgeFetchMax {
				best := names[r.Folder]
				for _, p := range persons {
					if p.Person == best {
						j.Best = p
					}
				}
				j.Score, j.ScoreName = float32(r.Score), ps.String()
				margin := r.Value - r.Second
				j.Judgement = cal.Judge(float32(r.Score), float32(r.Score-margin), r.HasSecond)
				break
			}
			o.K = min(4*o.K, judgeFetchMax)
			if hits, err = s.Search(ctx, q, o); err != nil {
				return nil, err
			}
			persons = ByPerson(hits)
		}
	} else if len(persons) > 0 {
		j.Best = persons[0]
		var second float32
		if len(persons) > 1 {
			second = persons[1].Best.Similarity
		}
		j.Score = persons[0].Best.Similarity
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

// ErrFaceNumber is returned (wrapped) by SearchPhoto for a face number the
// photo does not have.
var ErrFaceNumber = errors.New("no such face")

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
	if opt.Face == FaceAll {
		for i := range faces {
			pick = append(pick, i)
		}
	} else {
		i, err := PickFace(len(faces), primary, opt.Face)
		if err != nil {
			return res, err
		}
		pick = []int{i}
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

// PickFace returns the index (0-based) of face n among count detected faces
// whose primary face has index primary: n is a face number (1-based) or
// FacePrimary (then the primary face; the first when none is marked). It is
// the one face choice of SearchPhoto (search, check, the API) and 'compare'.
func PickFace(count, primary, n int) (int, error) {
	switch {
	case count == 0:
		return -1, ErrNoFace
	case n == FacePrimary && (primary < 0 || primary >= count):
		return 0, nil
	case n == FacePrimary:
		return primary, nil
	case n > count:
		return -1, fmt.Errorf("%w: no face %d, the photo has %d", ErrFaceNumber, n, count)
	case n < 0:
		return -1, fmt.Errorf("%w: face %d, want a face number from 1", ErrFaceNumber, n)
	}
	return n - 1, nil
}
