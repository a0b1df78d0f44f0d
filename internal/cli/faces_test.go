package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/facesearch/facesearch/internal/testenv"
)

// facesRun runs `facesearch faces args...` with the real models and returns
// stdout, the log and the error.
func facesRun(tb testing.TB, args ...string) (stdout, log string, err error) {
	tb.Helper()
	env, out := libEnv(tb)
	var lb bytes.Buffer
	env.Log = slog.New(slog.NewTextHandler(&lb, nil))
	env.Stderr = io.Discard
	err = runEnv(context.Background(), env, append([]string{"faces"}, args...))
	return out.String(), lb.String(), err
}

// facesPhotos returns a one-person portrait, a five-person group photo and
// a file that is not an image.
func facesPhotos(tb testing.TB) (portrait, group, bad string) {
	tb.Helper()
	faces := testenv.Faces(tb)
	portrait = filepath.Join(faces, "deepface", "person_04", "img14.jpg")
	group = filepath.Join(faces, "_extras", "faceapi_js", "multi", "bbt3.jpg")
	bad = filepath.Join(tb.TempDir(), "bad.jpg")
	if err := os.WriteFile(bad, []byte("this is not a JPEG"), 0o644); err != nil {
		tb.Fatal(err)
	}
	return portrait, group, bad
}

// TestFacesText: each good photo prints its size, its faces and exactly one
// primary face; the bad file fails the command with an error naming it,
// after the other photos were printed.
func TestFacesText(t *testing.T) {
	portrait, group, bad := facesPhotos(t)
	out, log, err := facesRun(t, portrait, bad, group)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "1 of 3 photos failed") {
		t.Errorf("error %v, want one of 3 failed, naming %s", err, bad)
	}
	if !strings.Contains(log, bad) {
		t.Errorf("log does not name %s:\n%s", bad, log)
	}
	if strings.Contains(out, bad) {
		t.Errorf("output prints the bad file:\n%s", out)
	}
	header := regexp.MustCompile(`(?m)^(.+): (\d+)x(\d+), (\d+) face\(s\)$`)
	face := regexp.MustCompile(`^  face (\d+)( primary)?: score ([0-9.]+) box -?\d+,-?\d+--?\d+,-?\d+ eyes \(`)
	tests := []struct {
		file  string
		w, h  int
		faces int
	}{
		{portrait, 800, 533, 1},
		{group, 594, 383, 5},
	}
	blocks := header.FindAllStringSubmatchIndex(out, -1)
	if len(blocks) != len(tests) {
		t.Fatalf("%d photo headers, want %d:\n%s", len(blocks), len(tests), out)
	}
	for i, tc := range tests {
		m := blocks[i]
		if got := out[m[2]:m[3]]; got != tc.file {
			t.Errorf("photo %d is %s, want %s (input order)", i, got, tc.file)
		}
		w, _ := strconv.Atoi(out[m[4]:m[5]])
		h, _ := strconv.Atoi(out[m[6]:m[7]])
		n, _ := strconv.Atoi(out[m[8]:m[9]])
		if w != tc.w || h != tc.h || n != tc.faces {
			t.Errorf("%s: %dx%d, %d faces; want %dx%d, %d", tc.file, w, h, n, tc.w, tc.h, tc.faces)
		}
		end := len(out)
		if i+1 < len(blocks) {
			end = blocks[i+1][0]
		}
		lines := strings.Split(strings.Trim(out[m[1]:end], "\n"), "\n")
		if len(lines) != n {
			t.Fatalf("%s: %d face lines, want %d", tc.file, len(lines), n)
		}
		primaries := 0
		for j, l := range lines {
			fm := face.FindStringSubmatch(l)
			if fm == nil {
				t.Fatalf("%s: face line %q", tc.file, l)
			}
			if fm[1] != strconv.Itoa(j+1) { // faces are numbered from 1, as search --face N
				t.Errorf("%s: face line %d numbered %s, want %d", tc.file, j, fm[1], j+1)
			}
			if fm[2] != "" {
				primaries++
			}
			if s, _ := strconv.ParseFloat(fm[3], 64); s < 0.7 || s > 1 {
				t.Errorf("%s: score %v outside [0.7,1]", tc.file, s)
			}
		}
		if primaries != 1 {
			t.Errorf("%s: %d faces marked primary, want 1", tc.file, primaries)
		}
	}
}

