package review

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/facesearch/facesearch/internal/catalog"
	"github.com/facesearch/facesearch/internal/library"
	"github.com/facesearch/facesearch/internal/testenv"
	"golang.org/x/sys/unix"
)

// TestServeWaitsForTheWriterAndSurvivesAFailedReload (review finding 1):
// while a writer holds the library's lock, serve does not reload (before,
// the first request after each committed batch rebuilt the index files,
// without the lock); once the lock is free it reloads; and when a reload
// fails (the library was emptied) it keeps serving what it had (before,
// every request answered 503 and retried the reload).
func TestServeWaitsForTheWriterAndSurvivesAFailedReload(t *testing.T) {
	ctx := context.Background()
	root, lib := t.TempDir(), filepath.Join(t.TempDir(), "lib")
	r := rand.New(rand.NewPCG(5, 6))
	for _, p := range []string{"alice", "bob", "carol"} {
		writePerson(t, root, p, []string{p + ".jpg"}, [][]float32{randVec(r, 512)})
	}
	importNPZ(t, lib, root)
	base := serve(t, lib)
	var doc testenv.Persons
	if code := testenv.GetJSON(t, base+"/api/persons", &doc); code != 200 || len(doc.Persons) != 3 {
		t.Fatalf("persons: %d %+v, want 3", code, doc)
	}
	meta := filepath.Join(lib, library.IndexMetaFile)
	before, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}

	// A writer holds the lock and commits a change (bob's image deleted).
	lf, err := os.OpenFile(filepath.Join(lib, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(ctx, filepath.Join(lib, library.CatalogFile))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	imgs, err := cat.Images(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{}
	for _, im := range imgs {
		paths[im.Person] = im.Path
	}
	if err := cat.Apply(ctx, &catalog.Batch{Delete: []string{paths["bob"]}}); err != nil {
		t.Fatal(err)
	}
	for range 20 { // 20 requests over 1 s, 20 polls of the generation
		if code := testenv.GetJSON(t, base+"/api/persons", &doc); code != 200 || len(doc.Persons) != 3 {
			t.Fatalf("while the writer holds the lock: %d %+v, want the 3 persons served before", code, doc)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after, err := os.ReadFile(meta); err != nil || !bytes.Equal(before, after) {
		t.Errorf("index.json was rewritten while another process held the library lock (%v)", err)
	}

	// The writer ends: serve reloads.
	unix.Flock(int(lf.Fd()), unix.LOCK_UN)
	if code := testenv.WaitPersons(t, base, 2, &doc); code != 200 || len(doc.Persons) != 2 {
		t.Fatalf("after the writer released the lock: %d %+v, want 2 persons", code, doc)
	}

	// The library is emptied: the reload fails, the old state is served.
	if err := cat.Apply(ctx, &catalog.Batch{Delete: []string{paths["alice"], paths["carol"]}}); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		for _, path := range []string{"/api/persons", "/api/stats", "/"} {
			if code := testenv.GetJSON(t, base+path, nil); code != 200 {
				t.Fatalf("%s after a failed reload: %d, want 200 (the previous state)", path, code)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReloaderCloseWaitsForOldGenerations (review finding 6): Close waits
// for requests still running on a replaced backend, so that the caller may
// close the shared pipeline when it returns (before, it waited only for the
// current backend's).
func TestReloaderCloseWaitsForOldGenerations(t *testing.T) {
	ctx := context.Background()
	root, dir := t.TempDir(), filepath.Join(t.TempDir(), "lib")
	r := rand.New(rand.NewPCG(7, 8))
	for _, p := range []string{"alice", "bob"} {
		writePerson(t, root, p, []string{p + ".jpg"}, [][]float32{randVec(r, 512)})
	}
	importNPZ(t, dir, root)
	l := openLib(t, dir, true)
	defer l.Close()
	b, err := New(ctx, l, Options{})
	if err != nil {
		t.Fatal(err)
	}
	inside, hold := make(chan struct{}), make(chan struct{})
	first := true
	build := func(*Backend) (http.Handler, error) {
		block := first
		first = false
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if block {
				close(inside)
				<-hold
			}
		}), nil
	}
	rl, err := NewReloader(ctx, l, b, ReloadOptions{Build: build, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	go rl.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	<-inside // a request runs on the first generation
	if err := rl.reload(rl.current() + 1); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- rl.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a request still ran on the replaced backend", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(hold)
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := rl.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
