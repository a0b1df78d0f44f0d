// Package library implements facesearch's use cases over a face library: a
// directory holding the catalog (SQLite, see package catalog) and a vector
// index derived from it. It indexes a dataset ROOT/<person>/<images>
// incrementally and searches it. The face pipeline, the image decoder and the
// vector index are interfaces declared here and wired in package cli.
package library

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/model"
	"github.com/facesearch/facesearch/internal/vecindex"
)

// DefaultDir is the library directory used when none is given.
const DefaultDir = ".facesearch"

// File names inside the library directory.
const (
	CatalogFile   = "catalog.db"
	IndexFile     = "index.faiss"
	IndexMetaFile = "index.json"
	lockFile      = "lock"
)

// Dir returns the library directory: the flag value if set, else
// FACESEARCH_LIBRARY, else DefaultDir.
func Dir(flagValue string, getenv func(string) string) string {
	if flagValue != "" {
		return flagValue
	}
	if d := getenv("FACESEARCH_LIBRARY"); d != "" {
		return d
	}
	return DefaultDir
}

// DetectedFace is one face found by the pipeline.
type DetectedFace struct {
	Box       [4]float32   // x1, y1, x2, y2 in image pixels
	Score     float32      // detector confidence
	Landmarks [][2]float32 // in image pixels
	Crop      image.Image  // aligned crop (112x112), may be nil
	Embedding []float32    // unit length
}

// Detector finds, aligns and embeds the faces of an image. It must be safe
// for concurrent calls.
type Detector interface {
	// Detect returns the faces of img and the index of its primary face
	// (-1 when there is none).
	Detect(ctx context.Context, img image.Image) (faces []DetectedFace, primary int, err error)
	// ModelID identifies the embedding model; faces of another model are
	// re-embedded.
	ModelID() string
}

// DecodeError is returned by a Decoder for a file that is not a usable image;
// Status is one of the catalog statuses (catalog.StatusNotImage, ...).
type DecodeError struct {
	Status string
	Reason string // recorded in the catalog; Err's text when empty
	Err    error
}

func (e *DecodeError) Error() string { return e.Err.Error() }

func (e *DecodeError) reason() string {
	if e.Reason != "" {
		return e.Reason
	}
	return e.Err.Error()
}
func (e *DecodeError) Unwrap() error { return e.Err }

// Decoder reads an image file. Errors that are the file's fault should be
// *DecodeError; any other error is recorded with catalog.StatusError and
// retried by the next run.
type Decoder func(path string) (image.Image, error)

// SearchParams tunes approximate indexes (0 keeps the index's default).
// It is vecindex.Params; the alias keeps the library's callers unchanged.
type SearchParams = vecindex.Params

// VectorIndex is the vector index the library builds and searches
// (vecindex.Index: int64 ids, inner-product scores).
type VectorIndex = vecindex.Index

// IndexBackend creates and reads vector indexes (vecindex.Backend; a
// vecindex.ExactSearcher also searches the mapped flat file).
type IndexBackend = vecindex.Backend

// Options opens a library.
type Options struct {
	Dir     string       // library directory (created if needed)
	Backend IndexBackend // vector index implementation
	Remote  RemoteOpener // external vector stores (KeyVectors); nil: none
	Log     *slog.Logger
	// ReadOnly opens an existing library without creating it.
	ReadOnly bool
}

// Library is an open library directory.
type Library struct {
	dir      string
	cat      *catalog.Catalog
	backend  IndexBackend
	remote   RemoteOpener
	syncPage int // faces per page of a remote sync (0: syncChunk); tests set it
	log      *slog.Logger
	// adaptMemo caches the parsed AdaptFile (Adaptation).
	adaptMemo adaptMemo
}

// ErrNoLibrary is returned when opening a library that does not exist
// read-only.
var ErrNoLibrary = errors.New("no library here (run 'facesearch index ROOT' first, or set --library / FACESEARCH_LIBRARY)")

