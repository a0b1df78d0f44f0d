package library

import (
	"context"
	"errors"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/model"
)

// StatsReport summarises a library.
type StatsReport struct {
	Dir             string
	Root            string
	ModelID         string
	Manifest        *model.Manifest
	Catalog         catalog.Stats
	Failures        []catalog.Failure
	Generation      int64
	Index           IndexInfo
	IndexState      string // IndexFresh, IndexStale, IndexMissing or IndexDamaged
	IndexError      string // why the index is damaged
	Factory         string // requested index type
	Threshold       float32
	ThresholdSource string
}

// Stats reads the library's summary; it changes nothing.
func (l *Library) Stats(ctx context.Context) (*StatsReport, error) {
	r := &StatsReport{Dir: l.dir}
	var err error
	if r.Root, err = l.Root(ctx); err != nil {
		return nil, err
	}
	if r.ModelID, err = l.ModelID(ctx); err != nil {
		return nil, err
	}
	if r.Manifest, err = l.Manifest(ctx); err != nil {
		return nil, err
	}
	if r.Catalog, err = l.cat.Stats(ctx); err != nil {
		return nil, err
	}
	if r.Failures, err = l.cat.Failures(ctx); err != nil {
		return nil, err
	}
	if r.Generation, err = l.cat.Generation(ctx); err != nil {
		return nil, err
	}
	if r.Index, r.IndexState, err = l.IndexStatus(ctx); err != nil {
		return nil, err
	}
	if err := l.VerifyIndex(ctx); errors.Is(err, ErrIndexDamaged) {
		r.IndexState, r.IndexError = IndexDamaged, err.Error()
	} else if err != nil {
		return nil, err
	}
	if r.Factory, err = l.factory(ctx); err != nil {
		return nil, err
	}
	if r.Manifest != nil {
		if r.Threshold, r.ThresholdSource, err = l.Threshold(ctx, r.Manifest); err != nil {
			return nil, err
		}
	}
	return r, nil
}