// TestFacesJSONCrops: --json gives one entry per photo in order (the bad
// one with its error and no faces), the primary index is the face nearest
// the centre, embeddings are unit 512-vectors with 68 landmarks, and
// --crops writes one 112x112 PNG per face, named in the JSON.
func TestFacesJSONCrops(t *testing.T) {
	portrait, group, bad := facesPhotos(t)
	crops := filepath.Join(t.TempDir(), "crops")
	out, _, err := facesRun(t, "--json", "--crops", crops, portrait, group, bad)
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("error %v, want one naming %s", err, bad)
	}
	var doc facesDocJSON
	err = json.Unmarshal([]byte(out), &doc)
	res := doc.Photos
	if err != nil || doc.Schema != FacesSchema {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(res) != 3 {
		t.Fatalf("%d entries, want 3", len(res))
	}
	want := []struct {
		file  string
		faces int
	}{{portrait, 1}, {group, 5}, {bad, 0}}
	var written []string
	for i, w := range want {
		r := res[i]
		if r.File != w.file || len(r.Faces) != w.faces {
			t.Errorf("entry %d: %s with %d faces, want %s with %d", i, r.File, len(r.Faces), w.file, w.faces)
			continue
		}
		if w.faces == 0 {
			if r.Primary != -1 || r.PrimaryFace != 0 || !strings.Contains(r.Error, bad) {
				t.Errorf("bad file: primary %d, error %q; want -1 and an error naming it", r.Primary, r.Error)
			}
			continue
		}
		if r.Error != "" {
			t.Errorf("%s: error %q", r.File, r.Error)
		}
		if r.Primary != nearestCentre(r) || r.PrimaryFace != r.Primary+1 {
			t.Errorf("%s: primary %d (face %d), want %d (nearest the centre)", r.File, r.Primary, r.PrimaryFace, nearestCentre(r))
		}
		for j, f := range r.Faces {
			var ss float64
			for _, v := range f.Embedding {
				ss += float64(v) * float64(v)
			}
			if len(f.Embedding) != 512 || math.Abs(ss-1) > 1e-3 || len(f.Landmarks) != 68 {
				t.Errorf("%s face %d: embedding %d values (norm² %.4f), %d landmarks", r.File, j, len(f.Embedding), ss, len(f.Landmarks))
			}
			if f.Crop == "" || filepath.Dir(f.Crop) != crops {
				t.Errorf("%s face %d: crop %q not in %s", r.File, j, f.Crop, crops)
				continue
			}
			checkCrop(t, f.Crop)
			written = append(written, filepath.Base(f.Crop))
		}
	}
	entries, err := os.ReadDir(crops)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(written) || len(written) != 6 {
		t.Errorf("%d files in %s, %d crops named in the JSON, want 6", len(entries), crops, len(written))
	}
}

// nearestCentre is the index of r's face whose box centre is nearest the
// image centre.
func nearestCentre(r facesJSON) int {
	best, bestD := -1, math.Inf(1)
	for i, f := range r.Faces {
		d := math.Hypot(float64(f.Box[0]+f.Box[2])/2-float64(r.Width)/2, float64(f.Box[1]+f.Box[3])/2-float64(r.Height)/2)
		if d < bestD {
			best, bestD = i, d
		}
	}
	return best
}

// checkCrop fails tb unless path is a 112x112 PNG.
func checkCrop(tb testing.TB, path string) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Error(err)
		return
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		tb.Errorf("crop %s: %v", path, err)
		return
	}
	if b := img.Bounds(); b.Dx() != 112 || b.Dy() != 112 {
		tb.Errorf("crop %s is %dx%d, want 112x112", path, b.Dx(), b.Dy())
	}
}

// TestFacesUsage: bad flags are usage errors (exit status 2), before any
// model is loaded.
func TestFacesUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no photo", nil, "no photo given"},
		{"negative min size", []string{"--min-size", "-5", "x.jpg"}, "--min-size"},
		{"score above 1", []string{"--min-score", "1.5", "x.jpg"}, "--min-score"},
		{"no threads", []string{"--threads", "0", "x.jpg"}, "--threads"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			env := &cmdEnv{Stdout: &out, Stderr: io.Discard, Log: slog.New(slog.DiscardHandler), Getenv: func(string) string { return "" }}
			err := runEnv(context.Background(), env, append([]string{"faces"}, tc.args...))
			if err == nil || ExitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v (exit %d), want a usage error mentioning %q", err, ExitCode(err), tc.want)
			}
		})
	}
}

// TestFacesMinSizeExhaustive: an explicit --min-size searches the group
// photo exhaustively and finds at least the faces of the default search.
func TestFacesMinSizeExhaustive(t *testing.T) {
	_, group, _ := facesPhotos(t)
	count := func(args ...string) int {
		out, _, err := facesRun(t, append(args, "--json", group)...)
		if err != nil {
			t.Fatal(err)
		}
		var doc facesDocJSON
		err = json.Unmarshal([]byte(out), &doc)
		res := doc.Photos
		if err != nil || len(res) != 1 {
			t.Fatalf("JSON %v: %s", err, out)
		}
		return len(res[0].Faces)
	}
	def, exh := count(), count("--min-size", "20")
	if def != 5 || exh < def {
		t.Errorf("default %d faces, --min-size 20: %d; want 5 and at least as many", def, exh)
	}
}