// Open opens (creating unless ReadOnly) the library in opt.Dir.
func Open(ctx context.Context, opt Options) (*Library, error) {
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dbPath := filepath.Join(opt.Dir, CatalogFile)
	if opt.ReadOnly {
		if _, err := os.Stat(dbPath); err != nil {
			return nil, fmt.Errorf("library %s: %w", opt.Dir, ErrNoLibrary)
		}
	} else if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("library %s: %w", opt.Dir, err)
	}
	cat, err := catalog.Open(ctx, dbPath)
	if err != nil && opt.ReadOnly && catalog.IsAccessError(err) {
		// A library the user may not write (read-only mount, another
		// user's folder) is still searchable: open the catalog read-only.
		// Not a damaged, unmigrated or newer catalog: that error stands.
		c, err2 := catalog.OpenReadOnly(ctx, dbPath)
		if err2 != nil {
			return nil, fmt.Errorf("library %s: %w (opening it read-only: %w)", opt.Dir, err, err2)
		}
		log.Info("library opened read-only: it cannot be written here", "dir", opt.Dir, "reason", err)
		cat, err = c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("library %s: %w", opt.Dir, err)
	}
	return &Library{dir: opt.Dir, cat: cat, backend: opt.Backend, remote: opt.Remote, log: log}, nil
}

// Close closes the catalog.
func (l *Library) Close() error { return l.cat.Close() }

// Dir returns the library directory.
func (l *Library) Dir() string { return l.dir }

// Root returns the absolute dataset root the library indexes ("" if none yet).
func (l *Library) Root(ctx context.Context) (string, error) {
	v, _, err := l.cat.Setting(ctx, catalog.KeyRoot)
	return v, err
}

// ModelID returns the id of the model the library's faces were embedded with.
func (l *Library) ModelID(ctx context.Context) (string, error) {
	v, _, err := l.cat.Setting(ctx, catalog.KeyModelID)
	return v, err
}

// Manifest returns the model manifest stored by the last index run (nil if
// none).
func (l *Library) Manifest(ctx context.Context) (*model.Manifest, error) {
	v, ok, err := l.cat.Setting(ctx, catalog.KeyManifest)
	if err != nil || !ok {
		return nil, err
	}
	var m model.Manifest
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return nil, fmt.Errorf("library %s: stored manifest: %w", l.dir, err)
	}
	return &m, nil
}

// ManifestOrDefault is the library's model manifest, or the built-in
// default (model.DefaultName) for a library that has none yet.
func (l *Library) ManifestOrDefault(ctx context.Context) (*model.Manifest, error) {
	m, err := l.Manifest(ctx)
	if err != nil || m != nil {
		return m, err
	}
	return model.Builtin(model.DefaultName)
}

// Threshold sources reported by Threshold.
const (
	ThresholdCalibrated = "library"  // calibrated and stored in the catalog
	ThresholdManifest   = "manifest" // the model manifest's
)

// Threshold returns the same-person cosine threshold and where it came from:
// a calibrated value stored in the catalog (setting "threshold") if set, else
// the manifest's (m, or the stored manifest when m is nil).
func (l *Library) Threshold(ctx context.Context, m *model.Manifest) (float32, string, error) {
	v, ok, err := l.cat.Setting(ctx, catalog.KeyThreshold)
	if err != nil {
		return 0, "", err
	}
	if ok {
		t, err := strconv.ParseFloat(v, 32)
		if err != nil {
			return 0, "", fmt.Errorf("library %s: threshold setting %q: %w", l.dir, v, err)
		}
		return float32(t), ThresholdCalibrated, nil
	}
	if m == nil {
		if m, err = l.Manifest(ctx); err != nil {
			return 0, "", err
		}
	}
	if m == nil {
		return 0, "", fmt.Errorf("library %s: no threshold: no model recorded", l.dir)
	}
	return m.Threshold, ThresholdManifest, nil
}

// SetThreshold stores a calibrated threshold (0 removes it).
func (l *Library) SetThreshold(ctx context.Context, t float32) error {
	v := ""
	if t != 0 {
		v = strconv.FormatFloat(float64(t), 'g', -1, 32)
	}
	return l.cat.SetSetting(ctx, catalog.KeyThreshold, v)
}

// lock takes an exclusive advisory lock on the library for writers.
func (l *Library) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(l.dir, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("library %s: lock: %w", l.dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("library %s: another 'facesearch index' is running on it (%w)", l.dir, err)
	}
	return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
}
