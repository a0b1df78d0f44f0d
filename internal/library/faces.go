package library

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/face"
)

// Image statuses of the catalog (catalog.Status*), for the callers of the
// use cases: a Decoder's DecodeError.Status, the statistics.
const (
	StatusOK          = catalog.StatusOK
	StatusNoFace      = catalog.StatusNoFace
	StatusNotImage    = catalog.StatusNotImage
	StatusTruncated   = catalog.StatusTruncated
	StatusTooLarge    = catalog.StatusTooLarge
	StatusEmpty       = catalog.StatusEmpty
	StatusCorrupt     = catalog.StatusCorrupt
	StatusUnsupported = catalog.StatusUnsupported
	StatusError       = catalog.StatusError
)

// FacesOptions selects what Library.Faces loads.
type FacesOptions struct {
	// All loads every detected face, not only each image's primary one.
	All bool
	// Placeholders adds one row (ID 0, Vec nil) for each image without a
	// face loaded, for callers that count images.
	Placeholders bool
	// OKOnly leaves out the faces of images whose status is not ok (an
	// image whose re-read failed with a retryable error keeps its earlier
	// faces in the catalog; calibration and adaptation do not use them).
	OKOnly bool
}

// Faces is the one loader from the catalog to faces: the primary face of
// every image (every face with All), in path order, then detection order
// within an image. Face.File is the catalog's path, relative to the dataset
// root and '/'-separated (join it with Root for a file-system path).
// Face.Hash is the hex SHA-256 of the image bytes for a library indexed from
// photos and "" for one imported from npz files (an npz row's identity is
// not a hash of image bytes).
func (l *Library) Faces(ctx context.Context, opt FacesOptions) ([]face.Face, error) {
	ims, contentHash, err := l.images(ctx)
	if err != nil {
		return nil, err
	}
	return facesOf(ims, opt, contentHash), nil
}

// images reads every catalog image with its faces, and whether their
// hashes are hashes of image bytes (not for a library imported from npz).
func (l *Library) images(ctx context.Context) ([]catalog.Image, bool, error) {
	ims, err := l.cat.Images(ctx, false)
	if err != nil {
		return nil, false, err
	}
	src, err := l.Source(ctx)
	if err != nil {
		return nil, false, err
	}
	return ims, src != SourceNPZ, nil
}

// facesOf turns catalog images into faces (see Faces). contentHash says
// whether the images' hashes are hashes of image bytes.
func facesOf(ims []catalog.Image, opt FacesOptions, contentHash bool) []face.Face {
	var out []face.Face
	for _, im := range ims {
		hash := ""
		if contentHash && len(im.SHA256) > 0 {
			hash = hex.EncodeToString(im.SHA256)
		}
		n := len(out)
		for _, f := range im.Faces {
			if !opt.All && !f.Primary || opt.OKOnly && im.Status != catalog.StatusOK {
				continue
			}
			out = append(out, face.Face{ID: f.ID, ImageID: im.ID, Person: im.Person, File: im.Path, Status: im.Status,
				Hash: hash, Primary: f.Primary, Box: f.Box, Score: f.Score, Vec: f.Embedding})
			if !opt.All {
				break // one primary face per image
			}
		}
		if opt.Placeholders && len(out) == n {
			out = append(out, face.Face{ImageID: im.ID, Person: im.Person, File: im.Path, Status: im.Status, Hash: hash})
		}
	}
	return out
}

// View is the library's images and all their faces, read at one moment:
// what the serve backend keeps in memory.
type View struct {
	Images []catalog.Image // sorted by path; Faces dropped (they are in Faces)
	Faces  []face.Face     // every face (Faces with All)
}

// View reads the library's images and faces in one pass over the catalog.
func (l *Library) View(ctx context.Context) (*View, error) {
	ims, contentHash, err := l.images(ctx)
	if err != nil {
		return nil, err
	}
	v := &View{Faces: facesOf(ims, FacesOptions{All: true}, contentHash)}
	for i := range ims {
		ims[i].Faces = nil
	}
	v.Images = ims
	return v, nil
}

// ErrNoSuchFace is wrapped by Crop's error for a face id the catalog does not
// hold (never assigned, or removed since).
var ErrNoSuchFace = errors.New("no such face")

// Crop returns the encoded aligned crop of a face (nil if none was stored).
func (l *Library) Crop(ctx context.Context, faceID int64) ([]byte, error) {
	c, err := l.cat.Crop(ctx, faceID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("face %d: %w", faceID, ErrNoSuchFace)
	}
	return c, err
}

// Generation returns the catalog's generation, bumped by every change of the
// faces (an index or import-npz batch).
func (l *Library) Generation(ctx context.Context) (int64, error) { return l.cat.Generation(ctx) }

// Counts returns the catalog's counts of persons, images and faces.
func (l *Library) Counts(ctx context.Context) (catalog.Stats, error) { return l.cat.Stats(ctx) }

// CheckIntegrity checks the catalog's database (a full integrity check when
// full, else a quick one); a damaged catalog's error wraps catalog.ErrDamaged.
func (l *Library) CheckIntegrity(ctx context.Context, full bool) error { return l.cat.Check(ctx, full) }

// Dismissed returns the cleansing findings' keys a reviewer marked "not a
// problem" (the catalog's review table, shared by the audit command and the
// web page), each mapped to true; other recorded keys map to false.
func (l *Library) Dismissed(ctx context.Context) (map[string]bool, error) {
	rs, err := l.cat.Reviews(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(rs))
	for k, r := range rs {
		m[k] = r.Decision == catalog.Dismissed
	}
	return m, nil
}

// SetDismissed records (or, with d false, removes) a reviewer's "not a
// problem" on the finding with key.
func (l *Library) SetDismissed(ctx context.Context, key string, d bool) error {
	decision := ""
	if d {
		decision = catalog.Dismissed
	}
	return l.cat.SetReview(ctx, key, decision)
}
