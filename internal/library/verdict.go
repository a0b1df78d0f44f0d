package library

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/facesearch/facesearch/internal/eval"
	"github.com/facesearch/facesearch/internal/verdict"
)

// VerdictFile holds the library's open-set calibration (package verdict),
// computed for one catalog generation.
const VerdictFile = "verdict.json"

// storedCalibration is VerdictFile.
type storedCalibration struct {
	Schema string `json:"schema"`
	verdict.Calibration
}

const verdictSchema = "facesearch.verdict/v1"

// Calibration returns the stored open-set calibration and whether it is
// fresh (computed on the current catalog generation and model); nil when
// there is none.
func (l *Library) Calibration(ctx context.Context) (*verdict.Calibration, bool, error) {
	b, err := os.ReadFile(filepath.Join(l.dir, VerdictFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("library %s: calibration: %w", l.dir, err)
	}
	var s storedCalibration
	if err := json.Unmarshal(b, &s); err != nil || s.Schema != verdictSchema {
		l.log.Warn("unreadable calibration; it will be recomputed", "file", VerdictFile, "err", err)
		return nil, false, nil
	}
	gen, err := l.cat.Generation(ctx)
	if err != nil {
		return nil, false, err
	}
	m, err := l.ModelID(ctx)
	if err != nil {
		return nil, false, err
	}
	c := s.Calibration
	sim := SimilarityRaw
	if a, err := l.currentAdaptation(ctx); err == nil {
		sim = a.Similarity()
	}
	return &c, c.Generation == gen && c.Model == m && c.Similarity == sim, nil
}

// CalibrateOptions configures Library.Calibrate.
type CalibrateOptions struct {
	// Fit sets the operating points; zero values keep the stored ones (or
	// the defaults).
	Fit verdict.FitOptions
	// Sample tunes the sampling (its KNN is the backend's exact search
	// unless set).
	Sample verdict.SampleOptions
	// DryRun computes without storing.
	DryRun bool
	// Raw calibrates the raw cosine even when searches use an adapted
	// similarity (a searcher that fell back to raw).
	Raw bool
}

// Calibrate computes the open-set calibration from the catalog (primary
// face of each image, folders as people) and stores it unless DryRun.
func (l *Library) Calibrate(ctx context.Context, opt CalibrateOptions) (*verdict.Calibration, error) {
	if !opt.DryRun {
		unlock, err := l.lock()
		if err != nil {
			return nil, fmt.Errorf("library %s: calibrate: %w", l.dir, err)
		}
		defer unlock()
	}
	return l.calibrate(ctx, opt)
}

// calibrate is Calibrate; the caller holds the writer's lock unless DryRun.
func (l *Library) calibrate(ctx context.Context, opt CalibrateOptions) (*verdict.Calibration, error) {
	gen, err := l.cat.Generation(ctx) // read first: a concurrent change leaves it stale, never wrong
	if err != nil {
		return nil, err
	}
	modelID, err := l.ModelID(ctx)
	if err != nil {
		return nil, err
	}
	fo := opt.Fit
	if fo.MatchFPIR == 0 || fo.PossibleFPIR == 0 {
		if old, _, err := l.Calibration(ctx); err == nil && old != nil {
			if fo.MatchFPIR == 0 {
				fo.MatchFPIR = old.Match.FPIR
			}
			if fo.PossibleFPIR == 0 {
				fo.PossibleFPIR = old.Possible.FPIR
			}
		}
	}
	if a, err := l.currentAdaptation(ctx); err != nil {
		return nil, err
	} else if a != nil && !opt.Raw {
		// The adapted similarity is calibrated on its cross-fitted samples
		// (docs/ADAPTATION.md).
		c, err := l.calibrateAdapted(a, fo, gen, modelID)
		if err != nil {
			return nil, err
		}
		if !opt.DryRun {
			if err := l.storeCalibration(c); err != nil {
				return nil, err
			}
		}
		return c, nil
	}
	groups, err := l.primaryGroups(ctx)
	if err != nil {
		return nil, err
	}
	so := opt.Sample
	if so.KNN == nil {
		if k := l.knn(); k != nil {
			so.KNN = verdict.KNN(k)
		}
	}
	c, err := verdict.Calibrate(ctx, groups, so, fo)
	if err != nil {
		return nil, fmt.Errorf("library %s: calibrate: %w", l.dir, err)
	}
	c.Generation, c.Model = gen, modelID
	if !opt.DryRun {
		if err := l.storeCalibration(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// StoreCalibration stores a calibration fitted elsewhere (e.g. on samples
// of an adapted similarity, verdict.Fit): it must name the catalog
// generation and model it was computed on, or it is stale at once.
func (l *Library) StoreCalibration(ctx context.Context, c *verdict.Calibration) error {
	if c == nil || c.Generation == 0 || c.Model == "" || c.Similarity == "" {
		return fmt.Errorf("library %s: store calibration: no generation, model or similarity recorded", l.dir)
	}
	unlock, err := l.lock()
	if err != nil {
		return fmt.Errorf("library %s: store calibration: %w", l.dir, err)
	}
	defer unlock()
	return l.storeCalibration(c)
}

// storeCalibration writes VerdictFile; the caller holds the writer's lock
// (index, import-npz, calibrate: read-only commands never write it).
func (l *Library) storeCalibration(c *verdict.Calibration) error {
	cc := *c
	cc.Stale = ""
	c = &cc
	if err := writeJSONAtomic(filepath.Join(l.dir, VerdictFile), storedCalibration{Schema: verdictSchema, Calibration: *c}); err != nil {
		return fmt.Errorf("library %s: store calibration: %w", l.dir, err)
	}
	return nil
}

// judgingCalibration returns the calibration read-only commands (search,
// check, compare, serve) judge with: the stored one, never computed here
// (only index, import-npz and calibrate write it, under the writer's lock).
// A stored calibration of an older generation is still used, with Stale
// saying so; one of another model or of another similarity space than sim
// (the searcher's), or none, gives an uncalibrated one with the reason.
func (l *Library) judgingCalibration(ctx context.Context, sim string) (*verdict.Calibration, error) {
	c, fresh, err := l.Calibration(ctx)
	if err != nil {
		return nil, err
	}
	m, err := l.ModelID(ctx)
	if err != nil {
		return nil, fmt.Errorf("library %s: calibration: %w", l.dir, err)
	}
	switch {
	case c == nil:
		return &verdict.Calibration{Status: verdict.StatusUncalibrated, Similarity: sim, Model: m,
			Reason: "no calibration stored; run 'facesearch index' or 'facesearch calibrate' to make one"}, nil
	case c.Model != m:
		return &verdict.Calibration{Status: verdict.StatusUncalibrated, Similarity: sim, Model: m, Generation: c.Generation,
			Reason: fmt.Sprintf("the stored calibration is for model %s, not %s; run 'facesearch index' to refresh", c.Model, m)}, nil
	case c.Similarity != sim:
		return &verdict.Calibration{Status: verdict.StatusUncalibrated, Similarity: sim, Model: m, Generation: c.Generation,
			Reason: fmt.Sprintf("the stored calibration is for similarity %s, this search uses %s; run 'facesearch calibrate'", c.Similarity, sim)}, nil
	case !fresh:
		c.Stale = fmt.Sprintf("calibrated at generation %d; run index to refresh", c.Generation)
	}
	return c, nil
}

// refreshCalibration brings the stored calibration up to date at the end of
// an index or import run, which holds the writer's lock; a failure is
// logged, never the run's.
func (l *Library) refreshCalibration(ctx context.Context) *verdict.Calibration {
	c, fresh, err := l.Calibration(ctx)
	if err == nil && fresh {
		return c
	}
	c, err = l.calibrate(ctx, CalibrateOptions{}) // the run holds the writer's lock
	if err != nil {
		l.log.Warn("open-set calibration failed; search judges with the last one stored", "err", err)
		return nil
	}
	l.log.Info("open-set calibration", "status", c.Status, "non_mated", c.NonMatedSearches, "mated", c.MatedSearches,
		"match_threshold", c.Match.Threshold, "possible_threshold", c.Possible.Threshold, "seconds", c.SampleSeconds)
	return c
}

// RefreshCalibration brings the stored calibration up to date now, under
// the writer's lock: for 'adapt', whose refit or switch of similarity leaves
// the stored calibration in another similarity than the searches' (search
// and check would answer uncalibrated until the next index run). A failure
// to calibrate is logged (as at the end of an index run) and gives nil.
func (l *Library) RefreshCalibration(ctx context.Context) (*verdict.Calibration, error) {
	unlock, err := l.lock()
	if err != nil {
		return nil, fmt.Errorf("library %s: calibrate: %w", l.dir, err)
	}
	defer unlock()
	return l.refreshCalibration(ctx), nil
}

// primaryGroups returns the library's folders with the primary face of
// each image that has one, in path order.
func (l *Library) primaryGroups(ctx context.Context) ([]eval.Group, error) {
	faces, err := l.Faces(ctx, FacesOptions{Placeholders: true, OKOnly: true}) // in path order
	if err != nil {
		return nil, err
	}
	idx := map[string]int{}
	var gs []eval.Group
	for _, f := range faces {
		if f.Vec == nil {
			continue // no face, or the image failed
		}
		i, ok := idx[f.Person]
		if !ok {
			i = len(gs)
			idx[f.Person] = i
			gs = append(gs, eval.Group{Name: f.Person})
		}
		gs[i].Vectors = append(gs[i].Vectors, f.Vec)
	}
	return gs, nil
}
