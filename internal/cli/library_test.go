package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/facesearch/facesearch/internal/blasenv"
	"github.com/facesearch/facesearch/internal/face"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/ort/orttest"
	"github.com/facesearch/facesearch/internal/testenv"
	"github.com/facesearch/facesearch/internal/vecindex"
	"github.com/facesearch/facesearch/internal/vecindex/faissidx"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

var (
	regexpElapsed = regexp.MustCompile(`"elapsed_seconds": [0-9.e+-]+`)
	regexpFaceID  = regexp.MustCompile(`"face_id": [0-9]+`)
	regexpGen     = regexp.MustCompile(`"generation": [0-9]+`)
)

// TestMain re-executes the test binary with OPENBLAS_CORETYPE set when
// OpenBLAS fell back to slow kernels on this CPU (see package blasenv).
func TestMain(m *testing.M) {
	if err := blasenv.Ensure(faissidx.BLASCoreName); err != nil {
		fmt.Fprintln(os.Stderr, "cli test:", err)
	}
	os.Exit(m.Run())
}

// libEnv is a CLI environment for library tests: FACESEARCH_HOME with the
// prepared models, a fixed English locale (testenv.CLIEnv), output captured.
func libEnv(tb testing.TB) (*cmdEnv, *bytes.Buffer) {
	tb.Helper()
	vars := testenv.CLIEnv(orttest.CLIHome(tb))
	var out bytes.Buffer
	return &cmdEnv{Stdout: &out, Stderr: io.Discard, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Getenv: func(k string) string {
			if v, ok := vars[k]; ok {
				return v
			}
			return os.Getenv(k)
		}}, &out
}

