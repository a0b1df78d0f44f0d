package cli

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/npz"
	"github.com/facesearch/facesearch/internal/testenv"
)

// startServe runs 'facesearch serve' on a free loopback port with an empty
// FACESEARCH_HOME (no model files) and returns its base URL; the server
// stops at the end of the test.
func startServe(t *testing.T, lib string) string {
	t.Helper()
	home := t.TempDir()
	pr, pw := io.Pipe()
	env := &cmdEnv{Stdout: pw, Stderr: io.Discard, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		reloadPoll: 50 * time.Millisecond,
		Getenv: func(k string) string {
			switch k {
			case "FACESEARCH_HOME":
				return home
			case "FACESEARCH_LIBRARY", "FACESEARCH_TOKEN":
				return ""
			}
			return os.Getenv(k)
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runEnv(ctx, env, []string{"serve", "--library", lib, "--addr", "127.0.0.1:0"})
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`on (http://[^/]+)/`).FindStringSubmatch(line)
	if m == nil {
		cancel()
		t.Fatalf("serve did not start: %q %v (%v)", line, err, <-done)
	}
	return m[1]
}

// TestServeReloadsAfterReindex: a running server sees a re-import (a person
// renamed, one added) without a restart, and serves a library imported from
// npz files although the photo model is not installed (issue 15 items 6
// and 15).
func TestServeReloadsAfterReindex(t *testing.T) {
	root, lib := t.TempDir(), filepath.Join(t.TempDir(), "lib")
	r := rand.New(rand.NewPCG(3, 4))
	for _, p := range []string{"alice", "bob", "carol"} {
		writePerson(t, root, p, npz.DefaultKey, []string{p + ".jpg"}, [][]float32{randVec(r, 512)})
	}
	if out, err := npzRun(t, "import-npz", "--library", lib, root); err != nil {
		t.Fatalf("import-npz: %v\n%s", err, out)
	}
	base := startServe(t, lib)
	var doc testenv.Persons
	if code := testenv.GetJSON(t, base+"/api/persons", &doc); code != 200 || len(doc.Persons) != 3 {
		t.Fatalf("persons: %d %+v, want 3", code, doc)
	}
	if code := testenv.GetJSON(t, base+"/api/persons/bob", nil); code != 200 {
		t.Fatalf("bob: %d", code)
	}
	if err := os.Rename(filepath.Join(root, "bob"), filepath.Join(root, "robert")); err != nil {
		t.Fatal(err)
	}
	writePerson(t, root, "dave", npz.DefaultKey, []string{"dave.jpg"}, [][]float32{randVec(r, 512)})
	if out, err := npzRun(t, "import-npz", "--library", lib, root); err != nil {
		t.Fatalf("re-import: %v\n%s", err, out)
	}
	doc.Persons = nil
	if code := testenv.WaitPersons(t, base, 4, &doc); code != 200 || len(doc.Persons) != 4 {
		t.Errorf("persons after the re-import: %d %+v, want 4", code, doc)
	}
	var names []string
	for _, p := range doc.Persons {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, " "); got != "alice carol dave robert" {
		t.Errorf("persons %q, want alice carol dave robert", got)
	}
	if code := testenv.GetJSON(t, base+"/api/persons/robert", nil); code != 200 {
		t.Errorf("the renamed person: %d, want 200", code)
	}
	if code := testenv.GetJSON(t, base+"/api/persons/bob", nil); code != 404 {
		t.Errorf("the old name: %d, want 404", code)
	}
}

// TestServeNonUTF8Person: a person folder whose name is not UTF-8 is listed
// by /api/persons with U+FFFD for its bad bytes, and can be opened by that
// name as well as by its raw bytes (issue 15 item 15).
func TestServeNonUTF8Person(t *testing.T) {
	root, lib := t.TempDir(), filepath.Join(t.TempDir(), "lib")
	r := rand.New(rand.NewPCG(11, 12))
	sjis := "\x93\xfa\x96{" // 日本 in Shift-JIS
	for _, p := range []string{sjis, "alice"} {
		writePerson(t, root, p, npz.DefaultKey, []string{"x.jpg"}, [][]float32{randVec(r, 512)})
	}
	if out, err := npzRun(t, "import-npz", "--library", lib, root); err != nil {
		t.Fatalf("import-npz: %v\n%s", err, out)
	}
	base := startServe(t, lib)
	var doc testenv.Persons
	if code := testenv.GetJSON(t, base+"/api/persons", &doc); code != 200 || len(doc.Persons) != 2 {
		t.Fatalf("persons: %d %+v", code, doc)
	}
	shown := ""
	for _, p := range doc.Persons {
		if p.Name != "alice" {
			shown = p.Name
		}
	}
	for _, name := range []string{shown, sjis} {
		if code := testenv.GetJSON(t, base+"/api/persons/"+url.PathEscape(name), nil); code != 200 {
			t.Errorf("person %q: status %d, want 200", name, code)
		}
	}
}
