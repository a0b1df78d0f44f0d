package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/facesearch/facesearch/internal/library"
)

// StatsSchema names the JSON document printed by 'stats --json'
// (docs/LIBRARY.md); fields are only ever added within a version.
const StatsSchema = "facesearch.stats/v2"

type statsJSON struct {
	Schema     string          `json:"schema"`
	Library    string          `json:"library"`
	Dataset    string          `json:"dataset"`
	DatasetB64 string          `json:"dataset_b64,omitempty"`
	Source     string          `json:"source"` // "photos" or "npz"
	Model      *statsModelJSON `json:"model"`
	Persons    int             `json:"persons"`
	Images     statsImagesJSON `json:"images"`
	Faces      statsFacesJSON  `json:"faces"`
	Generation int64           `json:"catalog_generation"`
	Index      statsIndexJSON  `json:"index"`
	Failures   []failureJSON   `json:"failures"`
}

type statsModelJSON struct {
	ID              string   `json:"id"`
	EmbeddingDim    int      `json:"embedding_dim,omitempty"`
	Threshold       *float64 `json:"threshold"`
	ThresholdSource string   `json:"threshold_source,omitempty"`
}

type statsImagesJSON struct {
	Total    int            `json:"total"`
	OK       int            `json:"ok"`
	Failed   int            `json:"failed"`
	ByStatus map[string]int `json:"by_status"`
}

type statsFacesJSON struct {
	Total   int `json:"total"`
	Primary int `json:"primary"`
	Other   int `json:"other"`
}

type statsIndexJSON struct {
	State       string          `json:"state"` // "fresh", "stale", "missing" or "damaged"
	Damage      string          `json:"damage,omitempty"`
	Requested   string          `json:"requested"`
	StaleReason string          `json:"stale_reason,omitempty"`
	Built       *statsBuiltJSON `json:"built"`
}

type statsBuiltJSON struct {
	Type          string    `json:"type"`
	Factory       string    `json:"factory"`
	Model         string    `json:"model"`
	Generation    int64     `json:"generation"`
	Faces         int64     `json:"faces"`
	Exact         bool      `json:"exact"`
	NProbe        int       `json:"nprobe,omitempty"`
	EfSearch      int       `json:"ef_search,omitempty"`
	RecallAt10    *float64  `json:"recall_at_10,omitempty"`
	RecallQueries int       `json:"recall_queries,omitempty"`
	BuiltAt       time.Time `json:"built_at"`
	BuildSeconds  float64   `json:"build_seconds"`
}

// failureJSON is an image that failed; File is relative to the dataset root
// (docs/LIBRARY.md, JSON conventions).
type failureJSON struct {
	File    string `json:"file"`
	FileB64 string `json:"file_b64,omitempty"`
	Status  string `json:"status"`
	Error   string `json:"error"`
}

// staleReason says why a stale index is stale.
func staleReason(r *library.StatsReport) string {
	switch {
	case r.Index.Factory != r.Factory:
		return fmt.Sprintf("built as %s", r.Index.Factory)
	case r.Index.Model != r.ModelID:
		return fmt.Sprintf("built with model %s", r.Index.Model)
	}
	return fmt.Sprintf("built from catalog generation %d, catalog at %d", r.Index.Generation, r.Generation)
}

func statsDoc(r *library.StatsReport, source string) statsJSON {
	c := r.Catalog
	d := statsJSON{Schema: StatsSchema, Library: show(r.Dir), Dataset: show(r.Root), DatasetB64: b64IfInvalid(r.Root),
		Source: "photos", Persons: c.Persons,
		Images:     statsImagesJSON{Total: c.Images, OK: c.ImagesOK, Failed: c.Images - c.ImagesOK, ByStatus: c.ByStatus},
		Faces:      statsFacesJSON{Total: c.Faces, Primary: c.PrimaryFaces, Other: c.Faces - c.PrimaryFaces},
		Generation: r.Generation,
		Index:      statsIndexJSON{State: r.IndexState, Requested: r.Factory},
		Failures:   []failureJSON{}}
	if source == library.SourceNPZ {
		d.Source = "npz"
	}
	if d.Images.ByStatus == nil {
		d.Images.ByStatus = map[string]int{}
	}
	if r.ModelID != "" || r.Manifest != nil {
		d.Model = &statsModelJSON{ID: r.ModelID}
		if r.Manifest != nil {
			t := r4(r.Threshold)
			d.Model.EmbeddingDim, d.Model.Threshold, d.Model.ThresholdSource = r.Manifest.EmbeddingDim, &t, r.ThresholdSource
		}
	}
	if r.IndexState == library.IndexStale {
		d.Index.StaleReason = staleReason(r)
	}
	d.Index.Damage = show(r.IndexError)
	if r.IndexState != library.IndexMissing && r.Index.Resolved != "" {
		ix := r.Index
		b := &statsBuiltJSON{Type: ix.Resolved, Factory: ix.Factory, Model: ix.Model, Generation: ix.Generation, Faces: ix.Count,
			Exact: ix.Exact(), NProbe: ix.NProbe, EfSearch: ix.EfSearch, RecallQueries: ix.Queries, BuiltAt: ix.BuiltAt, BuildSeconds: math.Round(ix.BuildTime*1000) / 1000}
		if !ix.Exact() && ix.Queries > 0 {
			rc := ix.RecallAt10
			b.RecallAt10 = &rc
		}
		d.Index.Built = b
	}
	for _, f := range r.Failures {
		d.Failures = append(d.Failures, failureJSON{File: show(f.Path), FileB64: b64IfInvalid(f.Path), Status: f.Status, Error: show(f.Error)})
	}
	return d
}