// libRun runs a facesearch command and returns its stdout.
func libRun(tb testing.TB, args ...string) string {
	tb.Helper()
	env, out := libEnv(tb)
	if err := runEnv(context.Background(), env, args); err != nil {
		tb.Fatalf("facesearch %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// libOpen opens a library read-only for inspection.
func libOpen(tb testing.TB, dir string) *library.Library {
	tb.Helper()
	l, err := library.Open(context.Background(), library.Options{Dir: dir, Backend: faissidx.Backend{}, ReadOnly: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

// TestLibraryDatasets indexes the shared datasets and checks that every
// image's best match other than itself is the same person, that exact
// search equals brute force over the catalog, and the JSON output.
func TestLibraryDatasets(t *testing.T) {
	faces := testenv.Faces(t)
	for _, ds := range []string{"deepface", "face_recognition"} {
		t.Run(ds, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "lib")
			out := libRun(t, "index", "--library", dir, filepath.Join(faces, ds))
			t.Logf("index:\n%s", out)
			l := libOpen(t, dir)
			libCheckMatches(t, l)
			if ds == "deepface" {
				libCheckGolden(t, dir, faces)
				libCheckVector(t, l, dir)
			}
		})
	}
}

func libCheckMatches(t *testing.T, l *library.Library) {
	ctx := context.Background()
	faces, err := l.Faces(ctx, library.FacesOptions{}) // the primary faces
	if err != nil {
		t.Fatal(err)
	}
	var vecs []float32
	var ids []int64
	for _, f := range faces {
		vecs, ids = append(vecs, f.Vec...), append(ids, f.ID)
	}
	s, err := l.Searcher(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	queries, same := 0, 0
	for _, f := range faces {
		{
			hits, err := s.Search(ctx, f.Vec, library.SearchOptions{K: 10, Min: -1})
			if err != nil {
				t.Fatal(err)
			}
			want := vecindex.BruteForce(vecs, ids, len(f.Vec), f.Vec, 10)
			if len(hits) != len(want) {
				t.Fatalf("%s: %d hits, brute force %d", f.File, len(hits), len(want))
			}
			for i := range want {
				if math.Abs(float64(hits[i].Similarity-want[i].Score)) > 1e-4 {
					t.Errorf("%s rank %d: faiss %d %.5f, brute force %d %.5f", f.File, i, hits[i].FaceID, hits[i].Similarity, want[i].ID, want[i].Score)
				}
			}
			for _, h := range hits {
				if h.FaceID != f.ID {
					queries++
					if h.Person == f.Person {
						same++
					}
					break
				}
			}
		}
	}
	rate := float64(same) / float64(queries)
	t.Logf("best match other than itself is the same person for %d of %d images (%.1f%%)", same, queries, 100*rate)
	if rate < 0.95 {
		t.Errorf("same-person rate %.3f < 0.95", rate)
	}
}

// libCheckGolden compares 'search --json' with testdata (refresh: -update).
func libCheckGolden(t *testing.T, dir, faces string) {
	photo := filepath.Join(faces, "deepface", "person_01", "img1.jpg")
	group := filepath.Join(faces, "_extras", "deepface", "unlabeled", "couple.jpg")
	got := libRun(t, "search", "--library", dir, "--json", "-k", "5", "--face", "all", photo, group)
	var doc map[string]any
	if err := json.Unmarshal([]byte(got), &doc); err != nil {
		t.Fatalf("search --json: %v\n%s", err, got)
	}
	if doc["schema"] != SearchSchema {
		t.Errorf("schema %v", doc["schema"])
	}
	got = strings.ReplaceAll(got, faces, "<faces>")
	got = regexpElapsed.ReplaceAllString(got, `"elapsed_seconds": 0`)
	got = regexpFaceID.ReplaceAllString(got, `"face_id": 0`) // ids depend on the workers' order
	got = regexpGen.ReplaceAllString(got, `"generation": 0`) // so does the number of catalog batches
	golden := filepath.Join("testdata", "search_deepface.golden.json")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("search --json differs from %s (run with -update if intended):\n%s", golden, got)
	}
}

// libCheckVector searches a stored embedding given as a float64 .npy file.
func libCheckVector(t *testing.T, l *library.Library, dir string) {
	rows, err := l.Faces(context.Background(), library.FacesOptions{All: true, Placeholders: true})
	if err != nil {
		t.Fatal(err)
	}
	var first []int // each image's first row
	for i, r := range rows {
		if i == 0 || r.ImageID != rows[i-1].ImageID {
			first = append(first, i)
		}
	}
	f := rows[first[len(first)/2]] // the middle image's first face
	if f.Vec == nil {
		t.Fatalf("%s has no face", f.File)
	}
	v := make([]float64, len(f.Vec))
	for i, x := range f.Vec {
		v[i] = 3 * float64(x) // not unit: search normalises
	}
	file := filepath.Join(t.TempDir(), "q.npy")
	w, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := npy.Write(w, v); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var doc searchJSON
	out := libRun(t, "search", "--library", dir, "--json", "--all-faces", "-k", "1", "--vector", file)
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Queries) != 1 || len(doc.Queries[0].Results) != 1 || doc.Queries[0].Results[0].FaceID != f.ID || doc.Queries[0].Results[0].Similarity < 0.9999 {
		t.Errorf("--vector of face %d: %s", f.ID, out)
	}
}

// libSame compares two catalogs: same images, statuses, persons, hashes and
// faces; boxes within a pixel, embeddings with cosine ≥ 0.999.
func libSame(t *testing.T, what string, a, b []face.Face) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d rows (faces, or an image without one) vs %d", what, len(a), len(b))
	}
	for i := range a {
		f, g := a[i], b[i]
		if f.File != g.File || f.Person != g.Person || f.Status != g.Status || f.Hash != g.Hash || (f.Vec == nil) != (g.Vec == nil) {
			t.Errorf("%s: %q %q %s %d-d face vs %q %q %s %d-d face", what, f.File, f.Person, f.Status, len(f.Vec), g.File, g.Person, g.Status, len(g.Vec))
			continue
		}
		var dot float32
		for k := range f.Vec {
			dot += f.Vec[k] * g.Vec[k]
		}
		if f.Vec != nil && (f.Primary != g.Primary || dot < 0.999 || math.Abs(float64(f.Box[0]-g.Box[0])) > 1 || math.Abs(float64(f.Box[3]-g.Box[3])) > 1) {
			t.Errorf("%s: %q row %d differs: primary %v/%v cos %.4f box %v/%v", what, f.File, i, f.Primary, g.Primary, dot, f.Box, g.Box)
		}
	}
}

// libImageCount counts the images of libImages' rows.
func libImageCount(rows []face.Face) int {
	n := 0
	for i, r := range rows {
		if i == 0 || r.ImageID != rows[i-1].ImageID {
			n++
		}
	}
	return n
}

// libImages returns every face of the library and a row for each image
// without one.
func libImages(tb testing.TB, dir string) []face.Face {
	tb.Helper()
	rows, err := libOpen(tb, dir).Faces(context.Background(), library.FacesOptions{All: true, Placeholders: true})
	if err != nil {
		tb.Fatal(err)
	}
	return rows
}

const crashChildEnv = "FACESEARCH_TEST_INDEX_CHILD"

// TestIndexChild is the subprocess of TestIndexCrashIncremental.
func TestIndexChild(t *testing.T) {
	args := os.Getenv(crashChildEnv)
	if args == "" {
		t.Skip("subprocess of TestIndexCrashIncremental")
	}
	libRun(t, strings.Split(args, "\x1f")...)
}

// TestIndexCrashIncremental SIGKILLs an index run, resumes it and compares
// with a clean run; then changes the dataset and checks that only the
// changed files are processed and that the result equals a fresh index.
// Bad files and Japanese / non-UTF-8 names are part of the dataset.
func TestIndexCrashIncremental(t *testing.T) {
	faces := testenv.Faces(t)
	libEnv(t) // skip early without models
	root := filepath.Join(t.TempDir(), "data")
	testenv.CopyTree(t, filepath.Join(faces, "face_recognition"), root)
	if err := os.Rename(filepath.Join(root, "biden"), filepath.Join(root, "ジョー・バイデン")); err != nil {
		t.Fatal(err)
	}
	sjis := "\x83o\x83C\x83f\x83\x93.jpg" // "バイデン" in Shift-JIS: not UTF-8
	testenv.CopyFile(t, filepath.Join(faces, "deepface", "person_01", "img1.jpg"), filepath.Join(root, "ジョー・バイデン", sjis))
	jpg, err := os.ReadFile(filepath.Join(faces, "deepface", "person_02", "img12.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "obama", "truncated.jpg"), jpg[:len(jpg)/3], 0o644)
	os.WriteFile(filepath.Join(root, "obama", "notes.jpg"), []byte("not a photo\n"), 0o644)
	os.WriteFile(filepath.Join(root, "obama", "empty.png"), nil, 0o644)

	// 1. SIGKILL a run once a few images are committed.
	crashed := filepath.Join(t.TempDir(), "crashed")
	cmd := exec.Command(os.Args[0], "-test.run=^TestIndexChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+strings.Join([]string{"index", "--library", crashed, "--batch", "2", "--workers", "1", root}, "\x1f"))
	var childOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &childOut, &childOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	committed := 0
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline) && committed < 6; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("child ended before being killed (%v):\n%s", err, childOut.String())
		default:
		}
		if _, err := os.Stat(filepath.Join(crashed, "catalog.db")); err != nil {
			continue
		}
		c, err := library.Open(context.Background(), library.Options{Dir: crashed, ReadOnly: true})
		if err != nil {
			continue
		}
		if st, err := c.Counts(context.Background()); err == nil {
			committed = st.Images
		}
		c.Close()
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	if committed < 6 {
		t.Fatalf("child committed %d images before the deadline", committed)
	}
	partial := libImageCount(libImages(t, crashed))
	t.Logf("killed the index run after %d committed images", partial)

	// 2. Resume, and compare with a clean run.
	out := libRun(t, "index", "--library", crashed, root)
	t.Logf("resumed:\n%s", out)
	if !strings.Contains(out, fmt.Sprintf("%d unchanged", partial)) {
		t.Errorf("resumed run did not skip the %d committed images:\n%s", partial, out)
	}
	clean := filepath.Join(t.TempDir(), "clean")
	out = libRun(t, "index", "--library", clean, root)
	t.Logf("clean:\n%s", out)
	libSame(t, "resumed vs clean", libImages(t, crashed), libImages(t, clean))
	for _, want := range []string{`truncated +obama/truncated.jpg: truncated`, `not_image +obama/notes.jpg: not an image`, `empty +obama/empty.png: empty`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("index summary lacks %q", want)
		}
	}
	stats := libRun(t, "stats", "--library", clean)
	for _, want := range []string{"failures  3", "truncated: 1", "obama/truncated.jpg", "persons   6"} {
		if !strings.Contains(stats, want) {
			t.Errorf("stats lacks %q:\n%s", want, stats)
		}
	}
	found := false
	for _, im := range libImages(t, clean) {
		if im.File == "ジョー・バイデン/"+sjis && im.Status == library.StatusOK {
			found = true
		}
	}
	if !found {
		t.Errorf("non-UTF-8 file name did not round-trip")
	}

	// 3. Add, change, delete: only those are processed.
	testenv.CopyFile(t, filepath.Join(faces, "deepface", "person_03", "img48.jpg"), filepath.Join(root, "newcomer", "a.jpg"))
	testenv.CopyFile(t, filepath.Join(faces, "deepface", "person_04", "img13.jpg"), filepath.Join(root, "obama", "truncated.jpg")) // now whole
	if err := os.Remove(filepath.Join(root, "ジョー・バイデン", sjis)); err != nil {
		t.Fatal(err)
	}
	out = libRun(t, "index", "--library", clean, root)
	t.Logf("incremental:\n%s", out)
	if !strings.Contains(out, "2 processed") || !strings.Contains(out, "1 deleted") {
		t.Errorf("incremental run: want 2 processed, 1 deleted:\n%s", out)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	libRun(t, "index", "--library", fresh, root)
	libSame(t, "incremental vs fresh", libImages(t, clean), libImages(t, fresh))
}
