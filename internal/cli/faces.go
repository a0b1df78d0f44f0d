package cli

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/facesearch/facesearch/internal/embed"
	"github.com/facesearch/facesearch/internal/imgio"
	"github.com/facesearch/facesearch/internal/model"
)

const facesUsage = `[flags] PHOTO...

Detects every face in each photo and prints its box, detector score and five
alignment points (eyes, nose tip, mouth corners); the subject of the photo
(the face nearest the centre) is marked primary. --json adds the 68
landmarks and the embedding; --crops writes the aligned 112x112 faces as PNG.

Small faces: faces of 32 px and more seen in the whole photo are kept; large
photos are also searched in tiles for faces down to 1/40 of their shorter
side, except a portrait (one face at least 1/5 of the shorter side). Given
--min-size, every photo is searched in tiles down to that size (slow: with
--min-size 32 a 4000x3000 photo takes 161 detector runs instead of 1 to 17).`

// facesJSON is one photo in `faces --json` output.
type facesJSON struct {
	File        string     `json:"file"`
	Width       int        `json:"width"`
	Height      int        `json:"height"`
	Primary     int        `json:"primary"`      // index into faces (0-based array index), -1 if none
	PrimaryFace int        `json:"primary_face"` // number of the primary face (1-based, as everywhere), 0 if none
	Faces       []faceJSON `json:"faces"`
	Error       string     `json:"error,omitempty"`
}

type faceJSON struct {
	Face      int           `json:"face"` // face number: 1-based, detection order (as search --face N)
	Box       [4]float32    `json:"box"`  // x1,y1,x2,y2 pixels
	Score     float32       `json:"score"`
	Points5   [5][2]float32 `json:"points5"`
	Landmarks [][2]float32  `json:"landmarks"`
	Embedding []float32     `json:"embedding"`
	Crop      string        `json:"crop,omitempty"`
}

func cmdFaces(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "faces", facesUsage)
	asJSON := fs.Bool("json", false, "print JSON (with 68 landmarks and embeddings)")
	crops := fs.String("crops", "", "write each aligned 112x112 face as PNG into `DIR`")
	minScore := fs.Float64("min-score", 0, "detector score threshold (default 0.7)")
	minSize := fs.Int("min-size", 0, "search every photo for faces down to `PIXELS` (slow on large photos; default: see above)")
	threads := fs.Int("threads", 1, "onnxruntime threads per model")
	var photos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		photos = append(photos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(photos) == 0 {
		fs.Usage()
		return usageError{"faces: no photo given"}
	}
	if *minScore < 0 || *minScore > 1 {
		return usageError{fmt.Sprintf("faces: --min-score %v not in [0,1]", *minScore)}
	}
	if *minSize < 0 {
		return usageError{fmt.Sprintf("faces: --min-size %d must be positive", *minSize)}
	}
	if *threads < 1 {
		return usageError{fmt.Sprintf("faces: --threads %d must be at least 1", *threads)}
	}
	if *crops != "" {
		if err := os.MkdirAll(*crops, 0o755); err != nil {
			return fmt.Errorf("faces: crops directory: %w", err)
		}
	}
	m, err := model.Builtin(model.DefaultName)
	if err != nil {
		return err
	}
	p, err := embed.New(embed.Options{
		Home:        model.Home(env.Getenv),
		Manifest:    m,
		LibPath:     model.RuntimeLibrary(env.Getenv),
		Threads:     *threads,
		MinScore:    float32(*minScore),
		MinFaceSize: *minSize,
		// An explicit --min-size asks for every face of that size.
		ExhaustiveTiling: *minSize > 0,
		Log:              env.Log,
	})
	if err != nil {
		return fmt.Errorf("faces: %w", err)
	}
	defer p.Close()

	out := []facesJSON{}
	used := map[string]bool{}
	failed := 0
	var firstErr error
	for _, photo := range photos {
		r := facesJSON{File: photo, Primary: -1, Faces: []faceJSON{}}
		err := facesOne(ctx, p, photo, *crops, used, &r)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed++
			if firstErr == nil {
				firstErr = err
			}
			r.Error = err.Error()
			env.Log.Error("faces", "file", photo, "err", err)
		}
		if *asJSON {
			out = append(out, r)
		} else if err == nil {
			printFaces(env, r)
		}
	}
	if *asJSON {
		if err := writeJSONDoc(env.Stdout, facesDocJSON{Schema: FacesSchema, Photos: out}); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("faces: %d of %d photos failed; first: %w", failed, len(photos), firstErr)
	}
	return nil
}

func facesOne(ctx context.Context, p *embed.Pipeline, photo, crops string, used map[string]bool, r *facesJSON) error {
	img, _, err := imgio.DecodeFile(photo, imgio.Options{})
	if err != nil {
		return err
	}
	r.Width, r.Height = img.Bounds().Dx(), img.Bounds().Dy()
	faces, err := p.Faces(ctx, img)
	if err != nil {
		return fmt.Errorf("faces %s: %w", photo, err)
	}
	r.Primary = embed.Primary(faces, img.Bounds())
	r.PrimaryFace = r.Primary + 1
	base := strings.TrimSuffix(filepath.Base(photo), filepath.Ext(photo))
	for i, f := range faces {
		fj := faceJSON{Face: i + 1, Box: f.Box, Score: f.Score, Points5: f.Points5, Landmarks: f.Landmarks, Embedding: f.Embedding}
		if crops != "" {
			name := fmt.Sprintf("%s_%d.png", base, i+1)
			for k := 2; used[name]; k++ {
				name = fmt.Sprintf("%s-%d_%d.png", base, k, i+1)
			}
			used[name] = true
			fj.Crop = filepath.Join(crops, name)
			if err := writePNG(fj.Crop, f); err != nil {
				return err
			}
		}
		r.Faces = append(r.Faces, fj)
	}
	return nil
}

func writePNG(path string, f embed.Face) error {
	w, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("faces: crop: %w", err)
	}
	if err := png.Encode(w, f.Crop); err != nil {
		w.Close()
		return fmt.Errorf("faces: crop %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("faces: crop %s: %w", path, err)
	}
	return nil
}

func printFaces(env *cmdEnv, r facesJSON) {
	pr := printer(env)
	pr.Fprintf(env.Stdout, "%s: %dx%d, %d face(s)\n", termText(r.File), r.Width, r.Height, len(r.Faces))
	pt := func(p [2]float32) string { return fmt.Sprintf("(%.1f,%.1f)", p[0], p[1]) }
	for i, f := range r.Faces {
		mark := ""
		if i == r.Primary {
			mark = " " + pr.Sprintf("primary")
		}
		fmt.Fprintf(env.Stdout, "  face %d%s: score %.3f box %.0f,%.0f-%.0f,%.0f eyes %s %s nose %s mouth %s %s",
			i+1, mark, f.Score, f.Box[0], f.Box[1], f.Box[2], f.Box[3],
			pt(f.Points5[0]), pt(f.Points5[1]), pt(f.Points5[2]), pt(f.Points5[3]), pt(f.Points5[4]))
		if f.Crop != "" {
			fmt.Fprintf(env.Stdout, " crop %s", termText(f.Crop))
		}
		fmt.Fprintln(env.Stdout)
	}
}
