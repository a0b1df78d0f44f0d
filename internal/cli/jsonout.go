package cli

// The JSON documents of index, calibrate, models list and faces. Every JSON
// document a command prints is an object whose first field is "schema"
// ("facesearch.COMMAND/vN"); the conventions for files, persons,
// similarities and face numbers are in docs/LIBRARY.md ("JSON conventions").

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math"
	"sort"

	"github.com/facesearch/facesearch/internal/eval"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/model"
)

// Schemas of the JSON documents (docs/LIBRARY.md); fields are only ever
// added within a version.
const (
	IndexSchema     = "facesearch.index/v1"
	CalibrateSchema = "facesearch.calibrate/v1"
	ModelsSchema    = "facesearch.models/v1"
	FacesSchema     = "facesearch.faces/v1"
)

// writeJSONDoc prints v indented, as every command's --json does.
func writeJSONDoc(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func r3(x float64) float64 { return math.Round(x*1000) / 1000 }

// ---- index ----

type indexDocJSON struct {
	Schema         string          `json:"schema"`
	Library        string          `json:"library"`
	Dataset        string          `json:"dataset"`
	DatasetB64     string          `json:"dataset_b64,omitempty"`
	Complete       bool            `json:"complete"`
	ElapsedSeconds float64         `json:"elapsed_seconds"`
	Images         indexImagesJSON `json:"images"`
	FacesWritten   int             `json:"faces_written"`
	Failed         []failureJSON   `json:"failed"`
	Skipped        []skippedJSON   `json:"skipped"`
	Index          *indexBuiltJSON `json:"index"` // null when interrupted
}

type indexImagesJSON struct {
	Found     int `json:"found"`
	Unchanged int `json:"unchanged"`
	Processed int `json:"processed"`
	Touched   int `json:"touched"`
	Moved     int `json:"moved"`
	Deleted   int `json:"deleted"`
}

type skippedJSON struct {
	File    string `json:"file"`
	FileB64 string `json:"file_b64,omitempty"`
	Reason  string `json:"reason"`
}

type indexBuiltJSON struct {
	Type          string   `json:"type"`
	Faces         int64    `json:"faces"`
	Exact         bool     `json:"exact"`
	Rebuilt       bool     `json:"rebuilt"`
	BuildSeconds  float64  `json:"build_seconds"`
	RecallAt10    *float64 `json:"recall_at_10,omitempty"`
	RecallQueries int      `json:"recall_queries,omitempty"`
}

func indexDoc(dir string, r *library.IndexReport, complete bool) indexDocJSON {
	d := indexDocJSON{Schema: IndexSchema, Library: show(dir), Dataset: show(r.Root), DatasetB64: b64IfInvalid(r.Root),
		Complete: complete, ElapsedSeconds: r3(r.Elapsed.Seconds()),
		Images:       indexImagesJSON{r.Files, r.Unchanged, r.Processed, r.Touched, r.Moved, r.Deleted},
		FacesWritten: r.Faces, Failed: []failureJSON{}, Skipped: []skippedJSON{}}
	failed := append(r.Failed[:0:0], r.Failed...)
	sort.Slice(failed, func(i, j int) bool { return failed[i].Path < failed[j].Path })
	for _, f := range failed {
		d.Failed = append(d.Failed, failureJSON{File: show(f.Path), FileB64: b64IfInvalid(f.Path), Status: f.Status, Error: show(f.Error)})
	}
	for _, s := range r.Skipped {
		d.Skipped = append(d.Skipped, skippedJSON{File: show(s.Rel), FileB64: b64IfInvalid(s.Rel), Reason: s.Reason})
	}
	if complete {
		ix := r.Index
		b := &indexBuiltJSON{Type: ix.Resolved, Faces: ix.Count, Exact: ix.Exact(), Rebuilt: r.Rebuilt, BuildSeconds: r3(ix.BuildTime)}
		if !ix.Exact() && ix.Queries > 0 {
			rc := ix.RecallAt10
			b.RecallAt10, b.RecallQueries = &rc, ix.Queries
		}
		d.Index = b
	}
	return d
}

// ---- calibrate ----

type calibrateDocJSON struct {
	Schema  string `json:"schema"`
	Library string `json:"library"`
	Folders int    `json:"folders"`
	Images  int    `json:"images"` // images with a face
	// FAR is the requested false-accept rate, Threshold the similarity
	// chosen for it; MeasuredFAR and TAR are measured on DifferentPairs
	// and SamePairs sampled pairs.
	FAR               float64          `json:"far"`
	Threshold         float64          `json:"threshold"`
	MeasuredFAR       float64          `json:"measured_far"`
	DifferentPairs    int              `json:"different_pairs"`
	TAR               float64          `json:"tar"`
	SamePairs         int              `json:"same_pairs"`
	Outliers          []string         `json:"outliers"` // files set aside as probably misfiled
	MergedFolderPairs int              `json:"merged_folder_pairs"`
	ROC               []calibROCJSON   `json:"roc"`
	Warnings          []string         `json:"warnings"`
	Stored            bool             `json:"stored"`
	Previous          calibPreviousRef `json:"previous"`
}

type calibROCJSON struct {
	FAR       float64  `json:"far"`
	Threshold *float64 `json:"threshold"` // null: too few pairs to measure
	TAR       *float64 `json:"tar"`
}

type calibPreviousRef struct {
	Threshold float64 `json:"threshold"`
	Source    string  `json:"source"` // "manifest" or "library"
}

func calibrateDoc(dir string, folders, images int, c *eval.Calibration, paths [][]string, stored bool, stored32 float32, old float32, oldSrc string) calibrateDocJSON {
	d := calibrateDocJSON{Schema: CalibrateSchema, Library: show(dir), Folders: folders, Images: images,
		FAR: c.FAR, Threshold: r4(stored32), MeasuredFAR: c.MeasuredFAR, DifferentPairs: len(c.Diff),
		TAR: math.Round(c.TAR*1e4) / 1e4, SamePairs: len(c.Same), Outliers: []string{}, MergedFolderPairs: c.MergedGroupPairs,
		ROC: []calibROCJSON{}, Warnings: append([]string{}, c.Warnings...), Stored: stored,
		Previous: calibPreviousRef{Threshold: r4(old), Source: oldSrc}}
	for _, o := range c.Outliers {
		d.Outliers = append(d.Outliers, show(paths[o.Group][o.Index]))
	}
	fars := []float64{1e-5, 1e-4, 1e-3, 1e-2, 1e-1}
	for i, pt := range eval.ROCAt(c.Curve, fars) {
		row := calibROCJSON{FAR: fars[i]}
		if fars[i]*float64(len(c.Diff)) >= 1 {
			t, tar := math.Round(pt.Threshold*1e4)/1e4, math.Round(pt.TAR*1e4)/1e4
			row.Threshold, row.TAR = &t, &tar
		}
		d.ROC = append(d.ROC, row)
	}
	return d
}

// ---- models ----

type modelsDocJSON struct {
	Schema string            `json:"schema"`
	Home   string            `json:"home"`
	Models []modelsEntryJSON `json:"models"`
}

type modelsEntryJSON struct {
	Name         string           `json:"name"`
	Default      bool             `json:"default"`
	EmbeddingDim int              `json:"embedding_dim"`
	Threshold    float64          `json:"threshold"`
	Files        []modelsFileJSON `json:"files"`
}

type modelsFileJSON struct {
	Role  string `json:"role"`
	State string `json:"state"` // "verified", "missing", "differs", "not_added", "unreadable"
	Error string `json:"error,omitempty"`
}

func modelsEntry(name string, m *model.Manifest, st []model.FileStatus) modelsEntryJSON {
	e := modelsEntryJSON{Name: name, Default: name == model.DefaultName, EmbeddingDim: m.EmbeddingDim, Threshold: r4(m.Threshold), Files: []modelsFileJSON{}}
	for _, s := range st {
		f := modelsFileJSON{Role: s.Role, State: fileState(s)}
		if s.Err != nil {
			f.Error = s.Err.Error()
		}
		e.Files = append(e.Files, f)
	}
	return e
}

// ---- faces ----

type facesDocJSON struct {
	Schema string      `json:"schema"`
	Photos []facesJSON `json:"photos"`
}

// fileState names the state of one model file check.
func fileState(s model.FileStatus) string {
	var mm *model.MismatchError
	switch {
	case s.Err == nil:
		return "verified"
	case errors.Is(s.Err, model.ErrNotAdded):
		return "not_added"
	case errors.Is(s.Err, fs.ErrNotExist):
		return "missing"
	case errors.As(s.Err, &mm):
		return "differs"
	}
	return "unreadable"
}