func cmdStats(ctx context.Context, env *cmdEnv, args []string) (err error) {
	fs := newFlagSet(env, "stats", "[flags]\n\nSummarises the library: persons, images, faces, failures, model, index.\nThe index file's checksum is always verified; --check also runs SQLite's full\nintegrity check of the catalog and exits 1 if anything is damaged.")
	lib := fs.String("library", "", "library directory (default $FACESEARCH_LIBRARY or ./.facesearch)")
	check := fs.Bool("check", false, "run the full integrity check of the catalog (reads the whole database)")
	asJSON := fs.Bool("json", false, "print JSON (schema "+StatsSchema+", docs/LIBRARY.md)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"stats: takes no arguments"}
	}
	l, err := openLibrary(ctx, env, *lib, true)
	if err != nil {
		return err
	}
	defer l.Close()
	if *check {
		if err := l.CheckIntegrity(ctx, true); err != nil {
			return fmt.Errorf("stats --check: %w", err)
		}
	}
	r, err := l.Stats(ctx)
	if err != nil {
		return err
	}
	if *check && r.IndexState == library.IndexDamaged {
		defer func() {
			if err == nil {
				err = fmt.Errorf("stats --check: %s (the next search, index or import-npz rebuilds it from the catalog)", r.IndexError)
			}
		}()
	}
	w := env.Stdout
	if *asJSON {
		src, err := l.Source(ctx)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(statsDoc(r, src))
	}
	p := printer(env)
	c := r.Catalog
	p.Fprintf(w, "library   %s\n", termText(r.Dir))
	p.Fprintf(w, "dataset   %s\n", termText(r.Root))
	if r.Manifest != nil {
		p.Fprintf(w, "model     %s (%d-d embeddings), same-person threshold %.4f (%s)\n", r.ModelID, r.Manifest.EmbeddingDim, r.Threshold, p.Sprintf(r.ThresholdSource))
	} else {
		p.Fprintf(w, "model     %s\n", r.ModelID)
	}
	p.Fprintf(w, "persons   %d\n", c.Persons)
	p.Fprintf(w, "images    %d (ok %d, failed %d)\n", c.Images, c.ImagesOK, c.Images-c.ImagesOK)
	p.Fprintf(w, "faces     %d (primary %d, other faces in group photos %d)\n", c.Faces, c.PrimaryFaces, c.Faces-c.PrimaryFaces)
	if n := c.ByStatus[library.StatusUnsupported]; n > 0 {
		p.Fprintf(w, "unsupported %d (formats the decoders cannot read, such as HEIC/AVIF phone photos: convert them to JPEG)\n", n)
	}
	switch r.IndexState {
	case library.IndexFresh:
		p.Fprintf(w, "index     %s, %d faces, up to date (catalog generation %d)\n", r.Index.Resolved, r.Index.Count, r.Generation)
		if !r.Index.Exact() && r.Index.Count > 0 {
			p.Fprintf(w, "          recall@10 vs exact search %.3f (%d sample queries%s)\n", r.Index.RecallAt10, r.Index.Queries, searchParamsText(r.Index))
		}
	case library.IndexStale:
		p.Fprintf(w, "index     %s requested, stale (%s): the next index or search rebuilds it\n", r.Factory, staleReason(r))
	case library.IndexDamaged:
		p.Fprintf(w, "index     %s, DAMAGED (%s): the next index or search rebuilds it from the catalog\n", r.Index.Resolved, termText(r.IndexError))
	default:
		p.Fprintf(w, "index     %s requested, missing: the next index or search builds it\n", r.Factory)
	}
	if len(r.Failures) == 0 {
		return nil
	}
	by := map[string]int{}
	for _, f := range r.Failures {
		by[f.Status]++
	}
	statuses := make([]string, 0, len(by))
	for s := range by {
		statuses = append(statuses, s)
	}
	sort.Strings(statuses)
	p.Fprintf(w, "failures  %d\n", len(r.Failures))
	for _, s := range statuses {
		p.Fprintf(w, "  %s: %d\n", s, by[s])
		for _, f := range r.Failures {
			if f.Status == s {
				p.Fprintf(w, "    %s: %s\n", termText(f.Path), termText(f.Error))
			}
		}
	}
	return nil
}
